"""Wiring checks: one Input, no cycles, no dangling or missing inputs, every output used.

Each issue names the node at fault first, so the analysis can report it once, there, and mark
everything downstream as blocked instead of repeating the same error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .catalog import layer_spec

if TYPE_CHECKING:
    from .graph import Design, StructuralIssue


@dataclass(frozen=True)
class Wiring:
    """Facts about the graph that several checks need, computed once per analysis."""

    order: list[str]
    #: Nodes on or behind a cycle (not in ``order``).
    cyclic: list[str]
    sinks: list[str]
    #: Nodes fed (transitively) by the first Input.
    reachable: set[str]
    #: The node whose output is the model's: the last sink, in topological order, fed by the Input.
    output: str | None


def wiring(design: Design) -> Wiring:
    order, cyclic = design.topological_order()
    sinks = design.sinks()
    inputs = design.input_nodes()
    reachable = _reachable_from(design, inputs[0].id) if inputs else set()
    sink_set = set(sinks)
    candidates = [nid for nid in order if nid in sink_set and nid in reachable]
    return Wiring(order, cyclic, sinks, reachable, candidates[-1] if candidates else None)


def check_structure(design: Design, facts: Wiring | None = None) -> list[StructuralIssue]:
    from .graph import StructuralIssue

    facts = facts or wiring(design)
    issues: list[StructuralIssue] = []
    inputs = design.input_nodes()
    if not inputs:
        issues.append(StructuralIssue("The design has no Input node.", (), "Drag an Input from the palette."))
    for extra in inputs[1:]:
        issues.append(StructuralIssue(
            f"{extra.id!r} is a second Input; a design has exactly one ({inputs[0].id!r}).",
            (extra.id,), f"Delete {extra.id!r} and connect its consumers to {inputs[0].id!r}."))

    for node in design:
        spec = layer_spec(node.type)
        missing = [src for src in node.inputs if src not in design]
        for src in dict.fromkeys(missing):
            issues.append(StructuralIssue(
                f"{node.id!r} takes input from {src!r}, which does not exist.",
                (node.id,), f"Reconnect {node.id!r} to an existing node."))
        count = len(node.inputs)
        if count < spec.min_inputs:
            if count == 0:
                message = f"{node.id!r} has no input: it is not connected to the Input."
                fix = f"Drag an edge from a node's output into {node.id!r}."
            else:
                message = f"{node.id!r} ({node.type}) needs at least {spec.min_inputs} inputs; it has {count}."
                fix = f"Connect another branch into {node.id!r}."
            issues.append(StructuralIssue(message, (node.id,), fix))
        elif spec.max_inputs is not None and count > spec.max_inputs:
            if spec.max_inputs == 0:
                message = f"{node.id!r} ({node.type}) takes no inputs; it has {count}."
            else:
                message = f"{node.id!r} ({node.type}) takes {spec.describe_inputs()}; it has {count}."
            issues.append(StructuralIssue(message, (node.id,), "Remove the extra edges."))

    for cycle in _cycles(design, facts.cyclic):
        names = ", ".join(repr(nid) for nid in cycle)
        issues.append(StructuralIssue(f"{names} form a cycle; data must flow one way.", tuple(cycle),
                                      "Remove one of the edges in the cycle."))

    out = facts.output
    for sink in facts.sinks:
        if sink != out and sink in facts.reachable and design.node(sink).type != "Input":
            issues.append(StructuralIssue(
                f"The output of {sink!r} is unused (the model's output is {out!r}).", (sink,),
                f"Connect {sink!r} to a later layer, or delete it.", severity="warning"))
    return issues


def _reachable_from(design: Design, start: str) -> set[str]:
    consumers: dict[str, list[str]] = {}
    for node in design:
        for src in node.inputs:
            consumers.setdefault(src, []).append(node.id)
    seen = {start}
    stack = [start]
    while stack:
        for nxt in consumers.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _cycles(design: Design, candidates: list[str]) -> list[list[str]]:
    """Strongly connected components with a loop among ``candidates`` (Tarjan), in node order."""
    pool = set(candidates)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def successors(nid: str) -> list[str]:
        return [n.id for n in design if n.id in pool and nid in n.inputs]

    for root in candidates:
        if root in index:
            continue
        # Iterative Tarjan: (node, iterator over successors).
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            nid, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(successors(nxt))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[nid] = min(low[nid], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[nid])
            if low[nid] == index[nid]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == nid:
                        break
                if len(component) > 1 or nid in design.node(nid).inputs:
                    order = {n: i for i, n in enumerate(design.node_ids)}
                    found.append(sorted(component, key=order.__getitem__))
    return found
