"""The Design graph and the catalog: edits, their undo records, order and structural checks."""

from __future__ import annotations

import pytest

from convviz.design import CATALOG, FAMILIES, UNSET, Design, DesignError, InputSpec, id_problem
from convviz.design.catalog import ParamTypeError

ISSUE_TYPES = ["Input", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm2d",
               "LocalResponseNorm", "ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax",
               "Dropout", "Dropout2d", "Flatten", "Linear", "Identity", "Add", "Concat"]
#: Issue 12's: decoders, the norms without batch statistics, MobileNetV3's activations, gates, shuffles, splits.
MORE_TYPES = ["ConvTranspose2d", "GroupNorm", "LayerNorm", "InstanceNorm2d", "Hardswish", "Hardsigmoid", "PReLU",
              "ELU", "Mish", "ZeroPad2d", "Upsample", "ChannelShuffle", "Split", "Multiply", "Placeholder",
              "Unflatten"]


def small() -> Design:
    design = Design("t", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "c1", ["input"])
    design.add_node("ReLU", "r1", ["c1"])
    design.add_node("Add", "add", ["r1", "c1"])
    return design


def test_catalog_has_every_layer_with_documented_params():
    assert sorted(CATALOG) == sorted(ISSUE_TYPES + MORE_TYPES)
    conv = CATALOG["Conv2d"]
    assert [p.name for p in conv.params] == ["out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                                             "bias", "padding_mode"]
    assert [p.name for p in CATALOG["MaxPool2d"].params] == ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
    assert [p.name for p in CATALOG["AvgPool2d"].params] == ["kernel_size", "stride", "padding", "ceil_mode",
                                                             "count_include_pad"]
    for spec in CATALOG.values():
        assert spec.family in FAMILIES and spec.summary
        for param in spec.params:
            assert param.doc, (spec.type, param.name)
            if not param.required:  # PyTorch's default must itself be a valid value
                assert param.coerce(param.default) == param.default
    assert (CATALOG["Add"].min_inputs, CATALOG["Add"].max_inputs) == (2, None)
    assert (CATALOG["Input"].min_inputs, CATALOG["Input"].max_inputs) == (0, 0)


def test_coerce_checks_types_not_ranges():
    kernel = CATALOG["Conv2d"].param("kernel_size")
    assert kernel.coerce([3, 5]) == (3, 5) and kernel.coerce(0) == 0
    assert kernel.limit_error(0) == "kernel_size must be ≥ 1, not 0"
    with pytest.raises(ParamTypeError):
        kernel.coerce("3")
    with pytest.raises(ParamTypeError):
        kernel.coerce(True)
    padding = CATALOG["Conv2d"].param("padding")
    assert padding.coerce("same") == "same"
    with pytest.raises(ParamTypeError):
        padding.coerce("full")
    assert CATALOG["MaxPool2d"].param("stride").coerce(None) is None
    with pytest.raises(ParamTypeError):
        CATALOG["Dropout"].param("p").coerce(float("nan"))


def test_ids_must_be_safe_identifiers():
    assert id_problem("conv1") is None
    for bad in ["", "1conv", "conv-1", "class", "forward", "state_dict", "x" * 65, "_hidden", "a.b", "import os"]:
        assert id_problem(bad), bad
    design = small()
    with pytest.raises(DesignError, match="already taken"):
        design.add_node("ReLU", "c1", ["input"])
    with pytest.raises(DesignError, match="not a valid id"):
        design.rename_node("c1", "c 1")


def test_fresh_ids_count_up_per_type():
    design = small()
    assert design.add_node("Conv2d").id == "conv1"
    assert design.add_node("Conv2d").id == "conv2"
    assert design.add_node("Linear").id == "fc1"


def test_remove_and_restore_puts_everything_back():
    design = small()
    before = design.copy()
    removal = design.remove_nodes(["c1"])
    assert "c1" not in design
    assert design.node("r1").inputs == [] and design.node("add").inputs == ["r1"]
    design.restore(removal)
    assert design == before and design.node_ids == before.node_ids


def test_rename_rewrites_edges():
    design = small()
    design.rename_node("c1", "stem")
    assert design.node("r1").inputs == ["stem"] and design.node("add").inputs == ["r1", "stem"]
    assert design.node_ids == ["input", "stem", "r1", "add"]


def test_connect_and_disconnect_keep_input_order():
    design = small()
    design.connect("input", "add", index=0)
    assert design.node("add").inputs == ["input", "r1", "c1"]
    assert design.disconnect("add", 1) == "r1"
    assert design.node("add").inputs == ["input", "c1"]
    design.connect("input", "r1")  # a single-input layer swaps its input
    assert design.node("r1").inputs == ["input"]
    with pytest.raises(DesignError, match="takes no inputs"):
        design.connect("c1", "input")


def test_set_param_coerces_and_can_clear():
    design = small()
    assert design.set_param("c1", "kernel_size", [5, 3]) == 3
    assert design.node("c1").params["kernel_size"] == (5, 3)
    assert design.set_param("c1", "stride", 2) is UNSET
    design.set_param("c1", "stride", UNSET)
    assert "stride" not in design.node("c1").params
    with pytest.raises(DesignError, match="no parameter 'kernal_size'"):
        design.set_param("c1", "kernal_size", 3)
    with pytest.raises(DesignError, match="expected an integer"):
        design.set_param("c1", "out_channels", "many")


def test_listeners_hear_each_edit_and_one_per_batch():
    design = small()
    heard = []
    design.subscribe(heard.append)
    design.set_param("c1", "out_channels", 4)
    design.set_position("c1", (10, 20))
    with design.batch():
        design.add_node("ReLU", "r2", ["add"])
        design.add_node("ReLU", "r3", ["r2"])
    assert [c.kind for c in heard] == ["params", "position", "structure"]
    assert heard[-1].node_ids == ("r2", "r3")
    assert not heard[1].affects_analysis


def test_topological_order_keeps_node_order_for_ties():
    design = Design("t")
    design.add_node("ReLU", "late", ["input"])
    design.add_node("Input", "input")
    design.add_node("ReLU", "early", ["input"])
    order, cyclic = design.topological_order()
    assert order == ["input", "late", "early"] and cyclic == []


def test_ancestors_follow_every_branch_and_stop_at_missing_nodes():
    design = Design("t")
    design.add_node("Input", "input")
    design.add_node("ReLU", "left", ["input"])
    design.add_node("ReLU", "right", ["input"])
    design.add_node("ReLU", "aside", ["input"])
    design.add_node("Add", "join", ["left", "right"])
    design.add_node("ReLU", "broken", ["ghost"])
    assert design.ancestors("join") == {"join", "left", "right", "input"}
    assert design.ancestors("input") == {"input"}
    assert design.ancestors("broken") == {"broken", "ghost"}


def test_repeated_input_counts_per_edge():
    design = Design("t")
    design.add_node("Input", "input")
    design.add_node("Add", "twice", ["input", "input"])
    assert design.topological_order() == (["input", "twice"], [])


def test_structural_validation_names_nodes():
    design = Design("t")
    design.add_node("Input", "input")
    design.add_node("Input", "input2")
    design.add_node("ReLU", "r", ["ghost"])
    design.add_node("Add", "a", ["input"])
    design.add_node("ReLU", "p", ["q"])
    design.add_node("ReLU", "q", ["p"])
    messages = [i.message for i in design.validate()]
    assert any("'input2' is a second Input" in m for m in messages)
    assert any("'r' takes input from 'ghost', which does not exist" in m for m in messages)
    assert any("'a' (Add) needs at least 2 inputs; it has 1" in m for m in messages)
    assert any("'p', 'q' form a cycle" in m for m in messages)


def test_replace_with_reports_only_what_differs():
    design = small()
    other = design.copy()
    other.set_param("c1", "out_channels", 3)
    heard = []
    design.subscribe(heard.append)
    design.replace_with(other)
    assert design == other and heard[-1].node_ids == ("c1",)


def test_hand_made_nodes_are_stored_canonically():
    from convviz.analysis import analyze
    from convviz.design import Node

    design = Design("t", InputSpec(1, 8, 8), nodes=[
        Node("input", "Input"), Node("c", "Conv2d", ["input"], {"out_channels": 2, "kernel_size": [3, 1]})])
    assert design.node("c").params["kernel_size"] == (3, 1)
    assert analyze(design).nodes["c"].output_shape == (2, 6, 8)
