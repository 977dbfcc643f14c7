"""The Train tab: settings, data preview, live curves, filters and confusion matrix, a training thread."""

from .panel import TrainPanel

__all__ = ["TrainPanel"]
