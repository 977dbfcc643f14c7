"""Training: the loop as plain Python (a control object for pause/stop, records as CPU copies)."""

from .config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, ConfigError, DataSpec, TrainConfig

__all__ = ["AMP_MODES", "DEVICES", "OPTIMIZERS", "SCHEDULES", "AugmentConfig", "ConfigError", "DataSpec",
           "TrainConfig"]
