"""The network the views explain: a design, its model (trained weights or fresh ones) and its
preprocessing, bundled so every view runs on the same module with the same input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..analysis import Analysis, analyze
from ..analysis.memory import explain_memory
from ..data.images import ImageSource, PreparedImage, prepare_image
from ..design import Design
from ..model import build_model, carry_over_weights, main_output, tensors_by_node
from ..i18n import tr
from ..model.memory import require_memory
from .errors import ExplainError


@dataclass
class Network:
    design: Design
    #: The built model in eval mode (on the CPU unless ``to`` moved it); hooks attach per node
    #: (``model.get_submodule(id)``). Built with every head (``build_model(..., heads="all")``) so that
    #: every node runs and can be explained, an auxiliary classifier's too; ``scores`` reads the main head.
    model: torch.fx.GraphModule
    analysis: Analysis
    #: False when the weights are PyTorch's random initial ones: the UI labels every view with it.
    trained: bool
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    #: Nodes with weights that got random initial ones although a state_dict was given (their
    #: shapes or ids changed since training), in topological order: "trained except conv2, bn2".
    untrained: tuple[str, ...] = ()

    @property
    def class_names(self) -> list[str]:
        """One name per output unit: the design's, or "class i" where it names none."""
        shape = self.analysis.output_shape
        count = shape[0] if shape and len(shape) == 1 else 0
        return [self.class_name(i) for i in range(count)]

    def class_name(self, index: int) -> str:
        """Output unit ``index``'s name (a top-5 over 200,000 classes names 5 of them, not all)."""
        names = self.design.classes
        return names[index] if index < len(names) and names[index] else tr("class {k}").format(k=index)

    @property
    def device(self) -> torch.device:
        """Where the model runs (the CPU unless ``to`` moved it); every view takes its input there."""
        from .hooks import model_device

        return model_device(self.model)

    def to(self, device: torch.device | str) -> Network:
        """The model moved to ``device`` (a GPU for ``bench/explain_latency.py --device cuda``); returns self."""
        self.model.to(device)
        return self

    def scores(self, batch: torch.Tensor) -> torch.Tensor:
        """The main head's output for ``batch``: what predictions, Grad-CAM and occlusion read."""
        return main_output(self.model(batch))

    def prepare(self, source: ImageSource, *, background: str = "white", name: str | None = None) -> PreparedImage:
        """The image as this network's input (see convviz.data.images for the choices made);
        ``name`` labels error messages (a pasted image has no file name)."""
        return prepare_image(source, self.design.input.shape, self.mean, self.std, background=background, name=name)


def network_from_design(design: Design, state_dict: Mapping[str, torch.Tensor] | None = None, *,
                        mean: list[float] | None = None, std: list[float] | None = None) -> Network:
    """Build ``design``; with ``state_dict`` (a checkpoint's or a training snapshot's) the tensors of
    every node whose shapes still match are used, and the network counts as trained when all
    weighted nodes got theirs."""
    analysis = analyze(design)
    if analysis.ok:  # every view keeps every layer's output: refuse up front what cannot fit
        require_memory(explain_memory(design, analysis), "cpu", tr("explaining {name}").format(name=design.name or tr("the design")),
                       tr("use a smaller input: the views keep every layer's output for the image"))
    model = build_model(design, analysis, heads="all").eval()
    trained, untrained = False, ()
    if state_dict:
        kept = set(carry_over_weights(model, state_dict))
        weighted = set(tensors_by_node(model.state_dict()))
        trained = bool(weighted) and weighted <= kept
        untrained = tuple(nid for nid in analysis.order if nid in weighted - kept)
    for p in model.parameters():
        p.requires_grad_(False)
    return Network(design, model, analysis, trained, list(mean or []), list(std or []), untrained)


def require_node(network: Network, node_id: str) -> None:
    if node_id not in network.analysis.nodes:
        raise ExplainError(tr("no node {node_id} in {name}").format(node_id=repr(node_id), name=repr(network.design.name)))
