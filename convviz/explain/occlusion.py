"""Occlusion sensitivity (Zeiler & Fergus): hide one patch at a time behind grey and record how
much the target class's probability drops. Occluded copies run in batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import time

import numpy as np
import torch

from ..i18n import tr
from ..data.images import PreparedImage, normalized_value
from .cam import Prediction, prediction, probabilities
from .errors import Cancelled, ExplainError
from .hooks import as_batch
from .network import Network


@dataclass(frozen=True)
class OcclusionMap:
    #: The class whose probability is watched, with its probability on the whole image.
    target: Prediction
    #: (n_rows, n_cols) float32: baseline − probability with the patch at each position (> 0: the
    #: patch hid evidence for the class; < 0: it hid evidence against).
    drops: np.ndarray
    #: (H, W) float32, the input's size: each pixel's mean drop over the patches that cover it.
    heatmap: np.ndarray
    #: Top row / left column of each patch position, in input pixels.
    rows: np.ndarray
    cols: np.ndarray
    #: (height, width) of the patch actually used (at most the image's size).
    patch: tuple[int, int]
    stride: int

    @property
    def levels(self) -> tuple[float, float]:
        """Symmetric levels (0 in the middle of a diverging colour map)."""
        m = float(np.abs(self.heatmap).max())
        return (-m, m) if m > 0 else (-1.0, 1.0)


#: How long one batch may run: the longest a cancelled occlusion keeps working (half of the 0.5 s promised).
BATCH_SECONDS = 0.25
MAX_BATCH = 64


def default_patch(height: int, width: int) -> tuple[int, int]:
    """(patch, stride) for an input: a patch an eighth of the shorter side, moved by half a patch, so
    every input size takes about 15 × 15 positions (32×32: 4 / 2; 224×224: 28 / 14)."""
    patch = max(1, round(min(height, width) / 8))
    return patch, max(1, patch // 2)


def position_count(height: int, width: int, patch: int, stride: int) -> int:
    """How many occluded copies ``occlusion_map`` runs for these settings."""
    ph, pw = min(patch, height), min(patch, width)
    return len(_positions(height, ph, stride)) * len(_positions(width, pw, stride))


def seconds_per_image(network: Network, image: torch.Tensor | PreparedImage, batch: int = 4, repeats: int = 2) -> float:
    """The time of one image in a batched forward pass (the quickest of ``repeats`` batches of
    ``batch`` copies, after a warm-up pass): what an occlusion's estimate and batch size are made from."""
    copies = as_batch(image).repeat(batch, 1, 1, 1)
    with torch.inference_mode():
        network.model(copies[:1])
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            network.model(copies)
            times.append(time.perf_counter() - start)
    return min(times) / batch


def batch_for(per_image_s: float) -> int:
    """The batch size whose forward pass takes about ``BATCH_SECONDS``: large enough to use the
    batched kernels, small enough that a cancel lands within half a second."""
    if per_image_s <= 0:
        return MAX_BATCH
    return max(1, min(MAX_BATCH, int(BATCH_SECONDS / per_image_s)))


def occlusion_map(network: Network, image: torch.Tensor | PreparedImage, *, target: int | None = None,
                  patch: int = 8, stride: int = 4, fill: float = 0.5, batch_size: int = 32,
                  progress: Callable[[int, int], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> OcclusionMap:
    """Occlusion of ``target`` (default: the top class) by a ``patch``×``patch`` square of display
    value ``fill`` (0.5: mid-grey, normalised like the image) moved by ``stride`` pixels; the last
    row and column of positions touch the image's edges. ``progress(done, total)`` is called after
    each batch; ``should_stop()`` returning True raises ``Cancelled``."""
    if patch < 1 or stride < 1 or batch_size < 1:
        raise ExplainError(tr("patch ({patch}), stride ({stride}) and batch size ({batch_size}) must be at least 1").format(patch=patch, stride=stride, batch_size=batch_size))
    batch = as_batch(image, network.model)
    _, channels, height, width = batch.shape
    ph, pw = min(patch, height), min(patch, width)
    rows, cols = _positions(height, ph, stride), _positions(width, pw, stride)
    grey = normalized_value(fill, network.mean, network.std, channels).to(batch.device, batch.dtype)[:, None, None]
    model = network.model
    with torch.inference_mode():
        base = probabilities(network, network.scores(batch))[0]
        index = int(np.argmax(base)) if target is None else int(target)
        if not 0 <= index < base.shape[0]:
            raise ExplainError(tr("class {index} is out of range: the network has {value} classes").format(index=index, value=base.shape[0]))
        spots = [(r, c) for r in rows for c in cols]
        occluded = np.empty(len(spots), dtype=np.float32)
        copies = batch.repeat(min(batch_size, len(spots)), 1, 1, 1)  # made once, restored after each batch
        for start in range(0, len(spots), batch_size):
            if should_stop is not None and should_stop():
                raise Cancelled(tr("occlusion stopped"))
            chunk = spots[start:start + batch_size]
            for k, (r, c) in enumerate(chunk):
                copies[k, :, r:r + ph, c:c + pw] = grey
            occluded[start:start + len(chunk)] = probabilities(network, network.scores(copies[:len(chunk)]))[:, index]
            for k, (r, c) in enumerate(chunk):
                copies[k, :, r:r + ph, c:c + pw] = batch[0, :, r:r + ph, c:c + pw]
            if progress is not None:
                progress(start + len(chunk), len(spots))
    drops = (base[index] - occluded).reshape(len(rows), len(cols)).astype(np.float32)
    total = np.zeros((height, width), dtype=np.float64)
    count = np.zeros((height, width), dtype=np.int32)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            total[r:r + ph, c:c + pw] += drops[i, j]
            count[r:r + ph, c:c + pw] += 1
    heatmap = np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)
    return OcclusionMap(prediction(network, base, index), drops, heatmap, np.array(rows), np.array(cols),
                        (ph, pw), stride)


def _positions(size: int, patch: int, stride: int) -> list[int]:
    spots = list(range(0, size - patch + 1, stride))
    if spots[-1] != size - patch:
        spots.append(size - patch)
    return spots
