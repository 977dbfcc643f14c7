"""Draw convviz's application icon into assets/app (PNG, Windows ICO, macOS ICNS).

The picture is the app's idea in one glance: a stack of feature maps in perspective, a 3×3
kernel lit on the front map and the one unit it produces on the next, on a rounded tile. It is
drawn with Pillow at twice the size and averaged down, so edges are smooth at
every size; the ICO holds 16–256 px, the ICNS 16–1024 px (Pillow writes both on any platform).
tests/test_packaging.py checks the committed files equal this script's output.

    python tools/make_icon.py            # rewrite assets/app/convviz.{png,ico,icns}
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "assets" / "app"
SIZE = 1024
SUPER = 2  # drawn at SIZE·SUPER, averaged down
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
PNG_SIZE = 256  # the window icon and the Linux desktop entry's icon

TILE_TOP = (37, 99, 235)      # blue
TILE_BOTTOM = (13, 148, 136)  # teal
SHEET = (248, 250, 252)
SHEET_EDGE = (15, 23, 42)
KERNEL = (249, 115, 22)       # orange, the colour the app uses for the receptive field
UNIT = (250, 204, 21)


def _tile(size: int) -> Image.Image:
    """The rounded square with a vertical gradient, on transparency."""
    gradient = Image.new("RGB", (1, 256))
    for y in range(256):
        t = y / 255
        gradient.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(TILE_TOP, TILE_BOTTOM)))
    colour = gradient.resize((size, size), Image.Resampling.BILINEAR)
    mask = Image.new("L", (size, size), 0)
    margin = size * 0.06
    ImageDraw.Draw(mask).rounded_rectangle((margin, margin, size - margin, size - margin), radius=size * 0.2,
                                           fill=255)
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    tile.paste(colour, (0, 0), mask)
    return tile


def _sheet(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, skew: float, shade: float, line: float) -> None:
    """One feature map: a parallelogram (a square seen from the side), its fill darker further back."""
    fill = tuple(round(c * shade) for c in SHEET)
    draw.polygon([(x, y + skew), (x + w, y), (x + w, y + w), (x, y + w + skew)], fill=fill, outline=SHEET_EDGE,
                 width=round(line))


def draw_icon(size: int = SIZE) -> Image.Image:
    s = size * SUPER
    image = _tile(s)
    draw = ImageDraw.Draw(image)
    line = s * 0.012
    w, skew = s * 0.40, -s * 0.10
    # Three maps, back to front, stepping right and down.
    origins = [(s * 0.20, s * 0.25), (s * 0.30, s * 0.33), (s * 0.40, s * 0.41)]
    for (x, y), shade in zip(origins, (0.62, 0.80, 1.0)):
        _sheet(draw, x, y, w, skew, shade, line)
    # A 3×3 kernel on the front map (a grid of cells following the map's skew) ...
    fx, fy = origins[-1]
    cell = w / 6

    def on_front(u: float, v: float) -> tuple[float, float]:
        """A point of the front map at (u, v) in cells from its top-left corner."""
        px = fx + u * cell
        return px, fy + v * cell + skew * (u * cell / w)

    k0 = (0.9, 1.4)
    corners = [on_front(k0[0] + a, k0[1] + b) for a, b in ((0, 0), (3, 0), (3, 3), (0, 3))]
    draw.polygon(corners, fill=KERNEL, outline=SHEET_EDGE, width=round(line))
    for i in (1, 2):
        draw.line([on_front(k0[0] + i, k0[1]), on_front(k0[0] + i, k0[1] + 3)], fill=SHEET_EDGE, width=round(line * 0.8))
        draw.line([on_front(k0[0], k0[1] + i), on_front(k0[0] + 3, k0[1] + i)], fill=SHEET_EDGE, width=round(line * 0.8))
    # ... and the one unit it computes, a bright dot to the right, joined by the window's edges.
    unit = (s * 0.86, s * 0.52)
    for corner in (corners[1], corners[2]):
        draw.line([corner, unit], fill=UNIT, width=round(line * 1.2))
    r = s * 0.045
    draw.ellipse((unit[0] - r, unit[1] - r, unit[0] + r, unit[1] + r), fill=UNIT, outline=SHEET_EDGE,
                 width=round(line))
    return image.resize((size, size), Image.Resampling.BOX)


def icon_files() -> dict[str, bytes]:
    """File name → bytes for assets/app."""
    big = draw_icon(SIZE)
    files = {}
    png = io.BytesIO()
    big.resize((PNG_SIZE, PNG_SIZE), Image.Resampling.LANCZOS).save(png, "PNG", optimize=True)
    files["convviz.png"] = png.getvalue()
    ico = io.BytesIO()
    big.save(ico, "ICO", sizes=ICO_SIZES)
    files["convviz.ico"] = ico.getvalue()
    icns = io.BytesIO()
    big.save(icns, "ICNS")
    files["convviz.icns"] = icns.getvalue()
    return files


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in icon_files().items():
        (OUT / name).write_bytes(data)
        print(f"wrote {OUT / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
