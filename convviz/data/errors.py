"""The data layer's one failure family (no torch: the Train tab's first look raises it too)."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset that cannot be used: names the file and the reason, in one line."""
