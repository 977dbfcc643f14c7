"""The Train tab's first look at the built-in shapes, before torch has loaded.

Importing torch takes one to several seconds on a busy machine; the built-in set is in the disk
cache after the first launch. ``first_look`` reads what the tab shows on arrival (the split's counts,
the classes and a few training images fitted to the design) from that cache with numpy alone: a
memory-mapped file, of which only the sample images are read. The dataset torch loads afterwards
(``load_dataset``) has the same split (``splits``) and its preview shows the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..train.config import SYNTHETIC_NAME, dataset_title
from .fitting import LUMA, centre_crop_box
from .keys import Source
from .shapes_cache import SYNTHETIC_SIZE, affordable_count, cached_images, native_shape, smaller_set_note
from .splits import sample_indices, split_indices, val_count
from .synthetic import CHUNK, SHAPE_CLASSES, label_array, shapes_chunk


@dataclass(frozen=True)
class FirstLook:
    """What the data summary and the preview show of a dataset, before the dataset itself is loaded."""

    name: str
    classes: tuple[str, ...]
    shape: tuple[int, int, int]     # the design's input, C×H×W: the samples' size
    train_count: int
    val_count: int
    samples: np.ndarray             # uint8 N×C×H×W: ``Dataset.samples(N, seed)``'s images
    sample_classes: tuple[str, ...]
    note: str = ""
    val_is_test: bool = False

    @property
    def title(self) -> str:
        return dataset_title(self.name)


def first_look(spec: Source, shape: tuple[int, int, int], val_fraction: float, seed: int, count: int,
               sample_seed: int = 1, synthetic_size: int = SYNTHETIC_SIZE, draw: bool = False) -> FirstLook | None:
    """The first look at the data ``load_dataset(spec, shape, val_fraction=…, seed=…)`` would load, with
    ``count`` training images as ``Dataset.samples(count, sample_seed)`` picks them; None when it cannot
    be had without loading (another source than the built-in shapes, or a set no launch has cached
    yet — unless ``draw``: then the sample images alone are drawn, with numpy, in a worker thread)."""
    shape = tuple(shape)
    if spec.kind != "synthetic":
        return None
    native = native_shape(shape, synthetic_size)
    total = affordable_count(synthetic_size, native)
    if total < 2 or not _upscales(native, shape):
        return None
    images = cached_images(total, native, seed)
    if images is None and not draw:
        return None
    train, _ = split_indices(total, val_fraction, seed)
    picked = train[sample_indices(len(train), count, sample_seed)]
    labels = label_array(0, total)[picked]
    samples = np.asarray(images[picked]) if images is not None else drawn_images(picked, native, seed)
    return FirstLook(SYNTHETIC_NAME, SHAPE_CLASSES, shape, len(train), val_count(total, val_fraction),
                     fit_batch(samples, shape), tuple(SHAPE_CLASSES[i] for i in labels),
                     note=smaller_set_note(total, synthetic_size, native))


def drawn_images(indices: np.ndarray, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Images ``indices`` of the set ``draw_shapes(…, *shape, seed)`` draws, drawing only the chunks that
    hold them (each chunk has its own seed): a few tenths of a second where the whole set takes one."""
    images = np.empty((len(indices), *shape), dtype=np.uint8)
    for chunk in sorted({int(i) // CHUNK for i in indices}):  # one chunk held at a time, not all of them
        drawn = shapes_chunk(chunk, *shape, seed)[0]
        for k, i in enumerate(indices):
            if int(i) // CHUNK == chunk:
                images[k] = drawn[int(i) % CHUNK]
    return images


def fit_batch(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 N×c×h×w fitted to C×H×W as ``dataset.conform`` fits a batch (grey ↔ RGB, a centred crop
    to the aspect ratio, a bilinear resize), rounded back to uint8. Enlarges only (the built-in set is
    drawn at the design's size or smaller), where torch's antialiased resize is plain bilinear."""
    channels, height, width = shape
    x = images.astype(np.float32)
    if x.shape[1] != channels:
        x = np.repeat(x, channels, axis=1) if x.shape[1] == 1 else np.einsum(
            "nchw,c->nhw", x, np.asarray(LUMA, dtype=np.float32))[:, None]
    if x.shape[-2:] != (height, width):
        left, top, right, bottom = centre_crop_box((x.shape[-1], x.shape[-2]), (width, height))
        x = _resize_axis(_resize_axis(x[..., top:bottom, left:right], height, axis=2), width, axis=3)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _upscales(native: tuple[int, int, int], shape: tuple[int, int, int]) -> bool:
    return native[1] <= shape[1] and native[2] <= shape[2]


def _resize_axis(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation along ``axis`` to ``size`` samples, pixel centres aligned
    (``align_corners=False``, as ``F.interpolate``)."""
    length = x.shape[axis]
    if length == size:
        return x
    source = np.maximum((np.arange(size, dtype=np.float64) + 0.5) * (length / size) - 0.5, 0.0)
    low = np.minimum(source.astype(np.int64), length - 1)
    high = np.minimum(low + 1, length - 1)
    weight = (source - low).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = size
    weight = weight.reshape(shape)
    return np.take(x, low, axis=axis) * (1 - weight) + np.take(x, high, axis=axis) * weight
