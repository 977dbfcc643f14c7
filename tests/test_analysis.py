"""The analysis: DESIGN.md's worked numbers, errors at their cause with working fixes, derivations."""

from __future__ import annotations

import pytest

from convviz.analysis import analyze, pooled_size
from convviz.design import Design, InputSpec, load_template
from convviz.design.edits import apply_edits


def chain(shape, *layers) -> Design:
    """Input(shape) → layers, each (type, params) or (type, params, id)."""
    design = Design("t", InputSpec(*shape))
    design.add_node("Input", "input")
    last = "input"
    for layer in layers:
        type_name, params = layer[0], layer[1]
        node = design.add_node(type_name, layer[2] if len(layer) > 2 else None, [last], params)
        last = node.id
    return design


# --- DESIGN.md's seeds -------------------------------------------------------------------------

def test_conv_parameter_count_seed():
    design = chain((3, 8, 8), ("Conv2d", {"out_channels": 2, "kernel_size": 3}, "c"))
    node = analyze(design).nodes["c"]
    assert node.params == 56
    assert any(d.text == "params = (3·3·3 + 1)·2 = 56" for d in node.derivations)


def test_output_size_derivation_substitutes_values():
    design = chain((1, 28, 28), ("Conv2d", {"out_channels": 6, "kernel_size": 3, "padding": 1}, "c"))
    node = analyze(design).nodes["c"]
    assert node.output_shape == (6, 28, 28)
    texts = [d.text for d in node.derivations]
    assert any("⌊(28 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 28" in t for t in texts), texts


def test_bottleneck_seed_macs():
    analysis = analyze(load_template("conv5x5_vs_bottleneck"))
    nodes = analysis.nodes
    assert nodes["direct_5x5"].macs == 120_422_400
    assert nodes["bottleneck_1x1"].macs == 2_408_448
    assert nodes["bottleneck_5x5"].macs == 10_035_200
    assert nodes["bottleneck_1x1"].macs + nodes["bottleneck_5x5"].macs == 12_443_648


@pytest.mark.parametrize("ceil_mode, expected", [(False, 3), (True, 4)])
def test_pool_output_size_with_and_without_ceil_mode(ceil_mode, expected):
    design = chain((1, 7, 7), ("MaxPool2d", {"kernel_size": 2, "stride": 2, "ceil_mode": ceil_mode}, "p"))
    assert analyze(design).nodes["p"].output_shape == (1, expected, expected)


def test_ceil_mode_never_starts_a_window_in_the_padding():
    # (5 + 2·1 − 3 + 2) // 3 + 1 = 3 windows by the ceil formula, but the third would start at 6 ≥ 5 + 1.
    assert pooled_size(5, 3, 3, 1, True) == 2
    design = chain((1, 5, 5), ("MaxPool2d", {"kernel_size": 3, "stride": 3, "padding": 1, "ceil_mode": True}, "p"))
    node = analyze(design).nodes["p"]
    assert node.output_shape == (1, 2, 2)
    assert any("last window would start in the padding" in d.text for d in node.derivations)


EXPECTED_TOTALS = {
    "lenet5": (61_706, None, None),
    "alexnet": (61_100_840, None, None),
    "vgg16": (138_357_544, 15_470_264_320, 212),
    "resnet18": (11_689_512, 1_814_073_344, 435),
}


@pytest.mark.parametrize("name", EXPECTED_TOTALS)
def test_well_known_totals(name):
    params, macs, field = EXPECTED_TOTALS[name]
    analysis = analyze(load_template(name))
    assert analysis.ok
    assert analysis.params == params
    if macs is not None:
        assert analysis.macs == macs
    if field is not None:
        assert analysis.receptive_field.size == (field, field)


def test_inception_v3_field_is_the_published_1311():
    """Asymmetric 1×7 / 7×1 branches: the per-axis union at each Concat gives the published 1311
    (the largest-area rule gave 1247); the parameters are torchvision's to the last one; the Explain
    view's exact rectangle of a unit is the same."""
    from reference_networks import inception_v3

    from convviz.explain import network_from_design, unit_field

    design = inception_v3()
    analysis = analyze(design)
    assert analysis.ok and analysis.params == 23_834_568
    assert analysis.receptive_field.size == (1311, 1311)
    assert analysis.nodes["Mixed_7c"].receptive_field.size == (1311, 1311)
    field = unit_field(network_from_design(design), "Mixed_7c", 4, 4)
    assert field.input_box.height == field.input_box.width == 1311 and field.formula_exact


def test_the_network_field_in_the_totals_is_what_the_badges_say():
    """The totals give the last feature map's field; every layer after global pooling is 'global',
    not a second, larger number (18 in the totals against 46 on the classifier, before)."""
    from convviz.analysis.report import field_text, network_field_text, summary_rows, totals_lines

    analysis = analyze(load_template("default"))
    badges = {row.id: row.field for row in summary_rows(analysis)}
    assert network_field_text(analysis) == badges["relu3"] == "18"
    assert [badges[n] for n in ("gap", "flatten", "fc")] == ["global"] * 3
    assert field_text(analysis.nodes["fc"]) == "global"
    assert any(line.startswith("Receptive field: 18") for line in totals_lines(analysis))
    numbers = {b for b in badges.values() if b not in ("global", "—")}
    assert max(numbers, key=float) == network_field_text(analysis)  # no badge shows a larger field than the network's
    assert any("global" in d.text for d in analysis.nodes["gap"].derivations)


def test_receptive_field_grows_by_k_minus_one_times_jump():
    design = chain((1, 64, 64),
                   ("Conv2d", {"out_channels": 1, "kernel_size": 3}, "a"),           # 3, jump 1
                   ("MaxPool2d", {"kernel_size": 2}, "b"),                           # 4, jump 2
                   ("Conv2d", {"out_channels": 1, "kernel_size": 3, "dilation": 2}, "c"))  # 4 + 4·2 = 12
    nodes = analyze(design).nodes
    assert nodes["a"].receptive_field.size == (3, 3)
    assert nodes["b"].receptive_field.size == (4, 4) and nodes["b"].receptive_field.jump == (2, 2)
    assert nodes["c"].receptive_field.size == (12, 12)


def test_receptive_field_start_accounts_for_padding():
    design = chain((1, 8, 8), ("Conv2d", {"out_channels": 1, "kernel_size": 3, "padding": 1, "stride": 2}, "c"))
    field = analyze(design).nodes["c"].receptive_field
    # Unit 0's 3×3 window is centred on pixel 0 (its top-left row lies in the padding).
    assert field.start == (0, 0)
    assert field.window(1, 1) == (1, 1, 3, 3)


def test_dilated_template_fields():
    nodes = analyze(load_template("dilated")).nodes
    assert nodes["plain_conv3"].receptive_field.size == (7, 7)
    assert nodes["dilated_conv3"].receptive_field.size == (15, 15)
    assert nodes["plain_conv3"].params == nodes["dilated_conv3"].params


def test_grouped_template_divides_by_groups():
    nodes = analyze(load_template("grouped")).nodes
    assert nodes["groups_1"].params == (3 * 3 * 64 + 1) * 64
    assert nodes["groups_4"].params == (3 * 3 * 16 + 1) * 64
    assert nodes["groups_64"].params == (3 * 3 * 1 + 1) * 64
    assert nodes["groups_1"].macs == 4 * nodes["groups_4"].macs == 64 * nodes["groups_64"].macs


def test_two_3x3_see_what_one_5x5_sees_with_fewer_weights():
    nodes = analyze(load_template("two3x3_vs_5x5")).nodes
    assert nodes["single_5x5"].receptive_field.size == nodes["stacked_3x3_b"].receptive_field.size == (5, 5)
    assert nodes["stacked_3x3_a"].params + nodes["stacked_3x3_b"].params < nodes["single_5x5"].params


# --- errors: once, at the cause, with a fix that works ------------------------------------------

def fix_of(design: Design, node_id: str):
    analysis = analyze(design)
    node = analysis.nodes[node_id]
    assert node.errors, f"{node_id} has no error"
    return node.errors[0]


def assert_fix_repairs(design: Design, node_id: str) -> None:
    issue = fix_of(design, node_id)
    assert issue.fix is not None, issue.message
    apply_edits(design, issue.fix.edits)
    after = analyze(design)
    assert after.ok, after.first_error()


def test_linear_on_a_map_asks_for_flatten():
    design = chain((1, 8, 8), ("Conv2d", {"out_channels": 4, "kernel_size": 3}, "c"),
                   ("Linear", {"out_features": 10}, "fc"), ("Softmax", {}, "sm"))
    analysis = analyze(design)
    issue = analysis.nodes["fc"].errors[0]
    assert "Flatten" in issue.hint and issue.fix.label == "Insert Flatten before 'fc'"
    # Reported once: the node after it is blocked, not in error.
    assert not analysis.nodes["sm"].errors and analysis.nodes["sm"].blocked_by == "fc"
    apply_edits(design, issue.fix.edits)
    analysis = analyze(design)
    assert analysis.ok and analysis.nodes["fc"].inferred["in_features"] == 4 * 6 * 6


def test_kernel_larger_than_padded_input_offers_keep_size_padding():
    design = chain((1, 4, 4), ("Conv2d", {"out_channels": 4, "kernel_size": 5}, "c"))
    issue = fix_of(design, "c")
    assert "4×4" in issue.message and "5×5" in issue.message
    assert issue.fix.label.startswith("Set padding to 2")
    assert_fix_repairs(design, "c")
    assert analyze(design).nodes["c"].output_shape == (4, 4, 4)


def test_add_with_different_shapes_names_both_and_projects():
    design = Design("t", InputSpec(64, 56, 56))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "main", ["input"], {"out_channels": 128, "kernel_size": 3, "stride": 2, "padding": 1})
    design.add_node("Add", "add", ["main", "input"])
    issue = fix_of(design, "add")
    assert "'input' gives 64×56×56" in issue.message and "'main' gives 128×28×28" in issue.message
    assert "1×1 Conv2d" in issue.fix.label
    assert_fix_repairs(design, "add")


def test_add_mismatch_from_missing_padding_fixes_the_padding():
    design = Design("t", InputSpec(8, 28, 28))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "conv", ["input"], {"out_channels": 8, "kernel_size": 3})
    design.add_node("Add", "add", ["conv", "input"])
    issue = fix_of(design, "add")
    assert issue.fix.label == "Set padding of 'conv' to 1"
    from convviz.analysis.fix_outcome import fix_outcome

    assert fix_outcome(design, issue.fix, "add").label == "Set padding of 'conv' to 1 (keeps 28×28)"
    assert_fix_repairs(design, "add")


def test_concat_with_different_sizes():
    design = Design("t", InputSpec(8, 28, 28))
    design.add_node("Input", "input")
    design.add_node("MaxPool2d", "pool", ["input"], {"kernel_size": 2})
    design.add_node("Concat", "cat", ["input", "pool"])
    issue = fix_of(design, "cat")
    assert "H×W must match" in issue.message and "8×14×14" in issue.message
    assert_fix_repairs(design, "cat")
    assert analyze(design).nodes["cat"].output_shape == (16, 14, 14)


def test_groups_must_divide_channels():
    design = chain((6, 8, 8), ("Conv2d", {"out_channels": 8, "kernel_size": 3, "groups": 4}, "c"))
    issue = fix_of(design, "c")
    assert "groups = 4" in issue.message and "(6)" in issue.message
    assert issue.fix.label == "Set groups to 2"
    assert_fix_repairs(design, "c")


def test_batchnorm_after_flatten_moves_before_it():
    design = chain((4, 8, 8), ("Flatten", {}, "flat"), ("BatchNorm2d", {}, "bn"), ("Linear", {"out_features": 3}, "fc"))
    issue = fix_of(design, "bn")
    assert "flat vector of 256 features" in issue.message
    assert_fix_repairs(design, "bn")
    assert design.node("bn").inputs == ["input"] and design.node("flat").inputs == ["bn"]


@pytest.mark.parametrize("name", ["stride", "dilation"])
def test_zero_stride_or_dilation(name):
    design = chain((1, 8, 8), ("Conv2d", {"out_channels": 4, "kernel_size": 3, name: 0}, "c"))
    issue = fix_of(design, "c")
    assert issue.message == f"{name[0].upper()}{name[1:]} must be ≥ 1, not 0."
    assert issue.fix.label == f"Set {name} to 1"
    assert_fix_repairs(design, "c")


def test_same_padding_with_stride():
    design = chain((1, 8, 8), ("Conv2d", {"out_channels": 4, "kernel_size": 5, "padding": "same", "stride": 2}, "c"))
    issue = fix_of(design, "c")
    assert "stride 1" in issue.message
    assert issue.fix.label == "Set padding to 2"
    assert_fix_repairs(design, "c")
    assert analyze(design).nodes["c"].output_shape == (4, 4, 4)


def test_pool_collapsing_to_nothing():
    design = chain((1, 3, 3), ("MaxPool2d", {"kernel_size": 4}, "p"))
    issue = fix_of(design, "p")
    assert "empty" in issue.message
    assert_fix_repairs(design, "p")


def test_structural_errors_block_downstream():
    design = Design("t", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    design.add_node("ReLU", "orphan")            # no input
    design.add_node("ReLU", "after", ["orphan"])
    analysis = analyze(design)
    assert "not connected" in analysis.nodes["orphan"].errors[0].message
    assert analysis.nodes["after"].blocked_by == "orphan" and not analysis.nodes["after"].errors
    assert not analysis.ok


def test_cycle_is_reported_once_naming_its_nodes():
    design = Design("t", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    design.add_node("Add", "a", ["input", "b"])
    design.add_node("ReLU", "b", ["a"])
    design.add_node("ReLU", "c", ["b"])
    analysis = analyze(design)
    assert analysis.nodes["a"].errors[0].message == "'a', 'b' form a cycle; data must flow one way."
    assert not analysis.nodes["b"].errors and analysis.nodes["b"].blocked_by == "a"
    assert analysis.nodes["c"].blocked_by == "a"
    assert [issue.message for _, issue in analysis.issues()] == [analysis.nodes["a"].errors[0].message]


def test_a_long_cycle_names_a_few_of_its_nodes():
    design = Design("t", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    ids = [f"r{i}" for i in range(50)]
    for i, nid in enumerate(ids):
        design.add_node("ReLU", nid, [ids[i - 1]])
    analysis = analyze(design)
    (nid, issue), = analysis.issues()
    assert nid == "r0"
    assert issue.message == "'r0', 'r1', 'r2', 'r3', 'r4', 'r5' and 44 more nodes form a cycle; data must flow one way."
    assert all(analysis.nodes[i].blocked_by == "r0" for i in ids[1:])


def test_unused_output_is_a_warning_not_an_error():
    design = chain((1, 8, 8), ("ReLU", {}, "r"))
    design.add_node("Tanh", "side", ["input"])
    design.add_node("Sigmoid", "out", ["r"])
    analysis = analyze(design)
    assert analysis.ok and analysis.output == "out"
    assert "unused" in analysis.nodes["side"].warnings[0].message


def test_no_input_at_all():
    design = Design("t")
    design.add_node("ReLU", "r")
    analysis = analyze(design)
    assert not analysis.ok
    assert any("no Input" in issue.message for _, issue in analysis.issues())


def test_every_node_derives_its_numbers():
    analysis = analyze(load_template("resnet18"))
    conv = analysis.nodes["layer2_0_down"]
    quantities = {d.quantity for d in conv.derivations}
    assert {"H_out", "params", "MACs", "RF", "activation"} <= quantities
    assert any("params = (1·1·64)·128 = 8,192 (no bias)" == d.text for d in conv.derivations)


def test_json_report_has_the_documented_keys():
    data = analyze(load_template("lenet5")).to_json()
    node = data["nodes"][1]
    assert set(node) >= {"id", "type", "output_shape", "params", "macs", "activation_bytes", "receptive_field", "errors"}
    assert set(node["receptive_field"]) == {"size", "jump", "start"}
    assert data["total"]["params"] == 61_706
    assert data["total"]["receptive_field"]["size"] == [16, 16]


def test_a_final_softmax_is_flagged_with_a_fix():
    design = chain((1, 8, 8), ("Flatten", {}, "flat"), ("Linear", {"out_features": 3}, "fc"), ("Softmax", {}, "sm"))
    analysis = analyze(design)
    assert analysis.ok  # a warning: the model still builds
    warning = analysis.nodes["sm"].warnings[0]
    assert "cross-entropy" in warning.message and warning.fix.label == "Remove 'sm'"
    apply_edits(design, warning.fix.edits)
    assert "sm" not in design and analyze(design).output == "fc"


# --- the head of a classifier ------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["ReLU", "Sigmoid", "Tanh", "GELU"])
def test_an_activation_after_the_final_linear_is_flagged_with_its_removal(activation):
    design = chain((1, 8, 8), ("Flatten", {}, "flat"), ("Linear", {"out_features": 10}, "fc"),
                   ("Dropout", {}, "drop"), (activation, {}, "act"))
    warnings = analyze(design).nodes["act"].warnings
    assert len(warnings) == 1 and "after the final Linear 'fc'" in warnings[0].message
    apply_edits(design, warnings[0].fix.edits)
    assert design.node("drop").inputs == ["fc"] and "act" not in design
    assert not analyze(design).issues()


def test_an_activation_between_linears_is_not_flagged():
    design = chain((1, 8, 8), ("Flatten", {}, "flat"), ("Linear", {"out_features": 32}, "fc1"),
                   ("ReLU", {}, "act"), ("Linear", {"out_features": 10}, "fc2"))
    assert not analyze(design).issues()


def test_class_scores_that_do_not_match_the_data_are_flagged_with_the_fix():
    design = load_template("default")  # fc gives 10 scores
    analysis = analyze(design, classes=["bird", "cat", "dog"])
    warning = analysis.nodes["fc"].warnings[0]
    assert "10 class scores, but the data has 3 classes (bird, cat, dog)" in warning.message
    assert warning.fix.label == "Set out_features of 'fc' to 3"
    apply_edits(design, warning.fix.edits)
    assert not analyze(design, classes=["bird", "cat", "dog"]).nodes["fc"].warnings
    assert analyze(design).nodes["fc"].warnings  # the design's own ten names no longer match either


def test_head_warnings_follow_edits_after_the_node_they_sit_on():
    """A ReLU's warning depends on what comes after it: appending a Linear (an edit the ReLU's own
    record does not see) takes it off in an incremental analysis as in a full one."""
    from test_analysis_incremental import assert_same_as_full

    from convviz.analysis import reanalyze

    design = chain((1, 8, 8), ("Flatten", {}, "flat"), ("Linear", {"out_features": 10}, "fc"), ("ReLU", {}, "act"))
    heard = []
    design.subscribe(heard.append)
    analysis = analyze(design)
    assert analysis.nodes["act"].warnings
    design.add_node("Linear", "fc2", ["act"], {"out_features": 10})
    after = reanalyze(analysis, design, heard[-1])
    assert not after.nodes["act"].warnings
    assert_same_as_full(after, design, analysis)
    design.remove_nodes(["fc2"])
    again = reanalyze(after, design, heard[-1])
    assert again.nodes["act"].warnings and again.issues() == analyze(design).issues()
    assert_same_as_full(again, design, after)


def _pool_fit_by_search(k, pad, d, size):
    """The old linear search for the largest pool kernel that fits (the reference for the closed form)."""
    fit = []
    for kk, pp, dd, n in zip(k, pad, d, size):
        choice = next((c for c in range(kk, 0, -1) if pp <= c // 2 and dd * (c - 1) + 1 <= n + 2 * pp), None)
        if choice is None:
            return None
        fit.append(choice)
    return fit[0] if fit[0] == fit[1] else tuple(fit)


def test_the_pool_kernel_that_fits_is_the_searched_one_in_closed_form():
    from itertools import product

    from convviz.analysis.layers import _pool_kernel_that_fits

    for k, p, d, n, m in product(range(1, 14), range(0, 5), range(1, 4), range(1, 9), (1, 5)):
        args = ((k, k + m - 1), (p, p), (d, d), (n, n + m))
        assert _pool_kernel_that_fits(*args) == _pool_fit_by_search(*args), args


@pytest.mark.parametrize("kernel", [10 ** 9, 10 ** 12, 10 ** 15 - 1])
def test_a_pool_kernel_of_a_trillion_is_answered_at_once(kernel):
    """The search took >30 s for 10⁹ and never ended for 10¹² (File ▸ Open froze): now closed form."""
    design = load_template("default")
    design.set_param("pool1", "kernel_size", kernel)
    issue = analyze(design).nodes["pool1"].errors[0]
    assert issue.fix is not None and issue.fix.label == "Set kernel_size to 32"
