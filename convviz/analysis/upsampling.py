"""Rules for the layers that enlarge a map: ConvTranspose2d, Upsample and ZeroPad2d (decoders, U-Net).

Each follows ``analysis/layers.py``'s contract. Their receptive-field steps have a stride below 1
(an output unit is a fraction of an input unit apart from the next): neighbouring output units read
different numbers of input units, in a pattern that repeats every few units, which each step lists
(``Window.phases``) so that the field of every unit is exact (``analysis/fields.py``).
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

from ..i18n import tr
from .layers import MAX_PHASES, Ctx, LayerOut, Window, _axes, _same_or_pair, _show, groups_error, hw
from .results import Phases, per_axis
from .text import grouped


# --- ConvTranspose2d -----------------------------------------------------------------------------

def conv_transpose2d(c: Ctx) -> LayerOut | None:
    p = c.p
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    cin, height, width = x
    c.infer("in_channels", cin)
    k, s, pad, extra, d = (hw(p[name]) for name in ("kernel_size", "stride", "padding", "output_padding", "dilation"))
    groups, cout, bias = p["groups"], p["out_channels"], p["bias"]
    if cin % groups or cout % groups:
        groups_error(c, cin, cout, groups)
        return None
    if any(extra[a] >= s[a] and extra[a] >= d[a] for a in (0, 1)):
        largest = _same_or_pair(tuple(max(s[a], d[a]) - 1 for a in (0, 1)))
        c.error(tr("output_padding {op} must be smaller than the stride ({s}) or the dilation ({d}).").format(
                    op=_show(_same_or_pair(extra)), s=_show(_same_or_pair(s)), d=_show(_same_or_pair(d))),
                tr("It only picks among the output sizes a stride-{s} conv maps to the same input size.").format(
                    s=_show(_same_or_pair(s))),
                c.set_fix(tr("Set output_padding to {value}").format(value=_show(largest)), "output_padding", largest))
        return None
    keff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    full = ((height - 1) * s[0] + keff[0] + extra[0], (width - 1) * s[1] + keff[1] + extra[1])
    out_h, out_w = full[0] - 2 * pad[0], full[1] - 2 * pad[1]
    if out_h < 1 or out_w < 1:
        most = _same_or_pair(((full[0] - 1) // 2, (full[1] - 1) // 2))
        c.error(tr("padding {p} crops 2·{p} from a {h}×{w} output: nothing would be left.").format(
                    p=_show(_same_or_pair(pad)), h=full[0], w=full[1]),
                tr("Use padding of at most {most}.").format(most=_show(most)),
                c.set_fix(tr("Set padding to {value}").format(value=_show(most)), "padding", most))
        return None
    per_group = cout // groups
    params = cin * per_group * k[0] * k[1] + (cout if bias else 0)
    macs = cin * height * width * per_group * k[0] * k[1]
    if c.explaining:
        for line in _axes("{axis}_out = ({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {o}",
                          dict(n=height, s=s[0], p=pad[0], d=d[0], k=k[0], op=extra[0], o=out_h),
                          dict(n=width, s=s[1], p=pad[1], d=d[1], k=k[1], op=extra[1], o=out_w)):
            c.derive("H_out" if line.startswith("H") else "W_out", line)
        c.derive("C_out", f"C_out = out_channels = {cout}")
        fan = f"{cin}·{k[0]}·{k[1]}·{cout}" + (f"/{groups}" if groups > 1 else "")
        c.derive("params", f"params = {fan}{f' + {cout}' if bias else ''} = {grouped(params)}"
                           + ("" if bias else tr(" (no bias)")))
        c.derive("MACs", f"MACs = C_in·H·W·(C_out/groups)·k_h·k_w = "
                         f"{cin}·{height}·{width}·{per_group}·{k[0]}·{k[1]} = {grouped(macs)}")
        c.derive("note", tr("each input value stamps its filter onto the output every {s} pixels; the same as a "
                            "conv over the input with {z} zero(s) between its pixels").format(
                                s=_show(_same_or_pair(s)), z=_show(_same_or_pair((s[0] - 1, s[1] - 1)))))
    spans, offsets, phases = zip(*(transposed_window(k[a], s[a], pad[a], d[a]) for a in (0, 1)))
    apart = (d[0] // math.gcd(d[0], s[0]), d[1] // math.gcd(d[1], s[1]))  # input units between a phase's taps
    return LayerOut((cout, out_h, out_w), params, macs, Window(spans, (1 / s[0], 1 / s[1]), offsets, per_axis(*phases), apart))


def transposed_window(k: int, s: int, pad: int, d: int) -> tuple[int, float, Phases | None]:
    """Along one axis: the most input units any output unit reads (over its s phases), the centre
    of output unit 0's inputs, in input units, and the s phases' input units (output o reads input
    i where o = i·s − pad + t·d for a tap t; a phase no tap lands on reads nothing)."""
    span, first, windows = 1, None, []
    for o in range(s):
        reads = [(o + pad - t * d) // s for t in range(k) if (o + pad - t * d) % s == 0]
        windows.append((min(reads), max(reads)) if reads else None)
        if reads:
            span = max(span, max(reads) - min(reads) + 1)
            if o == 0:
                first = (max(reads) + min(reads)) / 2
    if first is None:  # unit 0 reads no input (only its bias): where its window would be centred
        first = (pad - d * (k - 1) / 2) / s
    return span, first, (Phases(tuple(windows), 1) if s > 1 else None)


# --- Upsample ------------------------------------------------------------------------------------

#: Input units an interpolated output unit reads, per axis (the textbook window).
INTERPOLATION_TAPS = {"nearest": 1, "nearest-exact": 1, "bilinear": 2, "bicubic": 4}


def upsample(c: Ctx) -> LayerOut | None:
    p = c.p
    if not c.check_limits():
        return None
    size, scale, mode = p["size"], p["scale_factor"], p["mode"]
    if size is not None and scale is not None:
        c.error(tr("Upsample takes size or scale_factor, not both."), tr("Keep one of them."),
                c.set_fix(tr("Clear size (keep scale_factor {scale})").format(scale=_show(scale)), "size", None))
        return None
    if size is None and scale is None:
        c.error(tr("Upsample needs size or scale_factor."), tr("Set scale_factor to 2 to double height and width."),
                c.set_fix(tr("Set scale_factor to 2"), "scale_factor", 2.0))
        return None
    if p["align_corners"] and INTERPOLATION_TAPS[mode] == 1:
        c.error(tr("align_corners only applies to bilinear and bicubic interpolation, not to {mode}.").format(
                    mode=mode), "", c.set_fix(tr("Turn align_corners off"), "align_corners", False))
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, height, width = x
    if size is not None:
        out = hw(size)
        ratios = (height / out[0], width / out[1])
    else:
        factors = scale if isinstance(scale, tuple) else (scale, scale)
        out = (math.floor(height * factors[0]), math.floor(width * factors[1]))
        ratios = (1 / factors[0], 1 / factors[1])
    if out[0] < 1 or out[1] < 1:
        c.error(tr("Upsample would make the {h}×{w} map {oh}×{ow}: empty.").format(
                    h=height, w=width, oh=out[0], ow=out[1]), tr("Use a scale_factor of at least 1."),
                c.set_fix(tr("Set scale_factor to 2"), "scale_factor", 2.0))
        return None
    if c.explaining:
        if size is not None:
            c.derive("H_out", f"H_out = size = {out[0]}, W_out = {out[1]}")
        else:
            for line in _axes("{axis}_out = ⌊{n}·{f}⌋ = {o}", dict(n=height, f=_num(factors[0]), o=out[0]),
                              dict(n=width, f=_num(factors[1]), o=out[1])):
                c.derive("H_out" if line.startswith("H") else "W_out", line)
        c.derive("note", {1: tr("each output pixel copies the nearest input pixel"),
                          2: tr("each output pixel blends the nearest 2×2 input pixels"),
                          4: tr("each output pixel blends the nearest 4×4 input pixels")}[INTERPOLATION_TAPS[mode]])
    steps = [_interpolation_step(mode, p["align_corners"], n, o, r) for n, o, r in
             ((height, out[0], ratios[0]), (width, out[1], ratios[1]))]
    phases = tuple(interpolation_phases(mode, p["align_corners"], n, o, None if size is not None else f)
                   for n, o, f in ((height, out[0], None if size is not None else factors[0]),
                                   (width, out[1], None if size is not None else factors[1])))
    return LayerOut((channels, *out), field=Window(*(tuple(v) for v in zip(*steps)), per_axis(*phases)))


def _interpolation_step(mode: str, align_corners: bool, n: int, out: int, ratio: float) -> tuple[int, float, float]:
    """(span, stride, offset of unit 0's centre) along one axis, in input units."""
    taps = INTERPOLATION_TAPS[mode]
    if taps == 1:
        first = min(math.floor(0.5 * ratio), n - 1) if mode == "nearest-exact" else 0
        return 1, ratio, float(first)
    if align_corners:
        stride = (n - 1) / (out - 1) if out > 1 else 0.0
        source = 0.0
    else:
        stride = ratio
        source = max(0.5 * ratio - 0.5, 0.0)
    # The taps around the sampling point: floor(x) and floor(x) + 1 (bilinear), floor(x) − 1 … + 2 (bicubic).
    return taps, stride, math.floor(source) + 0.5


def interpolation_phases(mode: str, align_corners: bool, n: int, out: int, scale: float | None) -> Phases | None:
    """The input units each output unit of one period reads, away from the map's borders (where
    PyTorch clamps the taps): the period and its shift from the exact ratio n/out (or 1/scale), the
    units from PyTorch's own index arithmetic (``source_units``). None for an even slide."""
    if align_corners and INTERPOLATION_TAPS[mode] > 1:
        ratio = Fraction(n - 1, out - 1) if out > 1 else Fraction(0)
    elif scale is not None:
        ratio = 1 / Fraction(scale).limit_denominator(MAX_PHASES)
    else:
        ratio = Fraction(n, out)
    period, shift = ratio.denominator, ratio.numerator
    if period > MAX_PHASES:
        return None
    begin = period * math.ceil((2 * out / n + 8) / period)  # clear of the left border's clamps
    windows = tuple(source_units(mode, align_corners, n, out, scale, begin + u) for u in range(period))
    turn = begin // period * shift
    if any(source_units(mode, align_corners, n, out, scale, begin + period + u) !=
           (w[0] + shift, w[1] + shift) for u, w in enumerate(windows)):
        return None  # no exact period (a scale float cannot write as a short fraction)
    return Phases(tuple((w[0] - turn, w[1] - turn) for w in windows), shift)


def source_units(mode: str, align_corners: bool, n: int, out: int, scale: float | None, u: int) -> tuple[int, int]:
    """(first, last) input unit that output unit u of an interpolation reads with a non-zero weight,
    on an unbounded map: PyTorch's index arithmetic (aten/native/UpSample.h), float32 where it
    computes in float32. A sampling point on a pixel reads that pixel alone (its neighbours' weights
    are zero, up to rounding)."""
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and out == n:
            return (u, u)
        if mode == "nearest" and out == 2 * n:
            return (u >> 1, u >> 1)
        step = _f32(1.0 / scale) if scale is not None else _f32(n / out)
        at = math.floor(_f32(_f32(u) * step) if mode == "nearest" else _f32((u + 0.5) * step))
        return (at, at)
    if mode == "bilinear" and out == n:
        return (u, u)
    if align_corners:
        at = ((n - 1) / (out - 1) if out > 1 else 0.0) * u
    else:
        at = (1.0 / scale if scale is not None else n / out) * (u + 0.5) - 0.5
    nearest = round(at)
    if abs(at - nearest) < 1e-9:
        return (nearest, nearest)
    low = math.floor(at)
    return (low, low + 1) if mode == "bilinear" else (low - 1, low + 2)


def _f32(value: float) -> float:
    """``value`` rounded to float32, as PyTorch's nearest-neighbour index arithmetic computes."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- ZeroPad2d -----------------------------------------------------------------------------------

def zero_pad2d(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, height, width = x
    left, right, top, bottom = pad4(c.p["padding"])
    out = (channels, top + height + bottom, left + width + right)
    if c.explaining:
        c.derive("H_out", f"H_out = {top} + {height} + {bottom} = {out[1]}  (top + H + bottom)")
        c.derive("W_out", f"W_out = {left} + {width} + {right} = {out[2]}  (left + W + right)")
    return LayerOut(out, field=Window((1, 1), (1, 1), (-top, -left)))


def pad4(value: int | tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """ZeroPad2d's padding as (left, right, top, bottom)."""
    return (value,) * 4 if isinstance(value, int) else tuple(value)


RULES = {
    "ConvTranspose2d": conv_transpose2d,
    "Upsample": upsample,
    "ZeroPad2d": zero_pad2d,
}
