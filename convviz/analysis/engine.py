"""``analyze(design)``: every node's numbers, in topological order, in pure Python; and
``reanalyze(previous, design, change)``: the same after an edit, re-running only what it reaches.

An error is reported once, at its cause. A node whose input failed is "blocked by" the node where
the trouble started and gets no error of its own, so one typo does not paint the whole graph red.

How an edit is re-analysed: a node's record depends on its own definition, its structural issues
and its inputs' records, so after an edit the nodes it touched (``Change.node_ids``) are re-run in
topological order, and a re-run node passes the work on to its consumers only when what they read
of it (shape, receptive fields, blocked or not) changed. A node whose new record equals its old one
keeps the old object. Wiring facts and structural checks are recomputed only when the structure
changed (one linear pass); a parameter edit reuses them.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from ..design.catalog import layer_spec
from ..design.edits import Bridge
from ..design.graph import Change, Design
from ..design.ports import node_of, port_of
from ..design.structure import Wiring, check_structure, wiring
from ..i18n import tr
from .fields import broadcast_union, next_field, union_field
from .head import head_warnings
from .layers import MERGE, PASS, Ctx, Window, activation_bytes, activation_math
from .memory import may_need_warning, memory_warning, record_kept, record_working
from .rules import RULES
from .results import (
    INPUT_FIELD, NOTHING_INFERRED, Analysis, Basis, Derivation, Fix, Issue, NodeAnalysis, ReceptiveField,
)
from .text import grouped, number, pair, shape as fmt_shape

NO_ISSUES: tuple[tuple[Issue, ...], tuple[Issue, ...]] = ((), ())


@dataclass(frozen=True, slots=True)
class _Structure:
    """What depends on the wiring only: reused by every edit that leaves the wiring alone."""

    facts: Wiring
    #: (errors, warnings) from the structural checks, per node that has any.
    issues: dict[str, tuple[tuple[Issue, ...], tuple[Issue, ...]]]
    general: tuple[Issue, ...]


@dataclass(frozen=True, slots=True)
class _Memo:
    """What ``reanalyze`` continues from."""

    structure: _Structure
    #: Nodes whose rule looked beyond their inputs (a fix naming an ancestor): re-run on every edit.
    looked_around: frozenset[str]
    #: The sum of ``memory.record_kept`` over the records, kept up to date like the totals, and the
    #: largest ``memory.record_working`` (a running maximum over the records an edit re-ran: never
    #: below the current one), so that an edit checks in O(1) whether the memory warning can apply.
    memory_kept: int = 0
    memory_working: int = 0
    #: (node, its record without the memory warning) when ``analysis.memory`` put one on it: the
    #: warning belongs to the whole design, so the next analysis starts from the record without it.
    memory: tuple[str, NodeAnalysis] | None = None
    #: Likewise for the warnings about the network's head (``head.head_warnings``: they depend on
    #: the layers after a node): node → its record without them.
    head: Mapping[str, NodeAnalysis] | None = None


def analyze(design: Design, classes: Sequence[str] | None = None) -> Analysis:
    """``classes``: the classes of the data the design is to be trained on (default: its own names)."""
    structure = _structure(design)
    results: dict[str, NodeAnalysis] = {}
    looked_around: set[str] = set()
    for nid in structure.facts.order:
        results[nid] = _analyze_node(design, structure, nid, results, looked_around)
    _analyze_cyclic(design, structure, results, {})  # results are now in the order of Analysis.order
    return _finish(design, structure, results, frozenset(looked_around), None, ordered=True, classes=classes)


def reanalyze(previous: Analysis | None, design: Design, change: Change | None,
              classes: Sequence[str] | None = None) -> Analysis:
    """``analyze(design, classes)`` after ``change``, given the analysis from before it: the same
    result, re-running only the nodes the change reaches. Unchanged nodes keep their record objects."""
    if previous is None or previous.memo is None or change is None:
        return analyze(design, classes)
    if not change.affects_analysis:
        return previous
    memo: _Memo = previous.memo
    old_nodes = previous.nodes
    if memo.memory is not None:
        old_nodes = {**old_nodes, memo.memory[0]: memo.memory[1]}
    if memo.head:  # (after the memory warning's: these records are the ones without either)
        old_nodes = {**old_nodes, **memo.head}
    if change.kind == "meta" or change.kind == "params" and not _changes_outputs(design, change):
        # the wiring is as it was (a Split's parameters decide which outputs its consumers may read)
        structure = memo.structure
        if change.kind == "params":
            seeds = {nid for nid in change.node_ids if nid in design}
        else:  # the input shape may have changed; name and classes do not matter here
            seeds = set(structure.facts.inputs)
        results = dict(old_nodes)
    else:
        structure = _structure(design)
        seeds = _structural_seeds(design, memo.structure, structure, change, old_nodes)
        results = {nid: old_nodes[nid] for nid in structure.facts.order if nid in old_nodes}
    seeds |= {nid for nid in memo.looked_around if nid in design}

    facts = structure.facts
    position, consumers = facts.position, facts.consumers
    looked_around: set[str] = set()  # refilled: every node in it before is a seed, so re-run
    heap = [(position[nid], nid) for nid in seeds if nid in position]
    heapq.heapify(heap)
    queued = {nid for _, nid in heap}
    changed: list[tuple[NodeAnalysis | None, NodeAnalysis]] = []
    while heap:
        _, nid = heapq.heappop(heap)
        record = _analyze_node(design, structure, nid, results, looked_around)
        old = old_nodes.get(nid)
        if record == old:
            record = old
        else:
            changed.append((old, record))
        results[nid] = record
        if old is None or _interface(old) != _interface(record):
            for consumer in consumers[nid]:
                if consumer not in queued and consumer in position:
                    queued.add(consumer)
                    heapq.heappush(heap, (position[consumer], consumer))
    if structure is memo.structure:
        return _finish(design, structure, results, frozenset(looked_around), (previous, changed), classes=classes,
                       previous_nodes=previous.nodes)
    _analyze_cyclic(design, structure, results, old_nodes)
    return _finish(design, structure, results, frozenset(looked_around), None, classes=classes,
                   previous_nodes=previous.nodes)


def _changes_outputs(design: Design, change: Change) -> bool:
    """The edit set the parameters of a node with several outputs: how many it has may have changed."""
    return any(nid in design and layer_spec(design.node(nid).type).multi_output for nid in change.node_ids)


def _structure(design: Design) -> _Structure:
    facts = wiring(design)
    issues: dict[str, tuple[tuple[Issue, ...], tuple[Issue, ...]]] = {}
    general: list[Issue] = []
    for issue in check_structure(design, facts):
        converted = Issue(issue.message, issue.fix, Fix(issue.fix_label, issue.edits) if issue.edits else None,
                          issue.severity)
        if not issue.node_ids:
            general.append(converted)
            continue
        # Reported once, at the node it names first (a cycle: its first node; the rest are blocked).
        errors, warnings = issues.get(issue.node_ids[0], NO_ISSUES)
        if issue.severity == "error":
            errors += (converted,)
        else:
            warnings += (converted,)
        issues[issue.node_ids[0]] = (errors, warnings)
    return _Structure(facts, issues, tuple(general))


def _structural_seeds(design: Design, old: _Structure, new: _Structure, change: Change,
                      old_nodes: dict[str, NodeAnalysis]) -> set[str]:
    """The nodes to re-run after a structural edit: the ones it touched and their consumers (a
    rename rewrites the consumers' inputs), the Input, those whose structural issues changed, the
    old and new output, and every node that has just left a cycle."""
    consumers = new.facts.consumers
    seeds = {nid for nid in change.node_ids if nid in design}
    seeds.update(c for nid in list(seeds) for c in consumers[nid])
    seeds.update(new.facts.inputs)  # a batch may have changed the input shape too
    seeds.update(nid for nid in old.issues.keys() | new.issues.keys()
                 if old.issues.get(nid) != new.issues.get(nid) and nid in design)
    seeds.update(node_of(ref) for ref in (old.facts.output, new.facts.output) if ref is not None and node_of(ref) in design)
    seeds.update(nid for nid in new.facts.order if nid not in old.facts.position or nid not in old_nodes)
    return seeds


def _interface(record: NodeAnalysis) -> tuple:
    """What a node's consumers read of it: if this is unchanged, they need not be re-run."""
    return (record.output_shape, record.receptive_field, record.feature_field, record.collapsed,
            record.blocked_by, record.output_shapes)


def _analyze_node(design: Design, structure: _Structure, nid: str, results: dict[str, NodeAnalysis],
                  looked_around: set[str]) -> NodeAnalysis:
    """One node's record, from its definition and its inputs' records (already in ``results``)."""
    node = design.node(nid)
    errors, warnings = structure.issues.get(nid, NO_ISSUES)
    if errors:
        return NodeAnalysis(nid, node.type, errors=errors, warnings=warnings)
    if node.type == "Input":
        shape = design.input.shape
        return NodeAnalysis(nid, node.type, output_shape=shape, activation_bytes=activation_bytes(shape),
                            receptive_field=INPUT_FIELD, feature_field=INPUT_FIELD, warnings=warnings,
                            explain=_explain)
    sources = [results[src] if ":" not in src else results[node_of(src)] for src in node.inputs]
    for source in sources:
        if source.output_shape is None:
            return NodeAnalysis(nid, node.type, warnings=warnings, blocked_by=source.blocked_by or source.id)
    if len(sources) == 1 and not sources[0].output_shapes:  # most nodes: no generators to build
        source = sources[0]
        shapes, fields, collapsed = (source.output_shape,), (source.receptive_field,), source.collapsed
    else:
        shapes = tuple(r.output_shapes[port_of(ref)] if r.output_shapes else r.output_shape
                       for ref, r in zip(node.inputs, sources))
        fields = tuple(r.receptive_field for r in sources)
        # A merge still holds a map while any input does (x · gate(x): the gate saw the whole map, x did not).
        collapsed = all(r.collapsed for r in sources)
    spec = layer_spec(node.type)
    inputs = tuple(zip(node.inputs, shapes))
    ctx = Ctx(nid, spec, spec.resolve(node.params), inputs, design, results)
    out = RULES[node.type](ctx)
    if ctx.looked_around:
        looked_around.add(nid)
    warnings += ctx.warnings
    if out is None or ctx.errors:
        return NodeAnalysis(nid, node.type, errors=ctx.errors, warnings=warnings)
    if nid == structure.facts.output and node.type == "Softmax":
        warnings += (softmax_output_warning(nid),)
    if out.field == MERGE and any(shape[1:] != out.shape[1:] for shape in shapes):  # x · gate: a broadcast
        field = broadcast_union(fields, shapes, out.shape)
    else:
        field = next_field(out.field, fields, out.shape)
    collapsed = collapsed or out.collapses
    if collapsed:
        features = [r.feature_field for r in sources if r.feature_field]
        feature = union_field(features, (1, 1)) if features else None
    else:
        feature = field
    if out.outputs:  # a Split: each output its own shape; the record's shape is its first
        return NodeAnalysis(nid, node.type, shapes, out.outputs[0], out.params, out.macs,
                            sum(activation_bytes(shape) for shape in out.outputs), field, feature, collapsed, (),
                            warnings, None, _shared(ctx.inferred), Basis(ctx.settings, tuple(node.inputs), fields),
                            _explain, out.outputs)
    return NodeAnalysis(nid, node.type, shapes, out.shape, out.params, out.macs, activation_bytes(out.shape),
                        field, feature, collapsed, (), warnings, None, _shared(ctx.inferred),
                        Basis(ctx.settings, tuple(node.inputs), fields), _explain)


#: One read-only mapping per distinct set of inferred sizes ({"in_channels": 64} is shared by
#: every conv that reads 64 channels): less to allocate and to keep.
_INFERRED: dict[tuple, Mapping[str, int]] = {}


def _shared(inferred: dict[str, int] | None) -> Mapping[str, int]:
    if not inferred:
        return NOTHING_INFERRED
    key = tuple(inferred.items())
    found = _INFERRED.get(key)
    if found is None:
        if len(_INFERRED) >= 4096:
            _INFERRED.clear()
        found = _INFERRED[key] = MappingProxyType(inferred)
    return found


def _analyze_cyclic(design: Design, structure: _Structure, results: dict[str, NodeAnalysis],
                    old_nodes: dict[str, NodeAnalysis]) -> None:
    """Nodes on or behind a cycle: each cycle's error sits on its first node (in node order), and
    everything the errors reach is blocked by them. One breadth-first walk: linear in the graph."""
    cyclic = structure.facts.cyclic
    if not cyclic:
        return
    pool = set(cyclic)
    consumers = structure.facts.consumers
    blocker: dict[str, str] = {}
    queue: list[str] = []
    for nid in cyclic:
        if structure.issues.get(nid, NO_ISSUES)[0]:
            blocker[nid] = nid
            queue.append(nid)
    for nid in queue:  # grows while walked: breadth first from every error at once
        for consumer in consumers[nid]:
            if consumer in pool and consumer not in blocker:
                blocker[consumer] = blocker[nid]
                queue.append(consumer)
    for nid in cyclic:
        errors, warnings = structure.issues.get(nid, NO_ISSUES)
        record = NodeAnalysis(nid, design.node(nid).type, errors=errors, warnings=warnings,
                              blocked_by=None if errors else blocker.get(nid))
        old = old_nodes.get(nid)
        results[nid] = old if record == old else record


def _finish(design: Design, structure: _Structure, results: dict[str, NodeAnalysis],
            looked_around: frozenset[str], update: tuple[Analysis, list] | None, ordered: bool = False,
            classes: Sequence[str] | None = None, previous_nodes: Mapping[str, NodeAnalysis] | None = None) -> Analysis:
    """The Analysis around the records; ``update`` (previous analysis, changed records) when the
    wiring is unchanged, so node order and totals carry over instead of being recounted;
    ``ordered`` when ``results`` is already in the analysis's order; ``previous_nodes``: the records
    of the analysis before, whose objects warned records keep when they read the same."""
    facts = structure.facts
    head = _head_warnings(design, facts.output, results, classes, previous_nodes or {})
    if update is not None:
        previous, changed = update
        order, nodes = previous.order, results
        params, macs, activation = previous.params, previous.macs, previous.activation_bytes
        kept, working = previous.memo.memory_kept, previous.memo.memory_working
        for old, new in changed:
            params += new.params - (old.params if old else 0)
            macs += new.macs - (old.macs if old else 0)
            activation += new.activation_bytes - (old.activation_bytes if old else 0)
            kept += record_kept(new) - (record_kept(old) if old else 0)
            working = max(working, record_working(new))
    else:
        order = [*facts.order, *facts.cyclic] if facts.cyclic else facts.order
        nodes = results if ordered else {nid: results[nid] for nid in order}
        params = macs = activation = kept = working = 0
        for record in nodes.values():
            params += record.params
            macs += record.macs
            activation += record.activation_bytes
            kept += record_kept(record)
            working = max(working, record_working(record))
    out = nodes.get(node_of(facts.output)) if facts.output else None
    totals = dict(
        order=order,
        output=facts.output,
        params=params,
        macs=macs,
        activation_bytes=activation,
        receptive_field=out.feature_field if out is not None and out.valid else None,
        output_shape=out.shape_of(facts.output) if out is not None else None,
        general_issues=structure.general,
        heads=tuple(facts.heads),
    )
    memory = None
    if may_need_warning(params, kept, working):  # O(1): only a design near 16 GB pays for the exact estimate
        memory = _memory_warning(design, Analysis(nodes=nodes, **totals), update[0] if update else None)
    return Analysis(nodes=nodes, **totals, memo=_Memo(structure, looked_around, kept, working, memory, head))


def _head_warnings(design: Design, output: str | None, results: dict[str, NodeAnalysis],
                   classes: Sequence[str] | None, previous: Mapping[str, NodeAnalysis]) -> Mapping[str, NodeAnalysis] | None:
    """Put the warnings about the network's head on their records, in ``results``; returns each
    warned node's record without them, for the memo (the next analysis starts from those)."""
    found: dict[str, tuple[Issue, ...]] = {}
    for nid, issue in head_warnings(design, results, output, design.classes if classes is None else classes):
        found[nid] = found.get(nid, ()) + (issue,)
    clean: dict[str, NodeAnalysis] = {}
    for nid, given in found.items():
        record = results.get(nid)
        if record is None:
            continue
        warned = record._replace(warnings=record.warnings + given)
        before = previous.get(nid)
        if before is not None and before == warned:
            warned = before  # the same warnings as before: the same record object
        results[nid] = warned
        clean[nid] = record
    return MappingProxyType(clean) if clean else None


def _memory_warning(design: Design, analysis: Analysis, previous: Analysis | None) -> tuple[str, NodeAnalysis] | None:
    """Put ``analysis.memory``'s warning (training would not fit a 16 GB machine) on the node that
    dominates, in ``analysis.nodes``; returns (node, its record without it) for the memo."""
    found = memory_warning(design, analysis)
    if found is None:
        return None
    nid, issue = found
    clean = analysis.nodes[nid]
    warned = clean._replace(warnings=clean.warnings + (issue,))
    if previous is not None and previous.nodes.get(nid) == warned:
        warned = previous.nodes[nid]  # the same warning as before: the same record object
    analysis.nodes[nid] = warned
    return nid, clean


def softmax_output_warning(node_id: str) -> Issue:
    """A final Softmax: cross-entropy applies softmax itself, so training on probabilities squashes twice."""
    return Issue(tr("The model ends in Softmax, but training uses cross-entropy, which applies softmax itself: "
                 "training would squash the scores twice (and learn far worse)."),
                 tr("Remove it for training; the scores' softmax gives the probabilities when needed."),
                 Fix(tr('Remove {node_id!r}').format(node_id=node_id), (Bridge(node_id),)), "warning")


def _field_math(ctx: Ctx, step: Window | str, fields: tuple[ReceptiveField, ...], result: ReceptiveField) -> None:
    """``_next_field`` written out."""
    if step == PASS:
        return
    if step == MERGE and len({shape[1:] for _, shape in ctx.inputs}) > 1:  # x · gate: a broadcast
        sizes = ", ".join(pair(f.size) for f in fields)
        ctx.derive("RF", tr("RF = {rf}: the union of each unit's windows in its inputs ({sizes}); a broadcast "
                            "input's one window is in every unit's").format(rf=pair(result.size), sizes=sizes))
        return
    if step == MERGE:
        parts = " ∪ ".join(pair(f.size) for f in fields)
        ctx.derive("RF", tr("RF = {parts} = {rf} (per axis, the smallest window that holds every input's "
                            "window)").format(parts=parts, rf=pair(result.size)))
        if len({f.start for f in fields}) > 1:
            ctx.derive("RF", tr("the inputs' windows are centred at {starts}: the union is centred at {start}").format(
                starts=", ".join(pair(f.start) for f in fields), start=pair(result.start)))
        return
    field = fields[0]
    n = number
    if result.phases != (None, None) or field.phases != (None, None):
        _phases_math(ctx, field, result)
        return
    lines = [f"RF = {n(field.size[a])} + ({n(step.span[a])} − 1)·{n(field.jump[a])} = {n(result.size[a])}"
             for a in (0, 1)]
    jumps = [f"jump = {n(field.jump[a])}·{n(step.stride[a])} = {n(result.jump[a])}" for a in (0, 1)]
    if lines[0] == lines[1] and jumps[0] == jumps[1]:
        ctx.derive("RF", f"{lines[0]};  {jumps[0]}")
    else:
        ctx.derive("RF", f"RF_h: {lines[0][5:]};  {jumps[0]}")
        ctx.derive("RF", f"RF_w: {lines[1][5:]};  {jumps[1]}")


def _phases_math(ctx: Ctx, field: ReceptiveField, result: ReceptiveField) -> None:
    """The field where units see windows of different sizes (after a stride below 1 or an uneven one)."""
    lines = []
    for a in (0, 1):
        phases, rf, jump = result.phases[a], number(result.size[a]), number(result.jump[a])
        if phases is None:
            lines.append(f"RF = {rf};  jump = {jump}")
        elif len(set(phases.sizes)) == 1:
            lines.append(tr("RF = {rf} for every unit; the windows move {shift} pixels every {period} units "
                            "(jump = {jump} on average)").format(rf=rf, shift=number(phases.shift),
                                                                  period=len(phases.windows), jump=jump))
        else:
            lines.append(tr("RF = {rf}: neighbouring units see {sizes} pixels in turn, repeating every {period} "
                            "units (the widest is shown);  jump = {jump} on average").format(
                                rf=rf, sizes=", ".join(number(v) for v in phases.sizes), period=len(phases.windows),
                                jump=jump))
    if lines[0] == lines[1]:
        ctx.derive("RF", lines[0])
    else:
        ctx.derive("RF", "RF_h: " + lines[0].removeprefix("RF = "))
        ctx.derive("RF", "RF_w: " + lines[1].removeprefix("RF = "))


def _explain(record: NodeAnalysis) -> tuple[Derivation, ...]:
    """A valid record's derivations: its rule run again, explaining, on what it was computed from."""
    if record.type == "Input":
        return (Derivation("shape", tr("shape = C×H×W = {output_shape} (the design's input)").format(output_shape=fmt_shape(record.output_shape))),
                Derivation("activation", activation_math(record.output_shape)))
    basis = record.basis
    spec = layer_spec(record.type)
    ctx = Ctx(record.id, spec, basis.params, tuple(zip(basis.inputs, record.input_shapes)), explaining=True)
    out = RULES[record.type](ctx)
    assert out is not None and out.shape == record.output_shape, f"{record.id}: the rule is not deterministic"
    if out.outputs:
        ctx.derive("activation", " + ".join(activation_math(shape).partition(" = ")[2].split(" = ")[0]
                                            for shape in out.outputs)
                   + f" = {grouped(record.activation_bytes)} B " + tr("per image (all outputs)"))
    else:
        ctx.derive("activation", activation_math(out.shape))
    _field_math(ctx, out.field, basis.fields, record.receptive_field)
    if out.collapses and record.feature_field is not None:
        ctx.derive("RF", tr("global: every unit of {shape} feeds each output, so each sees all the input that "
                            "map sees; the network's receptive field stays {rf} (one unit of the last "
                            "feature map)").format(shape=fmt_shape(record.input_shapes[0]),
                                                   rf=pair(record.feature_field.size)))
    return tuple(ctx.derivations)
