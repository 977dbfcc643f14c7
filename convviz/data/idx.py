"""MNIST and Fashion-MNIST: the idx files (plain or .gz) as distributed, read without torchvision."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..i18n import tr
from ..messages import first_line, size_in_bytes
from ..reading import open_regular
from .dataset import DatasetError, TensorImages

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]

#: Where the files may sit under the folder given: itself, or torchvision's layout.
_SUBFOLDERS = ("", "raw", "MNIST/raw", "FashionMNIST/raw")
_IDX_UBYTE = 0x08
#: An idx file's data may announce at most this many bytes (MNIST's training images: 47 MB). The
#: header is read first and the data only up to what it announces, so a 6 MB .gz that inflates to
#: 6 GiB costs what its header claims, never more.
MAX_IDX_BYTES = 1 << 30


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
        raise DatasetError(tr("{label_file}: {count} labels for {count2} images").format(label_file=label_file, count=len(labels), count2=len(images)))
    if len(labels) and labels.max() >= 10:
        raise DatasetError(tr("{label_file}: label {label} is outside 0–9").format(label_file=label_file, label=int(labels.max())))
    return TensorImages(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))


def find_idx_file(folder: str | Path, name: str, what: str) -> Path:
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(tr("{root}: no such folder (expected the {what} idx files there)").format(root=root, what=what))
    for sub in _SUBFOLDERS:
        for candidate in (name, f"{name}.gz", name.replace("-idx", ".idx")):
            path = root / sub / candidate
            if path.is_file():
                return path
    raise DatasetError(tr("{root}: no {what} file {name} (or {name}.gz): download it, or point to the folder that holds the four idx files").format(root=root, what=what, name=name))


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions, checked against its own header before
    its data is read (plain or gzip-compressed; a regular file only)."""
    gzipped = path.suffix == ".gz"
    try:
        with open_regular(path, None if gzipped else MAX_IDX_BYTES + 4 + 4 * ndim, DatasetError,
                          tr("an idx file")) as raw:
            handle = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            head = handle.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DatasetError(tr("{path}: not an idx file (it does not start with the idx magic number)").format(path=path))
            if head[2] != _IDX_UBYTE or head[3] != ndim:
                raise DatasetError(tr("{path}: expected unsigned bytes in {ndim} dimensions, the header says type 0x{kind:02x} in {found}").format(
                    path=path, ndim=ndim, kind=head[2], found=head[3]))
            dims = handle.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DatasetError(tr("{path}: truncated inside its header").format(path=path))
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4", count=ndim))
            expected = int(np.prod(shape, dtype=np.int64)) if shape else 0
            if expected > MAX_IDX_BYTES:
                raise DatasetError(tr("{path}: the header announces {shape} = {size} of data, more than an idx "
                                      "dataset can be ({limit})").format(
                    path=path, shape="×".join(map(str, shape)), size=size_in_bytes(expected), limit=size_in_bytes(MAX_IDX_BYTES)))
            data = handle.read(expected + 1)  # one byte more: a file longer than announced is refused too
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(tr("{path}: not a complete gzip file ({reason})").format(path=path, reason=first_line(exc))) from None
    except OSError as exc:
        raise DatasetError(tr("{path}: cannot be read ({reason})").format(path=path, reason=exc.strerror or exc)) from None
    found = len(data)
    if found != expected:
        holds = f"{found} (truncated)" if found < expected else tr("more")
        raise DatasetError(tr("{path}: the header announces {shape} = {expected} bytes of data, the file holds {holds}").format(path=path, shape='×'.join(map(str, shape)), expected=expected, holds=holds))
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()
