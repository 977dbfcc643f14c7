"""Datasets, user images and augmentation (torch, no Qt)."""

from .augment import augment, preview_augmentation
from .batches import DeviceBatches, Preprocess, StreamBatches, collate_images, make_batches
from .cifar import CIFAR10_CLASSES
from .dataset import Dataset, DatasetError, FileImages, TensorImages, balanced_subset, conform
from .download import DownloadError, download_dataset
from .folder import read_image
from .idx import FASHION_CLASSES, MNIST_CLASSES
from .sources import SYNTHETIC_SIZE, load_dataset, source_key
from .synthetic import SHAPE_CLASSES, make_shapes

__all__ = [
    "CIFAR10_CLASSES", "FASHION_CLASSES", "MNIST_CLASSES", "SHAPE_CLASSES", "SYNTHETIC_SIZE",
    "Dataset", "DatasetError", "DeviceBatches", "DownloadError", "FileImages", "Preprocess", "StreamBatches",
    "TensorImages", "augment", "balanced_subset", "collate_images", "conform", "download_dataset", "load_dataset",
    "make_batches", "make_shapes", "source_key",
    "preview_augmentation", "read_image",
]
