"""Batches on the training device, and what turns a uint8 batch into the model's input.

In-memory splits move to the device once as uint8 (a quarter of float32's size) and each epoch
is a permutation drawn and applied there: no host work per step. File splits stream through a
``DataLoader`` whose workers decode images, with pinned memory and asynchronous copies on CUDA.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

from .augment import augment
from .dataset import DatasetError, FileImages, Split, TensorImages, conform

if TYPE_CHECKING:
    from ..train.config import AugmentConfig

Batch = tuple[torch.Tensor, torch.Tensor]


class DeviceBatches:
    """A split held on ``device`` as uint8, sliced (in a fresh seeded order each epoch when shuffling) there."""

    def __init__(self, split: TensorImages, batch_size: int, device: torch.device, *, shuffle: bool,
                 generator: torch.Generator | None = None) -> None:
        self.images = split.images.to(device)
        self.labels = split.labels.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        count = len(self.labels)
        if self.shuffle and count >= self.batch_size:  # training drops the ragged last batch
            return count // self.batch_size
        return math.ceil(count / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        size = self.batch_size
        if not self.shuffle:
            for i in range(len(self)):
                yield self.images[i * size:(i + 1) * size], self.labels[i * size:(i + 1) * size]
            return
        order = torch.randperm(len(self.labels), device=self.labels.device, generator=self.generator)
        for i in range(len(self)):
            index = order[i * size:(i + 1) * size]
            yield self.images.index_select(0, index), self.labels.index_select(0, index)


class StreamBatches:
    """A split of image files decoded by ``DataLoader`` workers (started each epoch), one batch at a time."""

    def __init__(self, split: FileImages, batch_size: int, device: torch.device, *, shuffle: bool, seed: int = 0,
                 workers: int | None = None) -> None:
        workers = min(4, max(1, (os.cpu_count() or 1) - 1)) if workers is None else workers
        self.device = device
        self.loader = torch.utils.data.DataLoader(
            split, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle and len(split) >= batch_size,
            num_workers=workers, pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(seed),
            collate_fn=collate_images,
            # A packaged app cannot fork itself into workers: they start fresh (freeze_support in the CLI).
            multiprocessing_context="spawn" if getattr(sys, "frozen", False) and workers else None)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Batch]:
        batches = iter(self.loader)
        try:
            for batch in batches:
                if batch is None:  # every file of this batch failed to decode: skipped like each of them
                    continue
                images, labels = batch
                # Asynchronous copies only from pinned memory, which only CUDA gets (on MPS, a non-blocking
                # copy from pageable memory can deliver wrong values).
                fast = self.device.type == "cuda"
                yield images.to(self.device, non_blocking=fast), labels.to(self.device, non_blocking=fast)
        finally:
            # Workers end with the epoch, and when it is cut short (an error, a stop) they end here, now:
            # left to the garbage collector, their shutdown can stall whichever thread it runs in for seconds.
            getattr(batches, "_shutdown_workers", lambda: None)()


def make_batches(split: Split, batch_size: int, device: torch.device, *, shuffle: bool, seed: int = 0,
                 workers: int | None = None) -> DeviceBatches | StreamBatches:
    if isinstance(split, TensorImages):
        generator = torch.Generator(device=device).manual_seed(seed) if shuffle else None
        return DeviceBatches(split, batch_size, device, shuffle=shuffle, generator=generator)
    return StreamBatches(split, batch_size, device, shuffle=shuffle, seed=seed, workers=workers)


class Preprocess:
    """A uint8 batch → the model's input: float, fitted to the design, augmented when training, normalised.

    Without fitting or augmentation it is two kernels: a cast and one fused multiply-add.
    """

    def __init__(self, shape: Sequence[int], mean: Sequence[float], std: Sequence[float], device: torch.device,
                 augment_config: AugmentConfig | None = None, seed: int = 0) -> None:
        self.shape = tuple(shape)
        std_t = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.mean, self.std = mean_t, std_t
        self.scale, self.shift = 1 / (255 * std_t), -mean_t / std_t   # (x/255 − mean)/std = x·scale + shift
        self.augment_config = augment_config if augment_config is not None and augment_config.enabled else None
        self.generator = torch.Generator(device=device).manual_seed(seed) if self.augment_config else None

    def __call__(self, images: torch.Tensor, train: bool) -> torch.Tensor:
        augmenting = train and self.augment_config is not None
        if not augmenting and tuple(images.shape[1:]) == self.shape:
            return torch.addcmul(self.shift, images.float(), self.scale)
        x = conform(images.float().div_(255), self.shape)
        if augmenting:
            x = augment(x, self.augment_config, self.generator)
        return (x - self.mean) / self.std


def collate_images(items: list) -> Batch | None:
    """A batch of the files that decoded (see ``FileImages``): one whose pixels fail although its
    header passed the check at load is left out, as the check would have left it out; None when
    none of them decoded."""
    images = [item for item in items if not isinstance(item, DatasetError)]
    return torch.utils.data.default_collate(images) if images else None
