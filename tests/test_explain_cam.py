"""Predictions, Grad-CAM against a hand computation, the target-layer rule, occlusion sensitivity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convviz.design import Design, InputSpec, Node, load_template
from convviz.explain import (Cancelled, ExplainError, cam_nodes, default_cam_node, feature_maps, grad_cam, network_from_design,
                             occlusion_map, predictions)


def tiny(classes=("cat", "dog"), softmax=False):
    nodes = [
        Node("input", "Input"),
        Node("conv", "Conv2d", ["input"], {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}),
        Node("relu", "ReLU", ["conv"]),
        Node("gap", "AdaptiveAvgPool2d", ["relu"], {"output_size": 1}),
        Node("flat", "Flatten", ["gap"]),
        Node("fc", "Linear", ["flat"], {"out_features": 3}),
    ]
    if softmax:
        nodes.append(Node("probs", "Softmax", ["fc"], {"dim": 1}))
    network = network_from_design(Design("tiny", InputSpec(1, 8, 8), list(classes), nodes))
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in network.model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return network


def test_grad_cam_equals_the_hand_computation():
    network = tiny()
    image = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    result = grad_cam(network, image, top_k=3)
    assert result.node_id == "relu"
    acts = feature_maps(network, image)
    a = acts["relu"].astype(np.float64)                      # (3, 4, 4)
    scores = acts["fc"].astype(np.float64)
    probs = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(result.probabilities, probs, rtol=1e-5)
    assert [p.index for p in result.predictions] == list(np.argsort(-probs))
    assert [p.name for p in result.predictions] == [["cat", "dog", "class 2"][i] for i in np.argsort(-probs)]
    w = network.model.fc.weight.detach().numpy().astype(np.float64)
    for prediction, cam, coarse in zip(result.predictions, result.maps, result.coarse):
        # through global average pooling, ∂s_c/∂A_k(i, j) = w[c, k] / (h·w), so α_k = w[c, k] / 16
        alpha = w[prediction.index] / 16.0
        by_hand = np.maximum((alpha[:, None, None] * a).sum(axis=0), 0.0)
        if by_hand.max() > 0:
            np.testing.assert_allclose(coarse, by_hand / by_hand.max(), atol=1e-5)
            up = F.interpolate(torch.from_numpy(by_hand)[None, None], size=(8, 8), mode="bilinear",
                               align_corners=False)[0, 0].numpy()
            np.testing.assert_allclose(cam, up / up.max(), atol=1e-5)
        else:
            assert not cam.any()
        assert cam.shape == (8, 8) and cam.dtype == np.float32 and cam.min() >= 0 and cam.max() <= 1


def test_grad_cam_of_chosen_classes_and_nodes():
    network = tiny()
    image = torch.rand(1, 1, 8, 8)
    result = grad_cam(network, image, node_id="conv", classes=[2, 0])
    assert [p.index for p in result.predictions] == [2, 0] and result.node_id == "conv"
    with pytest.raises(ExplainError, match="class 5 is out of range"):
        grad_cam(network, image, classes=[5])
    with pytest.raises(ExplainError, match="C×H×W map"):
        grad_cam(network, image, node_id="fc")
    assert all(not m._forward_hooks for m in network.model.modules())


def test_a_softmax_at_the_end_is_not_applied_twice():
    plain, ending = tiny(), tiny(softmax=True)
    image = torch.rand(1, 1, 8, 8)
    a, b = grad_cam(plain, image), grad_cam(ending, image)
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-6)
    for x, y in zip(a.maps, b.maps):
        np.testing.assert_allclose(x, y, atol=1e-6)  # gradients of the scores, not of the probabilities
    probs, top = predictions(ending, feature_maps(ending, image), k=2)
    np.testing.assert_allclose(probs, a.probabilities, rtol=1e-6)
    assert len(top) == 2 and top[0].probability >= top[1].probability


@pytest.mark.parametrize("name, expected", [("default", "relu3"), ("resnet18", "layer4_1_out"), ("lenet5", "a3"),
                                            ("vgg11", "relu5_2")])
def test_default_cam_node_is_the_last_rectified_conv_map(name, expected):
    assert default_cam_node(network_from_design(load_template(name))) == expected


def test_cam_nodes_are_the_maps_feeding_the_scores_and_each_works():
    network = network_from_design(load_template("default"))
    nodes = cam_nodes(network)
    assert nodes == ["conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2", "conv3", "bn3", "relu3",
                     "gap"]
    image = torch.rand(1, 1, 32, 32)
    for node_id in nodes:
        assert grad_cam(network, image, node_id=node_id, top_k=1).maps[0].shape == (32, 32)
    assert default_cam_node(network) in nodes


def test_networks_without_class_scores_are_refused():
    network = network_from_design(load_template("inception_3a"))
    with pytest.raises(ExplainError, match="vector of class scores"):
        default_cam_node(network)


# --- occlusion ---------------------------------------------------------------------------------------

def corner_detector():
    """Class 0's score is a quarter of the sum of the image's top-left 4×4 pixels; class 1's is 0."""
    design = Design("corner", InputSpec(1, 8, 8), ["corner", "none"], [
        Node("input", "Input"), Node("flat", "Flatten", ["input"]),
        Node("fc", "Linear", ["flat"], {"out_features": 2, "bias": False})])
    network = network_from_design(design)
    weight = torch.zeros(2, 64)
    corner = torch.zeros(8, 8)
    corner[:4, :4] = 0.25
    weight[0] = corner.reshape(64)
    with torch.no_grad():
        network.model.fc.weight.copy_(weight)
    return network


def test_occlusion_finds_the_evidence():
    network = corner_detector()
    image = torch.ones(1, 1, 8, 8)
    result = occlusion_map(network, image, patch=2, stride=2, batch_size=5)
    assert result.target.index == 0 and result.target.name == "corner"
    assert result.drops.shape == (4, 4) and list(result.rows) == [0, 2, 4, 6]
    assert (result.drops[:2, :2] > 0).all()          # hiding the corner lowers "corner"
    np.testing.assert_array_equal(result.drops[2:, :], 0)
    np.testing.assert_array_equal(result.drops[:, 2:], 0)
    assert (result.heatmap[:4, :4] > 0).all() and not result.heatmap[4:, :].any()
    score = 4.0 - 4 * 0.5 * 0.25                       # four pixels of 1 become grey 0.5
    expected = 1 / (1 + np.exp(-4.0)) - 1 / (1 + np.exp(-score))
    np.testing.assert_allclose(result.drops[0, 0], expected, rtol=1e-4)
    lo, hi = result.levels
    assert lo == -hi and hi == pytest.approx(float(np.abs(result.heatmap).max()))


def test_occlusion_batches_progress_and_stop():
    network = corner_detector()
    image = torch.rand(1, 1, 8, 8)
    seen = []
    one = occlusion_map(network, image, target=1, patch=3, stride=2, batch_size=1)
    many = occlusion_map(network, image, target=1, patch=3, stride=2, batch_size=7,
                         progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_allclose(one.drops, many.drops, atol=1e-6)
    assert list(one.rows) == [0, 2, 4, 5]  # the last patch touches the edge
    assert seen[-1] == (16, 16) and len(seen) == 3
    with pytest.raises(Cancelled):
        occlusion_map(network, image, should_stop=lambda: True)
    with pytest.raises(ExplainError, match="at least 1"):
        occlusion_map(network, image, patch=0)


def test_top_predictions_rank_like_a_stable_sort_and_read_the_names_once(monkeypatch):
    """Linear in the classes (argpartition), the k ordered; ties keep class order, NaN comes last. The
    names were looked up once per prediction, each lookup building all of them: 20,000 classes took
    85 s, 65,536 never finished; now only the k predictions are named."""
    from convviz.explain import Network, top_predictions

    design = load_template("default")
    design.set_param("fc", "out_features", 65_536)
    network = network_from_design(design)
    rng = np.random.default_rng(0)
    probs = rng.integers(0, 50, 65_536).astype(np.float32) / 50  # many ties
    probs[[7, 70, 700]] = np.nan
    every, calls = [], []
    names, name = Network.class_names.fget, Network.class_name
    monkeypatch.setattr(Network, "class_names", property(lambda self: every.append(1) or names(self)))
    monkeypatch.setattr(Network, "class_name", lambda self, i: calls.append(i) or name(self, i))
    order = np.argsort(-np.nan_to_num(probs, nan=-np.inf), kind="stable")
    for k in (1, 5, 1000, 65_536):
        calls.clear()
        ranked = top_predictions(network, probs, k)
        assert [p.index for p in ranked] == order[:k].tolist()
        assert every == [] and sorted(calls) == sorted(order[:k].tolist())  # only the k shown are named
    assert [p.index for p in ranked[-3:]] == [7, 70, 700] and ranked[0].name == f"class {order[0]}"
