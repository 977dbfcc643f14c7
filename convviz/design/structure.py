"""Wiring checks: one Input, no cycles, no dangling or missing inputs, every output used.

Each issue names the node at fault first, so the analysis can report it once, there, and mark
everything downstream as blocked instead of repeating the same error.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..i18n import ntr, tr
from .catalog import layer_spec

if TYPE_CHECKING:
    from .graph import Design, StructuralIssue


@dataclass(frozen=True)
class Wiring:
    """Facts about the graph that several checks need, computed once per analysis (linear time)."""

    order: list[str]
    #: Nodes on or behind a cycle (not in ``order``).
    cyclic: list[str]
    sinks: list[str]
    #: Nodes fed (transitively) by the first Input.
    reachable: set[str]
    #: The node whose output is the model's: the last sink, in topological order, fed by the Input.
    output: str | None
    #: Each node's distinct consumers, in node order.
    consumers: dict[str, list[str]]
    #: Each node's index in ``order`` (nodes on or behind a cycle have none).
    position: dict[str, int]
    #: The Input nodes, in node order (a design has one; the others are errors).
    inputs: list[str]


def wiring(design: Design) -> Wiring:
    edges = _Edges(design)
    order, cyclic = topological_order(design, edges)
    consumers = edges.consumers
    sinks = [nid for nid, used_by in consumers.items() if not used_by]
    inputs = edges.inputs
    reachable = _reachable_from(consumers, inputs[0]) if inputs else set()
    output = next((nid for nid in reversed(order) if not consumers[nid] and nid in reachable), None)
    return Wiring(order, cyclic, sinks, reachable, output, consumers, {nid: i for i, nid in enumerate(order)},
                  inputs)


class _Edges:
    """Every node's distinct consumers (in node order) and number of distinct sources, and the Input
    nodes, in one pass over the design (inputs naming missing nodes are ignored)."""

    def __init__(self, design: Design) -> None:
        consumers: dict[str, list[str]] = {node.id: [] for node in design}
        sources = dict.fromkeys(consumers, 0)
        self.inputs: list[str] = []
        for node in design:
            nid = node.id
            if node.type == "Input":
                self.inputs.append(nid)
            for src in node.inputs:
                used_by = consumers.get(src)
                if used_by is not None and (not used_by or used_by[-1] != nid):  # x + x: one edge
                    used_by.append(nid)
                    sources[nid] += 1
        self.consumers = consumers
        self.sources = sources


def topological_order(design: Design, edges: _Edges | None = None) -> tuple[list[str], list[str]]:
    """(ordered ids, ids on or behind a cycle). Ties keep node order, so chains read naturally.

    Dangling inputs (ids that name no node) are ignored here; validation reports them.
    """
    edges = edges or _Edges(design)
    consumers, waiting = edges.consumers, dict(edges.sources)
    place = {nid: i for i, nid in enumerate(consumers)}
    heap = [(place[nid], nid) for nid, count in waiting.items() if count == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, nid = heapq.heappop(heap)
        order.append(nid)
        for consumer in consumers[nid]:
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                heapq.heappush(heap, (place[consumer], consumer))
    if len(order) == len(consumers):
        return order, []
    placed = set(order)
    return order, [nid for nid in consumers if nid not in placed]


def check_structure(design: Design, facts: Wiring | None = None) -> list[StructuralIssue]:
    from .graph import StructuralIssue

    facts = facts or wiring(design)
    issues: list[StructuralIssue] = []
    inputs = facts.inputs
    if not inputs:
        issues.append(StructuralIssue(tr("The design has no Input node."), (), tr("Drag an Input from the palette.")))
    for extra in inputs[1:]:
        issues.append(StructuralIssue(
            tr("{node} is a second Input; a design has exactly one ({first}).").format(
                node=repr(extra), first=repr(inputs[0])),
            (extra,), tr("Delete {node} and connect its consumers to {first}.").format(
                node=repr(extra), first=repr(inputs[0]))))

    known = facts.consumers  # every node's id
    for node in design:
        spec = layer_spec(node.type)
        missing = [src for src in node.inputs if src not in known]
        for src in dict.fromkeys(missing):
            issues.append(StructuralIssue(
                tr("{node} takes input from {source}, which does not exist.").format(
                    node=repr(node.id), source=repr(src)),
                (node.id,), tr("Reconnect {node} to an existing node.").format(node=repr(node.id))))
        count = len(node.inputs)
        if count < spec.min_inputs:
            if count == 0:
                message = tr("{node} has no input: it is not connected to the Input.").format(node=repr(node.id))
                fix = tr("Drag an edge from a node's output into {node}.").format(node=repr(node.id))
            else:
                message = ntr("{node} ({type}) needs at least {min} input; it has {count}.",
                              "{node} ({type}) needs at least {min} inputs; it has {count}.", spec.min_inputs).format(
                    node=repr(node.id), type=node.type, min=spec.min_inputs, count=count)
                fix = tr("Connect another branch into {node}.").format(node=repr(node.id))
            issues.append(StructuralIssue(message, (node.id,), fix))
        elif spec.max_inputs is not None and count > spec.max_inputs:
            if spec.max_inputs == 0:
                message = tr("{node} ({type}) takes no inputs; it has {count}.").format(
                    node=repr(node.id), type=node.type, count=count)
            else:
                message = tr("{node} ({type}) takes {inputs}; it has {count}.").format(
                    node=repr(node.id), type=node.type, inputs=spec.describe_inputs(), count=count)
            issues.append(StructuralIssue(message, (node.id,), tr("Remove the extra edges.")))

    for cycle in _cycles(design, facts):
        issues.append(StructuralIssue(tr("{names} form a cycle; data must flow one way.").format(
            names=named(cycle)), tuple(cycle), tr("Remove one of the edges in the cycle.")))

    out = facts.output
    for sink in facts.sinks if out is not None else ():  # no output at all: the errors above say why
        if sink != out and sink in facts.reachable and design.node(sink).type != "Input":
            issues.append(StructuralIssue(
                tr("The output of {node} is unused (the model's output is {output}).").format(
                    node=repr(sink), output=repr(out)), (sink,),
                tr("Connect {node} to a later layer, or delete it.").format(node=repr(sink)), severity="warning"))
    return issues


#: How many nodes a message names before it says how many more there are.
NAMED_NODES = 6


def named(node_ids: list[str]) -> str:
    """'a', 'b', 'c' — or, for a long list, the first few and how many more (a message stays one line)."""
    shown = ", ".join(repr(nid) for nid in node_ids[:NAMED_NODES])
    rest = len(node_ids) - NAMED_NODES
    if rest <= 0:
        return shown
    return ntr("{shown} and {n:,} more node", "{shown} and {n:,} more nodes", rest).format(shown=shown, n=rest)


def _reachable_from(consumers: dict[str, list[str]], start: str) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in consumers[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _cycles(design: Design, facts: Wiring) -> list[list[str]]:
    """Strongly connected components with a loop among the nodes on or behind a cycle (Tarjan,
    iterative), each in node order; linear in the size of the graph."""
    candidates = facts.cyclic
    if not candidates:
        return []
    pool = set(candidates)
    consumers = facts.consumers
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    place = {nid: i for i, nid in enumerate(design.node_ids)}

    def successors(nid: str):
        return (c for c in consumers[nid] if c in pool)

    for root in candidates:
        if root in index:
            continue
        # Iterative Tarjan: (node, iterator over successors).
        work = [(root, successors(root))]
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
                    work.append((nxt, successors(nxt)))
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
                    found.append(sorted(component, key=place.__getitem__))
    found.sort(key=lambda component: place[component[0]])
    return found
