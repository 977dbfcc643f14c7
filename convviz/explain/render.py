"""View arrays as pictures for the CLI and tests (the app renders with pyqtgraph/Qt instead):
colour mapping in numpy, PNG, GIF and PNG sequences through Pillow, every file written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..i18n import tr
from ..atomic import atomic_write
from .colormaps import colour_indices, lut
from .errors import ExplainError
from .window import WindowAnimation, WindowFrame

#: Gaps between mosaic tiles (NaN) are drawn in this colour.
NAN_COLOUR = (255, 255, 255)


def colorize(array: np.ndarray, levels: tuple[float, float] | None = None, cmap: str = "viridis",
             nan_colour: tuple[int, int, int] = NAN_COLOUR) -> np.ndarray:
    """(H, W) values through a colour map, or (H, W, 3) colours in ``levels``, → (H, W, 3) uint8."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ExplainError(tr("can only render (H, W) or (H, W, 3) arrays, not {shape}").format(shape=a.shape))
    nan = np.isnan(a) if a.ndim == 2 else np.isnan(a).any(axis=2)
    if levels is None:
        levels = (0.0, 1.0) if a.ndim == 3 else _range(a)
    low, high = float(levels[0]), float(levels[1])
    if a.ndim == 2:  # the colours the app shows
        rgb = lut(cmap)[colour_indices(a, (low, high))[0]]
    else:
        scaled = np.clip((np.nan_to_num(a, nan=low) - low) / ((high - low) or 1.0), 0.0, 1.0)
        rgb = (scaled * 255).round().astype(np.uint8)
    rgb[nan] = nan_colour
    return np.ascontiguousarray(rgb)


def overlay(base: np.ndarray, heat: np.ndarray, alpha: float = 0.5, cmap: str = "inferno") -> np.ndarray:
    """A heat map in [0, 1] (H, W) blended over an image's display array ((H, W) or (H, W, 3) in
    [0, 1]): (1 − alpha)·image + alpha·colour(heat), uint8 (H, W, 3)."""
    picture = np.asarray(base, dtype=np.float32)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    if picture.shape[:2] != heat.shape:
        raise ExplainError(tr("the heat map {shape} and the image {value} differ in size").format(shape=heat.shape, value=picture.shape[:2]))
    colour = colorize(heat, (0.0, 1.0), cmap).astype(np.float32) / 255.0
    return (np.clip((1 - alpha) * picture + alpha * colour, 0, 1) * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: str | os.PathLike, *, levels: tuple[float, float] | None = None,
             cmap: str = "viridis", scale: int = 1) -> Path:
    """Write a view array (or an (H, W, 3) uint8 picture) as PNG, each pixel ``scale``×``scale``."""
    picture = array if array.dtype == np.uint8 and array.ndim == 3 else colorize(array, levels, cmap)
    if scale > 1:
        picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    target = Path(path)
    with atomic_write(target, "wb") as handle:
        Image.fromarray(picture).save(handle, format="PNG")
    return target


def save_gif(pictures: Iterable[np.ndarray], path: str | os.PathLike, *, duration_ms: int = 200) -> Path:
    """(H, W, 3) uint8 pictures as a looping GIF."""
    frames = [Image.fromarray(p) for p in pictures]
    if not frames:
        raise ExplainError(tr("an animation needs at least one frame"))
    target = Path(path)
    with atomic_write(target, "wb") as handle:
        frames[0].save(handle, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return target


def save_png_sequence(pictures: Iterable[np.ndarray], folder: str | os.PathLike, stem: str = "frame") -> list[Path]:
    """``folder/stem_0000.png``, ``stem_0001.png``, … (the folder is created)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return [save_png(p, out / f"{stem}_{i:04d}.png") for i, p in enumerate(pictures)]


def save_animation(animation: WindowAnimation, path: str | os.PathLike, *, frames: Sequence[int] | None = None,
                   input_channel: int | None = None, cell: int = 12, duration_ms: int = 200) -> list[Path]:
    """The sliding window as a GIF (``path`` ends in .gif) or a PNG sequence in folder ``path``."""
    indices = range(len(animation)) if frames is None else frames
    pictures = (render_window_frame(animation, animation.frame(i), input_channel=input_channel, cell=cell)
                for i in indices)
    if str(path).lower().endswith(".gif"):
        return [save_gif(pictures, path, duration_ms=duration_ms)]
    return save_png_sequence(pictures, path)


# --- one animation frame -------------------------------------------------------------------------

_PADDING = np.array([200, 220, 245], dtype=np.uint8)
_EMPTY = np.array([255, 255, 255], dtype=np.uint8)
_GRID = np.array([230, 230, 230], dtype=np.uint8)
_WINDOW = np.array([255, 140, 0], dtype=np.uint8)
_ARGMAX = np.array([220, 0, 0], dtype=np.uint8)


def render_window_frame(animation: WindowAnimation, frame: WindowFrame, *, input_channel: int | None = None,
                        cell: int = 12) -> np.ndarray:
    """One frame as a picture: the input channel (with its padding, tinted) and the window's taps
    outlined on the left; the output channel, filled up to this frame, on the right."""
    g = animation.geometry
    channel = frame.input_channels[0] if input_channel is None else int(input_channel)
    top, left, bottom, right = (max(v, 0) for v in g.padding)  # negative: a transposed conv's crop
    last_row = max(g.input_size[0] + bottom, int(frame.rows.max()) + 1, _last(animation, 0))
    last_col = max(g.input_size[1] + right, int(frame.cols.max()) + 1, _last(animation, 1))
    rows, cols = np.arange(-top, last_row), np.arange(-left, last_col)
    plane = animation.input[channel]
    inside = g.real(rows, cols)  # a transposed conv's inserted zeros are drawn as padding
    padding = (rows[:, None] < g.input_size[0] + bottom) & (cols < g.input_size[1] + right) & ~inside
    cells = np.tile(_EMPTY, (len(rows), len(cols), 1))
    cells[top:top + g.input_size[0], left:left + g.input_size[1]] = colorize(plane, cmap="gray")
    cells[padding] = _PADDING
    marks = [(r + top, c + left, _WINDOW) for r in frame.rows for c in frame.cols]
    if frame.argmax is not None:
        marks.append((frame.rows[frame.argmax[0]] + top, frame.cols[frame.argmax[1]] + left, _ARGMAX))
    left_panel = _draw(cells, cell, marks)

    out = np.tile(_EMPTY, (*g.output_size, 1))
    done = np.arange(animation.output.size).reshape(g.output_size) <= frame.index
    out[done] = colorize(animation.output, cmap="viridis")[done]
    right_panel = _draw(out, cell, [(*frame.out_pos, _WINDOW)])
    height = max(left_panel.shape[0], right_panel.shape[0])
    canvas = np.tile(_EMPTY, (height, left_panel.shape[1] + 2 * cell + right_panel.shape[1], 1))
    canvas[:left_panel.shape[0], :left_panel.shape[1]] = left_panel
    canvas[:right_panel.shape[0], -right_panel.shape[1]:] = right_panel
    return canvas


def _last(animation: WindowAnimation, axis: int) -> int:
    """One past the last input index any window of this layer touches (ceil-mode overhang)."""
    g = animation.geometry
    return (g.output_size[axis] - 1) * g.stride[axis] - g.padding[axis] + (g.kernel[axis] - 1) * g.dilation[axis] + 1


def _draw(cells: np.ndarray, cell: int, marks: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    picture = cells.repeat(cell, axis=0).repeat(cell, axis=1)
    picture[::cell, :] = _GRID
    picture[:, ::cell] = _GRID
    edge = max(1, cell // 6)
    for r, c, colour in marks:
        y, x = r * cell, c * cell
        for sl in ((slice(y, y + edge), slice(x, x + cell)), (slice(y + cell - edge, y + cell), slice(x, x + cell)),
                   (slice(y, y + cell), slice(x, x + edge)), (slice(y, y + cell), slice(x + cell - edge, x + cell))):
            picture[sl] = colour
    return picture


def _range(a: np.ndarray) -> tuple[float, float]:
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)
