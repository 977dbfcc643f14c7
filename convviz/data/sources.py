"""``load_dataset``: a ``DataSpec`` (synthetic, mnist:DIR, fashion:DIR, cifar10:DIR, folder:DIR) → ``Dataset``."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..design import InputSpec
from ..i18n import N_, tr
from ..train.config import SYNTHETIC_NAME
from .cifar import read_cifar10
from .dataset import Dataset, DatasetError, TensorImages, random_split
from .folder import DEFAULT_MEMORY_LIMIT, load_folder
from .idx import FASHION_CLASSES, MNIST_CLASSES, read_idx_split
from .shapes_cache import MEMORY_BUDGET, affordable_count, native_shape, shapes_images
from .synthetic import SHAPE_CLASSES

#: How many synthetic images ``load_dataset`` draws by default (training and validation together).
SYNTHETIC_SIZE = 12_000


class Source(Protocol):
    """``convviz.train.DataSpec`` (data sits below train, so it is not imported here)."""

    kind: str
    path: str


#: Augmentations that make a wrong label: a mirrored "/" is a "\\", a bar turned 90° is the other bar
#: (translated where shown: ``Dataset.augmentation_warnings``).
SHAPE_LABEL_CHANGES = {
    "mirror": N_("it turns 'diagonal /' into 'diagonal \\' and back, so those images get the wrong label"),
    "rotation": (20.0, N_("it turns vertical bars, horizontal bars and the two diagonals into one another")),
}
DIGIT_LABEL_CHANGES = {
    "mirror": N_("a mirrored digit is not a digit (a mirrored 2 or 7 is neither)"),
    "rotation": (30.0, N_("it turns some digits into others (6 and 9)")),
}


def load_dataset(spec: Source, input: InputSpec | tuple[int, int, int], *, val_fraction: float = 0.1,
                 seed: int = 0, synthetic_size: int = SYNTHETIC_SIZE,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, should_stop=None, use_cache: bool = True) -> Dataset:
    """Read (or draw) a dataset for a design whose input is ``input`` (C×H×W); ``spec`` is a ``DataSpec``.

    Raises ``DatasetError`` naming the file and the reason when files are missing or corrupt.
    Slow for big folders (and for the built-in shapes the first time, before they are in the cache):
    call it from a worker thread. ``should_stop``: checked while drawing; ``use_cache``: read and keep
    the built-in shapes in the user's cache folder.
    """
    shape = tuple(input.shape) if isinstance(input, InputSpec) else tuple(input)
    if spec.kind == "synthetic":
        native = native_shape(shape, synthetic_size)
        count = affordable_count(synthetic_size, native)
        images = TensorImages(*shapes_images(count, native, seed, should_stop=should_stop, use_cache=use_cache))
        train, val = random_split(images, val_fraction, seed)
        note = "" if count == synthetic_size else tr(
            "{count} of the {asked} images: at {shape} the full set would need {size} MB, more than the {budget} MB "
            "the built-in shapes may take").format(
            count=f"{count:,}", asked=f"{synthetic_size:,}", shape="×".join(map(str, native)),
            size=f"{synthetic_size * int(np.prod(native)) / (1 << 20):,.0f}", budget=MEMORY_BUDGET >> 20)
        return Dataset(SYNTHETIC_NAME, list(SHAPE_CLASSES), shape, train, val, label_changes=SHAPE_LABEL_CHANGES,
                       note=note)
    if spec.kind in ("mnist", "fashion"):
        what = "MNIST" if spec.kind == "mnist" else "Fashion-MNIST"
        train, test = (read_idx_split(spec.path, split, what) for split in ("train", "t10k"))
        classes = MNIST_CLASSES if spec.kind == "mnist" else FASHION_CLASSES
        changes = DIGIT_LABEL_CHANGES if spec.kind == "mnist" else {}
        return Dataset(what, list(classes), shape, train, test, val_is_test=True, label_changes=changes)
    if spec.kind == "cifar10":
        train, test, classes = read_cifar10(spec.path)
        return Dataset("CIFAR-10", classes, shape, train, test, val_is_test=True)
    if spec.kind == "folder":
        return load_folder(spec.path, shape, val_fraction, seed, memory_limit)
    raise DatasetError(tr("unknown data source {kind}").format(kind=repr(spec.kind)))


def source_key(spec: Source, input: InputSpec | tuple[int, int, int], *, val_fraction: float = 0.1, seed: int = 0,
               synthetic_size: int = SYNTHETIC_SIZE) -> tuple:
    """What ``load_dataset``'s images depend on. Two requests with one key share their images: the
    second needs only ``Dataset.fitted`` to the new input, not a reload (MNIST is 28×28 and the shapes
    are drawn at their native size whatever the design; a folder is decoded at the design's size)."""
    shape = tuple(input.shape) if isinstance(input, InputSpec) else tuple(input)
    kind, path = spec.kind, spec.path
    if kind == "synthetic":
        return (kind, native_shape(shape, synthetic_size), synthetic_size, val_fraction, seed)
    if kind in ("mnist", "fashion", "cifar10"):
        return (kind, path)
    return (kind, path, shape, val_fraction, seed)
