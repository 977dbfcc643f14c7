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

import os
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_write
from ..design import Design, DesignFileError, dumps, loads
from ..messages import first_line
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
    """Read a convviz checkpoint; anything else (or anything unsafe) is refused before it runs."""
    target = Path(path)
    if not target.is_file():
        raise CheckpointError(f"{target}: no such file")
    try:
        data = torch.load(target, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(_refusal(target.name, exc)) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{target.name}: not a readable PyTorch file ({first_line(exc)})") from None
    return checkpoint_from_dict(data, target.name)


def checkpoint_from_dict(data: Any, name: str = "checkpoint") -> Checkpoint:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a convviz checkpoint (a plain state_dict or another tool's file)")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{name}: checkpoint version {version!r} is newer than this convviz reads ({VERSION})")
    try:
        design = loads(data["design"])
    except (KeyError, TypeError, DesignFileError) as exc:
        raise CheckpointError(f"{name}: its design cannot be read ({exc})") from None
    state = data.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{name}: its state_dict is missing or holds something other than tensors")
    pre = data.get("preprocessing") or {}
    mean, std = pre.get("mean", []) if isinstance(pre, dict) else None, pre.get("std", []) if isinstance(pre, dict) else None
    for key, values in (("mean", mean), ("std", std)):
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise CheckpointError(f"{name}: its preprocessing {key} must be a list of numbers, got {values!r:.60}")
    preprocessing = Preprocessing([float(v) for v in mean], [float(v) for v in std])
    training = data.get("training") or {}
    return Checkpoint(design, OrderedDict(state), preprocessing, dict(training))


def model_with_weights(design: Design, state_dict: Mapping[str, torch.Tensor] | None = None,
                       seed: int = 0, analysis: Analysis | None = None) -> torch.fx.GraphModule:
    """The design's model holding ``state_dict``, or freshly initialised from ``seed`` when None.

    Seeded initialisation makes repeated exports of an untrained design agree; it runs on a
    private copy of the random state, so the caller's stream is left alone.
    """
    model = seeded_model(design, seed, analysis)
    if state_dict is not None:
        problem = weights_mismatch(model.state_dict(), state_dict)
        if problem:
            raise CheckpointError(f"the weights do not fit the design: {problem}")
        model.load_state_dict(state_dict)
    return model


def exported_checkpoint(design: Design, state_dict: Mapping[str, torch.Tensor] | None = None, *, seed: int = 0,
                        preprocessing: Preprocessing | None = None, training: Mapping[str, Any] | None = None,
                        analysis: Analysis | None = None) -> tuple[torch.fx.GraphModule, Checkpoint]:
    """The model (``model_with_weights``) and the checkpoint that carries it. Weights initialised
    from ``seed`` are marked ``INITIAL_WEIGHTS``: nothing shows them as trained."""
    model = model_with_weights(design, state_dict, seed, analysis)
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
    wrong = [f"{k} is {_shape(given[k])}, not {_shape(v)}" for k, v in expected.items()
             if k in given and given[k].shape != v.shape]
    parts = ([f"missing {_some(missing)}"] if missing else []) + ([f"unexpected {_some(extra)}"] if extra else [])
    parts += wrong[:3]
    return "; ".join(parts) or None


def _some(keys: list[str], shown: int = 3) -> str:
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "a scalar"


def _refusal(name: str, exc: pickle.UnpicklingError) -> str:
    """torch's weights-only unpickler explains itself over several lines; keep the one that matters."""
    lines = [line.strip() for line in str(exc).splitlines()]
    found = next((re.search(r"GLOBAL (\S+)", line) for line in lines if "GLOBAL" in line), None)
    if found:
        return (f"{name}: refused: it holds Python objects ({found.group(1)}) that could run code when loaded; "
                "convviz reads only tensors and plain data")
    detail = next((line for line in lines if line and not line.startswith(
        ("Weights only load failed", "Please file an issue", "Check the documentation"))), first_line(exc))
    return f"{name}: not a readable PyTorch file ({detail[:200]})"


