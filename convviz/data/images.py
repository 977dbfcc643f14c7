"""A user's image as the model's input: decode safely, fit to the design's input, normalise.

One path serves files, bytes, clipboard arrays and the bundled samples, so every view explains
exactly the pixels the model saw. The choices, fixed so they never vary between views:

- transparency is composited on **white** (a drawing with a transparent background looks as it
  does in an image viewer); pass ``background="black"`` for white-on-black data such as MNIST;
- the aspect ratio is kept by a **centre crop** to the input's aspect, then a bilinear
  (antialiased) resize: nothing is padded, nothing is stretched;
- 1-channel designs get the ITU-R 601 luma of a colour image; 3-channel designs get a grey image
  repeated on all three channels; 16-bit images are scaled by 1/65535 (not clipped at 255);
- ``mean``/``std`` (one value, or one per channel) normalise after the fit; none means identity.

Every failure is an ``ImageError`` with one line naming the image and what to do.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..i18n import N_, tr
from ..messages import first_line
from ..reading import read_bytes
from .fitting import LUMA, centre_crop_box

#: Images with more pixels are refused before decoding (a small file can claim a huge size).
MAX_PIXELS = 40_000_000
#: Image files larger than this are refused before they are read: 40 M pixels of 16-bit RGBA,
#: uncompressed, with room for metadata (a sparse 6 GiB "image" is never read).
MAX_FILE_BYTES = 512 << 20

#: What Pillow's decoders raise on files they cannot make sense of, besides OSError: a damaged or
#: hostile file must become one ``ImageError`` line whatever the plugin (DDS: NotImplementedError;
#: some TIFF and ICO variants: struct errors, IndexError, KeyError, ZeroDivisionError …).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, NotImplementedError, IndexError, KeyError,
                  TypeError, ZeroDivisionError, OverflowError, MemoryError, AttributeError, AssertionError)

BACKGROUNDS = {"white": 1.0, "black": 0.0}

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image]


class ImageError(ValueError):
    """An image that cannot be used, in one line: which image and why."""


@dataclass(frozen=True)
class PreparedImage:
    """An image as the model sees it, and as the views show it."""

    #: (1, C, H, W) float32, normalised: what the model is given.
    tensor: torch.Tensor
    #: (H, W) for 1 channel or (H, W, 3) for 3, float32 in [0, 1]: the same pixels before normalisation.
    display: np.ndarray
    #: (width, height) of the original image.
    source_size: tuple[int, int]
    #: (left, top, right, bottom) of the centre crop, in original pixels.
    crop_box: tuple[int, int, int, int]
    #: The decoded image's Pillow mode (L, LA, RGB, RGBA, I or F): what conversion was made.
    source_mode: str = ""


def load_image(source: ImageSource, *, name: str | None = None, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``source`` (path, bytes, a Pillow image or an H×W[×C] array) into one of the modes
    L, LA, RGB, RGBA, I (16-bit values) or F, refusing huge images before their pixels are decoded."""
    label = name or _label(source)
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source, label)
    else:
        image = _open(source, label)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(tr("{label}: the image is empty ({width}×{height} pixels)").format(label=label, width=width, height=height))
    if width * height > max_pixels:
        raise ImageError(tr("{label}: {width}×{height} pixels is too large (the limit is {max_pixels:,} pixels); scale it down first").format(label=label, width=width, height=height, max_pixels=max_pixels))
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        return _standard_mode(image)
    except _DECODE_ERRORS as exc:
        raise _decode_failure(label, exc, image.format or "") from None


@dataclass(frozen=True)
class FittedImage:
    pixels: np.ndarray                  # H×W×C float32 in [0, 1], at the design's size
    source_size: tuple[int, int]        # (width, height) of the decoded image
    source_mode: str                    # its Pillow mode ("RGB", "L", "I;16", …)
    crop_box: tuple[int, int, int, int]


def fit_image(source: ImageSource | Image.Image, shape: Sequence[int], *, background: str = "white",
              name: str | None = None, max_pixels: int = MAX_PIXELS) -> FittedImage:
    """``source`` decoded and fitted to ``shape`` = (C, H, W).

    The one decoder for user images and image-folder datasets, so training and the explain views
    see the same pixels.
    """
    label = name or _label(source)
    channels, height, width = (int(v) for v in shape)
    if channels not in (1, 3):
        raise ImageError(tr("the design's input has {channels} channels; an image gives 1 (grey) or 3 (RGB), so set the input to 1 or 3 channels to use images").format(channels=channels))
    if background not in BACKGROUNDS:
        raise ImageError(tr("background must be one of {names}, not {background}").format(names=', '.join(BACKGROUNDS), background=repr(background)))
    image = load_image(source, name=label, max_pixels=max_pixels)
    box = centre_crop_box(image.size, (width, height))
    # Crop first: resize(box=…) would let the filter read pixels outside the box at its edges.
    resized = image.crop(box).resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
    pixels = _to_channels(_as_float(resized, BACKGROUNDS[background]), channels)
    return FittedImage(pixels, image.size, image.mode, box)


def prepare_image(source: ImageSource | Image.Image, shape: Sequence[int], mean: Sequence[float] = (),
                  std: Sequence[float] = (), *, background: str = "white", name: str | None = None,
                  max_pixels: int = MAX_PIXELS) -> PreparedImage:
    """``source`` fitted to ``shape`` = (C, H, W) (a design's ``input.shape``) and normalised."""
    channels = int(shape[0])
    mean_t = _per_channel(mean, channels, 0.0, "mean") if channels in (1, 3) else None
    std_t = _per_channel(std, channels, 1.0, "std") if channels in (1, 3) else None
    if std_t is not None and np.any(std_t <= 0):
        raise ImageError(tr("std must be positive, got {value}").format(value=list(map(float, std))))
    fitted = fit_image(source, shape, background=background, name=name, max_pixels=max_pixels)
    pixels = fitted.pixels
    display = np.ascontiguousarray(pixels if channels == 3 else pixels[..., 0], dtype=np.float32)
    chw = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    tensor = ((chw - torch.from_numpy(mean_t)[:, None, None]) / torch.from_numpy(std_t)[:, None, None])
    return PreparedImage(tensor.unsqueeze(0).contiguous(), display, fitted.source_size, fitted.crop_box,
                         fitted.source_mode)


def normalized_value(value: float, mean: Sequence[float], std: Sequence[float], channels: int) -> torch.Tensor:
    """The normalised (C,) tensor of a uniform display value, e.g. the grey 0.5 of an occluding patch."""
    mean_t = _per_channel(mean, channels, 0.0, "mean")
    std_t = _per_channel(std, channels, 1.0, "std")
    return torch.from_numpy((value - mean_t) / std_t)


@dataclass(frozen=True)
class SampleImage:
    name: str
    #: An importlib.resources Traversable (a Path in ordinary installs); ``prepare_image`` takes it.
    path: Any

    @property
    def title(self) -> str:
        """What a list shows: "shape plus", in the user's language (``SAMPLE_TITLES``)."""
        return tr(self.name.replace("_", " "))


#: The bundled samples' titles, for the catalog (a test keeps it equal to ``assets/samples``).
SAMPLE_TITLES = (N_("scene garden"), N_("scene target"), N_("scene textures"), N_("shape circle"),
                 N_("shape cross"), N_("shape disk"), N_("shape horizontal bar"), N_("shape plus"),
                 N_("shape square"), N_("shape triangle"), N_("shape vertical bar"))


def sample_images() -> list[SampleImage]:
    """The images shipped in ``assets/samples`` (drawn by tools/make_samples.py), sorted by name."""
    folder = resources.files("convviz.assets").joinpath("samples")
    found = [SampleImage(entry.name.rsplit(".", 1)[0], entry)
             for entry in folder.iterdir() if entry.name.endswith(".png")]
    return sorted(found, key=lambda s: s.name)


# --- decoding ------------------------------------------------------------------------------------

def read_image_file(path: str | os.PathLike, *, should_stop=None) -> bytes:
    """The bytes of an image file: a regular file of at most ``MAX_FILE_BYTES`` (``ImageError``
    otherwise). ``should_stop``: give up (``convviz.reading.ReadCancelled``) when it turns true."""
    return read_bytes(path, MAX_FILE_BYTES, ImageError, tr("an image"), should_stop=should_stop)


def _open(source: Any, label: str) -> Image.Image:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = read_image_file(source)
    elif hasattr(source, "read_bytes"):  # an importlib.resources Traversable (a bundled sample)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ImageError(tr("{label}: cannot be read ({reason})").format(label=label, reason=exc.strerror or exc)) from None
    else:
        raise ImageError(tr("{label}: not an image file, bytes or pixels ({kind})").format(
            label=label, kind=type(source).__name__))
    if not data:
        raise ImageError(tr("{label}: the file is empty").format(label=label))
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(tr("{label}: refused: {reason}; scale it down first").format(label=label, reason=first_line(exc))) from None
    except UnidentifiedImageError:
        raise ImageError(tr("{label}: not an image Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP…)").format(label=label)) from None
    except _DECODE_ERRORS as exc:
        raise _decode_failure(label, exc, "") from None


def _decode_failure(label: str, exc: BaseException, kind: str) -> ImageError:
    """One line for an image Pillow could not decode: a variant it does not support, or damage."""
    if isinstance(exc, NotImplementedError):
        return ImageError(tr("{label}: a kind of {kind}image Pillow cannot decode ({reason}); convert it to PNG "
                             "first").format(label=label, kind=f"{kind} " if kind else "", reason=first_line(exc)))
    return ImageError(tr("{label}: the image is truncated or corrupt ({reason})").format(label=label, reason=first_line(exc)))


def _from_array(array: np.ndarray, label: str) -> Image.Image:
    """A clipboard or numpy image: H×W or H×W×{1,2,3,4} (grey, grey+alpha, RGB, RGBA)."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ImageError(tr("{label}: an image array must be H×W, H×W×3 (RGB) or H×W×4 (RGBA), not {shape}").format(label=label, shape=a.shape))
    if a.dtype == np.uint16 and a.ndim == 2:
        return Image.fromarray(a.astype(np.int32))  # mode I: 16-bit values kept
    if a.dtype.kind == "f":
        a = np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5
    elif a.dtype == np.uint16:
        a = a / 257.0 + 0.5
    elif a.dtype == np.bool_:
        a = a * 255
    elif a.dtype != np.uint8:
        raise ImageError(tr("{label}: image arrays must hold uint8, uint16 or floats in [0, 1], not {dtype}").format(label=label, dtype=a.dtype))
    return Image.fromarray(np.ascontiguousarray(a.astype(np.uint8)))  # L, LA, RGB or RGBA by shape


def _standard_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I", "F"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("PA", "RGBa"):
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode.startswith("I;16"):
        return image.convert("I")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX …


def _as_float(image: Image.Image, background: float) -> np.ndarray:
    """H×W×C float32 in [0, 1], C = 1 or 3, transparency composited on ``background``."""
    a = np.asarray(image, dtype=np.float32)
    if image.mode == "I":
        a = a / 65535.0
    elif image.mode != "F":
        a = a / 255.0
    else:  # float images may hold NaN and ±inf: no such pixel reaches the model (or a JSON file)
        a = np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0)
    a = np.clip(a, 0.0, 1.0)
    if a.ndim == 2:
        a = a[..., None]
    if image.mode in ("LA", "RGBA"):
        colour, alpha = a[..., :-1], a[..., -1:]
        a = colour * alpha + background * (1.0 - alpha)
    return a


def _to_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    have = pixels.shape[2]
    if have == channels:
        return pixels
    if channels == 1:
        luma = pixels @ np.array(LUMA, dtype=np.float32)
        return luma[..., None]
    return np.repeat(pixels, 3, axis=2)


def _per_channel(values: Sequence[float], channels: int, default: float, what: str) -> np.ndarray:
    vals = [float(v) for v in values]
    if not vals:
        vals = [default]
    if len(vals) == 1:
        vals = vals * channels
    if len(vals) != channels:
        raise ImageError(tr("{what} has {count} values but the input has {channels} channels").format(what=what, count=len(vals), channels=channels))
    return np.asarray(vals, dtype=np.float32)


def _label(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if hasattr(source, "name") and isinstance(getattr(source, "name"), str) and not isinstance(source, Image.Image):
        return source.name
    if isinstance(source, np.ndarray):
        return tr("the pasted image")
    return tr("the image")


