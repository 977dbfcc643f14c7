"""What differs between runs: their designs (layer by layer) and their settings, in words.

    differences([a, b])  →  [Difference("design", "conv2 · kernel_size", ("5×5", "3×3")),
                             Difference("design", "drop1", ("—", "Dropout · p = 0.5")),
                             Difference("setting", "learning rate", ("0.003", "0.01"))]

Layers are matched by id (what weight carry-over matches by, too); a parameter left at its default
and the same value written out are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..data.splits import SPLIT_METHOD
from ..design import Design, Node
from ..design.describe import key_params_text
from ..i18n import N_, tr
from .results import RunDetail
from .start import describe as describe_start, normalized

ABSENT = "—"

#: Settings in the order the comparison lists them, with their names.
SETTING_LABELS: dict[str, str] = {
    "data": N_("data"), "train_images": N_("training images"), "epochs": N_("epochs"),
    "batch_size": N_("batch size"), "optimizer": N_("optimizer"), "lr": N_("learning rate"),
    "momentum": N_("momentum"), "weight_decay": N_("weight decay"), "schedule": N_("schedule"),
    "step_size": N_("step size"), "gamma": N_("step decay"), "seed": N_("seed"), "val_fraction": N_("validation share"),
    "normalize": N_("normalise"), "device": N_("device"), "amp": N_("mixed precision"), "compile": N_("torch.compile"),
    "augment.rotation": N_("rotation"), "augment.shear": N_("shear"), "augment.elastic": N_("elastic warp"),
    "augment.mirror": N_("mirror"), "augment.crop_padding": N_("crop padding"),
    "augment.color_shift": N_("colour shift"),
}


@dataclass(frozen=True)
class Difference:
    kind: str                  # "design" or "setting"
    what: str                  # "conv2 · kernel_size", "learning rate": in the user's language
    values: tuple[str, ...]    # one per run, in words; ABSENT where a run has no such layer
    key: str = ""              # stable, for programs: "conv2.kernel_size", "lr", "augment.rotation", "start"
    raw: tuple[Any, ...] = ()  # one per run, as stored (JSON values; None where a run has no such layer)

    def change(self, a: int = 0, b: int = 1) -> str:
        """"conv2 · kernel_size: 5×5 → 3×3" between runs ``a`` and ``b``."""
        return f"{self.what}: {self.values[a]} → {self.values[b]}"


def differences(runs: Sequence[RunDetail]) -> list[Difference]:
    """Everything that is not the same in all ``runs``: design first, then settings."""
    if len(runs) < 2:
        return []
    return design_differences([r.design for r in runs]) + setting_differences(runs)


def design_differences(designs: Sequence[Design]) -> list[Difference]:
    found: list[Difference] = []
    if len({d.input.shape for d in designs}) > 1:
        found.append(Difference("design", tr("input"), tuple("×".join(map(str, d.input.shape)) for d in designs),
                                "input", tuple(list(d.input.shape) for d in designs)))
    order: list[str] = []
    for design in designs:
        order += [nid for nid in design.node_ids if nid not in order]
    for node_id in order:
        nodes = [design.get(node_id) for design in designs]
        present = [n for n in nodes if n is not None]
        if len(present) < len(nodes) or len({n.type for n in present}) > 1:
            found.append(Difference("design", node_id, tuple(_describe(n, d) for n, d in zip(nodes, designs)),
                                    node_id, tuple(_raw_node(n) for n in nodes)))
            continue
        params = [n.resolved_params() for n in present]
        for name in params[0]:
            values = [_value(p.get(name)) for p in params]
            if len(set(values)) > 1:
                found.append(Difference("design", f"{node_id} · {name}", tuple(values), f"{node_id}.{name}",
                                        tuple(_raw(p.get(name)) for p in params)))
        inputs = [", ".join(n.inputs) for n in present]
        if len(set(inputs)) > 1:
            found.append(Difference("design", f"{node_id} · {tr('inputs')}", tuple(inputs), f"{node_id}.inputs",
                                    tuple(list(n.inputs) for n in present)))
    return found


def setting_differences(runs: Sequence[RunDetail]) -> list[Difference]:
    flat = [_flatten(run.config.to_dict()) for run in runs]
    found = []
    for key, label in SETTING_LABELS.items():
        values = [_setting(key, f.get(key)) for f in flat]
        if len(set(values)) > 1:
            found.append(Difference("setting", tr(label), tuple(values), key, tuple(_raw(f.get(key)) for f in flat)))
    splits = [r.dataset.get("split", "") for r in runs]
    if len(set(splits)) > 1:  # a run recorded before the split was drawn with numpy holds out other images
        found.append(Difference("setting", tr("validation split"), tuple(
            tr("numpy (PCG64)") if split == SPLIT_METHOD else tr("torch.randperm (an earlier convviz)") if not split
            else split for split in splits), "split", tuple(splits)))
    raw_starts = [normalized(r.summary.start, r.summary.parent) for r in runs]
    starts = [describe_start(start, r.config.seed, lambda run_id: _number(runs, run_id))
              for start, r in zip(raw_starts, runs)]
    if len(set(starts)) > 1:
        found.append(Difference("setting", tr("initial weights"), tuple(starts), "start",
                                tuple({**start, "seed": r.config.seed} if start.get("kind") == "fresh" else start
                                      for start, r in zip(raw_starts, runs))))
    return found


def _describe(node: Node | None, design: Design) -> str:
    if node is None:
        return ABSENT
    detail = key_params_text(node, design)
    return f"{node.type} · {detail}" if detail else node.type


def _raw(value: Any) -> Any:
    """A parameter or setting as JSON has it (tuples as lists; what JSON has no word for, as text)."""
    if isinstance(value, (tuple, list)):
        return [_raw(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _raw_node(node: Node | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {"type": node.type, "params": {k: _raw(v) for k, v in node.resolved_params().items()}}


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "×".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return ABSENT if value is None else str(value)


def _setting(key: str, value: Any) -> str:
    if key == "train_images":
        return tr("all") if not value else f"{value:,}"
    if isinstance(value, bool):
        return tr("on") if value else tr("off")
    if isinstance(value, float):
        return f"{value:g}"
    return ABSENT if value is None else str(value)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _number(runs: Sequence[RunDetail], run_id: str | None) -> str:
    found = next((r.summary.number for r in runs if r.id == run_id), None)
    return str(found) if found is not None else (run_id or "")[:15]
