"""What a training run reports, as plain dataclasses of numbers and numpy/CPU copies (never live tensors),
so the UI thread may keep and show them while training goes on."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..design import Design

#: Why a run ended. DIVERGED: the validation loss rose far above its best while the accuracy fell to chance.
FINISHED, STOPPED, FAILED, DIVERGED = "finished", "stopped", "failed", "diverged"


@dataclass(frozen=True)
class StartRecord:
    """First record: what the run is about to do (``notes`` say where a setting could not be honoured)."""

    device: str                    # "cpu", "cuda:0 (NVIDIA …)", "mps"
    amp: str                       # the precision actually used: "off", "bf16" or "fp16"
    epochs: int
    steps_per_epoch: int
    train_size: int
    val_size: int
    classes: tuple[str, ...]
    parameters: int
    carried: tuple[str, ...]       # node ids that kept their weights from the initial state_dict
    snapshot_node: str | None      # the conv layer whose weights SnapshotRecords carry
    notes: tuple[str, ...] = ()
    #: The nodes with parameters, in execution order: the rows of ``StepRecord.gradients``.
    gradient_layers: tuple[str, ...] = ()
    #: The weights the run starts from (CPU copies, after carry-over): "train again from the same start".
    state: OrderedDict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    #: (mean, std) per channel the run normalises its inputs with; None: it does not normalise.
    normalization: tuple[list[float], list[float]] | None = None


@dataclass(frozen=True)
class StepRecord:
    """Training progress, at most ``report_rate`` times a second; loss and accuracy are the means over the
    steps since the previous StepRecord (accuracy as a fraction, 0…1)."""

    epoch: int                     # 1-based
    step: int                      # 1-based within the epoch
    steps_per_epoch: int
    global_step: int
    total_steps: int
    loss: float
    accuracy: float
    lr: float
    samples_per_s: float
    eta_s: float                   # seconds to the end of the run at the speed so far
    #: A design with several heads: each head's loss (main first; ``loss`` is their weighted sum).
    head_losses: tuple[float, ...] = ()
    #: float32 L×2 for the ``StartRecord.gradient_layers``, measured on one step since the previous
    #: StepRecord: column 0 the gradient norm, column 1 the update-to-weight ratio ‖Δw‖ / ‖w‖.
    #: None when no step was measured (gradient statistics off).
    gradients: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's results; accuracies are fractions (0…1)."""

    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    confusion: np.ndarray          # int64 K×K: rows are the true class, columns the prediction
    per_class_acc: np.ndarray      # float64 K: NaN for a class with no validation images
    best_epoch: int                # highest validation accuracy so far (the earliest on a tie)
    best_val_acc: float
    lr: float
    samples_per_s: float           # training images per second over the epoch (validation excluded)
    seconds: float                 # the epoch's training time (validation excluded, as in samples_per_s)
    #: The weights after this epoch (CPU copies), so the app's views can follow a run epoch by epoch.
    state: OrderedDict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    #: A design with several heads: their node ids (main first) and each one's training and validation
    #: loss (``train_loss``, ``val_loss``: the weighted sums trained on); accuracies are the main head's.
    heads: tuple[str, ...] = ()
    head_losses: tuple[float, ...] = ()
    val_head_losses: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The scalars (the CLI's ``--json`` lines and the checkpoint's history)."""
        heads = {"heads": {name: {"train_loss": train, "val_loss": val} for name, train, val in
                           zip(self.heads, self.head_losses, self.val_head_losses)}} if self.heads else {}
        return {"epoch": self.epoch, "epochs": self.epochs, "train_loss": self.train_loss,
                "train_acc": self.train_acc, "val_loss": self.val_loss, "val_acc": self.val_acc,
                "best_epoch": self.best_epoch, "lr": self.lr, "samples_per_s": self.samples_per_s,
                "seconds": self.seconds, **heads}


@dataclass(frozen=True)
class SnapshotRecord:
    """A copy of one conv layer's weights (float32 out×in/groups×kh×kw), at most ``snapshot_rate`` a second."""

    epoch: int
    step: int
    global_step: int
    node_id: str
    weights: np.ndarray


@dataclass(frozen=True)
class ProbeRecord:
    """What the run's probe (``Trainer(probe=...)``) computed at one of its evenly spread steps: ``data`` is
    whatever the probe returns (the run store's replay snapshot), made from the model at ``global_step``."""

    epoch: int
    step: int
    global_step: int
    data: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class EndRecord:
    """Last record: why the run ended and what it produced (CPU tensors, ready for a checkpoint).

    ``Checkpoint(end.design, end.state_dict, Preprocessing(end.mean, end.std), end.training)`` saves it.
    """

    reason: str                    # FINISHED, STOPPED, DIVERGED or FAILED
    message: str                   # one line; for FAILED and DIVERGED, what went wrong and what to do
    design: Design                 # the frozen copy trained, with the dataset's class names
    state_dict: OrderedDict[str, torch.Tensor]
    mean: list[float]
    std: list[float]
    epochs_completed: int
    best_epoch: int                # 0 when no epoch completed
    best_val_acc: float
    history: tuple[EpochRecord, ...]
    seconds: float
    training: dict[str, Any] = field(default_factory=dict)   # {"config": TrainConfig.to_dict(), "results": {...}}
    #: The weights of the best epoch (highest validation accuracy, CPU copies); None when no epoch completed.
    best_state_dict: OrderedDict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.reason not in (FAILED, DIVERGED)


Record = StartRecord | StepRecord | EpochRecord | SnapshotRecord | ProbeRecord | EndRecord
