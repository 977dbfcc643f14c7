"""Training: the loop as plain Python (a control object for pause/stop, records as CPU copies)."""

from .config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, ConfigError, DataSpec, TrainConfig
from .control import TrainControl
from .devices import resolve_device
from .loop import Trainer, TrainError, check_trainable, train
from .records import (FAILED, FINISHED, STOPPED, EndRecord, EpochRecord, Record, SnapshotRecord, StartRecord,
                      StepRecord)

__all__ = ["AMP_MODES", "DEVICES", "FAILED", "FINISHED", "OPTIMIZERS", "SCHEDULES", "STOPPED", "AugmentConfig",
           "ConfigError", "DataSpec", "EndRecord", "EpochRecord", "Record", "SnapshotRecord", "StartRecord",
           "StepRecord", "TrainConfig", "TrainControl", "TrainError", "Trainer", "check_trainable",
           "resolve_device", "train"]
