"""Draw the sample images in assets/samples: something to explain without downloading anything.

- ``shape_*.png``: 32×32 grey shapes of the synthetic dataset's classes (white on black), for
  the 1-channel designs (default, lenet5);
- ``scene_*.png``: 224×224 RGB scenes of simple shapes, gradients and textures, for the
  3-channel designs (resnet18, vgg, alexnet).

Shapes are drawn 8× larger and averaged down, so edges are smooth; scenes are stored with a
64-colour palette to keep the files small. tests/test_images.py checks the files equal this
script's output.

    python tools/make_samples.py            # rewrite assets/samples/*.png
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "assets" / "samples"
SUPER = 8  # drawing resolution multiple for smooth edges


def _shape(draw_on: Callable[[ImageDraw.ImageDraw, float], None]) -> Image.Image:
    big = Image.new("L", (32 * SUPER, 32 * SUPER), 0)
    draw_on(ImageDraw.Draw(big), SUPER)
    return big.resize((32, 32), Image.Resampling.BOX)


def _poly(points: list[tuple[float, float]], s: float) -> list[tuple[float, float]]:
    return [(x * s, y * s) for x, y in points]


SHAPES: dict[str, Callable[[ImageDraw.ImageDraw, float], None]] = {
    "vertical_bar": lambda d, s: d.rectangle(_box(13, 5, 19, 27, s), fill=255),
    "horizontal_bar": lambda d, s: d.rectangle(_box(5, 13, 27, 19, s), fill=255),
    "circle": lambda d, s: d.ellipse(_box(7, 7, 25, 25, s), outline=255, width=int(3 * s)),
    "disk": lambda d, s: d.ellipse(_box(8, 8, 24, 24, s), fill=255),
    "square": lambda d, s: d.rectangle(_box(8, 8, 24, 24, s), outline=255, width=int(3 * s)),
    "triangle": lambda d, s: d.polygon(_poly([(16, 5), (27, 26), (5, 26)], s), fill=255),
    "plus": lambda d, s: (d.rectangle(_box(14, 5, 18, 27, s), fill=255), d.rectangle(_box(5, 14, 27, 18, s), fill=255)),
    "cross": lambda d, s: (d.line(_poly([(7, 7), (25, 25)], s), fill=255, width=int(4 * s)),
                           d.line(_poly([(25, 7), (7, 25)], s), fill=255, width=int(4 * s))),
}


def _box(x0: float, y0: float, x1: float, y1: float, s: float) -> tuple[float, float, float, float]:
    return (x0 * s, y0 * s, x1 * s - 1, y1 * s - 1)


def scene_garden() -> Image.Image:
    """Sky gradient, grass, a sun, a red house with a triangular roof."""
    size = 224 * 2
    y = np.linspace(0, 1, size)[:, None, None]
    sky = (1 - y) * np.array([90, 150, 230]) + y * np.array([200, 225, 250])
    image = Image.fromarray(np.broadcast_to(sky, (size, size, 3)).astype(np.uint8))
    d = ImageDraw.Draw(image)
    d.rectangle((0, 300, size, size), fill=(70, 150, 60))
    d.ellipse((320, 40, 410, 130), fill=(255, 210, 40))
    d.rectangle((90, 220, 250, 340), fill=(190, 40, 40))
    d.polygon([(70, 222), (170, 130), (270, 222)], fill=(110, 60, 30))
    d.rectangle((150, 270, 190, 340), fill=(60, 40, 30))
    return image.resize((224, 224), Image.Resampling.BOX)


def scene_textures() -> Image.Image:
    """Four textures side by side: stripes, a checkerboard, dots and a smooth gradient."""
    yy, xx = np.mgrid[0:224, 0:224]
    stripes = ((xx + yy) // 8) % 2
    checker = ((xx // 14) + (yy // 14)) % 2
    dots = ((xx % 16 - 8) ** 2 + (yy % 16 - 8) ** 2) < 20
    gradient = xx / 223.0
    left, top = xx < 112, yy < 112
    rgb = np.zeros((224, 224, 3))
    rgb[top & left] = (np.array([230, 80, 40]) * stripes[..., None] + 20)[top & left]
    rgb[top & ~left] = (np.array([240, 240, 240]) * checker[..., None] + 15)[top & ~left]
    rgb[~top & left] = np.where(dots[..., None], [40, 90, 220], [235, 235, 200])[~top & left]
    rgb[~top & ~left] = (np.stack([gradient * 255, gradient * 128, 255 - gradient * 255], axis=-1))[~top & ~left]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def scene_target() -> Image.Image:
    """Concentric rings around a centre, with a bar across: an object in the middle of clutter."""
    yy, xx = np.mgrid[0:224, 0:224] - 111.5
    radius = np.hypot(xx, yy)
    rings = (0.5 + 0.5 * np.cos(radius / 6.0)) * (radius < 90)
    angle = np.arctan2(yy, xx)
    background = 0.3 + 0.2 * np.sin(angle * 6)
    grey = np.where(radius < 90, rings, background)
    rgb = np.stack([grey * 230, grey * 60 + 30, (1 - grey) * 160 + 40], axis=-1)
    rgb[100:124, 20:204] = [250, 250, 250]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


SCENES: dict[str, Callable[[], Image.Image]] = {
    "scene_garden": scene_garden, "scene_textures": scene_textures, "scene_target": scene_target,
}


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def samples() -> dict[str, bytes]:
    """File name → PNG bytes of every sample (deterministic)."""
    files = {f"shape_{name}.png": png_bytes(_shape(draw)) for name, draw in SHAPES.items()}
    for name, make in SCENES.items():
        scene = make().quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        files[f"{name}.png"] = png_bytes(scene)
    return files


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in samples().items():
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
