"""How numbers read in convviz: 61,706 parameters, 6×28×28 maps, 1.8 G MACs, 3.1 MB."""

from __future__ import annotations

from collections.abc import Sequence

from ..i18n import tr
from ..messages import size_in_bytes  # noqa: F401  (the one way sizes read; re-exported for the views)


def grouped(n: int | float) -> str:
    """Thousands separators: 120,422,400."""
    return f"{n:,}" if isinstance(n, int) else f"{n:,.4g}"


def shape(dims: Sequence[int] | None) -> str:
    if dims is None:
        return "—"
    return "×".join(str(d) for d in dims) if dims else tr("scalar")


def outputs_text(output: Sequence[int] | None, outputs: Sequence[Sequence[int]] = ()) -> str:
    """A node's output shape, or a Split's several (the card and the summary alike): "2 × 58×28×28" for
    equal parts, "24 + 40 ×28×28" for others."""
    if not outputs:
        return shape(output)
    rest = shape(outputs[0][1:]) if len(outputs[0]) > 1 else ""
    if len({dims[0] for dims in outputs}) == 1:
        return f"{len(outputs)} × {shape(outputs[0])}"
    return " + ".join(str(dims[0]) for dims in outputs) + (f" ×{rest}" if rest else "")


def pair(values: Sequence[float]) -> str:
    """A (h, w) pair as "3" when square, else "3×5"."""
    a, b = (number(v) for v in values)
    return f"{a}" if a == b else f"{a}×{b}"


def compact(n: float) -> str:
    """1,814,073,344 → 1.81 G: short enough for a node card."""
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            value = n / limit
            return f"{value:.3g} {suffix}" if value < 100 else f"{value:.0f} {suffix}"
    return f"{int(n)}" if float(n).is_integer() else f"{n:.3g}"


def number(x: float) -> str:
    """An integer as such, anything else to 4 significant digits (receptive-field jumps and starts)."""
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"
