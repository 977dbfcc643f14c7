"""Which images are for training, which for validation, and which a preview shows: seeded numpy
permutations (PCG64: the same on every platform and for every torch version), so the Train tab can
show a split's counts and sample images from the disk cache before torch has loaded, and the
dataset torch loads afterwards has the very same split."""

from __future__ import annotations

import numpy as np

#: How the validation split is drawn, as a run records it: runs recorded before it drew with
#: ``torch.randperm`` (none recorded), so their reruns hold out other images (Compare says so).
SPLIT_METHOD = "pcg64"


def val_count(count: int, fraction: float) -> int:
    """Images held out for validation: ``fraction`` of ``count``, at least one on each side."""
    return min(max(1, round(count * fraction)), count - 1)


def split_indices(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) indices (int64) of ``count`` images: a seeded shuffle, cut at ``val_count``."""
    order = np.random.Generator(np.random.PCG64([seed, count])).permutation(count)
    held = val_count(count, fraction)
    return order[held:], order[:held]


def sample_indices(count: int, take: int, seed: int) -> np.ndarray:
    """``take`` distinct indices of ``count`` (all of them when fewer), seeded: a preview's images."""
    return np.random.Generator(np.random.PCG64(seed)).permutation(count)[:take]
