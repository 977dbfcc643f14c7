"""The convviz checkpoint (``.pt``): a design and its weights, in a file any PyTorch can read safely.

A plain dict of str, int, float, list, dict and tensors, so ``torch.load(path, weights_only=True)``
opens it without convviz and without running any pickled code:

    {"format": "convviz-checkpoint", "version": 1,
     "design": <the design file's JSON text>,
     "state_dict": {"conv1.weight": tensor, ...},
     "classes": ["0", "1", ...],
     "preprocessing": {"input_size": [C, H, W], "mean": [...], "std": [...]},
     "training": {... TrainConfig.to_dict() and results, or {} when untrained ...}}
"""

from __future__ import annotations

import math
import os
import pickle
import re
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import sysmem
from ..atomic import atomic_write
from ..design import Design, DesignFileError, dumps, loads
from ..i18n import tr
from ..messages import first_line, size_in_bytes
from ..reading import open_regular
from ..analysis import Analysis
from ..model import carry_over_weights, seeded_model, tensors_by_node

FORMAT = "convviz-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """Why a checkpoint cannot be read, in one line."""


@dataclass
class Preprocessing:
    """What an image goes through before the model sees it: resize to the input, then normalise."""

    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    def to_dict(self, design: Design) -> dict[str, Any]:
        return {"input_size": list(design.input.shape), "mean": list(map(float, self.mean)),
                "std": list(map(float, self.std))}

    def per_channel(self, channels: int) -> tuple[list[float], list[float]]:
        """(mean, std) with one value per channel, as the app applies them: none is 0 and 1, one is shared."""
        def spread(values: list[float], default: float) -> list[float]:
            values = [float(v) for v in values] or [default]
            return values * channels if len(values) == 1 else values
        return spread(self.mean, 0.0), spread(self.std, 1.0)


@dataclass
class Checkpoint:
    design: Design
    state_dict: "OrderedDict[str, torch.Tensor]"
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return list(self.design.classes)

    @property
    def trained(self) -> bool:
        """False when the weights are freshly initialised ones (an export of an untrained design)."""
        return self.training.get("weights") != INITIAL_WEIGHTS


#: ``training["weights"]`` of a checkpoint whose weights were initialised, never trained.
INITIAL_WEIGHTS = "initial"


def checkpoint_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    state = OrderedDict((k, v.detach().cpu().contiguous()) for k, v in checkpoint.state_dict.items())
    return {
        "format": FORMAT,
        "version": VERSION,
        "design": dumps(checkpoint.design),
        "state_dict": state,
        "classes": list(checkpoint.design.classes),
        "preprocessing": checkpoint.preprocessing.to_dict(checkpoint.design),
        "training": dict(checkpoint.training),
    }


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> None:
    """Write atomically: a failed save never destroys an earlier checkpoint."""
    with atomic_write(path, "wb") as handle:
        torch.save(checkpoint_dict(checkpoint), handle)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a convviz checkpoint; anything else (or anything unsafe) is refused before it runs.

    A regular file only (never a pipe or a device), a zip archive whose members' declared sizes fit
    the file and the free memory, read with ``torch.load(weights_only=True)``; whatever a damaged
    file makes PyTorch's reader raise becomes one ``CheckpointError`` line."""
    target = Path(path)
    with open_regular(target, None, CheckpointError, tr("a checkpoint")) as handle:
        _check_archive(handle, os.fstat(handle.fileno()).st_size, target.name)
        handle.seek(0)
        try:
            with warnings.catch_warnings():  # its deprecation notes are PyTorch's business, not the user's
                warnings.simplefilter("ignore")
                data = torch.load(handle, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(_refusal(target.name, exc)) from None
        except Exception as exc:  # noqa: BLE001 — a damaged pickle makes the reader raise anything at all
            raise CheckpointError(tr('{name}: not a readable PyTorch file ({first_line})').format(name=target.name, first_line=first_line(exc))) from None
    return checkpoint_from_dict(data, target.name)


def _check_archive(handle, size: int, name: str) -> None:
    """A PyTorch file is a zip archive of stored (uncompressed) members: refuse one whose members
    claim more than the file holds (a small file inflating to gigabytes) or than the machine has
    free. Anything else (PyTorch's legacy format, junk) is left to ``torch.load`` to judge."""
    try:
        members = zipfile.ZipFile(handle).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return
    declared = sum(max(m.file_size, 0) for m in members)
    if declared > 4 * size + (16 << 20):
        raise CheckpointError(tr("{name}: its parts claim {declared} in a file of {size}: refused as damaged").format(
            name=name, declared=size_in_bytes(declared), size=size_in_bytes(size)))
    free = sysmem.free_memory()
    if free is not None and declared > free:
        raise CheckpointError(tr("{name}: it holds {declared}, but {free} of memory is free").format(
            name=name, declared=size_in_bytes(declared), free=size_in_bytes(free)))


def checkpoint_from_dict(data: Any, name: str = "checkpoint") -> Checkpoint:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(tr("{name}: not a convviz checkpoint (a plain state_dict or another tool's file)").format(name=name))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise CheckpointError(tr('{name}: checkpoint version {version!r:.40} is newer than this convviz reads ({VERSION})').format(name=name, version=version, VERSION=VERSION))
    try:
        design = loads(data.get("design"))
    except DesignFileError as exc:
        raise CheckpointError(tr('{name}: its design cannot be read ({exc})').format(name=name, exc=exc)) from None
    state = data.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(tr('{name}: its state_dict is missing or holds something other than tensors').format(name=name))
    broken = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if broken is not None:
        raise CheckpointError(tr("{name}: its weights hold NaN or infinity ({key}): the run that wrote it had "
                                 "diverged").format(name=name, key=broken))
    preprocessing = _read_preprocessing(data.get("preprocessing") or {}, design, name)
    training = data.get("training") or {}
    if not isinstance(training, dict):
        raise CheckpointError(tr("{name}: its training record is {kind}, not a dict").format(
            name=name, kind=type(training).__name__))
    return Checkpoint(design, OrderedDict(state), preprocessing, dict(training))


def _read_preprocessing(pre: Any, design: Design, name: str) -> Preprocessing:
    """Mean and std: finite numbers, one or one per input channel, std above zero."""
    if not isinstance(pre, dict):
        raise CheckpointError(tr("{name}: its preprocessing is {kind}, not a dict").format(
            name=name, kind=type(pre).__name__))
    values = {}
    channels = design.input.channels
    for key in ("mean", "std"):
        given = pre.get(key, [])
        if not isinstance(given, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in given):
            raise CheckpointError(tr('{name}: its preprocessing {key} must be a list of numbers, got {given!r:.60}').format(name=name, key=key, given=given))
        numbers = [float(v) for v in given]
        if not all(math.isfinite(v) for v in numbers):
            raise CheckpointError(tr("{name}: its preprocessing {key} holds NaN or infinity ({values})").format(
                name=name, key=key, values=", ".join(map(str, numbers[:4]))))
        if len(numbers) not in (0, 1, channels):
            raise CheckpointError(tr("{name}: its preprocessing {key} has {count} values for {channels} input "
                                     "channels").format(name=name, key=key, count=len(numbers), channels=channels))
        values[key] = numbers
    if any(v <= 0 for v in values["std"]):
        raise CheckpointError(tr("{name}: its preprocessing std must be above 0, got {values}").format(
            name=name, values=", ".join(map(str, values["std"][:4]))))
    return Preprocessing(values["mean"], values["std"])


def model_with_weights(design: Design, state_dict: Mapping[str, torch.Tensor] | None = None,
                       seed: int = 0, analysis: Analysis | None = None, *, heads: str = "main") -> torch.fx.GraphModule:
    """The design's model holding ``state_dict``, or freshly initialised from ``seed`` when None
    (``heads``: as ``build_model``'s).

    Seeded initialisation makes repeated exports of an untrained design agree; it runs on a
    private copy of the random state, so the caller's stream is left alone.
    """
    model = seeded_model(design, seed, analysis, heads=heads)
    if state_dict is not None:
        problem = weights_mismatch(model.state_dict(), state_dict)
        if problem:
            raise CheckpointError(tr('the weights do not fit the design: {problem}').format(problem=problem))
        model.load_state_dict(state_dict)
    return model


def exported_checkpoint(design: Design, state_dict: Mapping[str, torch.Tensor] | None = None, *, seed: int = 0,
                        preprocessing: Preprocessing | None = None, training: Mapping[str, Any] | None = None,
                        analysis: Analysis | None = None,
                        heads: str = "main") -> tuple[torch.fx.GraphModule, Checkpoint]:
    """The model (``model_with_weights``) and the checkpoint that carries it. Weights initialised
    from ``seed`` are marked ``INITIAL_WEIGHTS``: nothing shows them as trained."""
    model = model_with_weights(design, state_dict, seed, analysis, heads=heads)
    info = dict(training or {})
    if state_dict is None:
        info.update(weights=INITIAL_WEIGHTS, seed=seed)
    return model, Checkpoint(design, model.state_dict(), preprocessing or Preprocessing(), info)


def fitted_weights(design: Design, trained: Mapping[str, torch.Tensor] | None,
                   seed: int = 0) -> tuple[dict[str, torch.Tensor] | None, list[str]]:
    """The trained tensors that still fit ``design`` (same node id and shapes), seeded initial ones
    for the layers changed since training, and those layers' ids (sorted). ``(None, [])`` without
    trained weights: the exporter then initialises them and marks them as such."""
    if not trained:
        return None, []
    model = seeded_model(design, seed)
    carried = set(carry_over_weights(model, trained))
    return model.state_dict(), sorted(n for n in tensors_by_node(model.state_dict()) if n not in carried)


def restore_model(checkpoint: Checkpoint) -> torch.fx.GraphModule:
    """The model a checkpoint describes, with its weights (what opening a ``.pt`` in convviz does)."""
    return model_with_weights(checkpoint.design, checkpoint.state_dict)


def weights_mismatch(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> str | None:
    """What keeps ``given`` from loading where ``expected`` is, in a few words, or None."""
    missing = [k for k in expected if k not in given]
    extra = [k for k in given if k not in expected]
    wrong = [tr('{k} is {shape}, not {shape2}').format(k=k, shape=_shape(given[k]), shape2=_shape(v)) for k, v in expected.items()
             if k in given and given[k].shape != v.shape]
    parts = ([tr('missing {some}').format(some=_some(missing))] if missing else []) + ([tr('unexpected {some}').format(some=_some(extra))] if extra else [])
    parts += wrong[:3]
    return "; ".join(parts) or None


def _some(keys: list[str], shown: int = 3) -> str:
    more = tr(' and {value} more').format(value=len(keys) - shown) if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or tr("a scalar")


def _refusal(name: str, exc: pickle.UnpicklingError) -> str:
    """torch's weights-only unpickler explains itself over several lines; keep the one that matters."""
    lines = [line.strip() for line in str(exc).splitlines()]
    found = next((re.search(r"GLOBAL (\S+)", line) for line in lines if "GLOBAL" in line), None)
    if found:
        return (tr('{name}: refused: it holds Python objects ({group}) that could run code when loaded; convviz reads only tensors and plain data').format(name=name, group=found.group(1)))
    detail = next((line for line in lines if line and not line.startswith(
        ("Weights only load failed", "Please file an issue", "Check the documentation"))), first_line(exc))
    return tr('{name}: not a readable PyTorch file ({detail})').format(name=name, detail=detail[:200])


