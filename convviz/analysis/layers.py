"""Per-layer arithmetic: output shape, parameters, MACs, the receptive-field step, errors and fixes.

Rules agree with PyTorch on what is valid (tests/test_analysis_vs_torch.py checks thousands of
random cases) and are deliberately stricter in a few places where PyTorch would silently do
something else than the user means (a Linear applied to the last axis of a 4-D map, a
convolution reading a 3-D tensor as unbatched).

Writing a rule (one function per layer type, registered under the catalog's type name in the ``RULES``
of its module; ``analysis/rules.py`` gathers every module's):

    def conv2d(c: Ctx) -> LayerOut | None:
        if not c.check_limits():              # every parameter inside its catalog limits
            return None
        x = c.need_map("needs")               # the input as C×H×W, or an error saying so
        if x is None:
            return None
        ...                                   # the numbers, from c.p (resolved parameters) and c.x
        if cin % groups:
            c.error("…", "…", c.set_fix("Set groups to 2", "groups", 2))   # at its cause, with a fix
            return None
        c.infer("in_channels", cin)           # a size the design does not store but the module needs
        if c.explaining:                      # "the math": only when someone reads it
            c.derive("params", f"params = … = {grouped(params)}")
        return LayerOut(shape, params, macs, Window(span, stride, offset))

- ``c.p``: every parameter's effective value; ``c.inputs``: (source id, shape) per input, ``c.x`` the
  first shape, ``c.source`` its id. A rule returns a ``LayerOut`` (shape, params, MACs, how it moves
  the receptive field: ``PASS``, ``MERGE`` or a ``Window``; ``collapses`` for layers after which a
  unit sees the whole map), or records an error (``c.error``) and returns None. Warnings
  (``c.warn``) go with a valid result.
- Derivations: the analysis runs each rule on every edit with ``c.explaining`` False, for the numbers
  and errors only, and again with it True when a node's derivations are first read (the inspector's
  selected node). Write every ``c.derive`` inside ``if c.explaining:`` (a test checks no derivation is
  built on an edit); the rule must compute the same numbers both times. The engine adds the
  activation size and the receptive-field step itself.
- A rule depends on its parameters and its inputs' shapes only, which is what lets an edit
  re-analyse just the nodes it reaches. A fix may look further (``c.design``, ``c.done``: an
  ancestor whose padding shrank a branch); reading them marks the node so that every later edit
  re-runs it too. Use them on error paths only.
- Quantities a derivation may name (the inspector groups by them): shape, H_out, W_out, C_out,
  features, stride, params, MACs, note (RF and activation are the engine's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..design.catalog import LayerSpec
from ..design.edits import Bridge, InsertBefore, SetParam
from ..design.graph import Design
from ..i18n import tr
from .results import NO_PHASES, Derivation, Fix, Issue, NodeAnalysis, Phases, Shape, per_axis
from .text import grouped, shape as fmt_shape

Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Window:
    """How a layer moves the receptive field: per axis, window span, stride, and the offset of
    the first window's centre from the first input unit (in input units). ``phases``: along an axis
    where output units read windows of different sizes (a stride below 1, uneven windows), the
    input units each unit of one period reads (``span`` is then the widest, ``stride`` the mean);
    ``dilation``: the spacing of the input units a window reads (a dilated kernel skips some)."""

    span: tuple[float, float]
    stride: tuple[float, float]
    offset: tuple[float, float]
    phases: tuple[Phases | None, Phases | None] = NO_PHASES
    dilation: tuple[int, int] = (1, 1)


PASS = "pass"     # element-wise: the field is the input's
MERGE = "merge"   # the per-axis union of the inputs' fields (engine.union_field)


@dataclass(slots=True)
class LayerOut:
    shape: Shape
    params: int = 0
    macs: int = 0
    field: Window | str = PASS
    #: True for global pooling and Flatten: units after it see the whole map.
    collapses: bool = False
    #: A layer with several outputs (Split): each one's shape (``shape`` is the first).
    outputs: tuple[Shape, ...] = ()


class Ctx:
    """One node under analysis: its parameters and inputs in; its errors, warnings, inferred
    sizes and (when ``explaining``) derivations out."""

    __slots__ = ("id", "spec", "p", "inputs", "settings", "explaining", "errors", "warnings", "inferred",
                 "derivations", "looked_around", "_design", "_done")

    def __init__(self, node_id: str, spec: LayerSpec, params: Mapping[str, Any], inputs: tuple[tuple[str, Shape], ...],
                 design: Design | None = None, done: Mapping[str, NodeAnalysis] | None = None,
                 explaining: bool = False) -> None:
        self.id = node_id
        self.spec = spec
        self.p = params
        self.inputs = inputs
        #: The type and every parameter's value: what the result depends on besides the inputs.
        self.settings = (spec.type, *params.values())
        #: True when the analysis wants the derivations (``derive``) and not only the numbers.
        self.explaining = explaining
        self.errors: tuple[Issue, ...] = ()
        self.warnings: tuple[Issue, ...] = ()
        self.inferred: dict[str, int] | None = None
        self.derivations: list[Derivation] | None = [] if explaining else None
        #: The rule read the design or other nodes' results (``design``, ``done``).
        self.looked_around = False
        self._design = design
        self._done = done

    @property
    def x(self) -> Shape:
        return self.inputs[0][1]

    @property
    def source(self) -> str:
        return self.inputs[0][0]

    @property
    def design(self) -> Design:
        """The whole design, for fixes that look beyond this node's inputs (error paths only)."""
        self.looked_around = True
        return self._design

    @property
    def done(self) -> Mapping[str, NodeAnalysis]:
        """Every node analysed so far (error paths only, like ``design``)."""
        self.looked_around = True
        return self._done

    def error(self, message: str, hint: str = "", fix: Fix | None = None) -> None:
        self.errors += (Issue(message, hint, fix, "error"),)

    def warn(self, message: str, hint: str = "", fix: Fix | None = None) -> None:
        self.warnings += (Issue(message, hint, fix, "warning"),)

    def infer(self, name: str, value: int) -> None:
        """A size the module needs but the design does not store (``in_channels``, ``in_features``)."""
        if self.inferred is None:
            self.inferred = {}
        self.inferred[name] = value

    def derive(self, quantity: str, text: str) -> None:
        """One line of "the math" (call it inside ``if c.explaining:``)."""
        if self.explaining:
            self.derivations.append(Derivation(quantity, text))

    def set_fix(self, label: str, name: str, value: Any) -> Fix:
        return Fix(label, (SetParam(self.id, name, value),))

    def check_limits(self) -> bool:
        """Record an error for every parameter outside its limits; True when all are inside."""
        key = self.settings  # most nodes repeat a few settings: each is checked once
        if key in _WITHIN_LIMITS:
            return True
        ok = True
        for spec in self.spec.params:
            value = self.p[spec.name]
            if value is None and spec.required:  # a hand-made node or a cleared value: no default to take
                ok = False
                self.error(tr('{name} is not set, and PyTorch has no default for it.').format(name=spec.name), "",
                           self.set_fix(tr('Set {name} to {show}').format(name=spec.name, show=_show(spec.initial)), spec.name, spec.initial))
                continue
            problem = spec.limit_error(value)
            if problem:
                ok = False
                fixed = _clamp(value, spec.minimum, spec.maximum, spec.exclusive_minimum)
                fix = self.set_fix(tr('Set {name} to {show}').format(name=spec.name, show=_show(fixed)), spec.name, fixed) if fixed is not None else None
                self.error(problem[0].upper() + problem[1:] + ".", "", fix)
        if ok:
            if len(_WITHIN_LIMITS) >= 4096:
                _WITHIN_LIMITS.clear()
            _WITHIN_LIMITS.add(key)
        return ok

    def need_map(self, what: str) -> Shape | None:
        """The input as a C×H×W map, or an error saying the layer needs one (``what``: kept for the
        callers, the message is whole in the catalog)."""
        x = self.x
        if len(x) == 3:
            return x
        if len(x) == 1:
            self.error(tr('{type} needs a C×H×W map, but its input is a flat vector of {grouped} features (from {source!r}).').format(type=self.spec.type, grouped=grouped(x[0]), source=self.source),
                       tr("Place it before the Flatten."))
        else:
            self.error(tr('{type} needs a C×H×W map, but its input has shape {x}.').format(type=self.spec.type, x=fmt_shape(x)),
                       tr("Check the Flatten's start_dim and end_dim."))
        return None


#: (type, every parameter's value) of settings known to be within their limits. Equal values
#: (1 and 1.0) share an entry, which is right: the limits compare numbers.
_WITHIN_LIMITS: set[tuple] = set()


#: float32 activations.
BYTES_PER_VALUE = 4


def activation_bytes(shape: Shape) -> int:
    """Bytes of one image's output of ``shape``."""
    return math.prod(shape) * BYTES_PER_VALUE


def activation_math(shape: Shape) -> str:
    """``activation_bytes`` written out."""
    return (tr('activation = {map}·{BYTES_PER_VALUE} B = {grouped} B per image').format(map='·'.join(map(str, shape)), BYTES_PER_VALUE=BYTES_PER_VALUE, grouped=grouped(activation_bytes(shape))))


def hw(value: Any) -> Pair:
    """An int or an (h, w) pair (a tuple from the catalog; a list from hand-made nodes) as (h, w)."""
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _same_or_pair(pair: Pair) -> int | Pair:
    return pair[0] if pair[0] == pair[1] else pair


def _show(value: Any) -> str:
    if isinstance(value, tuple):  # a pair, ZeroPad2d's four sides, a Split's sizes
        return f"({', '.join(map(str, value))})"
    return str(value)


def _clamp(value: Any, low: float | None, high: float | None, exclusive: bool) -> Any:
    def one(v: Any) -> Any:
        if low is not None and (v <= low if exclusive else v < low):
            if exclusive:
                return None
            return type(v)(low)
        if high is not None and v > high:
            return type(v)(high)
        return v

    if isinstance(value, tuple):
        parts = tuple(one(v) for v in value)
        return None if None in parts else parts
    return one(value)


def _axes(template: str, h: dict[str, Any], w: dict[str, Any]) -> list[str]:
    """One derivation line per axis, or a single line when both axes read the same."""
    line_h = template.format(axis="H", **h)
    line_w = template.format(axis="W", **w)
    if line_h[1:] == line_w[1:]:
        return ["H_out = W" + line_h[1:]]
    return [line_h, line_w]


# --- convolution ---------------------------------------------------------------------------------

def conv2d(c: Ctx) -> LayerOut | None:
    p = c.p
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    cin, height, width = x
    c.infer("in_channels", cin)
    k, s, d = hw(p["kernel_size"]), hw(p["stride"]), hw(p["dilation"])
    groups, cout, bias = p["groups"], p["out_channels"], p["bias"]
    if cin % groups or cout % groups:
        groups_error(c, cin, cout, groups)
        return None
    keff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    keep = _same_or_pair(((keff[0] - 1) // 2, (keff[1] - 1) // 2))
    padding = p["padding"]
    if padding == "same":
        if s != (1, 1):
            c.error(tr('padding "same" needs stride 1, and this conv has stride {show}.').format(show=_show(_same_or_pair(s))),
                    tr('Use padding {show}: it keeps the size before the stride divides it.').format(show=_show(keep)),
                    c.set_fix(tr('Set padding to {show}').format(show=_show(keep)), "padding", keep))
            return None
        before = ((keff[0] - 1) // 2, (keff[1] - 1) // 2)
        after = (keff[0] - 1 - before[0], keff[1] - 1 - before[1])
    else:
        before = after = (0, 0) if padding == "valid" else hw(padding)
    mode = p["padding_mode"]
    if mode in ("reflect", "circular") and (before != (0, 0) or after != (0, 0)):
        widest = (max(before[0], after[0]), max(before[1], after[1]))
        too_wide = widest[0] >= height or widest[1] >= width if mode == "reflect" else \
            widest[0] > height or widest[1] > width
        if too_wide:
            rule = tr("less than") if mode == "reflect" else tr("at most")
            c.error(tr('padding_mode "{mode}" needs padding {rule} the input size ({height}×{width}); the padding is {show}.').format(mode=mode, rule=rule, height=height, width=width, show=_show(_same_or_pair(widest))),
                    tr("Use zeros padding, or less padding."),
                    c.set_fix(tr("Set padding_mode to zeros"), "padding_mode", "zeros"))
            return None
    padded = (height + before[0] + after[0], width + before[1] + after[1])
    if padded[0] < keff[0] or padded[1] < keff[1]:
        _kernel_too_large(c, keff, padded, k, d, keep, (height, width), "padding")
        return None
    out_h = (padded[0] - keff[0]) // s[0] + 1
    out_w = (padded[1] - keff[1]) // s[1] + 1
    shape = (cout, out_h, out_w)
    per_group = cin // groups
    params = (k[0] * k[1] * per_group + (1 if bias else 0)) * cout
    macs = cout * out_h * out_w * per_group * k[0] * k[1]

    if c.explaining:
        if padding == "same":
            c.derive("H_out", tr('H_out = H = {height}, W_out = W = {width} (padding "same": {show} before, {show2} after)').format(height=height, width=width, show=_show(_same_or_pair(before)), show2=_show(_same_or_pair(after))))
        else:
            pad = (before if padding != "valid" else (0, 0))
            for line in _axes("{axis}_out = ⌊({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {o}",
                              dict(n=height, p=pad[0], d=d[0], k=k[0], s=s[0], o=out_h),
                              dict(n=width, p=pad[1], d=d[1], k=k[1], s=s[1], o=out_w)):
                c.derive("H_out" if line.startswith("H") else "W_out", line)
        c.derive("C_out", f"C_out = out_channels = {cout}")
        fan = f"{k[0]}·{k[1]}·{cin}" + (f"/{groups}" if groups > 1 else "")
        c.derive("params", f"params = ({fan}{' + 1' if bias else ''})·{cout} = {grouped(params)}"
                           + ("" if bias else tr(" (no bias)")))
        c.derive("MACs", f"MACs = C_out·H_out·W_out·(C_in/groups)·k_h·k_w = "
                         f"{cout}·{out_h}·{out_w}·{per_group}·{k[0]}·{k[1]} = {grouped(macs)}")
    offset = ((keff[0] - 1) / 2 - before[0], (keff[1] - 1) / 2 - before[1])
    return LayerOut(shape, params, macs, Window(keff, s, offset, dilation=d))


def groups_error(c: Ctx, cin: int, cout: int, groups: int) -> None:
    """``groups`` does not divide the channels on both sides: the error, with the nearest groups that do."""
    common = math.gcd(cin, cout)
    best = max(v for v in _divisors(common) if v <= groups)
    c.error(tr('groups = {groups} must divide both the input channels ({cin}) and out_channels ({cout}).').format(groups=groups, cin=cin, cout=cout),
            tr('Use groups = {best}').format(best=best) + (tr(' (or {cin} for a depthwise conv with out_channels a multiple of {cin})').format(cin=cin)
                                     if cin != best else "") + ".",
            c.set_fix(tr('Set groups to {best}').format(best=best), "groups", best))


def _divisors(n: int) -> list[int]:
    small = [i for i in range(1, int(math.isqrt(n)) + 1) if n % i == 0]
    return sorted(set(small + [n // i for i in small]))


def _kernel_too_large(c: Ctx, keff: Pair, padded: Pair, k: Pair, d: Pair, keep: Any, size: Pair, pad_name: str) -> None:
    """The window does not fit: suggest padding that keeps the size, else a kernel that fits."""
    fix = None
    hint = ""
    keep_pair = hw(keep)
    if size[0] + 2 * keep_pair[0] >= keff[0] and size[1] + 2 * keep_pair[1] >= keff[1] and pad_name:
        fix = c.set_fix(tr("Set padding to {p}").format(p=_show(keep)), pad_name, keep)
        keeps = hw(c.p.get("stride", 1)) == (1, 1) and keff[0] % 2 == 1 and keff[1] % 2 == 1  # an even window cannot
        hint = (tr("Pad by {p} to keep the size, or use a smaller kernel.") if keeps else
                tr("Pad by {p} so the window fits, or use a smaller kernel.")).format(p=_show(keep))
    else:
        fit = _same_or_pair(tuple(max(1, min(kk, (pp - 1) // dd + 1)) for kk, pp, dd in zip(k, padded, d)))
        fix = c.set_fix(tr('Set kernel_size to {show}').format(show=_show(fit)), "kernel_size", fit)
        hint = tr('Use a kernel of at most {show} here.').format(show=_show(fit))
    dil = tr(', dilation {show}').format(show=_show(_same_or_pair(d))) if d != (1, 1) else ""
    c.error(tr('The kernel spans {keff}×{keff2} pixels (kernel {show}{dil}) but the padded input is only {padded}×{padded2}.').format(keff=keff[0], keff2=keff[1], show=_show(_same_or_pair(k)), dil=dil, padded=padded[0], padded2=padded[1]), hint, fix)


# --- pooling -------------------------------------------------------------------------------------

def pooled_size(n: int, keff: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: a ceil-mode window may not start in the right padding."""
    out = (n + 2 * pad - keff + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + pad:
        out -= 1
    return out


def pool2d(c: Ctx) -> LayerOut | None:
    p = c.p
    is_max = c.spec.type == "MaxPool2d"
    if not c.check_limits():
        return None
    k = hw(p["kernel_size"])
    s = hw(p["stride"]) if p["stride"] is not None else k
    pad = hw(p["padding"])
    d = hw(p["dilation"]) if is_max else (1, 1)
    if pad[0] > k[0] // 2 or pad[1] > k[1] // 2:
        half = _same_or_pair((k[0] // 2, k[1] // 2))
        c.error(tr('padding {show} is more than half the kernel ({show2}): some windows would see only padding.').format(show=_show(_same_or_pair(pad)), show2=_show(_same_or_pair(k))), tr('Use padding ≤ {show}.').format(show=_show(half)),
                c.set_fix(tr('Set padding to {show}').format(show=_show(half)), "padding", half))
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, height, width = x
    keff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    ceil_mode = p["ceil_mode"]
    out_h = pooled_size(height, keff[0], s[0], pad[0], ceil_mode)
    out_w = pooled_size(width, keff[1], s[1], pad[1], ceil_mode)
    if out_h < 1 or out_w < 1:
        fit = _pool_kernel_that_fits(k, pad, d, (height, width))
        fix = c.set_fix(tr('Set kernel_size to {show}').format(show=_show(fit)), "kernel_size", fit) if fit else None
        c.error(tr('The {keff}×{keff2} window is larger than the padded input ({value}×{value2}): the output would be empty.').format(keff=keff[0], keff2=keff[1], value=height + 2 * pad[0], value2=width + 2 * pad[1]),
                tr("Use a smaller window, or remove this pooling.") if fix else tr("Remove this pooling."), fix)
        return None
    if c.explaining:
        left, right = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
        if is_max:
            template = "{axis}_out = " + left + "({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}" + right + " + 1{drop} = {o}"
        else:
            template = "{axis}_out = " + left + "({n} + 2·{p} − {k}) / {s}" + right + " + 1{drop} = {o}"

        def axis(n: int, i: int, o: int) -> dict[str, Any]:
            full = (n + 2 * pad[i] - keff[i] + (s[i] - 1 if ceil_mode else 0)) // s[i] + 1
            drop = tr(" − 1 (the last window would start in the padding)") if ceil_mode and full != o else ""
            return dict(n=n, p=pad[i], d=d[i], k=k[i], s=s[i], o=o, drop=drop)

        for line in _axes(template, axis(height, 0, out_h), axis(width, 1, out_w)):
            c.derive("H_out" if line.startswith("H") else "W_out", line)
        if p["stride"] is None:
            c.derive("stride", tr('stride = kernel_size = {show} (not set)').format(show=_show(_same_or_pair(k))))
    offset = ((keff[0] - 1) / 2 - pad[0], (keff[1] - 1) / 2 - pad[1])
    return LayerOut((channels, out_h, out_w), 0, 0, Window(keff, s, offset, dilation=d))


def _pool_kernel_that_fits(k: Pair, pad: Pair, d: Pair, size: Pair) -> Any:
    """Per axis, the largest kernel ≤ k whose window fits the padded input and that the padding
    is at most half of: ``d·(c − 1) + 1 ≤ n + 2p`` gives ``c ≤ ⌊(n + 2p − 1) / d⌋ + 1``, and
    ``p ≤ ⌊c / 2⌋`` needs ``c ≥ 2p``. Closed form: a kernel of 10¹² costs what one of 3 does."""
    fit = []
    for kk, pp, dd, n in zip(k, pad, d, size):
        choice = min(kk, (n + 2 * pp - 1) // dd + 1)
        if choice < max(1, 2 * pp):
            return None
        fit.append(choice)
    return _same_or_pair((fit[0], fit[1]))


def adaptive_pool(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, height, width = x
    o = hw(c.p["output_size"])
    spans, strides, offsets, phases = [], [], [], []
    for axis, n, out in (("H", height, o[0]), ("W", width, o[1])):
        windows = [math.ceil((i + 1) * n / out) - (i * n) // out for i in range(min(out, 4096))]
        span = max(windows)
        spans.append(span)
        strides.append(n / out)
        offsets.append((windows[0] - 1) / 2)
        phases.append(adaptive_phases(n, out))
        if not c.explaining:
            continue
        kind = f"{span}-row" if axis == "H" else f"{span}-column"
        if n % out == 0:
            c.derive(f"{axis}_out", tr('{axis}_out = output_size = {out} ({kind} windows, stride {value})').format(axis=axis, out=out, kind=kind, value=n // out))
        else:
            c.derive(f"{axis}_out", tr('{axis}_out = output_size = {out} (window i: ⌊i·{n}/{out}⌋ … ⌈(i + 1)·{n}/{out}⌉ − 1, up to {span} wide, overlapping)').format(axis=axis, out=out, n=n, span=span))
    collapses = o == (1, 1)
    if collapses and c.explaining:
        c.derive("note", tr('global pooling: each of the {channels} outputs summarises a whole {height}×{width} map').format(channels=channels, height=height, width=width))
    return LayerOut((channels, o[0], o[1]), 0, 0,
                    Window(tuple(spans), tuple(strides), tuple(offsets), per_axis(*phases)), collapses=collapses)


#: The longest period of uneven windows followed exactly (units per repeat); beyond it a field is
#: approximated evenly by its widest window and mean jump (an adaptive pool from 1,000 to 999, say).
MAX_PHASES = 1024


def adaptive_windows(n: int, out: int) -> Phases:
    """Adaptive pooling's windows ⌊i·n/o⌋ … ⌈(i + 1)·n/o⌉ − 1: they repeat every o/gcd(n, o) units,
    moved by n/gcd(n, o) (one window, kernel = stride = n/o, when n is a multiple of o)."""
    turn = math.gcd(n, out)
    return Phases(tuple(((i * n) // out, -(-(i + 1) * n // out) - 1) for i in range(out // turn)), n // turn)


def adaptive_phases(n: int, out: int) -> Phases | None:
    """``adaptive_windows`` where they are uneven and their period short enough to list (else None: an
    ordinary pool's even slide, or the even approximation)."""
    if n % out == 0 or out // math.gcd(n, out) > MAX_PHASES:
        return None
    return adaptive_windows(n, out)


# --- normalisation -------------------------------------------------------------------------------

def batchnorm2d(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.x
    if len(x) != 3:
        fix = None
        source = c.design.get(c.source)
        if len(x) == 1 and source is not None and source.type == "Flatten" and len(source.inputs) == 1:
            node = c.design.node(c.id)
            fix = Fix(tr('Move {id!r} before {source!r}').format(id=c.id, source=c.source),
                      (Bridge(c.id), InsertBefore(c.source, "BatchNorm2d", dict(node.params), 0, c.id)))
        what = tr('a flat vector of {grouped} features').format(grouped=grouped(x[0])) if len(x) == 1 else tr('shape {x}').format(x=fmt_shape(x))
        c.error(tr('BatchNorm2d normalises each channel of a C×H×W map, but its input is {what} (from {source!r}).').format(what=what, source=c.source), tr("Move it before the Flatten (or use it on maps only)."), fix)
        return None
    channels = x[0]
    c.infer("num_features", channels)
    params = 2 * channels if c.p["affine"] else 0
    if c.explaining:
        c.derive("params", tr('params = 2·C = 2·{channels} = {grouped} (γ and β; the running mean and variance are buffers, not parameters)').format(channels=channels, grouped=grouped(params)) if c.p["affine"]
                 else tr("params = 0 (affine is off: no γ, β)"))
    return LayerOut(x, params)


def local_response_norm(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    if len(c.x) < 2:
        c.error(tr('LocalResponseNorm compares neighbouring channels of a map, but its input is a flat vector (from {source!r}).').format(source=c.source), tr("Place it before the Flatten."))
        return None
    if c.explaining:
        c.derive("note", tr('each value is divided by the activity of {p} neighbouring channels').format(p=c.p['size']))
    return LayerOut(c.x)


# --- element-wise --------------------------------------------------------------------------------

def elementwise(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    if c.spec.type == "Dropout2d" and len(c.x) == 1:
        c.warn(tr("Dropout2d drops whole channels of a map; on a flat vector it drops single features "
               "(and PyTorch deprecates this)."), tr("Use Dropout after a Flatten."))
    return LayerOut(c.x)


def prelu(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    channels, count = c.x[0], c.p["num_parameters"]
    if count not in (1, channels):
        c.error(tr("PReLU learns one slope, or one per channel ({c}), not {n}.").format(c=channels, n=count),
                tr("Use num_parameters = {c} (one slope per channel) or 1 (one for all).").format(c=channels),
                c.set_fix(tr("Set num_parameters to {value}").format(value=channels), "num_parameters", channels))
        return None
    if c.explaining:
        c.derive("params", tr("params = num_parameters = {n} (the learned slopes)").format(n=count))
    return LayerOut(c.x, count)


def softmax(c: Ctx) -> LayerOut | None:
    rank = len(c.x) + 1
    dim = c.p["dim"]
    if not -rank <= dim < rank:
        c.error(tr('dim {dim} is out of range for a {rank}-D tensor (batch × {x}); use −{rank}…{value}.').format(dim=dim, rank=rank, x=fmt_shape(c.x), value=rank - 1), tr("dim 1 is the class (or channel) axis."),
                c.set_fix(tr("Set dim to 1"), "dim", 1))
        return None
    if dim % rank == 0:
        c.warn(tr("Softmax over dim 0 mixes the images of a batch."), tr("Use dim 1 (classes or channels)."),
               c.set_fix(tr("Set dim to 1"), "dim", 1))
    return LayerOut(c.x)


def placeholder(c: Ctx) -> LayerOut | None:
    """An imported operation convviz has no layer for: always an error, never a stand-in function."""
    what = c.p["stands_for"] or tr("an operation")
    reason = c.p["reason"]
    c.error(tr("{node} stands for {what}, which could not be imported").format(node=repr(c.id), what=what)
            + (f": {reason}." if reason else "."),
            tr("Replace it with layers that compute the same; until then the design cannot be built or trained."))
    return None


def identity(c: Ctx) -> LayerOut | None:
    return LayerOut(c.x)


# --- reshape and dense ---------------------------------------------------------------------------

def flatten(c: Ctx) -> LayerOut | None:
    x = c.x
    rank = len(x) + 1
    start, end = c.p["start_dim"], c.p["end_dim"]
    for name, dim in (("start_dim", start), ("end_dim", end)):
        if not -rank <= dim < rank:
            default = 1 if name == "start_dim" else -1
            c.error(tr('{name} {dim} is out of range for a {rank}-D tensor (batch × {x}).').format(name=name, dim=dim, rank=rank, x=fmt_shape(x)),
                    tr('Use {default}.').format(default=default), c.set_fix(tr('Set {name} to {default}').format(name=name, default=default), name, default))
            return None
    s, e = start % rank, end % rank
    if s == 0:
        c.error(tr("start_dim 0 would flatten the batch into the features."), tr("Use start_dim 1."),
                c.set_fix(tr("Set start_dim to 1"), "start_dim", 1))
        return None
    if s > e:
        c.error(tr('start_dim ({start} → {s}) comes after end_dim ({end} → {e}).').format(start=start, s=s, end=end, e=e), tr("Use start_dim 1, end_dim −1."),
                Fix(tr("Flatten everything after the batch"), (SetParam(c.id, "start_dim", 1), SetParam(c.id, "end_dim", -1))))
        return None
    merged = math.prod(x[s - 1:e])
    shape = x[:s - 1] + (merged,) + x[e:]
    if c.explaining:
        c.derive("features", f"features = {'·'.join(map(str, x[s - 1:e]))} = {grouped(merged)}" if e > s
                 else tr('nothing to flatten: shape stays {shape}').format(shape=fmt_shape(shape)))
    if len(x) == 3 and len(shape) < 3 and s <= 2:
        _, height, width = x
        return LayerOut(shape, field=Window((height, width), (height, width), ((height - 1) / 2, (width - 1) / 2)),
                        collapses=True)
    return LayerOut(shape)


def unflatten(c: Ctx) -> LayerOut | None:
    """A vector of F features as a map of ``unflattened_size`` (nn.Unflatten over dim 1): the sizes must
    multiply to F, and a design's maps have at most three dimensions (C×H×W)."""
    if not c.check_limits():  # a required size left unset, or one below 1
        return None
    x, sizes = c.x, tuple(c.p["unflattened_size"])
    if len(x) != 1:
        c.error(tr("Unflatten folds a vector of features, but its input is a {shape} map.").format(shape=fmt_shape(x)),
                tr("Put it after a Flatten or a Linear layer."))
        return None
    if len(sizes) > 3 or math.prod(sizes) != x[0]:
        target = (x[0], 1, 1)
        c.error(tr("Unflatten makes {shape} ({n} values) of {f} features: the sizes must multiply to {f}, in at most "
                   "three dimensions (C×H×W).").format(shape=fmt_shape(sizes), n=grouped(math.prod(sizes)), f=x[0]),
                tr("Use ({f}, 1, 1): one channel per feature, as a gate.").format(f=x[0]),
                c.set_fix(tr("Set unflattened_size to {size}").format(size=fmt_shape(target)), "unflattened_size",
                          target))
        return None
    if c.explaining:
        c.derive("shape", f"{fmt_shape(sizes)} = {'·'.join(map(str, sizes))} = {x[0]} features")
    return LayerOut(sizes)


def linear(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.x
    if len(x) != 1:
        c.error(tr('Linear needs a flat vector of features, but its input is a {x} map (from {source!r}).').format(x=fmt_shape(x), source=c.source),
                tr('Insert a Flatten before it: the map becomes {grouped} features.').format(grouped=grouped(math.prod(x))),
                Fix(tr('Insert Flatten before {id!r}').format(id=c.id), (InsertBefore(c.id, "Flatten"),)))
        return None
    fan_in, out, bias = x[0], c.p["out_features"], c.p["bias"]
    c.infer("in_features", fan_in)
    params = (fan_in + (1 if bias else 0)) * out
    macs = fan_in * out
    if c.explaining:
        c.derive("params", f"params = ({fan_in}{' + 1' if bias else ''})·{out} = {grouped(params)}")
        c.derive("MACs", f"MACs = in·out = {fan_in}·{out} = {grouped(macs)}")
    return LayerOut((out,), params, macs)


# --- merges --------------------------------------------------------------------------------------

def add(c: Ctx) -> LayerOut | None:
    target_index = _deepest([shp for _, shp in c.inputs])
    target_id, target = c.inputs[target_index]
    for index, (src, shp) in enumerate(c.inputs):
        if shp != target:
            fix = _merge_fix(c, index, target_index, projection=True)
            c.error(tr('Add needs equal shapes, but {src!r} gives {shp} and {target_id!r} gives {target}.').format(src=src, shp=fmt_shape(shp), target_id=target_id, target=fmt_shape(target)), fix.label + "." if fix else tr("Make both branches end in the same shape."), fix)
            return None
    if c.explaining:
        c.derive("shape", tr('shape = {target} (all {count} inputs)').format(target=fmt_shape(target), count=len(c.inputs)))
    return LayerOut(target, field=MERGE)


def concat(c: Ctx) -> LayerOut | None:
    first_id, first = c.inputs[0]
    for index, (src, shp) in enumerate(c.inputs[1:], start=1):
        if len(shp) != len(first) or shp[1:] != first[1:]:
            what = "H×W" if len(first) == 3 else tr("all but the first dimension")
            fix = _merge_fix(c, index, 0, projection=False)
            c.error(tr('Concat joins along channels, so {what} must match, but {first_id!r} gives {first} and {src!r} gives {shp}.').format(what=what, first_id=first_id, first=fmt_shape(first), src=src, shp=fmt_shape(shp)),
                    fix.label + "." if fix else tr("Make the branches keep the same H×W ('same' padding)."), fix)
            return None
    shapes = [shp for _, shp in c.inputs]
    total = sum(shp[0] for shp in shapes)
    if c.explaining:
        c.derive("C_out", f"C_out = {' + '.join(str(shp[0]) for shp in shapes)} = {total}")
    return LayerOut((total, *first[1:]), field=MERGE)


def multiply(c: Ctx) -> LayerOut | None:
    """Element-wise product with broadcasting: along each axis the sizes are equal or 1 (a C×1×1
    gate scales a C×H×W map). Inputs of different rank are refused: PyTorch would align them from
    the right and mix the batch into the map."""
    first_id, first = c.inputs[0]
    for src, shp in c.inputs[1:]:
        if len(shp) != len(first):
            c.error(tr("Multiply broadcasts inputs of the same rank, but {a} gives {sa} and {b} gives {sb}.").format(
                        a=repr(first_id), sa=fmt_shape(first), b=repr(src), sb=fmt_shape(shp)),
                    tr("Keep a gate as a C×1×1 map: 1×1 convolutions instead of Flatten and Linear "
                       "(as squeeze-and-excitation does)."))
            return None
    out = []
    for axis in range(len(first)):
        sizes = {shp[axis] for _, shp in c.inputs} - {1}
        if len(sizes) > 1:
            shown = ", ".join(f"{src!r} {fmt_shape(shp)}" for src, shp in c.inputs)
            c.error(tr("Multiply needs each dimension to be equal or 1 in every input, but they give {shapes}.").format(
                        shapes=shown), tr("Make the branches end in the same size (or size 1 to broadcast)."))
            return None
        out.append(sizes.pop() if sizes else 1)
    shape = tuple(out)
    if c.explaining:
        broadcast = [src for src, shp in c.inputs if shp != shape]
        c.derive("shape", f"shape = {fmt_shape(shape)}" + (
            tr(" ({names} broadcast along their size-1 dimensions)").format(names=", ".join(map(repr, broadcast)))
            if broadcast else tr(" (all {n} inputs)").format(n=len(c.inputs))))
    return LayerOut(shape, field=MERGE)


def _deepest(shapes: list[Shape]) -> int:
    """The input the others should match: the smallest map, then the most channels."""
    return min(range(len(shapes)), key=lambda i: (math.prod(shapes[i][1:]), -shapes[i][0]))


def _merge_fix(c: Ctx, a: int, b: int, projection: bool) -> Fix | None:
    """Repair mismatching merge inputs ``a`` and ``b``.

    First choice: a stride-1 conv that shrank one branch for want of padding gets the padding that
    keeps the size. Else the larger map is brought down to the smaller by an integer stride: a 1×1
    projection conv for Add (ResNet's downsampling shortcut), a max-pool for Concat.
    """
    shape_a, shape_b = c.inputs[a][1], c.inputs[b][1]
    if len(shape_a) != 3 or len(shape_b) != 3:
        return None
    if shape_a[1:] != shape_b[1:]:
        small = a if shape_a[1] * shape_a[2] < shape_b[1] * shape_b[2] else b
        large = b if small == a else a
        shrinker = _shrinking_layer(c, c.inputs[small][0], c.design.ancestors(c.inputs[large][0]))
        if shrinker is not None:
            node_id, keep = shrinker
            return Fix(tr("Set padding of {node} to {p}").format(node=repr(node_id), p=_show(keep)),
                       (SetParam(node_id, "padding", keep),))
    else:  # same H×W, different channels (Add): project ``a`` onto ``b``
        small, large = b, a
    src, shp = c.inputs[large]
    target = c.inputs[small][1]
    ratio_h, ratio_w = shp[1] / target[1], shp[2] / target[2]
    if not (ratio_h.is_integer() and ratio_w.is_integer()):
        return None
    stride = _same_or_pair((int(ratio_h), int(ratio_w)))
    if projection:
        params = {"out_channels": target[0], "kernel_size": 1, "stride": stride, "bias": False}
        how = tr('1×1 Conv2d (stride {show})').format(show=_show(stride)) if stride != 1 else tr("1×1 Conv2d")
        return Fix(tr("Insert a {layer} on {node}").format(layer=how, node=repr(src)),
                   (InsertBefore(c.id, "Conv2d", params, large),))
    if stride == 1:
        return None
    kh, kw = hw(stride)
    return Fix(tr("Insert a {layer} on {node}").format(layer=f"{kh}×{kw} MaxPool2d", node=repr(src)),
               (InsertBefore(c.id, "MaxPool2d", {"kernel_size": stride}, large),))


def _shrinking_layer(c: Ctx, start: str, stop: set[str]) -> tuple[str, Any] | None:
    """Walk up a branch to the first stride-1 conv that shrinks its map for want of padding."""
    current = start
    while current not in stop:
        node = c.design.get(current)
        result = c.done.get(current)
        if node is None or result is None or len(node.inputs) != 1:
            return None
        if node.type == "Conv2d":
            params = node.resolved_params()
            k, d = hw(params["kernel_size"]), hw(params["dilation"])
            if hw(params["stride"]) == (1, 1) and params["padding"] != "same":
                before = c.done[node.inputs[0]].output_shape
                if before and result.output_shape and result.output_shape[1:] < before[1:]:
                    return current, _same_or_pair(((d[0] * (k[0] - 1)) // 2, (d[1] * (k[1] - 1)) // 2))
        current = node.inputs[0]
    return None


RULES: dict[str, Callable[[Ctx], LayerOut | None]] = {
    "Conv2d": conv2d,
    "MaxPool2d": pool2d,
    "AvgPool2d": pool2d,
    "AdaptiveAvgPool2d": adaptive_pool,
    "AdaptiveMaxPool2d": adaptive_pool,
    "BatchNorm2d": batchnorm2d,
    "LocalResponseNorm": local_response_norm,
    "ReLU": elementwise,
    "ReLU6": elementwise,
    "LeakyReLU": elementwise,
    "GELU": elementwise,
    "SiLU": elementwise,
    "Sigmoid": elementwise,
    "Tanh": elementwise,
    "Dropout": elementwise,
    "Dropout2d": elementwise,
    "Softmax": softmax,
    "Flatten": flatten,
    "Unflatten": unflatten,
    "Linear": linear,
    "Identity": identity,
    "Add": add,
    "Concat": concat,
    "Hardswish": elementwise,
    "Hardsigmoid": elementwise,
    "ELU": elementwise,
    "Mish": elementwise,
    "PReLU": prelu,
    "Multiply": multiply,
    "Placeholder": placeholder,
}
