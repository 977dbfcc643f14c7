"""Receptive fields: the theoretical field equals what gradients reach; rectangles follow the textbook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convviz.analysis import analyze
from convviz.design import Design, InputSpec, Node, load_template
from convviz.explain import Box, ExplainError, effective_field, network_from_design, unit_field


def positive(network, seed: int = 0):
    """Every weight in [0.1, 1], biases 0: every path from a pixel to a unit adds, none cancels."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in network.model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            else:
                p.copy_(torch.rand(p.shape, generator=generator) * 0.9 + 0.1)
    return network


def reached(network, node_id, y, x, channel=None, seed=0):
    """Input pixels whose gradient is non-zero, for a positive image."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand((1, *network.design.input.shape), generator=generator) + 0.5
    return effective_field(network, image, node_id, y, x, channel) > 0


# --- random networks: chains and DAGs with merges, strides, dilation, padding ----------------------

PADDING_MODES = ["zeros", "zeros", "reflect", "replicate", "circular"]


@st.composite
def networks(draw):
    channels = draw(st.sampled_from([1, 2]))
    size = draw(st.integers(8, 15))
    nodes = [Node("input", "Input")]
    current = "input"
    for step in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "branches", "branches", "skewed", "avgpool", "adaptive"]))
        shape = _shape(nodes, channels, size, current)
        added: list[Node] = []
        if kind == "conv":
            groups = draw(st.sampled_from([1, 2])) if shape[0] % 2 == 0 else 1
            params = {"out_channels": 2 * groups, "kernel_size": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                      "stride": draw(st.integers(1, 2)), "dilation": draw(st.integers(1, 2)),
                      "padding": draw(st.integers(0, 2)), "padding_mode": draw(st.sampled_from(PADDING_MODES)),
                      "groups": groups}
            added = [Node(f"conv{step}", "Conv2d", [current], params)]
        elif kind == "branches":  # "same"-style padding keeps both branches the same size for any stride
            stride = draw(st.integers(1, 2))
            branch_ids = []
            for b in "ab":
                k, d = draw(st.sampled_from([1, 3, 5])), draw(st.integers(1, 2))
                params = {"out_channels": 2, "kernel_size": k, "dilation": d, "padding": d * (k - 1) // 2,
                          "stride": stride}
                added.append(Node(f"br{step}{b}", "Conv2d", [current], params))
                branch_ids.append(f"br{step}{b}")
            merge = draw(st.sampled_from(["Add", "Concat"]))
            added.append(Node(f"merge{step}", merge, branch_ids))
        elif kind == "skewed":  # an even kernel's "same" padding centres its windows half a pixel off the other's
            added = [Node(f"br{step}a", "Conv2d", [current], {"out_channels": 2, "kernel_size": (2, draw(st.integers(1, 3))),
                                                              "padding": "same"}),
                     Node(f"br{step}b", "Conv2d", [current], {"out_channels": 2, "kernel_size": (1, 3),
                                                              "padding": (0, 1)}),
                     Node(f"merge{step}", draw(st.sampled_from(["Add", "Concat"])), [f"br{step}a", f"br{step}b"])]
        elif kind == "avgpool":
            k = draw(st.integers(2, 3))
            added = [Node(f"pool{step}", "AvgPool2d", [current],
                          {"kernel_size": k, "stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, k // 2)),
                           "ceil_mode": draw(st.booleans()), "count_include_pad": draw(st.booleans())})]
        else:
            out = draw(st.integers(2, max(2, shape[1] - 1)))
            added = [Node(f"adapt{step}", "AdaptiveAvgPool2d", [current], {"output_size": out})]
        candidate = nodes + added
        if analyze(_design(candidate, channels, size)).ok:
            nodes = candidate
            current = added[-1].id
    return _design(nodes, channels, size)


def _design(nodes, channels, size):
    return Design("random", InputSpec(channels, size, size), [], [n.copy() for n in nodes])


def _shape(nodes, channels, size, node_id):
    return analyze(_design(nodes, channels, size)).nodes[node_id].output_shape


@st.composite
def units(draw):
    design = draw(networks())
    analysis = analyze(design)
    node_id = draw(st.sampled_from([n for n in analysis.order if n != "input"] or ["input"]))
    c, h, w = analysis.nodes[node_id].output_shape
    channel = draw(st.one_of(st.none(), st.integers(0, c - 1)))
    return design, node_id, draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1)), channel


@settings(max_examples=60)
@given(units())
def test_exact_field_is_where_the_gradient_reaches(case):
    design, node_id, y, x, channel = case
    network = positive(network_from_design(design))
    grad = reached(network, node_id, y, x, channel)
    try:
        field = unit_field(network, node_id, y, x, channel)
    except ExplainError as exc:  # a unit that reads only padding says so
        assert "reads only padding" in str(exc) and not grad.any()
        return
    np.testing.assert_array_equal(field.input_mask, grad, err_msg=f"{node_id} ({y}, {x}) channel {channel}")
    folded = any(n.params.get("padding_mode", "zeros") != "zeros" for n in design)
    if folded or not field.input_mask.any():  # copied padding reaches outside; all-padding windows nothing
        return
    inside = field.input_box.clipped(*field.input_mask.shape)
    rows, cols = np.nonzero(field.input_mask)
    assert inside.top <= rows.min() and rows.max() <= inside.bottom
    assert inside.left <= cols.min() and cols.max() <= inside.right


@settings(max_examples=40)
@given(units())
def test_rectangle_is_the_union_of_every_path(case):
    design, node_id, y, x, _ = case
    network = network_from_design(design)
    field = unit_field(network, node_id, y, x)
    for target in field.boxes:
        expected = _path_union(network, target, node_id, (y, y), (x, x))
        assert field.boxes[target] == expected, target


def _path_union(network, target, node_id, rows, cols):
    """Oracle: follow every path from node_id back to target, interval by interval, and take the
    bounding box of the per-path rectangles."""
    if node_id == target:
        return Box(rows[0], cols[0], rows[1], cols[1])
    node = network.design.node(node_id)
    module = network.model.get_submodule(node_id)
    found = []
    for src in dict.fromkeys(node.inputs):
        r, c = rows, cols
        if isinstance(module, (nn.Conv2d, nn.AvgPool2d)):
            k = _pair(module.kernel_size)
            s = _pair(module.stride)
            d = _pair(getattr(module, "dilation", 1))
            p = tuple((dd * (kk - 1)) // 2 for dd, kk in zip(d, k)) if module.padding == "same" else _pair(module.padding)
            r = (r[0] * s[0] - p[0], r[1] * s[0] - p[0] + (k[0] - 1) * d[0])
            c = (c[0] * s[1] - p[1], c[1] * s[1] - p[1] + (k[1] - 1) * d[1])
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            (_, n_h, n_w), (_, o_h, o_w) = (network.analysis.nodes[src].output_shape,
                                            network.analysis.nodes[node_id].output_shape)
            r, c = _adaptive(r, n_h, o_h), _adaptive(c, n_w, o_w)
        box = _path_union(network, target, src, r, c)
        if box is not None:
            found.append(box)
    if not found:
        return None
    return Box(min(b.top for b in found), min(b.left for b in found),
               max(b.bottom for b in found), max(b.right for b in found))


def _adaptive(interval, n, o):
    if n % o == 0:  # an ordinary pool (kernel = stride = n / o): padding positions go on as units
        return (interval[0] * (n // o), (interval[1] + 1) * (n // o) - 1)
    a, b = interval  # uneven windows repeat every o/gcd(n, o) units: padding positions go on too
    return ((a * n) // o, -((-(b + 1) * n) // o) - 1)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --- the textbook formula, templates, merges, padding modes -----------------------------------------

@pytest.mark.parametrize("name, node_id, unit", [
    ("default", "relu3", (3, 5)), ("lenet5", "s4", (1, 2)), ("dilated", "dilated_relu3", (30, 2)),
    ("resnet18", "layer1_0_conv2", (0, 55)), ("vgg11", "relu5_2", (13, 0)), ("alexnet", "conv1", (2, 3)),
])
def test_chains_agree_with_the_analysis(name, node_id, unit):
    network = network_from_design(load_template(name))
    field = unit_field(network, node_id, *unit)
    assert field.formula_exact, (field.input_box, field.formula_box)
    assert field.input_box.height == field.formula.size[0]


def test_resnet_field_reaches_435_and_beyond_the_image():
    network = network_from_design(load_template("resnet18"))
    field = unit_field(network, "layer4_1_out", 0, 0)
    assert field.input_box.height == 435 and field.input_box.top < 0  # mostly padding at a corner unit
    assert field.input_mask[:100, :100].all()
    assert set(field.boxes) >= {"input", "conv1", "maxpool", "layer3_1_out", "layer4_1_out"}
    assert field.boxes["layer4_1_out"] == Box(0, 0, 0, 0)


@settings(max_examples=60)
@given(units())
def test_the_analysis_field_is_the_exact_rectangle_of_every_unit(case):
    """The summary's field, merges and uneven adaptive pools included (per-axis union, uncentred
    branches, windows that repeat every few units), gives the same rectangle as the walk through
    the real modules."""
    design, node_id, y, x, _ = case
    field = unit_field(network_from_design(design), node_id, y, x)
    assert field.formula_box == field.input_box, (node_id, field.formula, field.input_box)


def test_branches_of_1x3_and_3x1_concatenated_see_3x3():
    design = Design("cross", InputSpec(1, 9, 9), [], [
        Node("input", "Input"),
        Node("row", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": (1, 3), "padding": (0, 1)}),
        Node("column", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": (3, 1), "padding": (1, 0)}),
        Node("merge", "Concat", ["row", "column"]),
    ])
    analysis = analyze(design)
    assert analysis.nodes["merge"].receptive_field.size == (3, 3)  # the largest-area rule said 1×3
    assert analysis.receptive_field.size == (3, 3)
    field = unit_field(network_from_design(design), "merge", 4, 4)
    assert field.input_box == Box(3, 3, 5, 5) == field.formula_box
    assert any("∪" in d.text for d in analysis.nodes["merge"].derivations)


def test_branches_centred_apart_widen_the_field_and_move_its_centre():
    """u…u+2 (two even "same" kernels) joined with u−1…u+1 (a 3×3): u−1…u+2, 4 wide, centred at u + ½."""
    design = Design("skew", InputSpec(1, 9, 9), [], [
        Node("input", "Input"),
        Node("even1", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 2, "padding": "same"}),
        Node("even2", "Conv2d", ["even1"], {"out_channels": 1, "kernel_size": 2, "padding": "same"}),
        Node("odd", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 3, "padding": 1}),
        Node("merge", "Add", ["even2", "odd"]),
    ])
    field = analyze(design).nodes["merge"].receptive_field
    assert field.size == (4, 4) and field.start == (0.5, 0.5) and field.jump == (1, 1)
    exact = unit_field(network_from_design(design), "merge", 4, 4)
    assert exact.input_box == Box(3, 3, 6, 6) == exact.formula_box


def _merge_design(merge, order=("wide", "point")):
    return Design("merge", InputSpec(1, 9, 9), [], [
        Node("input", "Input"),
        Node("wide", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 3, "padding": 1}),
        Node("point", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 1}),
        Node("merge", merge, list(order)),
    ])


def test_add_joins_both_branches():
    network = network_from_design(_merge_design("Add"))
    field = unit_field(network, "merge", 4, 4)
    assert field.input_box == Box(3, 3, 5, 5)
    assert field.boxes["point"] == field.boxes["wide"] == Box(4, 4, 4, 4)


def test_concat_channels_see_only_their_branch():
    network = network_from_design(_merge_design("Concat"))
    assert unit_field(network, "merge", 4, 4, channel=1).input_box == Box(4, 4, 4, 4)
    assert "wide" not in unit_field(network, "merge", 4, 4, channel=1).boxes
    assert unit_field(network, "merge", 4, 4, channel=0).input_box == Box(3, 3, 5, 5)
    assert unit_field(network, "merge", 4, 4).input_box == Box(3, 3, 5, 5)


def _after_concat(node, order=("wide", "point")):
    design = _merge_design("Concat", order)
    design = Design("after", design.input, [], [*(n.copy() for n in design), node])
    return network_from_design(design)


def test_grouped_conv_channels_see_only_their_group():
    network = positive(_after_concat(Node("grouped", "Conv2d", ["merge"],
                                          {"out_channels": 2, "kernel_size": 1, "groups": 2})))
    assert unit_field(network, "grouped", 4, 4, channel=1).input_box == Box(4, 4, 4, 4)
    assert unit_field(network, "grouped", 4, 4, channel=0).input_box == Box(3, 3, 5, 5)
    for channel in (0, 1):
        np.testing.assert_array_equal(unit_field(network, "grouped", 4, 4, channel).input_mask,
                                      reached(network, "grouped", 4, 4, channel))


def test_local_response_norm_reads_neighbouring_channels():
    network = _after_concat(Node("lrn", "LocalResponseNorm", ["merge"], {"size": 2}), ("point", "wide"))
    assert unit_field(network, "lrn", 4, 4, channel=0).input_box == Box(4, 4, 4, 4)  # channels −1…0: point
    assert unit_field(network, "lrn", 4, 4, channel=1).input_box == Box(3, 3, 5, 5)  # channels 0…1: both


@pytest.mark.parametrize("mode, rows", [("zeros", [0, 1]), ("reflect", [0, 1]), ("replicate", [0, 1]),
                                        ("circular", [0, 1, 7])])
def test_padding_modes_fold_onto_the_cells_they_copy(mode, rows):
    design = Design("pad", InputSpec(1, 8, 8), [], [
        Node("input", "Input"),
        Node("conv", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 3, "padding": 1, "padding_mode": mode}),
    ])
    network = positive(network_from_design(design))
    field = unit_field(network, "conv", 0, 4)
    assert field.input_box == Box(-1, 3, 1, 5)
    assert sorted(np.nonzero(field.input_mask.any(axis=1))[0]) == rows
    np.testing.assert_array_equal(field.input_mask, reached(network, "conv", 0, 4))


def test_dilation_leaves_gaps_in_the_exact_field():
    design = Design("dil", InputSpec(1, 9, 9), [], [
        Node("input", "Input"), Node("conv", "Conv2d", ["input"], {"out_channels": 1, "kernel_size": 3, "dilation": 3})])
    field = unit_field(network_from_design(design), "conv", 1, 1)
    assert field.input_box == Box(1, 1, 7, 7)
    assert field.input_mask.sum() == 9 and field.input_mask[1, 1] and field.input_mask[4, 7] and not field.input_mask[2, 2]


def test_vector_nodes_see_the_whole_image():
    network = network_from_design(load_template("default"))
    field = unit_field(network, "fc", channel=3)
    assert field.input_mask.all() and field.unit == (0, 0)
    assert field.boxes["relu3"].clipped(8, 8) == Box(0, 0, 7, 7)


def test_effective_field_is_normalised_and_input_sized():
    network = network_from_design(load_template("default"))
    heat = effective_field(network, torch.rand(1, 1, 32, 32), "conv2", 8, 8)
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert heat.max() == pytest.approx(1.0) and heat.min() >= 0
    assert heat[0, 0] == 0  # far outside a 3-conv-deep field
    assert all(not m._forward_hooks for m in network.model.modules())


def test_bad_units_are_named():
    network = network_from_design(load_template("default"))
    with pytest.raises(ExplainError, match="outside"):
        unit_field(network, "conv1", 40, 0)
    with pytest.raises(ExplainError, match="channel 99"):
        unit_field(network, "conv1", 0, 0, channel=99)
    with pytest.raises(ExplainError, match="no node"):
        unit_field(network, "nope", 0, 0)
