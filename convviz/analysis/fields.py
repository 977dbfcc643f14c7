"""Receptive-field arithmetic: how each layer's window moves a unit's field, and a merge's union.

Front to back, per axis. Layers that slide evenly (every stride a whole number) keep the field
affine — size r, jump j, start s: r ← r + (k − 1)·j, j ← j·s, start ← start + offset·j — and every
unit of a map sees a window of the same size. Layers whose stride is below 1 or uneven
(ConvTranspose2d, Upsample, an adaptive pool whose windows differ) make neighbouring units see
windows of different sizes that repeat every few units: from there a field lists one period's
windows exactly (``Phases``). Composing is exact either way: a unit's field runs from the field of
the first input unit its window reads to the field of the last one (fields only move right as the
unit index grows). The summary's size is the widest unit's; the Explain view's rectangle of any
unit away from the borders is ``ReceptiveField.window``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .layers import MAX_PHASES, MERGE, PASS, Window
from .results import NO_PHASES, Phases, ReceptiveField, per_axis

Interval = tuple[float, float]
Axis = tuple[float, float, float, Phases | None, Interval | None]  # size, jump, start, phases, cover


def next_field(step: Window | str, fields: tuple[ReceptiveField, ...], shape: tuple[int, ...]) -> ReceptiveField:
    """The field after a layer, from its inputs' fields."""
    if step == PASS:
        return fields[0]
    if step == MERGE:
        return fields[0] if len(fields) == 1 else \
            union_field(fields, (shape[1], shape[2]) if len(shape) == 3 else (1, 1))
    field = fields[0]
    if step.phases is NO_PHASES and field.phases is NO_PHASES and field.cover is NO_PHASES:
        # almost every layer: the textbook recurrence, written out (it runs once per node and edit)
        (r_h, r_w), (j_h, j_w), (s_h, s_w) = field.size, field.jump, field.start
        (k_h, k_w), (o_h, o_w) = step.span, step.offset
        return ReceptiveField((r_h + (k_h - 1) * j_h, r_w + (k_w - 1) * j_w),
                              (j_h * step.stride[0], j_w * step.stride[1]), (s_h + o_h * j_h, s_w + o_w * j_w))
    units = (shape[1], shape[2]) if len(shape) == 3 else (1, 1)
    return _field([_step_axis(field, step, a, units[a]) for a in (0, 1)])


def _affine_step(field: ReceptiveField, step: Window, a: int) -> tuple[float, float, float]:
    j = field.jump[a]
    return field.size[a] + (step.span[a] - 1) * j, j * step.stride[a], field.start[a] + step.offset[a] * j


def _step_axis(field: ReceptiveField, step: Window, a: int, units: int) -> Axis:
    if step.phases[a] is None and field.phases[a] is None:  # (a field with a cover always has phases)
        return (*_affine_step(field, step, a), None, None)
    composed = compose(as_phases(field, a), step_phases(step, a), step.dilation[a])
    if composed is None:  # a period too long to follow: the widest window, evenly
        return (*_affine_step(field, step, a), None, None)
    return _axis(composed, field.cover[a], units)


def as_phases(field: ReceptiveField, a: int) -> Phases:
    """A field's own windows along one axis as phases (one, for an affine field)."""
    if field.phases[a] is not None:
        return field.phases[a]
    half = (field.size[a] - 1) / 2
    return Phases(((field.start[a] - half, field.start[a] + half),), field.jump[a])


def step_phases(step: Window, a: int) -> Phases:
    """A layer's window along one axis as phases, in input units (one, for an even slide)."""
    if step.phases[a] is not None:
        return step.phases[a]
    half = (step.span[a] - 1) / 2
    return Phases(((step.offset[a] - half, step.offset[a] + half),), step.stride[a])


def compose(field: Phases, step: Phases, dilation: int = 1) -> Phases | None:
    """Unit u after the step reads input units step(u) (every ``dilation``-th of them); its field is
    the hull of theirs. None when the result's period is too long (or the step's shift is not
    whole, which no layer's is)."""
    shift = step.shift
    if not float(shift).is_integer():
        return None
    shift, upstream = int(shift), len(field.windows)
    period = len(step.windows) * (upstream // math.gcd(shift, upstream))
    if period > MAX_PHASES:
        return None
    turns = period // len(step.windows) * shift // upstream  # the field's periods a new period spans
    scan = upstream if not _monotone(field) else 1
    return Phases(tuple(_reads(field, step.window(u), dilation, scan) for u in range(period)), turns * field.shift)


def _monotone(field: Phases) -> bool:
    """Whether windows only move right as the unit grows, none empty: then a run of units' fields
    spans from the first one's start to the last one's end. A transposed conv's phases may not."""
    windows = [field.window(v) for v in range(len(field.windows) + 1)]
    return None not in windows and all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(windows, windows[1:]))


def _reads(field: Phases, units: Interval | None, dilation: int, scan: int) -> Interval | None:
    """The hull of the fields of input units first, first + dilation, … last. Every period moves the
    windows right, so the lowest start lies among the run's first ``scan`` units (a period's worth;
    1 where windows only move right) and the highest end among its last."""
    if units is None:
        return None
    first = int(units[0])
    count = (int(units[1]) - first) // dilation + 1
    last = first + (count - 1) * dilation
    heads = [w for k in range(min(scan, count)) if (w := field.window(first + k * dilation)) is not None]
    tails = [w for k in range(min(scan, count)) if (w := field.window(last - k * dilation)) is not None]
    if not heads and scan < count:  # only units that read nothing so far: look further
        return _reads(field, units, dilation, count)
    if not heads:
        return None
    return (min(w[0] for w in heads), max(w[1] for w in tails))


def _hull(*windows: Interval | None) -> Interval | None:
    present = [w for w in windows if w is not None]
    return (min(w[0] for w in present), max(w[1] for w in present)) if present else None


def _axis(phases: Phases, cover: Interval | None = None, units: int = 1) -> Axis:
    """Phases (and a cover) back to size, jump, start — without phases when one window repeats evenly.
    With a cover, the size is the widest unit's on the map: the units of its first and last period
    (the cover holds the middle ones' windows)."""
    period = len(phases.windows)
    jump = phases.shift / period
    if cover is None and period == 1 and phases.windows[0] is not None:
        low, high = phases.windows[0]
        return (high - low + 1, jump, (low + high) / 2, None, None)
    if cover is None:
        first = next(u for u, w in enumerate(phases.windows) if w is not None)
        return (max(phases.sizes), jump, sum(phases.windows[first]) / 2 - first * jump, phases, None)
    ends = sorted({*range(min(units, period)), *range(max(0, units - period), units)})
    spans = [_hull(phases.window(u), cover) for u in ends]
    return (max(hi - lo + 1 for lo, hi in spans), jump, sum(spans[0]) / 2, phases, cover)


def _field(axes: Sequence[Axis]) -> ReceptiveField:
    (size_h, jump_h, start_h, phases_h, cover_h), (size_w, jump_w, start_w, phases_w, cover_w) = axes
    return ReceptiveField((size_h, size_w), (jump_h, jump_w), (start_h, start_w), per_axis(phases_h, phases_w),
                          per_axis(cover_h, cover_w))


def union_field(fields: Sequence[ReceptiveField], units: tuple[int, int]) -> ReceptiveField:
    """The field of a merge: per axis, the smallest window holding every input's window (a 1×3 and a
    3×1 branch give 3×3; windows centred apart widen it and move its centre). ``units``: the merge's
    output size per axis; with unequal jumps the union grows along the map, and its size is the
    largest, at the first or the last unit. Inputs with phases join phase by phase."""
    if all(f.phases is NO_PHASES and f.cover is NO_PHASES for f in fields):  # the common case: no tuples to build
        (size_h, jump_h, start_h, _, _), (size_w, jump_w, start_w, _, _) = \
            _even_union(fields, units[0], 0), _even_union(fields, units[1], 1)
        return ReceptiveField((size_h, size_w), (jump_h, jump_w), (start_h, start_w))
    return _field([_union_axis(fields, units[a], a) for a in (0, 1)])


def _union_axis(fields: Sequence[ReceptiveField], units: int, a: int, cover: Interval | None = None) -> Axis:
    if cover is None and all(f.phases[a] is None for f in fields):
        return _even_union(fields, units, a)
    phases = [as_phases(f, a) for f in fields]
    jumps = {p.shift / len(p.windows) for p in phases}
    period = math.lcm(*(len(p.windows) for p in phases))
    if len(jumps) > 1 or period > MAX_PHASES:
        return _even_union(fields, units, a)
    windows = tuple(_hull(*(p.window(u) for p in phases)) for u in range(period))
    return _axis(Phases(windows, jumps.pop() * period), _hull(cover, *(f.cover[a] for f in fields)), units)


def _even_union(fields: Sequence[ReceptiveField], units: int, a: int) -> Axis:
    def bounds(u: int) -> Interval:
        return (min(f.start[a] + u * f.jump[a] - (f.size[a] - 1) / 2 for f in fields),
                max(f.start[a] + u * f.jump[a] + (f.size[a] - 1) / 2 for f in fields))

    lo, hi = bounds(0)
    jumps = {f.jump[a] for f in fields}
    if len(jumps) == 1 or units <= 1:
        return (hi - lo + 1, max(jumps), (lo + hi) / 2, None, None)
    lo_end, hi_end = bounds(units - 1)
    return (max(hi - lo, hi_end - lo_end) + 1, ((lo_end + hi_end) / 2 - (lo + hi) / 2) / (units - 1),
            (lo + hi) / 2, None, None)


def broadcast_union(fields: tuple[ReceptiveField, ...], shapes: tuple[tuple[int, ...], ...],
                    out_shape: tuple[int, ...]) -> ReceptiveField:
    """The field after a broadcasting merge (x · gate, the gate C×1×1): per axis, a unit sees its
    window in each input as large as the output, and the one window of each broadcast input (a
    global gate's: the whole image), which every unit shares — the field's cover."""
    if len(out_shape) != 3:
        return union_field(fields, (1, 1))
    axes = []
    for a in (0, 1):
        n = out_shape[a + 1]
        lattice = [f for f, shape in zip(fields, shapes) if shape[a + 1] == n]
        shared = _hull(*(f.span(a, 0) for f, shape in zip(fields, shapes) if shape[a + 1] != n))
        axes.append(_union_axis(lattice, n, a, shared) if shared is not None else _union_axis(lattice, n, a))
    return _field(axes)
