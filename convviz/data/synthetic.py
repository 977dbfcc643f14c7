"""The built-in shapes dataset: ten classes of bars and outlines, drawn in code (no download).

Every image is a signed distance field on a coordinate grid, turned into ink with a soft edge:
all images of one class are drawn in one vectorised call, with random position, size, line
thickness, small rotation, edge blur, contrast and noise per image, so a network must learn the
shape, not one template. The same seed gives the same images.

Images are drawn in chunks of ``CHUNK``, each from its own seeded generator, so any chunk can be
drawn alone (a preview, an interrupted draw) and equals the same chunk of a full draw. numpy, not
torch: one thread, so drawing in the background never oversubscribes the cores the window and a
training run use (torch's two OpenMP threads on two busy cores were several times slower), and
numpy's PCG64 streams are the same on every platform. ``VERSION`` changes whenever a seed's images
do: it keys the disk cache (``shapes_cache``). torch is imported only by the functions that return
tensors: the Train tab reads the cached set with numpy alone while torch loads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .. import sysmem
from ..i18n import tr
from ..messages import size_in_bytes
from .errors import DatasetError

if TYPE_CHECKING:
    import torch

SHAPE_CLASSES = ("vertical bar", "horizontal bar", "diagonal /", "diagonal \\", "circle", "disk", "square",
                 "triangle", "plus", "cross")

#: Each class's base angle in degrees (image axes: x right, y down), before the random jitter.
_BASE_ANGLE = (90.0, 0.0, -45.0, 45.0, 0.0, 0.0, 0.0, 0.0, 0.0, 45.0)
_JITTER_DEGREES = 12.0
#: The generator's version: bump it whenever a seed's images change (it keys the disk cache).
VERSION = 2
#: Images drawn from one generator: fixed, so results never depend on how many are drawn at once;
#: small, so drawing holds little memory (a few float copies of 512 images) and can stop between chunks.
CHUNK = 512


def shapes_memory(count: int, channels: int, height: int, width: int) -> int:
    """Peak bytes of ``make_shapes``: the uint8 images, and one chunk's float32 grids (coordinates, the
    distance field and its coverage) and C-channel images with their noise."""
    return count * channels * height * width + (6 + 3 * channels) * CHUNK * height * width * 4


def make_shapes(count: int, channels: int = 1, height: int = 32, width: int = 32, seed: int = 0,
                should_stop=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images (uint8, N×C×H×W) and labels (int64, balanced over the ten classes), on the CPU.

    ``should_stop``: a callable checked between chunks; when it turns true, ``Cancelled`` is raised.
    ``DatasetError`` when they would not fit the free memory (checked before anything is drawn)."""
    images = draw_shapes(count, channels, height, width, seed, should_stop)
    import torch

    return torch.from_numpy(images), shape_labels(0, count)


def draw_shapes(count: int, channels: int = 1, height: int = 32, width: int = 32, seed: int = 0,
                should_stop=None) -> np.ndarray:
    """``make_shapes``' images with numpy alone (the Train tab draws them before torch has loaded)."""
    images = np.empty((count, channels, height, width), dtype=np.uint8)
    for start, block in drawn_blocks(count, channels, height, width, seed, should_stop):
        images[start:start + len(block)] = block
    return images


def drawn_blocks(count: int, channels: int, height: int, width: int, seed: int,
                 should_stop=None) -> Iterator[tuple[int, np.ndarray]]:
    """(first index, images) of ``draw_shapes``' set a chunk at a time, for a caller that keeps them
    elsewhere (the training and validation parts); refused up front when memory cannot hold the set."""
    needed = shapes_memory(count, channels, height, width)
    free = sysmem.free_memory()
    if free is not None and needed > free:
        raise DatasetError(tr("drawing {count} synthetic images of {c}×{h}×{w} needs about {needed}, but {free} is "
                              "free: close other programs, or use fewer images").format(
            count=f"{count:,}", c=channels, h=height, w=width, needed=size_in_bytes(needed),
            free=size_in_bytes(free)))
    for chunk in range(math.ceil(count / CHUNK)):
        if should_stop is not None and should_stop():
            raise Cancelled(tr("drawing the shapes was cancelled"))
        start = chunk * CHUNK
        yield start, shapes_chunk(chunk, channels, height, width, seed)[0][:count - start]


class Cancelled(RuntimeError):
    """Drawing stopped because ``should_stop`` said so."""


def shape_labels(start: int, stop: int) -> torch.Tensor:
    """``label_array`` as an int64 tensor."""
    import torch

    return torch.from_numpy(label_array(start, stop))


def label_array(start: int, stop: int) -> np.ndarray:
    """The classes of images ``start`` to ``stop``: 0, 1, …, 9, 0, 1, … (the images themselves are
    independent draws; splits and epochs shuffle them)."""
    return np.arange(start, stop, dtype=np.int64) % len(SHAPE_CLASSES)


def shapes_chunk(chunk: int, channels: int, height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``chunk`` (images ``chunk·CHUNK`` to ``(chunk+1)·CHUNK``) of ``make_shapes``' set for ``seed``:
    uint8 N×C×H×W and int64 labels."""
    rng = np.random.Generator(np.random.PCG64([VERSION, seed, chunk]))
    labels = label_array(chunk * CHUNK, (chunk + 1) * CHUNK)
    images = _render(labels, _random_params(CHUNK, channels, rng), height, width, rng)
    sysmem.return_freed_memory()  # the render's float temporaries: not kept for the next chunk
    return images, labels


def _random_params(count: int, channels: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    def uniform(low: float, high: float, *shape: int) -> np.ndarray:
        return rng.uniform(low, high, (count, *shape)).astype(np.float32)

    size = uniform(0.35, 0.75)            # half extent, in units of half the shorter image side
    thickness = uniform(0.07, 0.16)       # half line width, same units
    room = np.maximum(0.95 - size - thickness, 0)
    background = uniform(0.0, 0.35, channels)
    ink = uniform(0.6, 1.0, channels)
    return {
        "size": size, "thickness": thickness,
        "cx": uniform(-1, 1) * room, "cy": uniform(-1, 1) * room,
        "jitter": uniform(-_JITTER_DEGREES, _JITTER_DEGREES),
        "softness": uniform(0.3, 1.1),    # edge blur, in pixels
        "noise": uniform(0.0, 0.12),
        "background": background, "ink": ink,
    }


def _render(labels: np.ndarray, p: dict[str, np.ndarray], height: int, width: int,
            rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    half = min(height, width) / 2
    ys = ((np.arange(height, dtype=np.float32) + 0.5 - height / 2) / half).reshape(1, height, 1)
    xs = ((np.arange(width, dtype=np.float32) + 0.5 - width / 2) / half).reshape(1, 1, width)
    angle = np.radians(np.asarray(_BASE_ANGLE, dtype=np.float32)[labels] + p["jitter"])
    cos, sin = np.cos(angle).reshape(n, 1, 1), np.sin(angle).reshape(n, 1, 1)
    px = xs - p["cx"].reshape(n, 1, 1)
    py = ys - p["cy"].reshape(n, 1, 1)
    u = px * cos + py * sin            # along the shape's own axis
    v = -px * sin + py * cos           # across it
    sdf = np.empty((n, height, width), dtype=np.float32)
    for k in range(len(SHAPE_CLASSES)):
        idx = np.flatnonzero(labels == k)
        if len(idx):
            size, thick = p["size"][idx].reshape(-1, 1, 1), p["thickness"][idx].reshape(-1, 1, 1)
            sdf[idx] = _SHAPES[k](u[idx], v[idx], size, thick)
    # sigmoid(−sdf·half/softness), written out: one exp and one division over the grid.
    coverage = 1 / (1 + np.exp(np.clip(sdf * (half / p["softness"].reshape(n, 1, 1)), -60, 60)))
    background, ink = p["background"].reshape(n, -1, 1, 1), p["ink"].reshape(n, -1, 1, 1)
    images = background + (ink - background) * coverage[:, None]
    # Unit-variance noise as the sum of two uniforms (triangular: bell-like, and 3× faster to draw than normal).
    noise = rng.random(images.shape, dtype=np.float32)
    noise += rng.random(images.shape, dtype=np.float32)
    noise -= 1
    # In place from here: the same arithmetic as ``rint(clip(images + a·noise, 0, 1)·255)``, without
    # its three chunk-sized float temporaries (a third of drawing's memory).
    noise *= (p["noise"] * math.sqrt(6)).reshape(n, 1, 1, 1)
    images += noise
    del noise
    np.clip(images, 0, 1, out=images)
    images *= 255
    np.rint(images, out=images)
    return images.astype(np.uint8)


def _bar(u, v, size, thick):
    return np.maximum(np.abs(v) - thick, np.abs(u) - size)


def _circle(u, v, size, thick):
    return np.abs(np.sqrt(u * u + v * v) - size) - thick


def _disk(u, v, size, thick):
    return np.sqrt(u * u + v * v) - size


def _square(u, v, size, thick):
    return np.abs(np.maximum(np.abs(u), np.abs(v)) - 0.8 * size) - thick


def _triangle(u, v, size, thick):
    """Equilateral, apex up: the largest of the three edges' half-plane distances (inradius size/2)."""
    normals = [(math.cos(math.radians(a)), math.sin(math.radians(a))) for a in (90.0, -30.0, 210.0)]
    inside = np.maximum.reduce([u * nx + v * ny for nx, ny in normals])
    return np.abs(inside - 0.5 * size) - thick


def _two_bars(u, v, size, thick):
    return np.minimum(_bar(u, v, size, thick), _bar(v, u, size, thick))


_SHAPES = (_bar, _bar, _bar, _bar, _circle, _disk, _square, _triangle, _two_bars, _two_bars)
