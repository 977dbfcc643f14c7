"""What a data source's images depend on (no torch: the Train tab asks before torch has loaded)."""

from __future__ import annotations

from typing import Protocol

from ..design import InputSpec
from .shapes_cache import SYNTHETIC_SIZE, native_shape


class Source(Protocol):
    """``convviz.train.DataSpec`` (data sits below train, so it is not imported here)."""

    kind: str
    path: str


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
