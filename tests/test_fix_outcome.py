"""Fixes keep their promise: each label says what applying the fix gives, and that is what it gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from test_analysis_vs_torch import networks

from convviz.analysis import analyze
from convviz.analysis.fix_outcome import fix_outcome
from convviz.design import Design, InputSpec, load_template
from convviz.design.edits import SetParam, apply_edits
from convviz.design.layout import LayoutSpacing, auto_layout, make_room


def chain(shape, *layers) -> Design:
    design = Design("t", InputSpec(*shape))
    last = design.add_node("Input", "input").id
    for type_name, params, node_id in layers:
        last = design.add_node(type_name, node_id, [last], params).id
    return design


def only_fix(design: Design, node_id: str):
    issue = analyze(design).nodes[node_id].errors[0]
    return fix_outcome(design, issue.fix, node_id)


def test_padding_for_a_strided_kernel_says_what_it_gives():
    """Kernel 40, stride 2 on 32×32: the old label promised "keeps 32×32"; padding 19 gives 16×16."""
    design = chain((1, 32, 32), ("Conv2d", {"out_channels": 16, "kernel_size": 40, "stride": 2}, "c"))
    assert only_fix(design, "c").label == "Set padding to 19 (gives 16×16)"
    assert "keep the size" not in analyze(design).nodes["c"].errors[0].hint


def test_an_even_kernel_cannot_keep_the_size_and_the_label_says_so():
    design = chain((1, 32, 32), ("Conv2d", {"out_channels": 16, "kernel_size": 40}, "c"))
    assert only_fix(design, "c").label == "Set padding to 19 (gives 31×31)"
    design = chain((1, 32, 32), ("Conv2d", {"out_channels": 16, "kernel_size": 39}, "c"))
    assert only_fix(design, "c").label == "Set padding to 19 (keeps 32×32)"


def test_a_projection_names_the_shape_it_makes():
    design = Design("t", InputSpec(64, 56, 56))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "main", ["input"], {"out_channels": 128, "kernel_size": 3, "stride": 2, "padding": 1})
    design.add_node("Add", "add", ["main", "input"])
    assert only_fix(design, "add").label == "Insert a 1×1 Conv2d (stride 2) on 'input' (gives 128×28×28)"


def test_a_fix_that_moves_the_problem_on_says_where():
    """Fixing a Linear's input with a Flatten leaves the next Linear with the wrong input? No: but a
    fix that unblocks a later error says so."""
    design = chain((1, 8, 8), ("Conv2d", {"out_channels": 4, "kernel_size": 3}, "c"),
                   ("Linear", {"out_features": 10}, "fc"), ("BatchNorm2d", {}, "bn"))
    outcome = only_fix(design, "fc")
    assert outcome.label == "Insert Flatten before 'fc' (gives 144 features; then 'bn' fails)"
    assert outcome.resolved and outcome.error_node == "bn"


def test_removing_a_final_softmax_names_the_new_output():
    design = chain((1, 8, 8), ("Flatten", {}, "flat"), ("Linear", {"out_features": 3}, "fc"), ("Softmax", {}, "sm"))
    warning = analyze(design).nodes["sm"].warnings[0]
    assert fix_outcome(design, warning.fix, "sm").label == "Remove 'sm' ('fc' then gives 3 features)"


# --- the property: across random designs, every label against what applying it gives ------------

CLAIM = re.compile(r"\((?:'[^']+' then )?(keeps|gives) (?:(\d+)×(\d+)×(\d+)|(\d+)×(\d+)|([\d,]+) features)(; then '([^']+)' fails)?\)$")


def check_label(design: Design, node_id: str | None, fix) -> None:
    outcome = fix_outcome(design, fix, node_id)
    trial = design.copy()
    apply_edits(trial, fix.edits)
    after = analyze(trial)
    before = analyze(design)
    new = [n for n in trial.node_ids if n not in design]
    setters = [e.node for e in fix.edits if isinstance(e, SetParam)]
    # the node reported is the one inserted, else the one the fix sets
    if new:
        assert outcome.node == new[0]
    elif setters and not any(getattr(e, "new_id", None) for e in fix.edits):
        assert outcome.node == setters[0]
    label = outcome.label
    assert label.startswith(fix.label)
    if "does not fix it" in label:
        still = after.nodes.get(node_id)
        assert still is not None and (still.errors or still.blocked_by) or after.nodes[outcome.node].errors
        return
    flagged = after.nodes.get(node_id) if node_id else None
    assert flagged is None or not flagged.errors and not flagged.blocked_by, label
    match = CLAIM.search(label)
    if match is None:
        assert outcome.shape is None or "(" not in label[len(fix.label):], label
        return
    verb, c, h, w, h2, w2, features, _, failing = match.groups()
    shape = after.nodes[outcome.node].output_shape
    if features is not None:
        assert shape == (int(features.replace(",", "")),), label
    elif c is not None:
        assert shape == (int(c), int(h), int(w)), label
    else:
        assert len(shape) == 3 and shape[1:] == (int(h2), int(w2)), label
    if verb == "keeps":
        assert after.nodes[outcome.node].input_shapes[0][1:] == shape[1:], label
    errors_after = {nid for nid, i in after.issues() if i.severity == "error"}
    errors_before = {nid for nid, i in before.issues() if i.severity == "error"}
    if failing is not None:
        assert failing in errors_after and failing not in errors_before, label
    else:
        assert errors_after <= errors_before - {node_id}, label


@settings(max_examples=500)
@given(networks(dag=True))
def test_every_fix_label_is_what_applying_it_gives(design):
    analysis = analyze(design)
    for node_id, issue in analysis.issues():
        if issue.fix is not None:
            check_label(design, node_id, issue.fix)


@pytest.mark.parametrize("name", ["default", "resnet18", "inception_3a", "lenet5"])
def test_labels_on_broken_templates(name):
    """Every conv of a template given a kernel too large for its input: the label matches the result."""
    design = load_template(name)
    analysis = analyze(design)
    for node in list(design):
        if node.type != "Conv2d":
            continue
        broken = design.copy()
        size = analysis.nodes[node.id].input_shapes[0][1]
        broken.set_param(node.id, "kernel_size", size + 3)
        for node_id, issue in analyze(broken).issues():
            if issue.fix is not None:
                check_label(broken, node_id, issue.fix)


# --- an inserted layer gets a card of its own ------------------------------------------------------

SPACING = LayoutSpacing(node_width=210, node_height=84, row_gap=36)


def overlapping(design: Design) -> set[frozenset]:
    cards = [(n.id, n.pos) for n in design if n.pos is not None]
    return {frozenset((a, b)) for i, (a, pa) in enumerate(cards) for b, pb in cards[i + 1:]
            if abs(pa[0] - pb[0]) < SPACING.node_width and abs(pa[1] - pb[1]) < SPACING.node_height}


@settings(max_examples=300)
@given(networks(dag=True))
def test_an_inserted_layer_overlaps_no_card(design):
    design.set_positions(auto_layout(design, SPACING))
    before = overlapping(design)
    for node_id, issue in analyze(design).issues():
        if issue.fix is None:
            continue
        trial = design.copy()
        apply_edits(trial, issue.fix.edits)
        new = [n for n in trial.node_ids if n not in design] + \
            [e.new_id for e in issue.fix.edits if getattr(e, "new_id", None) in design]
        if not new:
            continue
        trial.set_positions(make_room(trial, new, SPACING))
        assert overlapping(trial) <= before, (issue.fix.label, overlapping(trial) - before)
