"""What a run's weights started from, kept in its manifest and index row ("start"):

    {"kind": "fresh"}                                  seeded from the run's seed
    {"kind": "same-start", "run": ID}                  the initial weights run ID started from (a rerun)
    {"kind": "continued", "run": ID}                   the weights run ID ended with (trained further)
    {"kind": "checkpoint", "path": PATH}               a checkpoint's weights (``convviz train --init``, File ▸ Open)
    {"kind": "weights"}                                the design's weights of another origin (an import)

Only the layers that fit take the given weights; the others start seeded, as a fresh run's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..i18n import tr

FRESH, SAME_START, CONTINUED, CHECKPOINT, WEIGHTS = "fresh", "same-start", "continued", "checkpoint", "weights"
KINDS = (FRESH, SAME_START, CONTINUED, CHECKPOINT, WEIGHTS)


def fresh() -> dict[str, Any]:
    return {"kind": FRESH}


def same_start(run_id: str) -> dict[str, Any]:
    return {"kind": SAME_START, "run": run_id}


def continued(run_id: str) -> dict[str, Any]:
    return {"kind": CONTINUED, "run": run_id}


def checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    return {"kind": CHECKPOINT, "path": os.path.abspath(os.fspath(path))}


def other_weights() -> dict[str, Any]:
    return {"kind": WEIGHTS}


def normalized(start: Any, parent: str | None = None) -> dict[str, Any]:
    """A start as stored (older runs have only ``parent``; anything malformed reads as fresh)."""
    if isinstance(start, dict) and start.get("kind") in KINDS:
        return {k: str(v) for k, v in start.items() if isinstance(v, str)}
    return same_start(parent) if parent else fresh()


def describe(start: dict[str, Any], seed: int, number_of: Callable[[str], str]) -> str:
    """In words, for the comparison: "fresh (seed 0)", "the same start as #3", "continued from #3",
    "from the checkpoint model.pt". ``number_of(run_id)`` names a run ("3")."""
    kind = start.get("kind")
    if kind == SAME_START:
        return tr("the same start as #{number}").format(number=number_of(start.get("run", "")))
    if kind == CONTINUED:
        return tr("continued from #{number}").format(number=number_of(start.get("run", "")))
    if kind == CHECKPOINT:
        return tr("from the checkpoint {file}").format(file=os.path.basename(start.get("path", "")))
    if kind == WEIGHTS:
        return tr("from the design's weights")
    return tr("fresh (seed {seed})").format(seed=seed)
