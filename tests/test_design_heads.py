"""Edits that touch a design's heads never make an auxiliary classifier the main output silently:
a bridged head passes to its input, a deleted main head to the layer that then gives its scores (or the
heads are cleared), and one head or fewer left is the design's one implicit output again."""

from __future__ import annotations

from convviz.analysis import analyze
from convviz.analysis.head import main_head_successor
from convviz.design import Head, load_template
from convviz.design.edits import apply_edits
from convviz.design.heads import after_removal


def googlenet_with_softmax():
    """GoogLeNet with its auxiliary classifiers and a final Softmax 'probs' as the main head."""
    design = load_template("googlenet_aux")
    design.add_node("Softmax", "probs", ["fc"], {"dim": 1})
    design.set_heads([Head("probs"), *design.heads[1:]])
    return design


def aux_nodes(design):
    return [n.id for n in design if n.id.startswith("aux")]


def test_deleting_the_main_head_never_promotes_an_auxiliary_one():
    design = load_template("googlenet_aux")
    design.remove_nodes(["fc"])  # was: heads [aux1_fc2, aux2_fc2], the output aux1_fc2
    assert design.heads == []
    assert analyze(design).output != "aux1_fc2"


def test_the_fix_removing_a_final_softmax_hands_the_main_head_to_its_input():
    design = googlenet_with_softmax()
    analysis = analyze(design)
    fix = next(i.fix for nid, i in analysis.issues() if nid == "probs" and i.fix is not None)
    apply_edits(design, fix.edits)
    assert design.heads == [Head("fc"), Head("aux1_fc2", 0.3), Head("aux2_fc2", 0.3)]
    assert analyze(design).output == "fc"


def test_deleting_a_final_softmax_that_is_the_main_head_passes_the_head_to_the_linear():
    design = googlenet_with_softmax()
    successor = main_head_successor(design, analyze(design).nodes, {"probs"})
    assert successor == "fc"
    design.remove_nodes(["probs"], after_removal(design.heads, {"probs"}, successor))
    assert [h.node for h in design.heads] == ["fc", "aux1_fc2", "aux2_fc2"]


def test_deleting_the_final_linear_leaves_features_not_scores():
    design = load_template("googlenet_aux")
    assert main_head_successor(design, analyze(design).nodes, {"fc"}) is None  # dropout gives 1024 features
    design.add_node("Softmax", "probs", ["fc"], {"dim": 1})
    design.set_heads([Head("probs"), *design.heads[1:]])
    assert main_head_successor(design, analyze(design).nodes, {"probs", "fc"}) is None


def test_deleting_every_auxiliary_branch_returns_to_one_implicit_output():
    design = load_template("googlenet_aux")
    design.remove_nodes(aux_nodes(design))  # was: heads [fc], pinning the output to fc
    assert design.heads == []
    design.add_node("Softmax", "probs", ["fc"], {"dim": 1})
    analysis = analyze(design)
    assert analysis.output == "probs"
    assert not any("unused" in issue.message for _, issue in analysis.issues())


def test_a_removal_is_undone_with_its_heads():
    design = load_template("googlenet_aux")
    before = list(design.heads)
    design.restore(design.remove_nodes(["fc"]))
    assert design.heads == before
