"""One output of a Split can be the model's output or a head (``sp:1``); a Split used whole there is an error
at the Split, with a fix: its outputs would be a tuple, not one tensor."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from convviz.analysis import analyze
from convviz.cli import main
from convviz.design import Design, Head, InputSpec, load_design, loads, dumps
from convviz.design.edits import apply_edits
from convviz.export import import_module
from convviz.model import build_model


def split_design() -> Design:
    design = Design("halves", InputSpec(4, 8, 8))
    design.add_node("Input", "input")
    design.add_node("Split", "sp", ["input"])
    return design


def test_a_design_ending_in_a_split_is_an_error_at_the_split_with_a_fix():
    design = split_design()
    analysis = analyze(design)  # was: valid, "Output 2×8×8 (sp)", and a model returning a tuple
    assert not analysis.ok
    (node, issue), = [(n, i) for n, i in analysis.issues() if i.severity == "error"]
    assert node == "sp" and "2 outputs" in issue.message
    apply_edits(design, issue.fix.edits)
    assert design.heads == [Head("sp:0")]
    fixed = analyze(design)
    assert fixed.ok and fixed.output == "sp:0" and fixed.output_shape == (2, 8, 8)


def test_a_whole_split_as_a_head_is_an_error_with_a_fix():
    design = split_design()
    design.add_node("Conv2d", "conv", ["sp:1"], {"out_channels": 3, "kernel_size": 1})
    design.set_heads([Head("conv"), Head("sp", 0.3)])
    analysis = analyze(design)
    assert not analysis.ok
    issue = next(i for n, i in analysis.issues() if n == "sp" and i.severity == "error")
    apply_edits(design, issue.fix.edits)
    assert design.heads == [Head("conv"), Head("sp:0", 0.3)] and analyze(design).ok


def test_an_output_of_a_split_is_a_head_and_the_output():
    design = split_design()
    design.add_node("Conv2d", "conv", ["sp:0"], {"out_channels": 3, "kernel_size": 1})
    design.set_heads([Head("sp:1"), Head("conv", 0.5)])  # was: "The head 'sp:1' names no node of the design."
    analysis = analyze(design)
    assert analysis.ok, analysis.issues()
    assert analysis.output == "sp:1" and analysis.output_shape == (2, 8, 8) and analysis.heads == ("sp:1", "conv")
    x = torch.randn(2, 4, 8, 8)
    main_only, both = build_model(design).eval(), build_model(design, heads="all").eval()
    both.load_state_dict(main_only.state_dict())
    torch.testing.assert_close(main_only(x), x[:, 2:])
    first, second = both(x)
    torch.testing.assert_close(first, x[:, 2:])
    assert second.shape == (2, 3, 8, 8)
    assert loads(dumps(design)).heads == design.heads  # the file keeps the output reference
    design.rename_node("sp", "halves")
    assert design.heads[0] == Head("halves:1")


def test_a_module_returning_one_chunk_imports_with_that_output(tmp_path):
    class FirstHalf(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(x).chunk(2, 1)[0]

    module = FirstHalf().eval()
    result = import_module(module, InputSpec(3, 8, 8))  # was: "the design's output is chunk, but … returns chunk:0"
    assert result.issues == [] and result.design.heads == [Head("chunk:0")]
    model = build_model(result.design).eval()
    model.load_state_dict(result.state_dict)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x))


def test_the_summary_of_a_design_ending_in_a_split_names_the_error(tmp_path, capsys):
    from convviz.design import save_design

    path = tmp_path / "halves.json"
    save_design(split_design(), path)
    main(["summary", str(path)])
    assert "2 outputs" in capsys.readouterr().out


def test_the_summary_shows_every_output_of_a_split(tmp_path, capsys):
    """The summary showed a Split's first output only ("1×16×16"); the card shows "1 + 2 ×16×16"."""
    from convviz.analysis.report import summary_rows
    from convviz.design import save_design

    design = Design("uneven", InputSpec(3, 16, 16))
    design.add_node("Input", "input")
    design.add_node("Split", "sp", ["input"], {"sizes": [1, 2]})
    design.add_node("Concat", "cat", ["sp:1", "sp:0"])
    row = next(r for r in summary_rows(analyze(design)) if r.id == "sp")
    assert row.output == "1 + 2 ×16×16"
    path = tmp_path / "uneven.json"
    save_design(design, path)
    assert main(["summary", str(path)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.split()[:1] == ["sp"])
    assert "1 + 2 ×16×16" in line


def _scores_from_a_split() -> Design:
    """Class scores taken from a Split of the classifier's vector: the second chunk's 5 classes."""
    design = Design("chunked", InputSpec(3, 8, 8))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "conv", ["input"], {"out_channels": 4, "kernel_size": 3, "padding": 1})
    design.add_node("AdaptiveAvgPool2d", "gap", ["conv"], {"output_size": 1})
    design.add_node("Flatten", "flat", ["gap"])
    design.add_node("Linear", "fc", ["flat"], {"out_features": 10})
    design.add_node("Split", "sp", ["fc"], {"chunks": 2})
    design.set_heads([Head("sp:1")])
    return design


def test_explain_reads_class_scores_from_an_output_of_a_split():
    """Grad-CAM, occlusion and predictions hook the Split for its output ``sp:1`` (was: "the model has no
    node 'sp:1'"); the class map is the gradient-weighted map of sp:1's score, computed here by hand."""
    from convviz.explain import feature_maps, network_from_design
    from convviz.explain.cam import grad_cam, predictions
    from convviz.explain.occlusion import occlusion_map

    network = network_from_design(_scores_from_a_split())
    image = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = grad_cam(network, image, node_id="conv", classes=[3])
    features = {}

    def leaf(module, args, out):  # the conv's map as a leaf of the graph, whatever the weights require
        features["conv"] = out.detach().requires_grad_()
        return features["conv"]

    handle = network.model.get_submodule("conv").register_forward_hook(leaf)
    with torch.enable_grad():
        scores = network.model(image)
    handle.remove()
    (grad,) = torch.autograd.grad(scores[0, 3], features["conv"])
    by_hand = torch.relu((grad[0].mean(dim=(1, 2))[:, None, None] * features["conv"][0]).sum(0)).detach()
    assert maps.probabilities.shape == (5,)
    np.testing.assert_allclose(maps.probabilities, torch.softmax(scores[0].detach(), 0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(maps.coarse[0], (by_hand / by_hand.max()).numpy(), rtol=1e-4, atol=1e-6)
    probs, top = predictions(network, feature_maps(network, image))
    assert probs.shape == (5,) and top[0].index == int(np.argmax(probs))
    assert occlusion_map(network, image, patch=4, stride=4).target.index == top[0].index
