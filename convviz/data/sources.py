"""``load_dataset``: a ``DataSpec`` (synthetic, mnist:DIR, fashion:DIR, cifar10:DIR, folder:DIR) → ``Dataset``."""

from __future__ import annotations

from ..design import InputSpec
from ..i18n import N_, tr
from ..train.config import SYNTHETIC_NAME
from .cifar import read_cifar10
from .dataset import Dataset, DatasetError, TensorImages
from .folder import DEFAULT_MEMORY_LIMIT, load_folder
from .idx import FASHION_CLASSES, MNIST_CLASSES, read_idx_split
from .keys import Source, source_key
from .shapes_cache import SYNTHETIC_SIZE, affordable_count, native_shape, shapes_parts, smaller_set_note
from .splits import split_indices
from .synthetic import SHAPE_CLASSES

__all__ = ["DIGIT_LABEL_CHANGES", "SHAPE_LABEL_CHANGES", "SYNTHETIC_SIZE", "Source", "load_dataset", "source_key"]

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
        split = split_indices(count, val_fraction, seed)  # as random_split cuts a set in memory
        train, val = (TensorImages(*part) for part in shapes_parts(count, native, seed, split,
                                                                  should_stop=should_stop, use_cache=use_cache))
        return Dataset(SYNTHETIC_NAME, list(SHAPE_CLASSES), shape, train, val, label_changes=SHAPE_LABEL_CHANGES,
                       note=smaller_set_note(count, synthetic_size, native))
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
