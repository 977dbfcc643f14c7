"""The built-in shapes dataset: ten classes of bars and outlines, drawn in code (no download).

Every image is a signed distance field on a coordinate grid, turned into ink with a soft edge:
all images of one class are drawn in one vectorised call, with random position, size, line
thickness, small rotation, edge blur, contrast and noise per image, so a network must learn the
shape, not one template. The same seed gives the same images.
"""

from __future__ import annotations

import math

import torch

from .. import sysmem
from ..i18n import tr
from ..messages import size_in_bytes
from .dataset import DatasetError

SHAPE_CLASSES = ("vertical bar", "horizontal bar", "diagonal /", "diagonal \\", "circle", "disk", "square",
                 "triangle", "plus", "cross")

#: Each class's base angle in degrees (image axes: x right, y down), before the random jitter.
_BASE_ANGLE = (90.0, 0.0, -45.0, 45.0, 0.0, 0.0, 0.0, 0.0, 0.0, 45.0)
_JITTER_DEGREES = 12.0
_CHUNK = 2048  # images rendered at once: bounds memory for large sizes; fixed, so results never depend on it


def shapes_memory(count: int, channels: int, height: int, width: int) -> int:
    """Peak bytes of ``make_shapes``: the uint8 images, and a chunk's float32 fields with their
    temporaries (about seven of them, measured)."""
    return count * channels * height * width + 8 * min(count, _CHUNK) * height * width * 4


def make_shapes(count: int, channels: int = 1, height: int = 32, width: int = 32,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images (uint8, N×C×H×W) and labels (int64, balanced over the ten classes), on the CPU.
    ``DatasetError`` when they would not fit the free memory (checked before anything is drawn)."""
    needed = shapes_memory(count, channels, height, width)
    free = sysmem.free_memory()
    if free is not None and needed > free:
        raise DatasetError(tr("drawing {count} synthetic images of {c}×{h}×{w} needs about {needed}, but {free} is "
                              "free: use a smaller input size").format(
            count=f"{count:,}", c=channels, h=height, w=width, needed=size_in_bytes(needed),
            free=size_in_bytes(free)))
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randperm(count, generator=gen) % len(SHAPE_CLASSES)
    params = _random_params(count, channels, gen)
    images = torch.empty(count, channels, height, width, dtype=torch.uint8)
    for start in range(0, count, _CHUNK):
        part = slice(start, start + _CHUNK)
        images[part] = _render(labels[part], {k: v[part] for k, v in params.items()}, height, width, gen)
    return images, labels


def _random_params(count: int, channels: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, *shape, generator=gen)

    size = uniform(0.35, 0.75)            # half extent, in units of half the shorter image side
    thickness = uniform(0.07, 0.16)       # half line width, same units
    room = (0.95 - size - thickness).clamp(min=0)
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


def _render(labels: torch.Tensor, p: dict[str, torch.Tensor], height: int, width: int,
            gen: torch.Generator) -> torch.Tensor:
    n = len(labels)
    half = min(height, width) / 2
    ys = (torch.arange(height) + 0.5 - height / 2) / half
    xs = (torch.arange(width) + 0.5 - width / 2) / half
    angle = torch.tensor(_BASE_ANGLE)[labels] + p["jitter"]
    cos, sin = (f(torch.deg2rad(angle)).view(n, 1, 1) for f in (torch.cos, torch.sin))
    px = xs.view(1, 1, width) - p["cx"].view(n, 1, 1)
    py = ys.view(1, height, 1) - p["cy"].view(n, 1, 1)
    u = px * cos + py * sin            # along the shape's own axis
    v = -px * sin + py * cos           # across it
    sdf = torch.empty(n, height, width)
    for k in range(len(SHAPE_CLASSES)):
        idx = (labels == k).nonzero().flatten()
        if len(idx):
            size, thick = p["size"][idx].view(-1, 1, 1), p["thickness"][idx].view(-1, 1, 1)
            sdf[idx] = _SHAPES[k](u[idx], v[idx], size, thick)
    coverage = torch.sigmoid(-sdf * half / p["softness"].view(n, 1, 1))
    background, ink = p["background"].view(n, -1, 1, 1), p["ink"].view(n, -1, 1, 1)
    images = background + (ink - background) * coverage.unsqueeze(1)
    images = images + p["noise"].view(n, 1, 1, 1) * torch.randn(images.shape, generator=gen)
    return images.clamp_(0, 1).mul_(255).round_().to(torch.uint8)


def _bar(u, v, size, thick):
    return torch.maximum(v.abs() - thick, u.abs() - size)


def _circle(u, v, size, thick):
    return (torch.hypot(u, v) - size).abs() - thick


def _disk(u, v, size, thick):
    return torch.hypot(u, v) - size


def _square(u, v, size, thick):
    return (torch.maximum(u.abs(), v.abs()) - 0.8 * size).abs() - thick


def _triangle(u, v, size, thick):
    """Equilateral, apex up: the largest of the three edges' half-plane distances (inradius size/2)."""
    normals = [(math.cos(math.radians(a)), math.sin(math.radians(a))) for a in (90.0, -30.0, 210.0)]
    inside = torch.stack([u * nx + v * ny for nx, ny in normals]).amax(0)
    return (inside - 0.5 * size).abs() - thick


def _two_bars(u, v, size, thick):
    return torch.minimum(_bar(u, v, size, thick), _bar(v, u, size, thick))


_SHAPES = (_bar, _bar, _bar, _bar, _circle, _disk, _square, _triangle, _two_bars, _two_bars)
