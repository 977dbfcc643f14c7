"""Replay: snapshots of what a run's network does to one fixed image, spread over the run.

The training loop calls a ``ReplayProbe`` at evenly spread steps (``Trainer(probe=...)``); each
call stores the first conv layer's filters, the feature maps of a few layers for the image chosen
at the start, its Grad-CAM and class probabilities. A snapshot is a few dozen kilobytes, so a
run's replay loads at once and a slider redraws from memory. The confusion matrix of a position
is the one of the latest epoch completed by then (a validation pass per snapshot would cost more
than the training it shows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..analysis import analyze
from ..data import Dataset, Preprocess
from ..design import Design, layer_spec
from ..explain import ExplainError, Network, capture, default_cam_node, grad_cam
from ..i18n import tr
from ..messages import first_line
from ..train.loop import first_conv
from .files import REPLAY, RunFileError, RunFolder

#: Feature maps kept per snapshot, in values (float16): a snapshot stays small whatever the design.
MAP_BUDGET = 65536
IMAGE_FILE = "image.npz"


@dataclass(frozen=True)
class ReplaySnapshot:
    index: int
    global_step: int
    epoch: int                  # the epoch in progress (0: before training)
    step: int
    x: float                    # global step in epochs, as on the curves
    filters: np.ndarray | None  # the first conv's weights, float32 out×in×kh×kw
    filters_node: str
    maps: dict[str, np.ndarray] = field(default_factory=dict)   # node → C×H×W float32
    cam: np.ndarray | None = None                               # H×W in [0, 1]
    cam_node: str = ""
    cam_class: int = -1
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class Replay:
    image: np.ndarray | None    # uint8 C×H×W, the design's input
    label: str
    snapshots: list[ReplaySnapshot]
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.snapshots


def map_nodes(design: Design, analysis, cam_node: str | None) -> list[str]:
    """What the replay shows maps of: the first conv's output as the next layer sees it (after its batch
    norm and activation, when they follow directly), and the layer Grad-CAM explains with."""
    nodes = []
    first = first_conv(design, analysis)
    if first is not None:
        node = first
        while True:
            consumers = design.consumers(node)
            if len(consumers) != 1:
                break
            following = design.node(consumers[0][0])
            if layer_spec(following.type).family not in ("Normalization", "Activation"):
                break
            node = following.id
        nodes.append(node)
    if cam_node and cam_node not in nodes:
        nodes.append(cam_node)
    return nodes


class ReplayProbe:
    """Called by the training loop with the model in eval mode; returns the arrays of one snapshot."""

    def __init__(self, design: Design, dataset: Dataset, seed: int = 0) -> None:
        self.design = design.copy()
        self.design.set_classes(dataset.classes)
        self.analysis = analyze(self.design)
        self.filters_node = first_conv(self.design, self.analysis) or ""
        images, names = dataset.samples(1, seed=seed, split="val")
        self.image, self.label = images[0], names[0]
        self._cam_node: str | None = None
        self._nodes: list[str] | None = None
        self._first = True

    def __call__(self, model: torch.nn.Module, preprocess: Preprocess) -> dict[str, np.ndarray]:
        network = Network(self.design, model, self.analysis, trained=True)
        if self._nodes is None:
            try:
                self._cam_node = default_cam_node(network)
            except ExplainError:
                self._cam_node = None
            self._nodes = map_nodes(self.design, self.analysis, self._cam_node)
        device = next(model.parameters()).device if any(True for _ in model.parameters()) else torch.device("cpu")
        x = preprocess(torch.from_numpy(self.image).unsqueeze(0).to(device), train=False)
        arrays: dict[str, np.ndarray] = {}
        with capture(model, self._nodes) as store:
            if self._cam_node is not None:
                maps = grad_cam(network, x, node_id=self._cam_node, top_k=1)
                arrays["cam"] = maps.maps[0].astype(np.float16)
                arrays["cam_class"] = np.array(maps.predictions[0].index)
                arrays["probabilities"] = maps.probabilities.astype(np.float32)
            else:
                with torch.no_grad():
                    out = model(x)
                arrays["probabilities"] = torch.softmax(out.float()[0], 0).cpu().numpy()
        budget = MAP_BUDGET
        kept = []
        for node in self._nodes:
            tensor = store.get(node)
            if tensor is None or tensor.dim() != 4 or budget <= 0:
                continue
            values = tensor.detach()[0].float()
            per_channel = values[0].numel()
            channels = max(1, min(values.shape[0], budget // max(per_channel, 1)))
            arrays[f"map{len(kept)}"] = values[:channels].clamp(-6e4, 6e4).cpu().numpy().astype(np.float16)
            kept.append(node)
            budget -= channels * per_channel
        arrays["map_nodes"] = np.array(kept, dtype=str)
        if self.filters_node:
            weight = model.get_submodule(self.filters_node).weight
            arrays["filters"] = weight.detach().to("cpu", torch.float32).numpy().copy()
            arrays["filters_node"] = np.array(self.filters_node)
        if self._cam_node:
            arrays["cam_node"] = np.array(self._cam_node)
        if self._first:   # the live replay learns the image from the first snapshot
            arrays.update(self.image_arrays())
            self._first = False
        return arrays

    def image_arrays(self) -> dict[str, np.ndarray]:
        return {"image": self.image, "label": np.array(self.label)}


def write_snapshot(folder: RunFolder, index: int, arrays: dict[str, np.ndarray]) -> None:
    folder.write_arrays(folder.replay_path(index), arrays)


def write_image(folder: RunFolder, arrays: dict[str, np.ndarray]) -> None:
    folder.write_arrays(folder.path / REPLAY / IMAGE_FILE, arrays)


#: The arrays a snapshot may hold, with the number of dimensions each must have.
_SNAPSHOT_DIMS = {"filters": 4, "cam": 2, "probabilities": 1, "cam_class": 0, "filters_node": 0, "cam_node": 0,
                  "map_nodes": 1}


def snapshot_from_arrays(index: int, global_step: int, epoch: int, step: int, x: float,
                         data: dict[str, np.ndarray]) -> ReplaySnapshot:
    """A snapshot from the probe's arrays (a file read back, or a live ``ProbeRecord``'s data); RunFileError
    when they are not what the probe writes (an array of another shape or kind)."""
    try:
        for key, dims in _SNAPSHOT_DIMS.items():
            if key in data and np.ndim(data[key]) != dims:
                raise ValueError(tr("{name} has {found} dimensions, not {dims}").format(
                    name=key, found=np.ndim(data[key]), dims=dims))
        nodes = [str(n) for n in data.get("map_nodes", np.array([], dtype=str))]
        maps = {node: np.asarray(data[f"map{i}"], dtype=np.float32) for i, node in enumerate(nodes)
                if f"map{i}" in data}
        for node, values in maps.items():
            if values.ndim != 3:
                raise ValueError(tr("the map of {node} has {found} dimensions, not 3").format(
                    node=node, found=values.ndim))
        filters = data.get("filters")
        return ReplaySnapshot(
            index, global_step, epoch, step, x, None if filters is None else np.asarray(filters, dtype=np.float32),
            str(data.get("filters_node", "")), maps,
            np.asarray(data["cam"], dtype=np.float32) if "cam" in data else None, str(data.get("cam_node", "")),
            int(data["cam_class"]) if "cam_class" in data else -1,
            np.asarray(data["probabilities"], dtype=np.float32) if "probabilities" in data else None)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise RunFileError(tr("replay snapshot {index} is damaged ({why})").format(
            index=index, why=first_line(exc))) from None


def snapshot_from_record(index: int, record, steps_per_epoch: int) -> ReplaySnapshot:
    """A live ``ProbeRecord`` as a snapshot (the replay of the run training now)."""
    return snapshot_from_arrays(index, record.global_step, record.epoch, record.step,
                                record.global_step / max(steps_per_epoch, 1), record.data)


def load_replay(folder: RunFolder, rows: list[tuple[int, int, int, int]], steps_per_epoch: int) -> Replay:
    """The snapshots listed in the index (idx, global_step, epoch, step); a damaged file is skipped."""
    problems: list[str] = []
    image, label = None, ""
    image_path = folder.path / REPLAY / IMAGE_FILE
    if image_path.is_file():
        try:
            data = folder.read_arrays(image_path)
            image, label = data["image"], str(data["label"])
            if image.ndim != 3 or not np.issubdtype(image.dtype, np.number):
                raise RunFileError(tr("run {run}: its replay image is damaged").format(run=folder.id))
        except (RunFileError, KeyError) as exc:
            image, label = None, ""
            problems.append(str(exc) if isinstance(exc, RunFileError) else
                            tr("run {run}: its replay image is damaged").format(run=folder.id))
    snapshots = []
    for index, global_step, epoch, step in rows:
        try:
            data = folder.read_arrays(folder.replay_path(index))
        except RunFileError as exc:
            problems.append(str(exc))
            continue
        try:
            snapshots.append(snapshot_from_arrays(index, global_step, epoch, step, global_step / steps_per_epoch,
                                                  data))
        except RunFileError as exc:
            problems.append(tr("run {run}: {why}").format(run=folder.id, why=exc))
    if rows and not snapshots:
        problems.append(tr("run {run}: none of its replay snapshots could be read").format(run=folder.id))
    return Replay(image, label, snapshots, problems)
