"""Many small maps as one image: the UI puts a whole grid on screen as a single ImageItem.

Arrays are row-major: ``image[row, col]``, row 0 at the top (pyqtgraph needs
``imageAxisOrder='row-major'``). Tiles are separated by ``gap`` pixels holding ``gap_value``
(NaN by default, which pyqtgraph draws transparent); ``Mosaic.locate`` maps a clicked pixel back
to (tile, y, x).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..i18n import tr
from .errors import ExplainError

SCALES = ("shared", "tile")


@dataclass(frozen=True)
class Mosaic:
    #: (H, W) float32, or (H, W, 3) for colour tiles; contiguous.
    image: np.ndarray
    #: (low, high) for the ImageItem's levels.
    levels: tuple[float, float]
    count: int
    rows: int
    cols: int
    #: (height, width) of one tile in pixels.
    tile: tuple[int, int]
    gap: int

    def origin(self, index: int) -> tuple[int, int]:
        """(row, col) of tile ``index``'s top-left pixel."""
        r, c = divmod(index, self.cols)
        return (r * (self.tile[0] + self.gap), c * (self.tile[1] + self.gap))

    def locate(self, row: int, col: int) -> tuple[int, int, int] | None:
        """(tile index, y, x) under mosaic pixel (row, col); None on a gap or an empty cell."""
        if row < 0 or col < 0:
            return None
        r, y = divmod(int(row), self.tile[0] + self.gap)
        c, x = divmod(int(col), self.tile[1] + self.gap)
        index = r * self.cols + c
        if y >= self.tile[0] or x >= self.tile[1] or c >= self.cols or index >= self.count:
            return None
        return (index, y, x)


def mosaic(tiles: np.ndarray, *, scale: str = "tile", symmetric: bool = False, gap: int = 1,
           gap_value: float = float("nan"), cols: int | None = None) -> Mosaic:
    """Tiles (N, h, w) or (N, h, w, 3) in a near-square grid.

    ``scale="shared"`` keeps the values and sets levels to their range (symmetric: ±max|v|);
    ``scale="tile"`` maps every tile to [0, 1] on its own (min→0, max→1; a constant tile → 0;
    symmetric: 0 → 0.5, ±max|v| → 0/1), levels (0, 1).
    """
    if scale not in SCALES:
        raise ExplainError(tr("scale must be one of {names}, not {scale}").format(names=', '.join(SCALES), scale=repr(scale)))
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim not in (3, 4) or (tiles.ndim == 4 and tiles.shape[3] != 3) or tiles.shape[0] == 0:
        raise ExplainError(tr("a mosaic needs tiles of shape (N, h, w) or (N, h, w, 3), got {shape}").format(shape=tiles.shape))
    count, th, tw = tiles.shape[:3]
    factor, offset, levels = _scaling(tiles, scale, symmetric)
    if cols is None:
        cols = min(count, max(1, math.ceil(math.sqrt(count * th / tw))))
    rows = math.ceil(count / cols)
    height, width = rows * (th + gap) - gap, cols * (tw + gap) - gap
    image = np.full((height, width) + tiles.shape[3:], gap_value, dtype=np.float32)
    result = Mosaic(image, levels, count, rows, cols, (th, tw), gap)
    for index in range(count):  # scaled straight into place: no full-size temporaries
        top, left = result.origin(index)
        view = image[top:top + th, left:left + tw]
        np.multiply(tiles[index], factor[index], out=view)
        view += offset[index]
    return result


def _scaling(tiles: np.ndarray, scale: str, symmetric: bool) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Per tile, shown = tile·factor + offset; and the levels."""
    axes = tuple(range(1, tiles.ndim)) if scale == "tile" else None
    low, high = tiles.min(axis=axes), tiles.max(axis=axes)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):  # an inf from a diverged model: scale the rest
        finite = np.isfinite(tiles)
        low = np.min(tiles, axis=axes, initial=np.inf, where=finite)
        high = np.max(tiles, axis=axes, initial=-np.inf, where=finite)
        low, high = np.where(np.isfinite(low), low, 0.0), np.where(np.isfinite(high), high, 0.0)
    count = tiles.shape[0]
    if scale == "shared":
        if symmetric:
            m = float(max(abs(low), abs(high)))
            levels = (-m, m) if m > 0 else (-1.0, 1.0)
        else:
            levels = (float(low), float(high)) if high > low else (float(low), float(low) + 1.0)
        return np.ones(count, np.float32), np.zeros(count, np.float32), levels
    if symmetric:
        m = np.maximum(np.abs(low), np.abs(high))
        factor = np.where(m > 0, 0.5 / np.where(m > 0, m, 1.0), 0.0)
        return factor.astype(np.float32), np.full(count, 0.5, np.float32), (0.0, 1.0)
    span = high - low
    factor = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)
    return factor, (-low * factor).astype(np.float32), (0.0, 1.0)


def map_tiles(activation: np.ndarray) -> np.ndarray:
    """A node's output as tiles: (C, H, W) as is; a vector (F,) as F one-pixel tiles."""
    a = np.asarray(activation)
    if a.ndim == 3:
        return a
    if a.ndim == 1:
        return a.reshape(-1, 1, 1)
    if a.ndim == 2:
        return a.reshape(a.shape[0], 1, a.shape[1])
    raise ExplainError(tr("cannot lay out an output of shape {shape} as a mosaic").format(shape=a.shape))


def feature_mosaic(activation: np.ndarray, *, scale: str = "tile", gap: int = 1) -> Mosaic:
    """All channels of one node's output (``Activations[node_id]``): ``locate`` gives
    (channel, y, x) in the node's map; vectors get no gaps (feature index, 0, 0)."""
    tiles = map_tiles(activation)
    return mosaic(tiles, scale=scale, gap=0 if tiles.shape[1:] == (1, 1) else gap)


@dataclass(frozen=True)
class ChannelStrip:
    """One channel through the layers: tile i shows ``node_ids[i]``, resized to a common tile."""

    mosaic: Mosaic
    node_ids: list[str]
    #: (H, W) of each node's map, to map a tile pixel back to the node's own coordinates.
    sizes: list[tuple[int, int]]
    channel: int

    def locate(self, row: int, col: int) -> tuple[str, int, int] | None:
        """(node id, y, x) in that node's map under strip pixel (row, col)."""
        hit = self.mosaic.locate(row, col)
        if hit is None:
            return None
        index, y, x = hit
        (h, w), (th, tw) = self.sizes[index], self.mosaic.tile
        return (self.node_ids[index], y * h // th, x * w // tw)


def channel_strip(activations: Mapping[str, np.ndarray], channel: int, nodes: Sequence[str] | None = None,
                  *, tile: int = 64) -> ChannelStrip:
    """Channel ``channel`` of every map node that has it (in order), each scaled to [0, 1] on its
    own and resized to ``tile`` pixels high (width by the first map's aspect): enlarged maps use
    nearest neighbours (cells stay visible), shrunk ones average."""
    chosen = [n for n in (nodes if nodes is not None else list(activations))
              if activations[n].ndim == 3 and channel < activations[n].shape[0]]
    if not chosen:
        raise ExplainError(tr("no feature map has a channel {channel}").format(channel=channel))
    h0, w0 = activations[chosen[0]].shape[1:]
    size = (tile, max(1, round(tile * w0 / h0)))
    tiles = np.stack([_resize(activations[n][channel], size) for n in chosen])
    strip = mosaic(tiles, scale="tile", cols=len(chosen))
    return ChannelStrip(strip, chosen, [tuple(activations[n].shape[1:]) for n in chosen], channel)


def _resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    t = torch.tensor(plane, dtype=torch.float32)[None, None]  # a copy: activations are read-only
    mode = "area" if plane.shape[0] > size[0] or plane.shape[1] > size[1] else "nearest-exact"
    return F.interpolate(t, size=size, mode=mode)[0, 0].numpy()


@dataclass(frozen=True)
class ChannelStats:
    """Per channel (per feature for vectors), float32 arrays of length C."""

    min: np.ndarray
    max: np.ndarray
    mean: np.ndarray
    #: Share of values ≤ 0: the zeros of a ReLU output, or what a ReLU here would zero.
    zero_share: np.ndarray


def channel_stats(activation: np.ndarray) -> ChannelStats:
    tiles = map_tiles(activation)
    flat = tiles.reshape(tiles.shape[0], -1)
    return ChannelStats(flat.min(axis=1).astype(np.float32), flat.max(axis=1).astype(np.float32),
                        flat.mean(axis=1, dtype=np.float64).astype(np.float32),
                        (flat <= 0).mean(axis=1).astype(np.float32))
