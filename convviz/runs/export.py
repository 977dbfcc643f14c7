"""A run as a checkpoint: the ``training`` record File ▸ Export writes after a run in the app, rebuilt
from the store (``convviz runs export``, and the app's export of a run it did not train itself)."""

from __future__ import annotations

from typing import Any

from ..export.checkpoint import INITIAL_WEIGHTS
from .results import RunCurves, RunDetail


def checkpoint_training(detail: RunDetail, curves: RunCurves, weights: str = "best") -> dict[str, Any]:
    """``{"config": …, "results": …}`` as ``EndRecord.training`` has it, plus the run's id and which of
    its weights the checkpoint holds ("initial" ones are marked as never trained)."""
    run = detail.summary
    history, best, best_epoch = [], -1.0, 0
    for i, epoch in enumerate(curves.epoch):
        if curves.val_acc[i] > best:
            best, best_epoch = float(curves.val_acc[i]), int(epoch)
        history.append({"epoch": int(epoch), "epochs": run.epochs, "train_loss": float(curves.train_loss[i]),
                        "train_acc": float(curves.train_acc[i]), "val_loss": float(curves.val_loss[i]),
                        "val_acc": float(curves.val_acc[i]), "best_epoch": best_epoch, "lr": float(curves.epoch_lr[i])})
    results = {"reason": run.status, "message": run.message, "dataset": detail.dataset.get("name", ""),
               "epochs_completed": run.epochs_done, "best_epoch": run.best_epoch,
               "best_val_acc": run.best_val_acc or 0.0, "device": run.device, "seconds": run.seconds,
               "history": history, "run": run.id,
               "saved_epoch": run.best_epoch if weights == "best" else (run.epochs_done if weights == "last" else 0)}
    training: dict[str, Any] = {"config": detail.config.to_dict(), "results": results}
    if weights == "initial":
        training["weights"] = INITIAL_WEIGHTS
        training["seed"] = detail.config.seed
    return training
