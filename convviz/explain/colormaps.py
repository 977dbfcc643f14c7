"""Colour maps as 256-entry uint8 lookup tables, made once by interpolating published anchor
colours (viridis and inferno: the 10-step palettes of matplotlib's maps; coolwarm: Moreland's)."""

from __future__ import annotations

import numpy as np

from ..i18n import tr
from .errors import ExplainError

_ANCHORS = {
    "gray": ["#000000", "#ffffff"],
    "viridis": ["#440154", "#482878", "#3e4a89", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6dcd59",
                "#b4de2c", "#fde725"],
    "inferno": ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06",
                "#f7d13d", "#fcffa4"],
    "coolwarm": ["#3b4cc0", "#dddddd", "#b40426"],
}


def _table(anchors: list[str]) -> np.ndarray:
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in anchors], dtype=np.float64)
    where = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, where, rgb[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


LUTS: dict[str, np.ndarray] = {name: _table(colours) for name, colours in _ANCHORS.items()}
for _lut in LUTS.values():
    _lut.flags.writeable = False


def lut(name: str) -> np.ndarray:
    """(256, 3) uint8 table of the colour map ``name`` (gray, viridis, inferno, coolwarm)."""
    try:
        return LUTS[name]
    except KeyError:
        raise ExplainError(tr("unknown colour map {name}: use one of {names}").format(name=repr(name), names=', '.join(LUTS))) from None
