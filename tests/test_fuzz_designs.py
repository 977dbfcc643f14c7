"""Hypothesis fuzzes design files: whatever a file holds, reading it gives a ``Design`` or one
``DesignFileError`` line, and a design that reads is analysed, summarised, laid out and written
back without an exception (CI runs derandomised, with a bounded number of examples)."""

from __future__ import annotations

import json
import math

from hypothesis import event, given, settings
from hypothesis import strategies as st

from convviz.analysis import analyze
from convviz.analysis.report import summary_table
from convviz.design import CATALOG, DesignFileError, dumps, loads
from convviz.design.layout import LayoutSpacing, auto_layout
from convviz.design.templates import template_path

TEMPLATES = ("default", "lenet5", "inception_3a", "mobilenet_block")

#: Values a hand-edited or hostile file may hold, extremes first.
numbers = st.sampled_from([0, 1, 2, 3, -1, 7, 2 ** 31, 10 ** 9, 10 ** 12, 10 ** 15, 10 ** 15 - 1, 10 ** 16, 10 ** 400,
                           0.5, -0.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf")])
scalars = st.one_of(numbers, st.integers(-5, 70000), st.booleans(), st.none(), st.text(max_size=12),
                    st.sampled_from(["same", "valid", "zeros", "reflect", "", "\u0000", "x" * 300]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=8)
PARAM_NAMES = sorted({p.name for spec in CATALOG.values() for p in spec.params})
#: Mostly values a parameter could hold (so that many designs read and reach the analysis), some anything.
param_values = st.one_of(numbers, st.integers(-3, 600), st.tuples(st.integers(-2, 300), st.integers(-2, 300)).map(list),
                         st.sampled_from(["same", "valid", "zeros", "reflect", "circular", None, True, False]), values)


def template_data(name: str) -> dict:
    return json.loads(template_path(name).read_text(encoding="utf-8"))


@st.composite
def mutated_designs(draw) -> dict:
    data = template_data(draw(st.sampled_from(TEMPLATES)))
    nodes = data["nodes"]
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["param"] * 6 + ["field", "input", "top", "drop", "copy"]))
        node = nodes[draw(st.integers(0, len(nodes) - 1))] if nodes else None
        if action == "param" and isinstance(node, dict):
            params = node.get("params") if isinstance(node.get("params"), dict) else node.setdefault("params", {})
            spec = CATALOG.get(node.get("type")) if isinstance(node.get("type"), str) else None
            names = [p.name for p in spec.params] if spec is not None else PARAM_NAMES
            if isinstance(params, dict) and names:  # an Input or a ReLU has none: nothing to mutate there
                params[draw(st.sampled_from(names))] = draw(param_values)
        elif action == "field" and isinstance(node, dict):
            node[draw(st.sampled_from(["id", "type", "inputs", "params", "pos", "extra"]))] = draw(values)
        elif action == "input" and isinstance(node, dict) and nodes:
            ids = [n.get("id") for n in nodes if isinstance(n, dict)]
            node["inputs"] = draw(st.lists(st.sampled_from(ids + ["nowhere"]), max_size=3))
        elif action == "top":
            data[draw(st.sampled_from(["format", "version", "name", "input", "classes", "nodes", "extra"]))] = draw(values)
        elif action == "drop" and nodes:
            del nodes[draw(st.integers(0, len(nodes) - 1))]
        elif action == "copy" and isinstance(node, dict):
            nodes.append(dict(node))
        nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
    return data


def read_or_fail_in_one_line(text: str):
    try:
        return loads(text)
    except DesignFileError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 1000, message
        return None


def check_design(design) -> None:
    analysis = analyze(design)
    table = summary_table(analysis, design.name)
    assert table
    json.dumps(analysis.to_json(), allow_nan=False)
    for nid, issue in analysis.issues():
        assert "\n" not in issue.text() and len(issue.text()) < 2000, issue.text()
    layout = auto_layout(design, LayoutSpacing(node_width=150, node_height=60, row_gap=36), 1.6)
    assert all(math.isfinite(x) and math.isfinite(y) for x, y in layout.values())
    assert loads(dumps(design)) == design  # what is read can be written and read back


@settings(max_examples=250, deadline=None)
@given(mutated_designs())
def test_any_mutated_design_reads_or_fails_in_one_line_and_analyses(data):
    design = read_or_fail_in_one_line(json.dumps(data))
    event("read" if design is not None else "refused")
    if design is not None:
        event("analysed without errors" if analyze(design).ok else "analysed with errors")
        check_design(design)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(TEMPLATES), st.data())
def test_any_damaged_design_text_reads_or_fails_in_one_line(name, data):
    text = template_path(name).read_text(encoding="utf-8")
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(max_size=8))
    damaged = text[:cut] + insert + text[cut + data.draw(st.integers(0, 8)):]
    design = read_or_fail_in_one_line(damaged)
    if design is not None:
        check_design(design)


@settings(max_examples=60, deadline=None)
@given(st.integers(4301, 6000), st.sampled_from(['"out_channels": 16', '"height": 32', '"kernel_size": 3']))
def test_numbers_too_long_for_python_are_refused_with_their_place(digits, where):
    text = template_path("default").read_text(encoding="utf-8")
    key = where.split(":")[0]
    damaged = text.replace(where, f"{key}: 1{'0' * (digits - 1)}", 1)
    try:
        loads(damaged)
    except DesignFileError as exc:
        assert f"a whole number of {digits:,} digits" in str(exc) and "line " in str(exc), str(exc)
    else:
        raise AssertionError("a number of thousands of digits was read")
