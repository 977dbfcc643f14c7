"""What a suggested fix produces, found by applying it to a copy of the design and analysing that.

The analysis rules name a fix by what it does ("Set padding to 19"); what it gives is measured
here, never predicted, so the label keeps its promise whatever the stride, dilation or the layers
after it do: "Set padding to 19 (gives 16×16)" on a kernel-40, stride-2 conv, where the old label
promised "keeps 32×32". A fix that solves its node's problem but makes a later layer fail says so.

Computed where a label is shown (one analysis of a copy per fix, a few milliseconds), not by the
analysis itself: most fixes are never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..design.edits import Bridge, SetParam, apply_edits
from ..design.graph import Design, DesignError
from ..i18n import tr
from .engine import analyze
from .results import Analysis, Fix, Shape
from .text import grouped, shape as fmt_shape


@dataclass(frozen=True)
class FixOutcome:
    fix: Fix
    #: The node whose output the label reports: the one the fix sets, the one it inserts, or (for a
    #: removal) the one that takes the removed node's place.
    node: str | None
    #: That node's output after the fix (None where it still fails).
    shape: Shape | None
    #: That node's input before the fix, to say "keeps" when the map keeps its size.
    input_shape: Shape | None
    #: The node the problem was reported at has no error left.
    resolved: bool
    #: The first error of the fixed design, if any (the same node's, or one further on).
    error_node: str | None
    error: str | None
    #: The label a button or menu shows.
    label: str


def fix_outcome(design: Design, fix: Fix, at: str | None = None, before: Analysis | None = None) -> FixOutcome:
    """``fix`` applied to a copy of ``design`` and analysed; ``at``: the node the problem was reported
    at; ``before``: the design's analysis as it is (made again when not given)."""
    trial = design.copy()
    try:
        apply_edits(trial, fix.edits)
    except (DesignError, KeyError, ValueError) as exc:
        return FixOutcome(fix, None, None, None, False, at, str(exc), f"{fix.label} ({tr('cannot be applied')}: {exc})")
    before = before or analyze(design)
    after = analyze(trial)
    node = _reported_node(design, trial, fix)
    result = after.nodes.get(node) if node else None
    shape = result.output_shape if result is not None else None
    input_shape = result.input_shapes[0] if result is not None and result.input_shapes else None
    still = at is not None and at in after.nodes and bool(after.nodes[at].errors or after.nodes[at].blocked_by)
    had_error = {nid for nid, issue in before.issues() if nid and issue.severity == "error"} - {at}
    new_errors = [(nid, issue.message) for nid, issue in after.issues()
                  if issue.severity == "error" and nid not in had_error]
    error_node, error = new_errors[0] if new_errors else (None, None)
    removal = bool(fix.edits) and all(isinstance(e, Bridge) for e in fix.edits)
    area_only = bool(fix.edits) and all(isinstance(e, SetParam) for e in fix.edits)
    words = outcome_words(shape, input_shape, removal, node, area_only)
    if still or (error is not None and error_node in (at, node)):
        problem = after.nodes[at].errors[0].message if still and after.nodes[at].errors else error
        words = tr("does not fix it: {problem}").format(problem=problem) if problem else tr("does not fix it")
    elif error is not None:
        words = tr("{result}; then {node} fails").format(result=words, node=repr(error_node)) if words else \
            tr("then {node} fails").format(node=repr(error_node))
    label = f"{fix.label} ({words})" if words else fix.label
    return FixOutcome(fix, node, shape, input_shape, not still, error_node, error, label)


def outcome_words(shape: Shape | None, input_shape: Shape | None, removal: bool, node: str | None,
                  area_only: bool = False) -> str:
    """"keeps 32×32", "gives 16×16", "gives 128×28×28", "gives 640 features" — what the reported
    node outputs after the fix (H×W where the channels are not what changed: ``area_only``, or the
    same as its input's); for a removal, said of the node that takes over."""
    if shape is None:
        return ""
    if len(shape) == 3:
        area = f"{shape[1]}×{shape[2]}"
        maps_in = input_shape is not None and len(input_shape) == 3
        show = area if area_only or (maps_in and input_shape[0] == shape[0]) else fmt_shape(shape)
        if maps_in and input_shape[1:] == shape[1:] and not removal and show == area:
            what = tr("keeps {area}").format(area=area)
        else:
            what = tr("gives {shape}").format(shape=show)
    elif len(shape) == 1:
        what = tr("gives {n} features").format(n=grouped(shape[0]))
    else:
        what = tr("gives {shape}").format(shape=fmt_shape(shape))
    return tr("{node} then {what}").format(node=repr(node), what=what) if removal else what


def _reported_node(before: Design, after: Design, fix: Fix) -> str | None:
    new = [nid for nid in after.node_ids if nid not in before]
    if new:
        return new[0]
    moved = [e.new_id for e in fix.edits if getattr(e, "new_id", None) and e.new_id in after]
    if moved:
        return moved[0]
    edited = [e.node for e in fix.edits if isinstance(e, SetParam) and e.node in after]
    if edited:
        return edited[0]
    removed = [e.node for e in fix.edits if isinstance(e, Bridge)]
    if removed:  # who takes the removed node's place: its first consumer, else its input
        gone = before.node(removed[0])
        consumers = [cid for cid, _ in before.consumers(gone.id)]
        return next((c for c in consumers if c in after), gone.inputs[0] if gone.inputs else None)
    return None
