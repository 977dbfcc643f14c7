"""One entry point for every export format, chosen by the file's extension.

The torchrun/DDP training script is not here: it ends in ``.py`` too, so it gets its own
function (``convviz.export.training_script``, built on the training loop) and its own menu item.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..analysis import analyze
from ..i18n import N_, tr
from ..atomic import atomic_write_text
from ..design import Design
from .checkpoint import Preprocessing, exported_checkpoint, save_checkpoint
from .metadata import inference_metadata
from .program import ExportError, require_onnx, save_onnx, save_program
from .pysource import module_source

#: Extension → what the file is, in menu order (a file dialog's filters come from here).
EXPORT_FORMATS: dict[str, str] = {
    ".pt": N_("convviz checkpoint: design, weights, classes and preprocessing"),
    ".py": N_("PyTorch source: one nn.Module, with its weights (.pt) beside it"),
    ".pt2": N_("torch.export program with a dynamic batch size"),
    ".onnx": N_("ONNX model with a dynamic batch size (needs convviz[onnx])"),
}


def export_format(path: str | os.PathLike) -> str:
    """The format ``path`` asks for (its extension), or ``ExportError`` naming the ones there are."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ExportError(tr("{name}: cannot export to {what}; use {formats}").format(
            name=Path(path).name, what=suffix or tr("a file without an extension"), formats=", ".join(EXPORT_FORMATS)))
    return suffix


def weights_path(source_path: str | os.PathLike) -> Path:
    """Where the weights of an exported ``.py`` go: beside it, same name, ``.pt``."""
    return Path(source_path).with_suffix(".pt")


def export_to(path: str | os.PathLike, design: Design, state_dict: Mapping[str, torch.Tensor] | None = None, *,
              preprocessing: Preprocessing | None = None, training: dict[str, Any] | None = None,
              seed: int = 0, with_weights: bool = True, opset: int | None = None,
              aux_heads: bool = False) -> list[Path]:
    """Write ``design`` (with ``state_dict``, or weights initialised from ``seed``) to ``path``.

    The format follows the extension (``EXPORT_FORMATS``). Every format carries the
    preprocessing: the ``.py`` defines ``MEAN``, ``STD`` and ``preprocess()``; ``.onnx`` and
    ``.pt2`` hold ``inference_metadata`` (classes, mean, std, input layout). ``opset`` is the
    ONNX opset (None: the exporter's default). A ``.py`` also writes its weights to
    ``weights_path(path)`` unless ``with_weights`` is False. Returns the files written, each
    written atomically. Raises ``ExportError``, ``CheckpointError`` (weights that do not fit),
    ``ModelBuildError`` (a design with errors, naming the node) or ``OSError``; all ValueErrors
    but the last, each with a one-line message. Takes seconds for ``.pt2``/``.onnx``: run it
    in a worker thread.

    A design with auxiliary heads is exported for inference, as torchvision's GoogLeNet behaves in
    eval mode: ``.pt2`` and ``.onnx`` compute the main head only, the ``.py`` returns the others in
    training mode only; ``aux_heads`` makes all of them return every head, main first. A ``.pt``
    always holds the whole design and all its weights.
    """
    target = Path(path)
    kind = export_format(target)
    if kind == ".onnx":
        require_onnx()
    analysis = analyze(design)
    all_heads = aux_heads and kind in (".pt2", ".onnx")
    model, checkpoint = exported_checkpoint(design, state_dict, seed=seed, preprocessing=preprocessing,
                                            training=training, analysis=analysis,
                                            heads="all" if all_heads else "main")
    if kind in (".pt2", ".onnx") and not all_heads:
        model.delete_all_unused_submodules()  # an auxiliary head's weights: not part of the inference program
    metadata = inference_metadata(design, checkpoint.preprocessing)
    if kind == ".pt2":
        save_program(target, model, design, metadata)
        return [target]
    if kind == ".onnx":
        save_onnx(target, model, design, metadata, opset=opset)
        return [target]
    if kind == ".pt":
        save_checkpoint(checkpoint, target)
        return [target]
    weights = weights_path(target)
    atomic_write_text(target, module_source(design, analysis, weights_file=weights.name if with_weights else None,
                                            preprocessing=checkpoint.preprocessing, aux_heads=aux_heads))
    if not with_weights:
        return [target]
    save_checkpoint(checkpoint, weights)
    return [target, weights]
