"""What the store's queries return: plain dataclasses of numbers, text and numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..design import Design
from ..i18n import N_, tr
from ..train.config import TrainConfig

#: A run's status: the training loop's reasons, plus RUNNING (in a live process) and INTERRUPTED (its
#: process ended without finishing it: killed, crashed, the machine went down).
RUNNING, INTERRUPTED = "running", "interrupted"
STATUSES = (RUNNING, "finished", "stopped", "diverged", "failed", INTERRUPTED)
_STATUS_LABELS = {RUNNING: N_("running"), "finished": N_("finished"), "stopped": N_("stopped"),
                  "diverged": N_("diverged"), "failed": N_("failed"), INTERRUPTED: N_("interrupted")}


def status_label(status: str) -> str:
    return tr(_STATUS_LABELS.get(status, status))


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs table: everything the list shows and sorts by, without touching a run's files."""

    id: str                       # the run's folder name: unique, sortable by time
    number: int                   # short and stable, for the CLI: ``convviz runs show 12``
    name: str
    created: float                # Unix time
    status: str                   # one of STATUSES
    message: str
    design_name: str
    lineage: str
    fingerprint: str
    dataset: str                  # one line: "synthetic shapes · 500 of 10,800 training images"
    epochs: int                   # planned
    epochs_done: int
    best_epoch: int               # 0: no epoch completed
    best_val_acc: float | None
    params: int
    macs: int
    receptive_field: str
    seconds: float
    samples_per_s: float
    device: str
    starred: bool = False
    note: str = ""
    parent: str | None = None     # the run whose initial weights this one started from
    start: dict[str, Any] = field(default_factory=dict)   # what the weights started from (``runs.start``)
    data: dict[str, Any] = field(default_factory=dict)    # the dataset as recorded: name, spec, sizes, classes

    @property
    def label(self) -> str:
        """"#12 name": how messages name a run."""
        return f"#{self.number} {self.name}"


@dataclass(frozen=True)
class RunDetail:
    """A run's summary with what it was made from: design, settings, data, normalisation."""

    summary: RunSummary
    design: Design
    config: TrainConfig
    dataset: dict[str, Any]
    mean: list[float]
    std: list[float]
    classes: list[str]
    gradient_layers: tuple[str, ...] = ()
    steps_per_epoch: int = 0

    @property
    def id(self) -> str:
        return self.summary.id


@dataclass(frozen=True)
class RunCurves:
    """A run's curves for the plots: per report (x in epochs) and per epoch."""

    run_id: str
    step_x: np.ndarray            # global step / steps per epoch
    step_loss: np.ndarray
    step_acc: np.ndarray          # 0…1
    step_lr: np.ndarray
    epoch: np.ndarray             # 1, 2, …
    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    epoch_lr: np.ndarray
    confusion: list[np.ndarray] = field(default_factory=list)   # per epoch, K×K int64

    @property
    def empty(self) -> bool:
        return len(self.step_x) == 0 and len(self.epoch) == 0


@dataclass(frozen=True)
class GradientHistory:
    """Per reported step (rows) and layer (columns): gradient norm and update-to-weight ratio."""

    layers: tuple[str, ...]
    x: np.ndarray                 # epochs, as in the curves
    grad_norm: np.ndarray         # float32 T×L
    update_ratio: np.ndarray      # float32 T×L

    @property
    def empty(self) -> bool:
        return len(self.x) == 0
