"""MNIST and Fashion-MNIST: the idx files (plain or .gz) as distributed, read without torchvision."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..messages import first_line
from .dataset import DatasetError, TensorImages

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]

#: Where the files may sit under the folder given: itself, or torchvision's layout.
_SUBFOLDERS = ("", "raw", "MNIST/raw", "FashionMNIST/raw")
_IDX_UBYTE = 0x08


def idx_file_names(split: str) -> tuple[str, str]:
    """The distributed names (without .gz) of a split's image and label files: split is "train" or "t10k"."""
    return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"


def read_idx_split(folder: str | Path, split: str, what: str) -> TensorImages:
    """One split (``train`` or ``t10k``) as uint8 N×1×28×28 images and int64 labels."""
    image_name, label_name = idx_file_names(split)
    label_file = find_idx_file(folder, label_name, what)
    images = read_idx(find_idx_file(folder, image_name, what), ndim=3)
    labels = read_idx(label_file, ndim=1)
    if len(labels) != len(images):
        raise DatasetError(f"{label_file}: {len(labels)} labels for {len(images)} images")
    if len(labels) and labels.max() >= 10:
        raise DatasetError(f"{label_file}: label {int(labels.max())} is outside 0–9")
    return TensorImages(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))


def find_idx_file(folder: str | Path, name: str, what: str) -> Path:
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected the {what} idx files there)")
    for sub in _SUBFOLDERS:
        for candidate in (name, f"{name}.gz", name.replace("-idx", ".idx")):
            path = root / sub / candidate
            if path.is_file():
                return path
    raise DatasetError(f"{root}: no {what} file {name} (or {name}.gz): download it, or point to the folder "
                       "that holds the four idx files")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions, checked against its own header."""
    data = read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an idx file (it does not start with the idx magic number)")
    if data[2] != _IDX_UBYTE or data[3] != ndim:
        raise DatasetError(f"{path}: expected unsigned bytes in {ndim} dimension(s), the header says type "
                           f"0x{data[2]:02x} in {data[3]}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated inside its header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected, found = int(np.prod(shape)), len(data) - header
    if found != expected:
        raise DatasetError(f"{path}: the header announces {'×'.join(map(str, shape))} = {expected} bytes of data, "
                           f"the file holds {found}{' (truncated)' if found < expected else ''}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_maybe_gzip(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: not a complete gzip file ({first_line(exc)})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
