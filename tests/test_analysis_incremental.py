"""Incremental analysis: after any edit, ``reanalyze`` equals a full ``analyze``, hands on the very
record of every node it did not change, and re-runs only the nodes the edit reaches.

The designs are test_analysis_vs_torch's random chains and DAGs; the edits are random sequences of
everything a user (or a fix, or undo) can do to a design, cycles and dangling inputs included.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convviz.analysis import analyze, reanalyze
from convviz.analysis import engine
from convviz.design import CATALOG, UNSET, Design, DesignError, InputSpec, load_template
from convviz.design.edits import apply_edits

from test_analysis_vs_torch import networks, params_for

TYPES = sorted(t for t in CATALOG if t != "Input")


def assert_same_as_full(incremental, design: Design, previous) -> None:
    full = analyze(design)
    assert list(incremental.nodes) == list(full.nodes)
    assert incremental.order == full.order
    for nid, record in full.nodes.items():
        assert incremental.nodes[nid] == record, nid
        assert incremental.nodes[nid].derivations == record.derivations, nid
    for name in ("output", "params", "macs", "activation_bytes", "receptive_field", "output_shape",
                 "general_issues"):
        assert getattr(incremental, name) == getattr(full, name), name
    assert incremental.ok == full.ok and incremental.issues() == full.issues()
    # What did not change is the very same object: a view can skip it by identity.
    for nid, record in incremental.nodes.items():
        before = previous.nodes.get(nid)
        if before == record:
            assert before is record, nid


@st.composite
def an_edit(draw, design: Design):
    """One random edit as (description, function applying it to the design)."""
    ids = design.node_ids
    kind = draw(st.sampled_from(["param", "param", "param", "clear", "inputs", "add", "remove", "rename",
                                 "input_spec", "fix", "replace", "batch", "meta"]))
    if kind in ("param", "clear") and any(design.node(i).type != "Input" for i in ids):
        nid = draw(st.sampled_from([i for i in ids if design.node(i).type != "Input"]))
        values = draw(params_for(design.node(nid).type))
        if kind == "clear" or not values:
            names = [p.name for p in CATALOG[design.node(nid).type].params]
            if not names:
                return "nothing", lambda d: None
            name = draw(st.sampled_from(names))
            return f"clear {nid}.{name}", lambda d: d.set_param(nid, name, UNSET)
        name = draw(st.sampled_from(sorted(values)))
        return f"set {nid}.{name}={values[name]!r}", lambda d: d.set_param(nid, name, values[name])
    if kind == "inputs" and ids:
        nid = draw(st.sampled_from(ids))
        sources = draw(st.lists(st.sampled_from(ids + ["ghost"]), max_size=3))  # cycles and dangling inputs too
        return f"inputs {nid}={sources}", lambda d: d.set_inputs(nid, sources)
    if kind == "add":
        type_name = draw(st.sampled_from(TYPES))
        sources = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2)) if ids else []
        params = draw(params_for(type_name))
        index = draw(st.none() | st.integers(0, len(ids)))
        return (f"add {type_name}{params} <- {sources} at {index}",
                lambda d: d.add_node(type_name, None, sources, params, index=index))
    if kind == "remove" and ids:
        doomed = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))
        return f"remove {doomed}", lambda d: d.remove_nodes(doomed)
    if kind == "rename" and ids:
        nid = draw(st.sampled_from(ids))
        new = draw(st.sampled_from(["renamed", "x1", "input"]))  # "input" may be taken: refused
        return f"rename {nid}->{new}", lambda d: d.rename_node(nid, new)
    if kind == "input_spec":
        spec = InputSpec(*draw(st.tuples(st.integers(1, 6), st.integers(1, 16), st.integers(1, 16))))
        return f"input {spec}", lambda d: d.set_input_spec(spec)
    if kind == "meta":
        return "rename design", lambda d: d.set_name(d.name + "!")
    if kind == "fix":
        fixes = [i.fix for _, i in analyze(design).issues() if i.fix is not None]
        if fixes:
            fix = draw(st.sampled_from(fixes))
            return f"fix {fix.label}", lambda d: apply_edits(d, fix.edits)
    if kind == "replace":
        other = design.copy()
        _, edit = draw(an_edit(other))
        try:
            edit(other)
        except DesignError:
            pass
        return "replace_with an edited copy", lambda d: d.replace_with(other)
    if kind == "batch":
        first_label, first = draw(an_edit(design))
        second_label, second = draw(an_edit(design))

        def both(d: Design) -> None:
            with d.batch():
                first(d)
                second(d)  # drawn against the design before the first: may be refused
        return f"batch({first_label}; {second_label})", both
    return "nothing", lambda d: None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_nodes=10, dag=True), st.data())
def test_incremental_analysis_equals_a_full_one_after_random_edits(design, data):
    analysis = analyze(design)
    heard = []
    design.subscribe(heard.append)
    for _ in range(data.draw(st.integers(1, 8))):
        label, edit = data.draw(an_edit(design), label="edit")
        heard.clear()
        try:
            edit(design)
        except DesignError:
            pass
        for change in heard:  # what Document._on_design_change does with each notification
            previous, analysis = analysis, reanalyze(analysis, design, change)
            assert_same_as_full(analysis, design, previous)


def count_node_runs(monkeypatch) -> list[str]:
    runs: list[str] = []
    real = engine._analyze_node

    def counting(design, structure, nid, results, looked_around):
        runs.append(nid)
        return real(design, structure, nid, results, looked_around)

    monkeypatch.setattr(engine, "_analyze_node", counting)
    return runs


def conv_chain(blocks: int) -> Design:
    design = Design("chain", InputSpec(3, 32, 32))
    design.add_node("Input", "input")
    last = "input"
    for i in range(blocks):
        design.add_node("Conv2d", f"c{i}", [last], {"out_channels": 8, "kernel_size": 3, "padding": 1})
        last = design.add_node("ReLU", f"r{i}", [f"c{i}"]).id
    return design


def edit_and_reanalyze(design: Design, edit, analysis=None):
    analysis = analysis or analyze(design)
    heard = []
    design.subscribe(heard.append)
    edit(design)
    for change in heard:
        analysis = reanalyze(analysis, design, change)
    return analysis


def test_an_edit_re_runs_only_the_nodes_whose_inputs_changed(monkeypatch):
    design = conv_chain(100)
    before = analyze(design)
    runs = count_node_runs(monkeypatch)  # counts from here
    # More filters in c50: c50 changes, c51 (more input channels: more params), and no further,
    # since c51's output shape is what it was.
    after = edit_and_reanalyze(design, lambda d: d.set_param("c50", "out_channels", 16), before)
    assert runs == ["c50", "r50", "c51"]
    changed = [nid for nid in after.order if after.nodes[nid] is not before.nodes[nid]]
    assert changed == ["c50", "r50", "c51"]
    assert after.params == before.params + (16 - 8) * (3 * 3 * 8 + 1) + (3 * 3 * 8) * 8


def test_an_edit_near_the_end_re_runs_only_what_follows(monkeypatch):
    design = conv_chain(100)
    runs = count_node_runs(monkeypatch)
    before = analyze(design)
    runs.clear()
    edit_and_reanalyze(design, lambda d: d.set_param("c99", "kernel_size", 5), before)
    assert runs == ["c99", "r99"]


def test_an_error_blocks_downstream_and_its_fix_unblocks_it(monkeypatch):
    design = conv_chain(20)
    analysis = analyze(design)
    heard = []
    design.subscribe(heard.append)
    design.set_param("c10", "kernel_size", 99)
    analysis = reanalyze(analysis, design, heard[-1])
    assert analysis.nodes["c10"].errors and analysis.nodes["r19"].blocked_by == "c10"
    apply_edits(design, analysis.nodes["c10"].errors[0].fix.edits)
    analysis = reanalyze(analysis, design, heard[-1])
    assert analysis.ok
    assert_same_as_full(analysis, design, analysis)


def test_a_fix_that_names_an_ancestor_follows_edits_elsewhere():
    """An Add's fix pads the conv that shrank its branch: the fix looks beyond the Add's inputs, so
    an edit of that conv that leaves its output as it was still updates the fix."""
    design = Design("t", InputSpec(8, 28, 28))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "conv", ["input"], {"out_channels": 8, "kernel_size": 3})
    design.add_node("ReLU", "relu", ["conv"])
    design.add_node("Add", "add", ["relu", "input"])
    analysis = analyze(design)
    assert analysis.nodes["add"].errors[0].fix.label == "Set padding of 'conv' to 1"
    heard = []
    design.subscribe(heard.append)
    with design.batch():  # 28 + 2·1 − 4 = 26, as before: the same output, another fix
        design.set_param("conv", "kernel_size", 5)
        design.set_param("conv", "padding", 1)
    analysis = reanalyze(analysis, design, heard[-1])
    assert analysis.nodes["add"].errors[0].fix.label == "Set padding of 'conv' to 2"
    assert_same_as_full(analysis, design, analysis)


@pytest.mark.parametrize("name", ["resnet18", "inception_3a", "mobilenet_block", "lenet5"])
def test_templates_edited_node_by_node(name):
    design = load_template(name)
    analysis = analyze(design)
    heard = []
    design.subscribe(heard.append)
    for nid in design.node_ids:
        node = design.node(nid)
        if node.type == "Conv2d":
            heard.clear()
            design.set_param(nid, "out_channels", node.params["out_channels"] * 2)
            previous, analysis = analysis, reanalyze(analysis, design, heard[-1])
            assert_same_as_full(analysis, design, previous)


def test_no_derivation_is_written_on_an_edit(monkeypatch):
    """Rules write "the math" only when asked (``if c.explaining:``), never while analysing, and the
    engine's receptive-field text likewise; reading ``derivations`` writes it."""
    from convviz.analysis import layers

    written = []
    real_derive = layers.Ctx.derive

    def derive(self, quantity, line):
        written.append((self.explaining, self.id, quantity))
        return real_derive(self, quantity, line)

    monkeypatch.setattr(layers.Ctx, "derive", derive)
    monkeypatch.setattr(engine, "number", lambda x: written.append((False, "number", x)) or str(x))

    @settings(max_examples=300)
    @given(networks(max_nodes=10, dag=True))
    def check(design):
        written.clear()
        analysis = analyze(design)
        assert [w for w in written if not w[0]] == []
        for record in analysis.nodes.values():
            assert bool(record.derivations) == record.valid, record.id

    check()
    for name in ("resnet18", "inception_3a", "mobilenet_block", "vgg16", "lenet5"):
        written.clear()
        analyze(load_template(name))
        assert written == []
