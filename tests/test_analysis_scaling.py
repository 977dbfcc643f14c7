"""No super-linear work on user input: the analysis, its structural checks and its report do about
10× the work on a design 10× larger, whatever its shape (long cycles, many cycles, long blocked
chains, many errors), and an edit's re-analysis does about the same work at any size.

Work is counted, not timed: the Python bytecodes executed (``sys.settrace`` opcode events, which
see every loop, comprehensions included) and the characters of output (a report naming n nodes on
each of n lines is quadratic in memory long before it is slow). Timings live in bench/.
"""

from __future__ import annotations

import json
import sys

import pytest

from convviz.analysis import analyze, reanalyze
from convviz.analysis.report import summary_table
from convviz.design import Design, InputSpec

SMALL, LARGE = 150, 1500
#: "Roughly 10×": room for constant start-up costs and the odd n·log n in C, none for n².
MOST = 12.5


def count_opcodes(fn) -> tuple[int, object]:
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        result = fn()
    finally:
        sys.settrace(None)
    return count, result


def ring(n: int) -> Design:
    """n ReLUs in one cycle (the hostile 10,000-node case), fed by nothing."""
    design = Design("ring", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    for i in range(n):
        design.add_node("ReLU", f"r{i}", [f"r{(i - 1) % n}"])
    return design


def chain_behind_a_cycle(n: int) -> Design:
    design = Design("behind", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    design.add_node("Add", "a", ["input", "b"])
    design.add_node("ReLU", "b", ["a"])
    last = "b"
    for i in range(n):
        last = design.add_node("ReLU", f"r{i}", [last]).id
    return design


def many_cycles(n: int) -> Design:
    design = Design("cycles", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    for i in range(n // 2):
        design.add_node("Add", f"a{i}", ["input", f"b{i}"])
        design.add_node("ReLU", f"b{i}", [f"a{i}"])
    return design


def conv_chain(n: int, kernel: int = 3) -> Design:
    design = Design("chain", InputSpec(3, 16, 16))
    design.add_node("Input", "input")
    last = "input"
    for i in range(n // 2):
        design.add_node("Conv2d", f"c{i}", [last], {"out_channels": 4, "kernel_size": kernel, "padding": 1})
        last = design.add_node("ReLU", f"r{i}", [f"c{i}"]).id
    return design


def residual(n: int) -> Design:
    design = Design("residual", InputSpec(4, 16, 16))
    design.add_node("Input", "input")
    last = "input"
    for i in range(n // 3):
        design.add_node("Conv2d", f"c{i}", [last], {"out_channels": 4, "kernel_size": 3, "padding": 1})
        design.add_node("ReLU", f"r{i}", [f"c{i}"])
        last = design.add_node("Add", f"a{i}", [f"r{i}", last]).id
    return design


def mismatched_merges(n: int) -> Design:
    """Every Add fails and its fix walks up a branch: n errors, each looking around."""
    design = Design("merges", InputSpec(4, 16, 16))
    design.add_node("Input", "input")
    for i in range(n // 3):
        design.add_node("Conv2d", f"c{i}", ["input"], {"out_channels": 4, "kernel_size": 3})
        design.add_node("ReLU", f"r{i}", [f"c{i}"])
        design.add_node("Add", f"a{i}", [f"r{i}", "input"])
    return design


def orphans(n: int) -> Design:
    """Unconnected nodes and unused outputs: an error or a warning each."""
    design = Design("orphans", InputSpec(1, 8, 8))
    design.add_node("Input", "input")
    for i in range(n // 2):
        design.add_node("ReLU", f"o{i}")
        design.add_node("ReLU", f"s{i}", ["input"])
    return design


SHAPES = [ring, chain_behind_a_cycle, many_cycles, conv_chain, residual, mismatched_merges, orphans,
          lambda n: conv_chain(n, kernel=99)]  # the first conv fails: everything after it is blocked


def report(design: Design) -> str:
    """What `convviz summary` prints, table and JSON."""
    analysis = analyze(design)
    return summary_table(analysis, design.name) + json.dumps(analysis.to_json())


@pytest.mark.parametrize("make", SHAPES, ids=["ring", "behind_cycle", "many_cycles", "chain", "residual",
                                              "mismatched_merges", "orphans", "blocked_chain"])
def test_analysis_and_report_work_grows_linearly(make):
    small, large = make(SMALL), make(LARGE)
    ops_small, out_small = count_opcodes(lambda: report(small))
    ops_large, out_large = count_opcodes(lambda: report(large))
    assert ops_large / ops_small <= MOST, (ops_small, ops_large)
    assert len(out_large) / len(out_small) <= MOST, (len(out_small), len(out_large))


def test_a_cycle_of_ten_thousand_nodes_is_one_line():
    text = report(ring(10_000))
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert errors == ["error: r0: 'r0', 'r1', 'r2', 'r3', 'r4', 'r5' and 9,994 more nodes form a cycle; "
                      "data must flow one way. Remove one of the edges in the cycle."]
    assert len(text) < 3_000_000  # 890 MB before: every node repeated the whole list


@pytest.mark.parametrize("make", [conv_chain, residual], ids=["chain", "residual"])
def test_an_edit_in_the_middle_does_the_same_work_at_any_size(make):
    def edit_work(n: int) -> int:
        design = make(n)
        analysis = analyze(design)
        heard = []
        design.subscribe(heard.append)
        design.set_param(f"c{n // 6}", "bias", False)  # its parameters change, and nothing else
        ops, _ = count_opcodes(lambda: reanalyze(analysis, design, heard[-1]))
        return ops

    assert edit_work(LARGE) / edit_work(SMALL) <= 1.5
