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
from .ports import node_of, port_of

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
    #: The output that is the model's: the design's main head (a node id, or ``split:1`` for one output
    #: of a node with several), or else the last sink, in topological order, fed by the Input.
    output: str | None
    #: Each node's distinct consumers, in node order.
    consumers: dict[str, list[str]]
    #: Each node's index in ``order`` (nodes on or behind a cycle have none).
    position: dict[str, int]
    #: The Input nodes, in node order (a design has one; the others are errors).
    inputs: list[str]
    #: The design's heads whose nodes exist, main first (empty: one output, ``output``); output references as named.
    heads: list[str]


def wiring(design: Design) -> Wiring:
    edges = _Edges(design)
    order, cyclic = topological_order(design, edges)
    consumers = edges.consumers
    sinks = [nid for nid, used_by in consumers.items() if not used_by]
    inputs = edges.inputs
    reachable = _reachable_from(consumers, inputs[0]) if inputs else set()
    heads = [head.node for head in design.heads if node_of(head.node) in consumers]
    if design.heads:
        output = heads[0] if heads and node_of(heads[0]) in reachable else None
    else:
        output = next((nid for nid in reversed(order) if not consumers[nid] and nid in reachable), None)
    return Wiring(order, cyclic, sinks, reachable, output, consumers, {nid: i for i, nid in enumerate(order)},
                  inputs, heads)


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
                used_by = consumers.get(node_of(src) if ":" in src else src)
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
    used_ports: dict[str, set[int]] = {}
    for node in design:
        spec = layer_spec(node.type)
        missing = [src for src in node.inputs if node_of(src) not in known]
        for src in dict.fromkeys(missing):
            issues.append(StructuralIssue(
                tr("{node} takes input from {source}, which does not exist.").format(
                    node=repr(node.id), source=repr(src)),
                (node.id,), tr("Reconnect {node} to an existing node.").format(node=repr(node.id))))
        for src in dict.fromkeys(src for src in node.inputs if src not in missing):
            problem = _port_problem(design, node.id, src, used_ports)
            if problem:
                issues.append(problem)
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

    issues += _output_problems(design, facts, used_ports)
    for nid, ports in used_ports.items():
        source = design.node(nid)
        unused = [k for k in range(layer_spec(source.type).output_count(source.params)) if k not in ports]
        if unused and nid in facts.reachable:
            listed = ", ".join(f"{nid}:{k}" for k in unused)
            issues.append(StructuralIssue(
                ntr("Output {outputs} of {node} is unused.", "Outputs {outputs} of {node} are unused.",
                    len(unused)).format(outputs=listed, node=repr(nid)), (nid,),
                tr("Connect it to a later layer, or split into fewer parts."), severity="warning"))

    for head in design.heads:
        if node_of(head.node) not in known:
            issues.append(StructuralIssue(tr("The head {node} names no node of the design.").format(
                node=repr(head.node)), (), tr("Remove the head, or rename a layer to it.")))
        elif inputs and node_of(head.node) not in facts.reachable:
            issues.append(StructuralIssue(tr("The head {node} is not connected to the Input.").format(
                node=repr(head.node)), (node_of(head.node),), tr("Connect it, or remove the head.")))

    out = facts.output
    heads = {node_of(ref) for ref in facts.heads}
    for sink in facts.sinks if out is not None else ():  # no output at all: the errors above say why
        if sink != node_of(out) and sink not in heads and sink in facts.reachable and design.node(sink).type != "Input":
            issues.append(StructuralIssue(
                tr("The output of {node} is unused (the model's output is {output}).").format(
                    node=repr(sink), output=repr(out)), (sink,),
                tr("Connect {node} to a later layer, or delete it.").format(node=repr(sink)), severity="warning"))
    return issues


def _output_problems(design: Design, facts: Wiring, used_ports: dict[str, set[int]]) -> list[StructuralIssue]:
    """The model's outputs (its heads, or its one implicit output) in the wrong form: a node with several
    outputs named whole (its outputs would be one tuple), a numbered output of a node with one, or an output
    it does not have; each at that node, with a fix where one is clear. Records the outputs used."""
    from .edits import SetHeads
    from .graph import StructuralIssue
    from .heads import Head

    found: list[StructuralIssue] = []
    refs = [h.node for h in design.heads] if design.heads else [facts.output] if facts.output else []
    for ref in refs:
        source_id = node_of(ref)
        source = design.get(source_id)
        if source is None:
            continue  # named as missing below
        spec, port = layer_spec(source.type), port_of(ref)
        if not spec.multi_output:
            if ":" in ref:
                found.append(StructuralIssue(
                    tr("The head {ref} names an output of {source}, which has one: name it {source}.").format(
                        ref=repr(ref), source=repr(source_id)), (source_id,),
                    tr("Make {source} the head.").format(source=repr(source_id)),
                    edits=(SetHeads(_renamed_head(design, ref, source_id)),),
                    fix_label=tr("Make {source} the head").format(source=repr(source_id))))
            continue
        count = spec.output_count(source.params)
        outputs = f"{source_id}:0" if count == 1 else f"{source_id}:0 … {source_id}:{count - 1}"
        if port is None:
            first = f"{source_id}:0"
            heads = _renamed_head(design, ref, first) if design.heads else (Head(first),)
            what = tr("a head") if design.heads else tr("the design's output")
            found.append(StructuralIssue(
                ntr("{source} is {what}, but a {type} has {n} output: name it ({outputs}).",
                    "{source} is {what}, but a {type} has {n} outputs, and a model's output is one tensor: "
                    "name one of them ({outputs}).", count).format(
                        source=repr(source_id), what=what, type=source.type, n=count, outputs=outputs),
                (source_id,), tr("Make {ref} the output, or end the design with a layer after the split.").format(
                    ref=repr(first)),
                edits=(SetHeads(heads),), fix_label=tr("Make {ref} the output").format(ref=repr(first))))
            continue
        used_ports.setdefault(source_id, set()).add(port)
        if port >= count:
            found.append(StructuralIssue(
                ntr("The head {ref} names output {port} of {source}, which has {n} output ({outputs}).",
                    "The head {ref} names output {port} of {source}, which has {n} outputs ({outputs}).",
                    count).format(ref=repr(ref), port=port, source=repr(source_id), n=count, outputs=outputs),
                (source_id,), tr("Name an output that exists, or give {source} more parts.").format(
                    source=repr(source_id))))
    return found


def _renamed_head(design: Design, old: str, new: str) -> tuple:
    """The design's heads with head ``old`` naming ``new`` instead (its weight kept)."""
    from .heads import Head

    return tuple(Head(new, h.loss_weight) if h.node == old else h for h in design.heads)


def _port_problem(design: Design, consumer: str, ref: str, used_ports: dict[str, set[int]]) -> StructuralIssue | None:
    """A reference in the wrong form: a plain id for a node with several outputs, a numbered one for a
    node with one, or an output the node does not have. Records the outputs that are used."""
    from .graph import StructuralIssue

    source_id = node_of(ref)
    source = design.node(source_id)
    spec = layer_spec(source.type)
    if not spec.multi_output:
        if ":" not in ref:
            return None
        return StructuralIssue(tr("{node} reads {ref}, but {source} has one output: name it {source}.").format(
            node=repr(consumer), ref=repr(ref), source=repr(source_id)), (consumer,),
            tr("Reconnect {node} to {source}.").format(node=repr(consumer), source=repr(source_id)))
    count = spec.output_count(source.params)
    port = port_of(ref)
    outputs = f"{source_id}:0" if count == 1 else f"{source_id}:0 … {source_id}:{count - 1}"
    if port is None:
        return StructuralIssue(ntr("{node} reads {source}, a {type} with {n} output: it must name it ({outputs}).",
                                   "{node} reads {source}, a {type} with {n} outputs: it must name one of them "
                                   "({outputs}).", count).format(node=repr(consumer), source=repr(source_id),
                                                                  type=source.type, n=count, outputs=outputs),
                               (consumer,), tr("Connect it to one of the outputs."))
    used_ports.setdefault(source_id, set()).add(port)
    if port >= count:
        return StructuralIssue(ntr("{node} reads output {port} of {source}, which has {n} output ({outputs}).",
                                   "{node} reads output {port} of {source}, which has {n} outputs ({outputs}).",
                                   count).format(node=repr(consumer), port=port, source=repr(source_id), n=count,
                                                 outputs=outputs), (consumer,),
                               tr("Connect it to an output that exists, or give {source} more parts.").format(
                                   source=repr(source_id)))
    return None


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
                if len(component) > 1 or any(node_of(src) == nid for src in design.node(nid).inputs):
                    found.append(sorted(component, key=place.__getitem__))
    found.sort(key=lambda component: place[component[0]])
    return found
