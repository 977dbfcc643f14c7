"""Receptive fields through the layers that enlarge maps, regroup channels, gate or normalise them:
the exact field equals where the gradient reaches, on random decoders and gated networks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convviz.analysis import analyze
from convviz.design import Design, InputSpec, Node
from convviz.design.templates import load_template
from convviz.explain import Box, ExplainError, network_from_design, unit_field
from test_explain_fields import positive, reached


@st.composite
def decoders(draw):
    """Random chains of transposed convs, upsampling, zero padding, channel shuffles, SE gates, PReLU,
    dilated and strided convs, and U-Net skips (a Concat)."""
    channels, size = draw(st.sampled_from([2, 4])), draw(st.integers(3, 7))
    nodes = [Node("input", "Input")]
    current = "input"
    for step in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["deconv", "deconv", "upsample", "pad", "shuffle", "gate", "prelu", "conv",
                                     "skip"]))
        if kind == "deconv":
            stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            params = {"out_channels": 4, "kernel_size": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
                      "stride": stride, "dilation": dilation, "padding": draw(st.integers(0, 2)),
                      "output_padding": draw(st.integers(0, max(stride, dilation) - 1)),
                      "groups": draw(st.sampled_from([1, 2]))}
            added = [Node(f"deconv{step}", "ConvTranspose2d", [current], params)]
        elif kind == "upsample":
            scale = draw(st.one_of(st.sampled_from([2.0, 1.5, 3.0]),
                                   st.tuples(st.sampled_from([1.0, 2.0]), st.sampled_from([2.5, 1.0]))))
            mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]))
            params = {"scale_factor": scale, "mode": mode}
            if mode in ("bilinear", "bicubic"):
                params["align_corners"] = draw(st.booleans())
            added = [Node(f"up{step}", "Upsample", [current], params)]
        elif kind == "pad":
            added = [Node(f"pad{step}", "ZeroPad2d", [current],
                          {"padding": list(draw(st.tuples(*[st.integers(0, 2)] * 4)))})]
        elif kind == "shuffle":
            added = [Node(f"mix{step}", "Conv2d", [current], {"out_channels": 4, "kernel_size": 3, "padding": 1,
                                                              "groups": 2}),
                     Node(f"shuffle{step}", "ChannelShuffle", [f"mix{step}"], {"groups": 2})]
        elif kind == "gate":  # squeeze-and-excitation: x · σ(conv(gap(x)))
            added = [Node(f"gap{step}", "AdaptiveAvgPool2d", [current], {"output_size": 1}),
                     Node(f"fc{step}", "Conv2d", [f"gap{step}"], {"out_channels": 1, "kernel_size": 1}),
                     Node(f"sig{step}", "Sigmoid", [f"fc{step}"]),
                     Node(f"se{step}", "Multiply", [current, f"sig{step}"])]
        elif kind == "conv":  # dilated or strided, behind windows that differ by phase
            added = [Node(f"conv{step}", "Conv2d", [current], {
                "out_channels": 4, "kernel_size": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
                "dilation": draw(st.integers(1, 3)), "padding": draw(st.integers(0, 2))})]
        elif kind == "skip":  # a U-Net skip: the map joined with itself, enlarged and pooled back
            added = [Node(f"big{step}", "ConvTranspose2d", [current], {"out_channels": 2, "kernel_size": 3,
                                                                      "stride": 2, "padding": 1,
                                                                      "output_padding": 1}),
                     Node(f"small{step}", "MaxPool2d", [f"big{step}"], {"kernel_size": 2}),
                     Node(f"skip{step}", "Concat", [current, f"small{step}"])]
        else:
            added = [Node(f"prelu{step}", "PReLU", [current])]
        candidate = nodes + added
        if analyze(_design(candidate, channels, size)).ok:
            nodes, current = candidate, added[-1].id
    return _design(nodes, channels, size)


def _design(nodes, channels, size):
    return Design("decoder", InputSpec(channels, size, size), [], [n.copy() for n in nodes])


@st.composite
def units(draw):
    design = draw(decoders())
    analysis = analyze(design)
    node_id = draw(st.sampled_from([n for n in analysis.order if n != "input"] or ["input"]))
    c, h, w = analysis.nodes[node_id].output_shape
    channel = draw(st.one_of(st.none(), st.integers(0, c - 1)))
    return design, node_id, draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1)), channel


@settings(max_examples=80, deadline=None)
@given(units())
def test_exact_field_is_where_the_gradient_reaches(case):
    design, node_id, y, x, channel = case
    network = positive(network_from_design(design))
    try:
        field = unit_field(network, node_id, y, x, channel)
    except ExplainError:  # a unit between a transposed conv's stamps reads no pixel at all
        assert not reached(network, node_id, y, x, channel).any()
        assume(False)
    gradient = reached(network, node_id, y, x, channel)
    # A padding pixel times a gate is 0 whatever the gate says: the walk, which follows which values
    # a unit is computed from, still lists the gate's pixels; the gradient of a constant is zero.
    assume(gradient.any() or not any(n.type == "Multiply" for n in design))
    np.testing.assert_array_equal(field.input_mask, gradient, err_msg=f"{node_id} ({y}, {x}) channel {channel}")


def _chain(*nodes, shape=(1, 6, 6)):
    return network_from_design(Design("chain", InputSpec(*shape), [], [Node("input", "Input"), *nodes]))


def test_a_stride_2_transposed_conv_stamps_each_input_twice_as_far_apart():
    network = _chain(Node("up", "ConvTranspose2d", ["input"], {"out_channels": 1, "kernel_size": 3, "stride": 2}))
    # Output row 4 = 2·i + t: i = 2 (t = 0) and i = 1 (t = 2); row 5: i = 2 (t = 1) only.
    assert unit_field(network, "up", 4, 4).input_box == Box(1, 1, 2, 2)
    assert unit_field(network, "up", 5, 5).input_box == Box(2, 2, 2, 2)
    gaps = _chain(Node("up", "ConvTranspose2d", ["input"], {"out_channels": 1, "kernel_size": 1, "stride": 2}))
    with pytest.raises(ExplainError, match="no input pixel reaches it"):
        unit_field(gaps, "up", 1, 1)
    record = network.analysis.nodes["up"]
    assert record.receptive_field.size == (2, 2) and record.receptive_field.jump == (0.5, 0.5)


def test_zero_padding_shifts_the_field_and_reads_nothing_in_the_border():
    network = _chain(Node("pad", "ZeroPad2d", ["input"], {"padding": [2, 0, 1, 0]}))
    assert unit_field(network, "pad", 3, 4).input_box == Box(2, 2, 2, 2)
    assert not unit_field(network, "pad", 0, 0).input_mask.any()


def test_a_gate_makes_every_unit_see_the_whole_image():
    network = _chain(Node("conv", "Conv2d", ["input"], {"out_channels": 2, "kernel_size": 1}),
                     Node("gap", "AdaptiveAvgPool2d", ["conv"], {"output_size": 1}),
                     Node("gate", "Sigmoid", ["gap"]),
                     Node("se", "Multiply", ["conv", "gate"]))
    assert unit_field(network, "se", 2, 3).input_mask.all()
    field = network.analysis.nodes["se"].receptive_field
    assert field.size == (6, 6) and field.jump == (1, 1)  # the lattice of the map, the field of the gate


def test_normalisations_read_their_groups_image_or_channel():
    network = _chain(Node("conv", "Conv2d", ["input"], {"out_channels": 4, "kernel_size": 1, "groups": 1}),
                     Node("gn", "GroupNorm", ["conv"], {"num_groups": 2}),
                     Node("inorm", "InstanceNorm2d", ["input"]), Node("ln", "LayerNorm", ["input"]),
                     shape=(4, 5, 5))
    assert unit_field(network, "gn", 1, 1, channel=0).masks["conv"][0].all()
    assert unit_field(network, "inorm", 1, 1, channel=2).input_mask.all()
    assert unit_field(network, "ln", 1, 1, channel=0).input_mask.all()
    # The textbook rectangle stays the unit's own pixel: normalisation moves no window.
    assert unit_field(network, "ln", 1, 1).input_box == Box(1, 1, 1, 1)


@settings(max_examples=80, deadline=None)
@given(units())
def test_the_analysis_field_is_the_rectangle_of_every_unit_after_fractional_strides(case):
    """After transposed convs and interpolation, neighbouring units see windows of different sizes;
    the analysis lists them per phase, so its rectangle is the walk's for every unit."""
    design, node_id, y, x, _ = case
    try:
        field = unit_field(network_from_design(design), node_id, y, x)
    except ExplainError:  # between a transposed conv's stamps: the analysis agrees no pixel is read
        assert analyze(design).nodes[node_id].receptive_field.window(y, x) is None
        return
    assert field.formula_box == field.input_box, (node_id, (y, x), field.formula, field.input_box)


def test_the_unet_summary_names_its_widest_unit_and_every_unit_matches_the_walk():
    """unet_small's decoder units see windows of different sizes by phase (the summary said 96, an
    average, where the units see 92 or 100): the summary names the widest, and each unit's
    rectangle is the real field's bounding box, read from the modules."""
    network = network_from_design(load_template("unet_small"))
    field = network.analysis.nodes["classify"].receptive_field
    heights = set()
    for unit in range(56, 72):  # two of the decoder's periods, far from the borders
        walked = unit_field(network, "classify", unit, unit)
        rows, cols = np.flatnonzero(walked.input_mask.any(axis=1)), np.flatnonzero(walked.input_mask.any(axis=0))
        assert walked.input_box == Box(rows[0], cols[0], rows[-1], cols[-1]) == walked.formula_box, unit
        heights.add(walked.input_box.height)
    assert len(heights) > 1 and field.size == (max(heights), max(heights))
    assert analyze(load_template("unet_small")).receptive_field.size == field.size


def test_after_squeeze_and_excitation_gates_the_summary_is_the_walks_field():
    """MobileNetV3's gates let every unit see the gate's window too: the summary said 2,475 (each gate's
    widest unit taken as every unit's, then grown again), the walk through the modules 831."""
    network = network_from_design(load_template("mobilenet_v3_small"))
    field = network.analysis.receptive_field
    for unit in (0, 3, 6):  # corner, centre and far corner of the last 7×7 map
        walked = unit_field(network, "conv_last_hardswish", unit, unit)
        assert walked.formula_box == walked.input_box
        assert field.size == (walked.input_box.height, walked.input_box.width)
