"""Export and import: checkpoints, readable PyTorch source, torch.export, ONNX, torchrun scripts."""

from .checkpoint import Checkpoint, CheckpointError, Preprocessing, load_checkpoint, save_checkpoint

__all__ = ["Checkpoint", "CheckpointError", "Preprocessing", "load_checkpoint", "save_checkpoint"]
