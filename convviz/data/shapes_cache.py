"""The built-in shapes at their own size, drawn once and kept in the user's cache folder.

The shapes are drawn at a small native size (the design's own when it is at most 64 pixels a
side and fits the budget, else 32 on the longer side) and fitted to the design per batch, as
MNIST's 28×28 or CIFAR's 32×32 are: opening ResNet-18 (3×224×224) then needs 37 MB of 3×32×32
images, not 1.8 GB drawn at 224×224, and designs of the same channels and native size share one
set. A drawn set is written (atomically) to ``<cache>/shapes-v<VERSION>-<count>-<C>x<H>x<W>-s<seed>.npy``
and read back in milliseconds by every later launch; a damaged or foreign file is drawn again.
numpy only (torch is imported by ``shapes_parts``, which returns tensors): ``cached_images`` maps a
cached set before torch has loaded, for the Train tab's first look (``first_look``).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..atomic import atomic_write
from ..i18n import tr
from .synthetic import VERSION, drawn_blocks, label_array

if TYPE_CHECKING:
    import torch

#: How many synthetic images ``load_dataset`` draws by default (training and validation together).
SYNTHETIC_SIZE = 12_000

#: Bytes the built-in set may take in memory (uint8 images); a larger request gets fewer images.
MEMORY_BUDGET = 64 << 20
#: Native sizes tried, largest first: the design's own size when it is no larger.
NATIVE_SIDES = (64, 32)
#: How much of a set is read, drawn into its parts or written at once.
BLOCK_BYTES = 4 << 20
#: Sets kept on disk (the newest); older ones and those of other generator versions are removed.
KEEP = 8


def cache_dir() -> Path:
    """``$CONVVIZ_CACHE_DIR``, else the platform's per-user cache folder (``~/.cache/convviz`` on Linux)."""
    explicit = os.environ.get("CONVVIZ_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "convviz" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "convviz"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convviz"


def native_shape(shape: tuple[int, int, int], count: int) -> tuple[int, int, int]:
    """The size the shapes are drawn at for a design whose input is ``shape`` (C×H×W)."""
    channels, height, width = shape
    for side in NATIVE_SIDES:
        scale = min(1.0, side / max(height, width))
        native = (channels, max(1, round(height * scale)), max(1, round(width * scale)))
        if count * math.prod(native) <= MEMORY_BUDGET or side == NATIVE_SIDES[-1]:
            return native
    raise AssertionError("unreachable")


def affordable_count(count: int, shape: tuple[int, int, int]) -> int:
    """``count``, or the most images (a multiple of ten, at least ten) of ``shape`` the budget holds."""
    fits = MEMORY_BUDGET // max(1, math.prod(shape))
    return count if count <= fits else max(10, fits // 10 * 10)


def smaller_set_note(count: int, asked: int, shape: tuple[int, int, int]) -> str:
    """The data summary's line when ``affordable_count`` gave fewer than the ``asked`` images; "" when not."""
    if count == asked:
        return ""
    return tr("{count} of the {asked} images: at {shape} the full set would need {size} MB, more than the {budget} MB "
              "the built-in shapes may take").format(
        count=f"{count:,}", asked=f"{asked:,}", shape="×".join(map(str, shape)),
        size=f"{asked * math.prod(shape) / (1 << 20):,.0f}", budget=MEMORY_BUDGET >> 20)


def cache_file(count: int, shape: tuple[int, int, int], seed: int) -> Path:
    c, h, w = shape
    return cache_dir() / f"shapes-v{VERSION}-{count}-{c}x{h}x{w}-s{seed}.npy"


def shapes_parts(count: int, shape: tuple[int, int, int], seed: int, parts: tuple[np.ndarray, ...],
                 should_stop=None, use_cache: bool = True) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) of the set ``make_shapes(count, *shape, seed)`` at each index array of
    ``parts`` (a training and a validation split), from the disk cache when an earlier launch drew it,
    else drawn (and cached). Read, drawn and written a block at a time: the whole set is never in
    memory beside its parts (which was the peak of opening ResNet-18 with the Train tab shown)."""
    import torch

    placed = _Placement(count, shape, parts)
    path = cache_file(count, shape, seed)
    if not (use_cache and placed.read(path)):
        for start, block in drawn_blocks(count, *shape, seed=seed, should_stop=should_stop):
            placed.put(start, block)
        if use_cache:
            placed.write(path)
    labels = label_array(0, count)
    return [(torch.from_numpy(part), torch.from_numpy(labels[index])) for part, index in zip(placed.out, parts)]


class _Placement:
    """Where each image of a set goes: which part (an index array of ``parts``) and where in it."""

    def __init__(self, count: int, shape: tuple[int, int, int], parts: tuple[np.ndarray, ...]) -> None:
        self.count, self.shape = count, tuple(shape)
        self.owner = np.full(count, -1, dtype=np.int64)
        self.slot = np.zeros(count, dtype=np.int64)
        for k, index in enumerate(parts):
            self.owner[index] = k
            self.slot[index] = np.arange(len(index))
        self.out = [np.empty((len(index), *shape), dtype=np.uint8) for index in parts]
        self.rows = max(1, BLOCK_BYTES // math.prod(shape))  # images per block read or written

    def put(self, start: int, block: np.ndarray) -> None:
        """Images ``start`` … ``start + len(block)`` of the set, each into its part."""
        owner, slot = self.owner[start:start + len(block)], self.slot[start:start + len(block)]
        for k, part in enumerate(self.out):
            mine = owner == k
            part[slot[mine]] = block[mine]

    def read(self, path: Path) -> bool:
        """Fill the parts from the cache file; False when no earlier launch drew the set (or it is damaged)."""
        mapped = _read(path, (self.count, *self.shape), mmap=True)  # the header checked, nothing read
        if mapped is None:
            return False
        offset = mapped.offset
        del mapped
        row = math.prod(self.shape)
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                for start in range(0, self.count, self.rows):
                    size = min(self.rows, self.count - start)
                    block = np.fromfile(handle, dtype=np.uint8, count=size * row)
                    if block.size != size * row:
                        return False  # cut short since its header was written: drawn again
                    self.put(start, block.reshape(size, *self.shape))
        except OSError:
            return False
        return True

    def write(self, path: Path) -> None:
        """Keep the set for the next launch, gathered back from the parts a block at a time; a cache
        that cannot be written only costs the next launch a draw."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "wb") as handle:
                np.lib.format.write_array_header_1_0(handle, {
                    "descr": np.dtype(np.uint8).str, "fortran_order": False, "shape": (self.count, *self.shape)})
                for start in range(0, self.count, self.rows):
                    owner = self.owner[start:start + self.rows]
                    slot = self.slot[start:start + self.rows]
                    block = np.empty((len(owner), *self.shape), dtype=np.uint8)
                    for k, part in enumerate(self.out):
                        mine = owner == k
                        block[mine] = part[slot[mine]]
                    handle.write(block.tobytes())
            _prune(path.parent, keep=path)
        except OSError:
            pass


def cached_images(count: int, shape: tuple[int, int, int], seed: int) -> np.ndarray | None:
    """The cached set of ``make_shapes(count, *shape, seed)`` memory-mapped (read-only: only the pages
    looked at are read), or None when no earlier launch drew it."""
    return _read(cache_file(count, shape, seed), (count, *shape), mmap=True)


def _read(path: Path, shape: tuple[int, ...], mmap: bool = False) -> np.ndarray | None:
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError, EOFError):
        return None  # absent, unreadable or damaged: drawn again
    if array.dtype != np.uint8 or array.shape != shape:
        return None
    return array


def _prune(folder: Path, keep: Path) -> None:
    sets = sorted(folder.glob("shapes-v*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)
    current = [p for p in sets if p.name.startswith(f"shapes-v{VERSION}-")]
    for path in [p for p in sets if p not in current] + current[KEEP:]:
        if path != keep:
            path.unlink(missing_ok=True)
