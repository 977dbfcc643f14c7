"""Inference graphs that run without convviz: ``.pt2`` (``torch.export``) and ``.onnx``.

Both are traced from the model in eval mode (dropout off, batch norm on its running statistics)
with a dynamic batch dimension, so one file serves any batch size.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from contextlib import contextmanager

import torch
from torch import nn

from ..atomic import atomic_write
from ..design import Design
from ..i18n import tr
from ..messages import first_line

#: What ``pip`` installs for ONNX export (the ``onnx`` extra in pyproject.toml).
ONNX_INSTALL = "pip install 'convviz[onnx]'"

#: The oldest opset torch's ONNX exporter writes (torch 2.13: older requests come out as 18,
#: which ``save_onnx`` refuses rather than hand back a file of another opset).
LOWEST_ONNX_OPSET = 16


class ExportError(ValueError):
    """Why an export cannot be written, in one line."""


def _trace_arguments(design: Design) -> tuple[tuple[torch.Tensor], tuple[dict[int, torch.export.Dim]]]:
    # A batch of 2: torch.export would specialise a batch of 1 to the constant 1.
    example = torch.zeros(2, *design.input.shape)
    return (example,), ({0: torch.export.Dim("batch")},)


def export_program(model: nn.Module, design: Design) -> torch.export.ExportedProgram:
    example, dynamic = _trace_arguments(design)
    try:
        return torch.export.export(model.eval(), example, dynamic_shapes=dynamic)
    except Exception as exc:  # torch.export raises many kinds; the user needs the first line
        raise ExportError(tr('torch.export could not trace the model: {first_line}').format(first_line=first_line(exc))) from exc


def save_program(path: str | os.PathLike, model: nn.Module, design: Design,
                 metadata: Mapping[str, str] | None = None) -> None:
    """A ``.pt2`` file: ``torch.export.load(path).module()`` runs it, with plain PyTorch.

    ``metadata`` (classes, mean, std, input layout) goes in as the extra file ``convviz.json``:
    ``torch.export.load(path, extra_files={"convviz.json": ""})`` fills it in.
    """
    from .metadata import PT2_METADATA_FILE

    program = export_program(model, design)
    extra = {PT2_METADATA_FILE: json.dumps(dict(metadata), ensure_ascii=False)} if metadata else None
    with atomic_write(path, "wb") as handle:
        torch.export.save(program, handle, extra_files=extra)


def require_onnx() -> None:
    """Fail early, with the pip command, where the optional ONNX packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ExportError(tr('ONNX export needs the onnx and onnxscript packages: {ONNX_INSTALL}').format(ONNX_INSTALL=ONNX_INSTALL)) from None


def onnx_opsets() -> tuple[int, int, int | None]:
    """(lowest, highest, default) opset for ``save_onnx`` here; default None when torch does not say."""
    require_onnx()
    import onnx

    try:
        from torch.onnx._constants import ONNX_DEFAULT_OPSET as default
    except ImportError:  # a private constant: a later torch may move it
        default = None
    return LOWEST_ONNX_OPSET, onnx.defs.onnx_opset_version(), default


def save_onnx(path: str | os.PathLike, model: nn.Module, design: Design,
              metadata: Mapping[str, str] | None = None, opset: int | None = None) -> None:
    """An ``.onnx`` file with one input ``input`` (batch × C × H × W) and one output ``output`` (and one
    more per auxiliary head, named by its node, when the model returns them).

    ``metadata`` goes into the model's ``metadata_props`` (onnxruntime:
    ``session.get_modelmeta().custom_metadata_map``); ``opset`` is the ONNX opset to write
    (None: the exporter's default). An opset the exporter cannot write is refused, never swapped.
    """
    require_onnx()
    import onnx

    lowest, highest, _ = onnx_opsets()
    if opset is not None and not lowest <= opset <= highest:
        raise ExportError(tr('ONNX opset {opset} cannot be written here: choose one from {lowest} to {highest}').format(opset=opset, lowest=lowest, highest=highest))
    example, dynamic = _trace_arguments(design)
    try:
        with _quiet("torch.onnx"):
            program = torch.onnx.export(model.eval(), example, dynamo=True, dynamic_shapes=dynamic,
                                        input_names=["input"], output_names=_output_names(model, design),
                                        verbose=False, opset_version=opset)
        proto = program.model_proto
        written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
        if opset is not None and written != opset:
            raise ExportError(tr("torch's ONNX exporter cannot write opset {opset} for this model (it gave {written}); choose a newer one, up to {highest}").format(opset=opset, written=written, highest=highest))
        for key, value in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = f"{design.name}: exported from convviz" if design.name else "exported from convviz"
        onnx.checker.check_model(proto, full_check=True)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(tr('ONNX export failed: {first_line}').format(first_line=first_line(exc))) from exc
    with atomic_write(path, "wb") as handle:
        handle.write(proto.SerializeToString())


def _output_names(model: nn.Module, design: Design) -> list[str]:
    """"output", and after it each auxiliary head's node id when the model returns every head."""
    outputs = next(n for n in model.graph.nodes if n.op == "output").args[0] if hasattr(model, "graph") else None
    if isinstance(outputs, tuple) and design.heads:
        return ["output", *(head.node for head in design.heads[1:len(outputs)])]
    return ["output"]


@contextmanager
def _quiet(logger_name: str):
    """Hide the exporter's notes about optional packages (torchvision) that do not concern a CNN."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)

