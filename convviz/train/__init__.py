"""Training: the loop as plain Python (a control object for pause/stop, records as CPU copies).

``convviz.train.config`` (the settings) imports without torch, so the UI and the CLI can read
and edit settings before torch loads; the loop's names load torch on first use.
"""

from importlib import import_module

from .config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, ConfigError, DataSpec, TrainConfig
from .control import TrainControl

_LAZY = {
    "Trainer": "loop", "TrainError": "loop", "check_trainable": "loop", "train": "loop",
    "resolve_device": "devices",
    "DIVERGED": "records", "FAILED": "records", "FINISHED": "records", "STOPPED": "records", "EndRecord": "records",
    "EpochRecord": "records", "ProbeRecord": "records", "Record": "records", "SnapshotRecord": "records",
    "StartRecord": "records", "StepRecord": "records", "compute_loss": "heads",
}

__all__ = ["AMP_MODES", "DEVICES", "OPTIMIZERS", "SCHEDULES", "AugmentConfig", "ConfigError", "DataSpec",
           "TrainConfig", "TrainControl", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
