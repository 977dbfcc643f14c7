"""Export and import: checkpoints, readable PyTorch source, torch.export, ONNX, torch.fx import.

The torchrun/DDP training-script export will live here too (``training_script``), beside
``export_to`` rather than inside it: it ends in ``.py`` like the module source.
"""

from .checkpoint import (
    Checkpoint,
    CheckpointError,
    Preprocessing,
    load_checkpoint,
    model_with_weights,
    restore_model,
    save_checkpoint,
)
from .formats import EXPORT_FORMATS, export_format, export_to, weights_path
from .fx_import import ImportIssue, ImportResult, ModuleImportError, import_module, import_python_file, load_module
from .metadata import PT2_METADATA_FILE, inference_metadata
from .program import ONNX_INSTALL, ExportError, export_program, onnx_opsets, require_onnx
from .pysource import module_source, py_string, source_class_name

__all__ = [
    "EXPORT_FORMATS", "ONNX_INSTALL", "PT2_METADATA_FILE",
    "Checkpoint", "CheckpointError", "ExportError", "ImportIssue", "ImportResult", "ModuleImportError",
    "Preprocessing",
    "export_format", "export_program", "export_to", "import_module", "import_python_file", "inference_metadata",
    "load_checkpoint",
    "load_module", "model_with_weights", "module_source", "onnx_opsets", "py_string", "require_onnx", "restore_model",
    "save_checkpoint", "source_class_name", "weights_path",
]
