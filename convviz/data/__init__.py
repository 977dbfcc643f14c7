"""Datasets, user images and augmentation (torch, no Qt).

The names load their modules on first use: ``convviz.data.first_look`` (and ``splits``, ``keys``,
``shapes_cache``, ``synthetic``) import without torch, so the Train tab can show the built-in data
while torch is still loading.
"""

import sys
import types
from importlib import import_module

_LAZY = {
    "augment": "augment", "preview_augmentation": "augment",
    "DeviceBatches": "batches", "Preprocess": "batches", "StreamBatches": "batches", "collate_images": "batches",
    "make_batches": "batches",
    "CIFAR10_CLASSES": "cifar",
    "Dataset": "dataset", "FileImages": "dataset", "TensorImages": "dataset", "balanced_subset": "dataset",
    "conform": "dataset",
    "DatasetError": "errors",
    "DownloadError": "download", "download_dataset": "download",
    "FirstLook": "first_look", "first_look": "first_look",
    "read_image": "folder",
    "FASHION_CLASSES": "idx", "MNIST_CLASSES": "idx",
    "load_dataset": "sources",
    "source_key": "keys",
    "SYNTHETIC_SIZE": "shapes_cache",
    "SHAPE_CLASSES": "synthetic", "make_shapes": "synthetic",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # asked once
    return value


class _Package(types.ModuleType):
    """``convviz.data.augment`` is the function, as it was when this package imported it eagerly: importing
    the submodule of that name (``batches`` does) must not put the module in its place."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
