"""A dataset as the training loop sees it: class names, a training and a validation split.

A split is either ``TensorImages`` (uint8 tensors in memory, at the source's own size: small
datasets, batched on the training device) or ``FileImages`` (image files decoded on demand at the
design's size: large folders, streamed through a ``DataLoader``). ``conform`` fits a batch of
either to the design's channels and size, on whatever device the batch is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..i18n import ntr, tr
from ..train.config import dataset_title
from .errors import DatasetError
from .fitting import LUMA, centre_crop_box
from .splits import sample_indices, split_indices

#: Training images the normalisation statistics are estimated from, and how many bytes of them, as
#: floats at the design's size, are fitted at once (at 3×224×224: 6 images a slice).
_STATS_SAMPLE = 2000
_STATS_SLICE_BYTES = 4 << 20


@dataclass(frozen=True)
class Skipped:
    """A file left out of a dataset because it cannot be read: its path (relative to the dataset's
    folder) and why, in one line."""

    path: str
    reason: str


@dataclass(frozen=True)
class TensorImages:
    """Images as uint8 N×C×h×w (at the source's size) and int64 labels, in memory."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> TensorImages:
        return TensorImages(self.images[index], self.labels[index])

    def take(self, index: torch.Tensor) -> torch.Tensor:
        return self.images[index]


class FileImages(torch.utils.data.Dataset):
    """Image files decoded (and fitted to ``shape`` = C×H×W) one at a time: for ``DataLoader`` workers.

    An unreadable file comes back as its ``DatasetError`` instead of an image, so a worker never
    raises (torch would re-raise it with the worker's traceback folded into the message); the
    batch leaves it out (``batches.collate_images``).
    """

    def __init__(self, paths: list[Path], labels: list[int], shape: tuple[int, int, int]) -> None:
        self.paths = list(paths)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.shape = tuple(shape)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int] | DatasetError:
        try:
            return self.read(i), int(self.labels[i])
        except DatasetError as exc:
            return exc

    def read(self, i: int) -> torch.Tensor:
        from .folder import read_image  # here, not at the top: folder builds on this module

        return torch.from_numpy(read_image(self.paths[i], self.shape))

    def subset(self, index: torch.Tensor) -> FileImages:
        return FileImages([self.paths[i] for i in index.tolist()], self.labels[index].tolist(), self.shape)

    def take(self, index: torch.Tensor) -> torch.Tensor:
        """The images at ``index`` (statistics, previews); one that fails to decode reads as black."""
        return torch.stack([self._read_or_black(i) for i in index.tolist()])

    def _read_or_black(self, i: int) -> torch.Tensor:
        try:
            return self.read(i)
        except DatasetError:
            return torch.zeros(self.shape, dtype=torch.uint8)


Split = TensorImages | FileImages


@dataclass
class Dataset:
    """What ``load_dataset`` returns: the UI shows ``name`` and sets ``classes`` on the design."""

    name: str
    classes: list[str]
    shape: tuple[int, int, int]       # the design's input, C×H×W: what ``conform`` fits images to
    train: Split
    val: Split
    val_is_test: bool = False         # the dataset's own test set (else a split of the training images)
    #: Augmentations that change what a label means here: "mirror" → why, "rotation" → (degrees, why).
    label_changes: dict = field(default_factory=dict)
    #: One line for the data summary when the set is not what was asked for (fewer images, to fit memory).
    note: str = ""
    #: Files left out because they cannot be read (an image folder's truncated JPEG, …).
    skipped: tuple[Skipped, ...] = ()
    _stats: tuple[list[float], list[float]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def title(self) -> str:
        """``name`` as the user reads it (``dataset_title``)."""
        return dataset_title(self.name)

    def skipped_note(self, shown: int = 3) -> str:
        """One line for the data summary: how many files were left out, and which; "" when none."""
        if not self.skipped:
            return ""
        count = len(self.skipped)
        names = ", ".join(s.path for s in self.skipped[:shown]) + (
            tr(" and {count} more").format(count=count - shown) if count > shown else "")
        return ntr("skipped {count} unreadable file: {names}", "skipped {count} unreadable files: {names}",
                   count).format(count=count, names=names)

    def fitted(self, shape: tuple[int, int, int]) -> Dataset:
        """The same images for a design whose input is ``shape`` (batches are fitted as they are made)."""
        shape = tuple(shape)
        return self if shape == self.shape else replace(self, shape=shape)

    def augmentation_warnings(self, augment) -> list[str]:
        """What ``augment`` (an ``AugmentConfig``) would do to the labels of this dataset, one line each."""
        warnings = []
        if augment.mirror and "mirror" in self.label_changes:
            warnings.append(tr("mirroring: {why}").format(why=tr(self.label_changes["mirror"])))
        limit = self.label_changes.get("rotation")
        if limit is not None and augment.rotation > limit[0]:
            warnings.append(tr("rotation above {degrees}°: {why}").format(degrees=f"{limit[0]:g}", why=tr(limit[1])))
        return warnings

    def mean_std(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images (0…1 scale), from up to 2000 of them."""
        if self._stats is None:
            count = min(len(self.train), _STATS_SAMPLE)
            index = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(0))[:count]
            channels = self.shape[0]
            total = torch.zeros(channels, dtype=torch.float64)
            squares = torch.zeros(channels, dtype=torch.float64)
            values = 0
            # In slices, fitted to the design's size as training sees them: 2000 images at 3×224×224 are
            # 1.2 GB of floats at once; 64 of them with their squares in float64 were 190 MB, the peak
            # of opening ResNet-18 with the Train tab shown. The sums are float64, the squares not.
            per_slice = max(1, _STATS_SLICE_BYTES // (4 * math.prod(self.shape)))
            for part in index.split(per_slice):
                x = conform(self.train.take(part).float().div_(255), self.shape).transpose(0, 1).reshape(channels, -1)
                total += x.sum(1, dtype=torch.float64)
                squares += x.square_().sum(1, dtype=torch.float64)
                values += x.shape[1]
            mean = total / values
            var = (squares - values * mean.square()) / max(1, values - 1)
            self._stats = (mean.tolist(), var.clamp(min=0).sqrt().clamp(min=1e-3).tolist())
        return self._stats

    def sample_images(self, count: int, seed: int = 0, split: str = "train") -> np.ndarray:
        """``count`` random images at the design's size (uint8 N×C×H×W): the augmentation preview's input."""
        return self.samples(count, seed, split)[0]

    def samples(self, count: int, seed: int = 0, split: str = "train") -> tuple[np.ndarray, list[str]]:
        """``count`` random images at the design's size (uint8 N×C×H×W) and their class names."""
        images = self.val if split == "val" else self.train
        index = torch.from_numpy(sample_indices(len(images), count, seed))
        x = conform(images.take(index).float(), self.shape)
        names = [self.classes[int(i)] for i in images.labels[index]]
        return x.round_().clamp_(0, 255).to(torch.uint8).numpy(), names


def conform(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """A float batch (N×c×h×w) with the design's channels and size: grey ↔ RGB, a centred crop to the
    input's aspect ratio, then an antialiased bilinear resize — the fit ``images.fit_image`` gives one
    user image, so a view explains the pixels training saw."""
    channels, height, width = shape
    if x.shape[1] != channels:
        if x.shape[1] == 1:
            x = x.expand(-1, channels, -1, -1)
        elif channels == 1 and x.shape[1] == 3:
            x = torch.einsum("nchw,c->nhw", x, x.new_tensor(LUMA)).unsqueeze(1)
        else:
            raise DatasetError(tr("cannot turn {have}-channel images into {want}-channel ones: give the design 1 or "
                                  "3 input channels").format(have=x.shape[1], want=channels))
    if tuple(x.shape[-2:]) != (height, width):
        left, top, right, bottom = centre_crop_box((x.shape[-1], x.shape[-2]), (width, height))
        x = x[..., top:bottom, left:right]
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return x


def balanced_subset(images: Split, count: int, seed: int) -> Split:
    """``count`` images drawn (seeded) with the classes as even as the split allows: "train on only N
    images" still shows every class. The whole split when ``count`` is 0 or not smaller."""
    total = len(images)
    if count <= 0 or count >= total:
        return images
    labels = images.labels
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    # Each image's rank among the images of its class, in the shuffled order: take rank 0 of every
    # class first, then rank 1, … (ties by the shuffled position).
    shuffled = labels[order]
    rank = torch.empty(total, dtype=torch.int64)
    for value in shuffled.unique():
        where = (shuffled == value).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    chosen = order[torch.argsort(rank * total + torch.arange(total), stable=True)[:count]]
    return images.subset(chosen.sort().values)


def random_split(images: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """(train, validation): a seeded shuffle, with at least one image on each side (``splits.split_indices``,
    numpy: the Train tab shows a split before torch has loaded)."""
    count = len(images)
    if count < 2:
        raise DatasetError(ntr("{count} image cannot be split into training and validation sets",
                               "{count} images cannot be split into training and validation sets", count).format(
            count=count))
    train, val = split_indices(count, fraction, seed)
    return images.subset(torch.from_numpy(train)), images.subset(torch.from_numpy(val))
