"""An image folder with one sub-folder per class (PNG, JPEG, BMP … of any size and mode).

Images are fitted to the design as they are decoded, by the rules the app applies to any user
image: grey or RGB (luma for grey), transparency on white, 16-bit scaled, centre-cropped to the
design's aspect ratio and resized with antialiasing. A folder whose decoded images fit in ``memory_limit`` bytes is decoded
once (in threads) and held as tensors; a larger one is decoded per batch by ``DataLoader``
workers. ``train/`` and ``val/`` (or ``test/``) sub-folders, each with class folders, are used as
the split when present.

Unreadable files (a truncated JPEG, a text file named .png) are skipped, not fatal: the dataset
names them (``Dataset.skipped``) and the data summary counts them; only a split with no readable
image at all is an error. A folder decoded up front knows every such file; a streamed one checks
each file's header at load and drops a file whose pixels later fail to decode from its batch.
"""

from __future__ import annotations

import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from PIL import Image

from ..i18n import ntr, tr
from .dataset import Dataset, DatasetError, FileImages, Skipped, TensorImages, random_split
from .images import MAX_PIXELS, ImageError, fit_image, read_image_file

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
SPLIT_NAMES = ("val", "validation", "test")
DEFAULT_MEMORY_LIMIT = 1 << 30


def load_folder(root: str | Path, shape: tuple[int, int, int], val_fraction: float = 0.1, seed: int = 0,
                memory_limit: int = DEFAULT_MEMORY_LIMIT) -> Dataset:
    root = Path(root)
    if shape[0] not in (1, 3):
        raise DatasetError(tr("images can be fitted to 1 or 3 channels, not {shape}: change the design's input").format(shape=shape[0]))
    split = _split_folders(root)
    if split:
        classes, paths, labels = scan_folder(split[0])
        _, val_paths, val_names = scan_folder(split[1], classes)
        train = FileImages(paths, labels, shape)
        val = FileImages(val_paths, val_names, shape)
    else:
        classes, paths, labels = scan_folder(root)
        train, val = FileImages(paths, labels, shape), None
    in_memory = (len(paths) + (len(val) if val is not None else 0)) * int(np.prod(shape)) <= memory_limit
    prepare = decode_all if in_memory else check_headers
    train, skipped = prepare(train, split[0] if split else root)
    if val is None:
        train, val = random_split(train, val_fraction, seed)
    else:
        val, skipped_val = prepare(val, split[1])
        skipped += skipped_val
    return Dataset(tr("folder {name}").format(name=class_name(root.name)), classes, tuple(shape), train, val, val_is_test=bool(split),
                   skipped=tuple(skipped))


def _split_folders(root: Path) -> tuple[Path, Path] | None:
    if not (root / "train").is_dir():
        return None
    return next(((root / "train", root / name) for name in SPLIT_NAMES if (root / name).is_dir()), None)


def class_name(folder_name: str) -> str:
    """A folder's name as a class name: NFC, so "고양이" is one name whether the file system stores it
    composed (Linux, Windows) or decomposed into jamo (macOS's HFS+ and many zip files)."""
    return unicodedata.normalize("NFC", folder_name)


def scan_folder(root: Path, classes: list[str] | None = None) -> tuple[list[str], list[Path], list[int]]:
    """Class names (sorted sub-folder names, ``class_name``), image paths and labels. With ``classes``,
    folders must be among them."""
    if not root.is_dir():
        raise DatasetError(tr("{root}: no such folder").format(root=root))
    found: dict[str, list[Path]] = {}
    subs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    for sub in sorted(subs, key=lambda p: (class_name(p.name), p.name)):
        images = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if images:  # two spellings of one name (composed and decomposed) are one class
            found.setdefault(class_name(sub.name), []).extend(images)
    if classes is None:
        classes = list(found)
        if len(classes) < 2:
            raise DatasetError(ntr("{root}: found {count} class folder with images; put each class's images in a sub-folder named after "
                                   "the class (at least two)",
                                   "{root}: found {count} class folders with images; put each class's images in a sub-folder named "
                                   "after the class (at least two)", len(classes)).format(root=root, count=len(classes)))
    else:
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise DatasetError(tr("{folder}: a class the training folder does not have").format(folder=root / unknown[0]))
        if not found:
            raise DatasetError(tr("{root}: no class folders with images").format(root=root))
    index = {name: i for i, name in enumerate(classes)}
    paths = [p for name in found for p in found[name]]
    labels = [index[name] for name in found for _ in found[name]]
    return classes, paths, labels


def decode_all(files: FileImages, root: Path | None = None) -> tuple[TensorImages, list[Skipped]]:
    """Every image decoded once, in threads (Pillow releases the GIL while decoding and resizing),
    and the files that could not be (skipped; ``DatasetError`` when none could)."""
    def decode(path: Path) -> np.ndarray | str:
        try:
            return read_image(path, files.shape)
        except DatasetError as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = list(pool.map(decode, files.paths))
    keep = [i for i, r in enumerate(results) if not isinstance(r, str)]
    skipped = [Skipped(_relative(files.paths[i], root), results[i]) for i, r in enumerate(results) if isinstance(r, str)]
    _require_some(files, keep, skipped, root)
    arrays = [results[i] for i in keep]
    images = torch.from_numpy(np.stack(arrays)) if arrays else torch.empty(0, *files.shape, dtype=torch.uint8)
    return TensorImages(images, files.labels[keep].clone()), skipped


def check_headers(files: FileImages, root: Path | None = None) -> tuple[FileImages, list[Skipped]]:
    """The files whose header Pillow reads (type, size within the pixel budget), without decoding
    their pixels: a streamed folder's check at load, a few kilobytes per file."""
    def problem(path: Path) -> str | None:
        try:
            with Image.open(path) as image:
                width, height = image.size
            if width * height > MAX_PIXELS:
                return tr("{path}: {width}×{height} pixels is too large").format(path=path, width=width, height=height)
            if width < 1 or height < 1:
                return tr("{path}: the image is empty").format(path=path)
            return None
        except Exception as exc:  # noqa: BLE001 — any decoder failure means "unreadable", said in one line
            return str(ImageError(tr("{path}: not a readable image ({kind}: {reason})").format(
                path=path, kind=type(exc).__name__, reason=str(exc)[:120])))

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        problems = list(pool.map(problem, files.paths))
    keep = [i for i, p in enumerate(problems) if p is None]
    skipped = [Skipped(_relative(files.paths[i], root), p) for i, p in enumerate(problems) if p is not None]
    _require_some(files, keep, skipped, root)
    return files.subset(torch.as_tensor(keep, dtype=torch.int64)), skipped


def _require_some(files: FileImages, keep: list[int], skipped: list[Skipped], root: Path | None) -> None:
    if files.paths and not keep:
        raise DatasetError(tr("{root}: none of the {count} images can be read (the first: {reason})").format(
            root=root or files.paths[0].parent, count=len(files.paths), reason=skipped[0].reason))


def _relative(path: Path, root: Path | None) -> str:
    try:
        return str(path.relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)


def read_image(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One image file as uint8 C×H×W, decoded and fitted exactly as the explain views fit a user's image."""
    try:
        pixels = fit_image(read_image_file(path), shape, name=str(path)).pixels
    except ImageError as exc:
        raise DatasetError(str(exc)) from None
    return np.ascontiguousarray((pixels * 255).round().astype(np.uint8).transpose(2, 0, 1))
