"""An image folder with one sub-folder per class (PNG, JPEG, BMP … of any size and mode).

Images are fitted to the design as they are decoded, by the rules the app applies to any user
image: grey or RGB (luma for grey), transparency on white, 16-bit scaled, centre-cropped to the
design's aspect ratio and resized with antialiasing. A folder whose decoded images fit in ``memory_limit`` bytes is decoded
once (in threads) and held as tensors; a larger one is decoded per batch by ``DataLoader``
workers. ``train/`` and ``val/`` (or ``test/``) sub-folders, each with class folders, are used as
the split when present.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, DatasetError, FileImages, TensorImages, random_split
from .images import ImageError, fit_image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SPLIT_NAMES = ("val", "validation", "test")
DEFAULT_MEMORY_LIMIT = 1 << 30


def load_folder(root: str | Path, shape: tuple[int, int, int], val_fraction: float = 0.1, seed: int = 0,
                memory_limit: int = DEFAULT_MEMORY_LIMIT) -> Dataset:
    root = Path(root)
    if shape[0] not in (1, 3):
        raise DatasetError(f"images can be fitted to 1 or 3 channels, not {shape[0]}: change the design's input")
    split = _split_folders(root)
    if split:
        classes, paths, labels = scan_folder(split[0])
        _, val_paths, val_names = scan_folder(split[1], classes)
        train = FileImages(paths, labels, shape)
        val = FileImages(val_paths, val_names, shape)
    else:
        classes, paths, labels = scan_folder(root)
        train, val = random_split(FileImages(paths, labels, shape), val_fraction, seed)
    if (len(train) + len(val)) * int(np.prod(shape)) <= memory_limit:
        train, val = decode_all(train), decode_all(val)
    return Dataset(f"folder {root.name}", classes, tuple(shape), train, val, val_is_test=bool(split))


def _split_folders(root: Path) -> tuple[Path, Path] | None:
    if not (root / "train").is_dir():
        return None
    return next(((root / "train", root / name) for name in SPLIT_NAMES if (root / name).is_dir()), None)


def scan_folder(root: Path, classes: list[str] | None = None) -> tuple[list[str], list[Path], list[int]]:
    """Class names (sorted sub-folder names), image paths and labels. With ``classes``, folders must be among them."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if images:
            found[sub.name] = images
    if classes is None:
        classes = list(found)
        if len(classes) < 2:
            raise DatasetError(f"{root}: found {len(classes)} class folder(s) with images; put each class's images "
                               "in a sub-folder named after the class (at least two)")
    else:
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise DatasetError(f"{root / unknown[0]}: a class the training folder does not have")
        if not found:
            raise DatasetError(f"{root}: no class folders with images")
    index = {name: i for i, name in enumerate(classes)}
    paths = [p for name in found for p in found[name]]
    labels = [index[name] for name in found for _ in found[name]]
    return classes, paths, labels


def decode_all(files: FileImages) -> TensorImages:
    """Every image decoded once, in threads (Pillow releases the GIL while decoding and resizing)."""
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(lambda p: read_image(p, files.shape), files.paths))
    images = torch.from_numpy(np.stack(arrays)) if arrays else torch.empty(0, *files.shape, dtype=torch.uint8)
    return TensorImages(images, files.labels.clone())


def read_image(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One image file as uint8 C×H×W, decoded and fitted exactly as the explain views fit a user's image."""
    try:
        pixels = fit_image(path, shape).pixels
    except ImageError as exc:
        raise DatasetError(str(exc)) from None
    return np.ascontiguousarray((pixels * 255).round().astype(np.uint8).transpose(2, 0, 1))


