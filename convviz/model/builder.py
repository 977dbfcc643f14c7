"""Design → ``torch.nn.Module``: one submodule per node, named by the node id, run in topological order.

The model is a ``torch.fx.GraphModule`` built straight from the design: its ``forward`` is
generated code (no interpreter loop per call), hooks attach per node (``model.conv1``), its
``state_dict`` keys are ``<node id>.<tensor>``, and ``torch.compile`` and ``torch.export`` read it
as they read hand-written code.
"""

from __future__ import annotations

import re

import torch.fx
from torch import nn

from ..analysis import Analysis, analyze
from ..analysis.memory import weights_memory
from ..design import Design, Node, layer_spec
from .layers import Add, Concat
from ..i18n import tr
from .memory import require_memory


class ModelBuildError(ValueError):
    """The design has errors; the message is the first one, naming its node."""


def build_model(design: Design, analysis: Analysis | None = None) -> torch.fx.GraphModule:
    analysis = analysis or analyze(design)
    if not analysis.ok:
        raise ModelBuildError(f"the design cannot be built: {analysis.first_error()}")
    # Its weights are allocated next: refuse in one line what the machine cannot hold (MemoryBudgetError).
    require_memory(weights_memory(design, analysis), "cpu", tr("building the model"))
    root = nn.Module()
    graph = torch.fx.Graph()
    image = graph.placeholder("x")
    values: dict[str, torch.fx.Node] = {}
    for node_id in analysis.order:
        node = design.node(node_id)
        root.add_module(node_id, make_module(node, analysis.nodes[node_id].inferred))
        args = (image,) if node.type == "Input" else tuple(values[src] for src in node.inputs)
        values[node_id] = graph.call_module(node_id, args)
    graph.output(values[analysis.output])
    return torch.fx.GraphModule(root, graph, class_name=class_name(design.name))


def seeded_model(design: Design, seed: int, analysis: Analysis | None = None) -> torch.fx.GraphModule:
    """``build_model`` with initial weights drawn from ``seed``: the same design and seed give the same
    weights. The CPU generator is seeded inside ``fork_rng``, so the caller's stream (and CUDA's) is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        return build_model(design, analysis)


def make_module(node: Node, inferred: dict[str, int]) -> nn.Module:
    """The PyTorch module for one node: catalog names are PyTorch's, so parameters pass straight through."""
    if node.type == "Input":
        return nn.Identity()
    if node.type == "Add":
        return Add()
    if node.type == "Concat":
        return Concat()
    params = layer_spec(node.type).resolve(node.params)
    return getattr(nn, node.type)(**inferred, **params)


def class_name(name: str) -> str:
    """A design name as a Python class name: "LeNet-5" → "LeNet5"."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    return text if text[0].isalpha() else f"Net{text}"
