"""User images → model input: every kind of file is converted correctly or refused in one line."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convviz.data.images import ImageError, centre_crop_box, load_image, prepare_image, sample_images

ROOT = Path(__file__).resolve().parent.parent


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text
    return text


# --- refused, with one clear line -----------------------------------------------------------------

def test_missing_empty_and_not_an_image(tmp_path):
    with pytest.raises(ImageError) as exc:
        prepare_image(tmp_path / "nothing.png", (1, 8, 8))
    assert "no such file" in one_line(exc)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError) as exc:
        prepare_image(empty, (1, 8, 8))
    assert "empty.png" in one_line(exc) and "empty" in str(exc.value)
    text = tmp_path / "notes.png"
    text.write_text("these are not pixels")
    with pytest.raises(ImageError) as exc:
        prepare_image(text, (1, 8, 8))
    assert "not an image" in one_line(exc)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    rng = np.random.default_rng(0)
    data = encoded(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as exc:
        prepare_image(cut, (3, 16, 16))
    assert "truncated" in one_line(exc) and cut.name in str(exc.value)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels (its data would never decode)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (9_000, 9_000)])
def test_huge_dimensions_are_refused_before_decoding(size):
    with pytest.raises(ImageError) as exc:
        load_image(_png_claiming(*size), name="bomb.png")
    message = one_line(exc)
    assert "bomb.png" in message and ("too large" in message or "refused" in message)


def test_pixel_limit_is_a_parameter():
    data = png(Image.new("L", (50, 50)))
    assert load_image(data, max_pixels=2500).size == (50, 50)
    with pytest.raises(ImageError, match="too large"):
        load_image(data, max_pixels=2499)


def test_design_channels_other_than_1_or_3():
    with pytest.raises(ImageError) as exc:
        prepare_image(png(Image.new("RGB", (8, 8))), (64, 8, 8))
    assert "64 channels" in one_line(exc)


def test_bad_normalisation_is_named():
    with pytest.raises(ImageError, match="mean has 2 values"):
        prepare_image(png(Image.new("RGB", (8, 8))), (3, 8, 8), mean=[0.5, 0.5])
    with pytest.raises(ImageError, match="std must be positive"):
        prepare_image(png(Image.new("RGB", (8, 8))), (3, 8, 8), std=[0.0])


def test_bad_arrays():
    with pytest.raises(ImageError, match="H×W"):
        prepare_image(np.zeros((4, 4, 5), np.uint8), (3, 4, 4))
    with pytest.raises(ImageError, match="uint8"):
        prepare_image(np.zeros((4, 4), np.int64), (1, 4, 4))


# --- converted correctly --------------------------------------------------------------------------

def test_grey_into_rgb_design_repeats_the_channel():
    grey = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))
    out = prepare_image(png(Image.fromarray(grey)), (3, 8, 8))
    assert out.tensor.shape == (1, 3, 8, 8) and out.tensor.dtype == torch.float32
    assert out.display.shape == (8, 8, 3)
    for c in range(3):
        np.testing.assert_allclose(out.tensor[0, c].numpy(), grey / 255.0, atol=1e-6)


def test_rgb_into_grey_design_uses_luma():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = 100
    rgb[..., 2] = 50
    out = prepare_image(png(Image.fromarray(rgb)), (1, 4, 4))
    assert out.display.shape == (4, 4)
    np.testing.assert_allclose(out.display, (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255, atol=1e-5)


def test_sixteen_bit_grey_keeps_its_range():
    values = np.array([[0, 16384], [32768, 65535]], dtype=np.uint16)
    data = png(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = prepare_image(data, (1, 2, 2))
    np.testing.assert_allclose(out.display, values / 65535.0, atol=1e-6)


def test_cmyk_is_converted_to_rgb():
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in CMYK
    out = prepare_image(encoded(cmyk, "JPEG"), (3, 4, 4))
    red, green, blue = out.display[2, 2]
    assert red > 0.9 and green < 0.1 and blue < 0.1


def test_palette_with_and_without_transparency():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    out = prepare_image(png(palette), (3, 4, 4))
    np.testing.assert_allclose(out.display[0, 0], [0, 0, 1], atol=1e-6)
    see_through = png(palette, transparency=1)
    np.testing.assert_allclose(prepare_image(see_through, (3, 4, 4)).display[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(prepare_image(see_through, (3, 4, 4), background="black").display[0, 0], [0, 0, 0],
                               atol=1e-6)


def test_alpha_is_composited_on_the_chosen_background():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255        # red …
    rgba[..., 3] = 128        # … half transparent
    a = 128 / 255
    white = prepare_image(png(Image.fromarray(rgba)), (3, 2, 2)).display[0, 0]
    black = prepare_image(png(Image.fromarray(rgba)), (3, 2, 2), background="black").display[0, 0]
    np.testing.assert_allclose(white, [1.0, 1 - a, 1 - a], atol=1e-5)
    np.testing.assert_allclose(black, [a, 0, 0], atol=1e-5)
    la = Image.fromarray(np.stack([np.full((2, 2), 0, np.uint8), np.full((2, 2), 0, np.uint8)], axis=-1))
    np.testing.assert_allclose(prepare_image(png(la), (1, 2, 2)).display, 1.0)  # fully transparent → white


def test_one_bit_image():
    mono = Image.new("1", (4, 4), 1)
    np.testing.assert_allclose(prepare_image(png(mono), (1, 4, 4)).display, 1.0)


def test_clipboard_arrays():
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[..., 3] = 255
    out = prepare_image(rgba, (3, 6, 6))
    np.testing.assert_allclose(out.display[3, 3], [0, 1, 0])
    floats = np.full((6, 6), 0.25, np.float32)
    np.testing.assert_allclose(prepare_image(floats, (1, 6, 6)).display, 64 / 255, atol=1e-6)
    deep = np.full((6, 6), 65535, np.uint16)
    np.testing.assert_allclose(prepare_image(deep, (1, 6, 6)).display, 1.0)


def test_aspect_ratio_is_kept_by_centre_crop():
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255  # the centre third is white, the sides black
    out = prepare_image(png(Image.fromarray(wide)), (1, 5, 5))
    np.testing.assert_allclose(out.display, 1.0, atol=1e-6)  # only the centre square is kept
    assert out.crop_box == (10, 0, 20, 10)
    assert out.source_size == (30, 10)
    assert centre_crop_box((10, 40), (5, 5)) == (0, 15, 10, 25)
    assert centre_crop_box((7, 4), (4, 4)) == (1, 0, 5, 4)


def test_normalisation_with_mean_and_std():
    grey = np.full((4, 4), 255, np.uint8)
    out = prepare_image(png(Image.fromarray(grey)), (3, 4, 4), mean=[0.5, 0.0, 1.0], std=[0.5, 2.0, 1.0])
    np.testing.assert_allclose(out.tensor[0, :, 0, 0].numpy(), [1.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(out.display, 1.0)  # the display array is before normalisation


def test_exif_orientation_is_applied():
    tall = np.zeros((4, 2), np.uint8)  # 2 wide, 4 high
    image = Image.fromarray(tall)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90°: shown 4 wide, 2 high
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert load_image(buffer.getvalue()).size == (4, 2)


def test_resize_downscales_smoothly():
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = prepare_image(png(Image.fromarray(checker)), (1, 8, 8))
    np.testing.assert_allclose(out.display, 0.5, atol=0.02)  # antialiased, not aliased


# --- bundled samples --------------------------------------------------------------------------------

def test_samples_are_listed_loaded_and_small():
    samples = sample_images()
    names = {s.name for s in samples}
    assert {"shape_triangle", "shape_circle", "shape_vertical_bar", "shape_cross"} <= names
    scenes = [s for s in samples if s.name.startswith("scene_")]
    assert len(scenes) >= 2
    for sample in samples:
        assert len(sample.path.read_bytes()) < 20_000, sample.name
        image = load_image(sample.path)
        assert image.size == ((224, 224) if sample.name.startswith("scene_") else (32, 32))
        prepared = prepare_image(sample.path, (3, 224, 224))
        assert prepared.display.min() >= 0 and prepared.display.max() <= 1


def test_samples_are_what_the_generator_draws():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_samples
    finally:
        sys.path.pop(0)
    expected = make_samples.samples()
    stored = {s.path.name: s.path for s in sample_images()}
    assert set(expected) == set(stored)
    for name, data in expected.items():
        drawn = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
        kept = np.asarray(Image.open(stored[name]).convert("RGB"), dtype=np.int16)
        assert np.abs(drawn - kept).mean() < 1.0, name
