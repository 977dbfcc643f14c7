"""``analyze(design)``: every node's numbers, in topological order, in pure Python.

An error is reported once, at its cause. A node whose input failed is "blocked by" the node where
the trouble started and gets no error of its own, so one typo does not paint the whole graph red.
"""

from __future__ import annotations


from collections.abc import Sequence

from ..design.catalog import layer_spec
from ..design.edits import Bridge
from ..design.graph import Design
from ..design.structure import wiring
from ..i18n import tr
from .head import head_warnings
from .layers import MERGE, PASS, RULES, Ctx, Window, activation_size
from .results import INPUT_FIELD, Analysis, Derivation, Fix, Issue, NodeAnalysis, ReceptiveField
from .text import number, pair, shape as fmt_shape



def analyze(design: Design, classes: Sequence[str] | None = None) -> Analysis:
    """``classes``: the classes of the data the design is to be trained on (default: its own names)."""
    facts = wiring(design)
    order, behind_cycles = facts.order, facts.cyclic
    results: dict[str, NodeAnalysis] = {nid: NodeAnalysis(nid, design.node(nid).type) for nid in design.node_ids}
    general: list[Issue] = []
    for issue in design.validate(facts):
        converted = Issue(issue.message, issue.fix, None, issue.severity)
        if not issue.node_ids:
            general.append(converted)
        for nid in issue.node_ids:
            bucket = results[nid].errors if issue.severity == "error" else results[nid].warnings
            bucket.append(converted)

    collapsed: dict[str, bool] = {}
    for nid in order:
        node = design.node(nid)
        result = results[nid]
        if result.errors:
            continue
        if node.type == "Input":
            _analyze_input(design, result)
            collapsed[nid] = False
            continue
        blocker = next((_root_cause(results, src) for src in node.inputs if not results[src].valid), None)
        if blocker is not None:
            result.blocked_by = blocker
            continue
        spec = layer_spec(node.type)
        inputs = [(src, results[src].output_shape) for src in node.inputs]
        ctx = Ctx(design, nid, spec, spec.resolve(node.params), inputs, results, result)
        out = RULES[node.type](ctx)
        if out is None or result.errors:
            continue
        result.input_shapes = tuple(s for _, s in inputs)
        result.output_shape = out.shape
        result.params = out.params
        result.macs = out.macs
        result.activation_bytes = ctx.activation(out.shape)
        in_fields = [results[src] for src in node.inputs]
        result.receptive_field = _next_field(ctx, out.field, in_fields, out.shape)
        was_collapsed = any(collapsed[src] for src in node.inputs)
        collapsed[nid] = result.global_field = was_collapsed or out.collapses
        if was_collapsed or out.collapses:
            features = [r.feature_field for r in in_fields if r.feature_field]
            result.feature_field = union_field(features, (1, 1)) if features else None
            if out.collapses and result.feature_field is not None:
                ctx.derive("RF", tr("global: every unit of {shape} feeds each output, so each sees all the input that "
                                    "map sees; the network's receptive field stays {rf} (one unit of the last "
                                    "feature map)").format(shape=fmt_shape(ctx.x), rf=pair(result.feature_field.size)))
        else:
            result.feature_field = result.receptive_field

    for nid in behind_cycles:
        result = results[nid]
        if not result.errors:
            upstream = next((src for src in design.node(nid).inputs if src in results and results[src].errors), None)
            result.blocked_by = _root_cause(results, upstream) if upstream else next(
                (c for c in behind_cycles if results[c].errors), None)

    out_id = facts.output
    out = results.get(out_id) if out_id else None
    if out is not None and out.valid and out.type == "Softmax":
        out.warnings.append(softmax_output_warning(out_id))
    for nid, issue in head_warnings(design, results, out_id, design.classes if classes is None else classes):
        results[nid].warnings.append(issue)
    valid = [results[nid] for nid in order if results[nid].valid]
    total_field = out.feature_field if out and out.valid else None
    return Analysis(
        nodes={nid: results[nid] for nid in [*order, *behind_cycles]},
        order=[*order, *behind_cycles],
        output=out_id,
        params=sum(r.params for r in valid),
        macs=sum(r.macs for r in valid),
        activation_bytes=sum(r.activation_bytes for r in valid),
        receptive_field=total_field,
        output_shape=out.output_shape if out else None,
        general_issues=general,
    )


def softmax_output_warning(node_id: str) -> Issue:
    """A final Softmax: cross-entropy applies softmax itself, so training on probabilities squashes twice."""
    return Issue("The model ends in Softmax, but training uses cross-entropy, which applies softmax itself: "
                 "training would squash the scores twice (and learn far worse).",
                 "Remove it for training; the scores' softmax gives the probabilities when needed.",
                 Fix(f"Remove {node_id!r}", (Bridge(node_id),)), "warning")


def _analyze_input(design: Design, result: NodeAnalysis) -> None:
    spec = design.input
    result.output_shape = spec.shape
    result.receptive_field = result.feature_field = INPUT_FIELD
    result.activation_bytes, activation = activation_size(spec.shape)
    result.derivations.append(Derivation("shape", f"shape = C×H×W = {fmt_shape(spec.shape)} (the design's input)"))
    result.derivations.append(Derivation("activation", activation))


def _root_cause(results: dict[str, NodeAnalysis], node_id: str) -> str:
    node = results[node_id]
    return node.blocked_by or node_id


def union_field(fields: list[ReceptiveField], units: tuple[int, int]) -> ReceptiveField:
    """The field of a merge: per axis, the smallest window holding every input's window (a 1×3 and a
    3×1 branch give 3×3; windows centred apart widen it and move its centre). ``units``: the merge's
    output size per axis; with unequal jumps the union grows along the map, and its size is the
    largest, at the first or the last unit."""
    size, jump, start = [], [], []
    for a in (0, 1):
        def bounds(u: int) -> tuple[float, float]:
            return (min(f.start[a] + u * f.jump[a] - (f.size[a] - 1) / 2 for f in fields),
                    max(f.start[a] + u * f.jump[a] + (f.size[a] - 1) / 2 for f in fields))

        lo, hi = bounds(0)
        jumps = {f.jump[a] for f in fields}
        if len(jumps) == 1 or units[a] <= 1:
            size.append(hi - lo + 1)
            jump.append(max(jumps))
        else:
            lo_end, hi_end = bounds(units[a] - 1)
            size.append(max(hi - lo, hi_end - lo_end) + 1)
            jump.append(((lo_end + hi_end) / 2 - (lo + hi) / 2) / (units[a] - 1))
        start.append((lo + hi) / 2)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))


def _next_field(ctx: Ctx, step: Window | str, inputs: list[NodeAnalysis], shape: tuple[int, ...]) -> ReceptiveField:
    """Front to back: r ← r + (k_eff − 1)·j, j ← j·s, start ← start + offset·j; at a merge, the union."""
    if step == PASS:
        return inputs[0].receptive_field
    if step == MERGE:
        fields = [r.receptive_field for r in inputs]
        union = union_field(fields, (shape[1], shape[2]) if len(shape) == 3 else (1, 1))
        parts = " ∪ ".join(pair(f.size) for f in fields)
        ctx.derive("RF", tr("RF = {parts} = {rf} (per axis, the smallest window that holds every input's "
                            "window)").format(parts=parts, rf=pair(union.size)))
        if len({f.start for f in fields}) > 1:
            ctx.derive("RF", tr("the inputs' windows are centred at {starts}: the union is centred at {start}").format(
                starts=", ".join(pair(f.start) for f in fields), start=pair(union.start)))
        return union
    field = inputs[0].receptive_field
    size = tuple(r + (k - 1) * j for r, k, j in zip(field.size, step.span, field.jump))
    jump = tuple(j * s for j, s in zip(field.jump, step.stride))
    start = tuple(st + o * j for st, o, j in zip(field.start, step.offset, field.jump))
    n = number
    lines = [f"RF = {n(field.size[a])} + ({n(step.span[a])} − 1)·{n(field.jump[a])} = {n(size[a])}" for a in (0, 1)]
    jumps = [f"jump = {n(field.jump[a])}·{n(step.stride[a])} = {n(jump[a])}" for a in (0, 1)]
    if lines[0] == lines[1] and jumps[0] == jumps[1]:
        ctx.derive("RF", f"{lines[0]};  {jumps[0]}")
    else:
        ctx.derive("RF", f"RF_h: {lines[0][5:]};  {jumps[0]}")
        ctx.derive("RF", f"RF_w: {lines[1][5:]};  {jumps[1]}")
    return ReceptiveField(size, jump, start)

