"""Design → ``torch.nn.Module``: one submodule per node, named by the node id, run in topological order.

The model is a ``torch.fx.GraphModule`` built straight from the design: its ``forward`` is
generated code (no interpreter loop per call), hooks attach per node (``model.conv1``), its
``state_dict`` keys are ``<node id>.<tensor>``, and ``torch.compile`` and ``torch.export`` read it
as they read hand-written code.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.fx
from torch import nn

from ..analysis import Analysis, analyze
from ..analysis.memory import weights_memory
from ..design import Design, Node, layer_spec
from ..design.ports import node_of, port_of
from ..i18n import tr
from .layers import Add, Concat, Multiply, Split
from .memory import require_memory


class ModelBuildError(ValueError):
    """The design has errors; the message is the first one, naming its node."""


def build_model(design: Design, analysis: Analysis | None = None, *, heads: str = "main") -> torch.fx.GraphModule:
    """The design as a module. ``heads="main"``: ``forward`` returns the main output (the design's
    only one, or its first head), computing only what that needs; ``"all"``: a tuple of every
    head's output, main first (what training reads). Either way every node is a submodule, so the
    ``state_dict`` is the same: weights move between the two."""
    if heads not in ("main", "all"):
        raise ValueError(tr("heads must be 'main' or 'all', not {heads!r}").format(heads=heads))
    analysis = analysis or analyze(design)
    if not analysis.ok:
        raise ModelBuildError(tr('the design cannot be built: {first_error}').format(first_error=analysis.first_error()))
    # Its weights are allocated next: refuse in one line what the machine cannot hold (MemoryBudgetError).
    require_memory(weights_memory(design, analysis), "cpu", tr("building the model"))
    outputs = list(analysis.heads) if heads == "all" and len(analysis.heads) > 1 else [analysis.output]
    needed = set().union(*(design.ancestors(nid) for nid in outputs)) if design.heads else None
    root = nn.Module()
    graph = torch.fx.Graph()
    image = graph.placeholder("x")
    values: dict[str, torch.fx.Node] = {}
    unused: list[str] = []

    def value(ref: str) -> torch.fx.Node:
        if ref not in values:  # output k of a Split: its tuple's item k
            values[ref] = graph.call_function(operator.getitem, (values[node_of(ref)], port_of(ref)))
        return values[ref]

    for node_id in analysis.order:
        node = design.node(node_id)
        module = make_module(node, analysis.nodes[node_id].inferred)
        if needed is not None and node_id not in needed:
            unused.append(node_id)
            root.add_module(node_id, module)
            continue
        root.add_module(node_id, module)
        args = (image,) if node.type == "Input" else tuple(value(src) for src in node.inputs)
        values[node_id] = graph.call_module(node_id, args)
    graph.output(value(outputs[0]) if len(outputs) == 1 else tuple(value(ref) for ref in outputs))
    model = torch.fx.GraphModule(root, graph, class_name=class_name(design.name))
    for node_id in unused:  # an auxiliary head's layers: weights kept, not run
        model.add_submodule(node_id, getattr(root, node_id))
    return model


def main_output(outputs: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The main head's output of a model built with ``heads="all"`` (a tuple, main first, when it has several)."""
    return outputs[0] if isinstance(outputs, tuple) else outputs


def seeded_model(design: Design, seed: int, analysis: Analysis | None = None, *,
                 heads: str = "main") -> torch.fx.GraphModule:
    """``build_model`` with initial weights drawn from ``seed``: the same design and seed give the same
    weights. The CPU generator is seeded inside ``fork_rng``, so the caller's stream (and CUDA's) is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        return build_model(design, analysis, heads=heads)


#: The merges' modules (PyTorch has none); every other type but Split is ``nn.<type>``.
MERGE_MODULES = {"Add": Add, "Concat": Concat, "Multiply": Multiply}


def make_module(node: Node, inferred: dict[str, int]) -> nn.Module:
    """The PyTorch module for one node: catalog names are PyTorch's, so parameters pass straight through."""
    if node.type == "Input":
        return nn.Identity()
    if node.type in MERGE_MODULES:
        return MERGE_MODULES[node.type]()
    if node.type == "Split":
        return Split(**layer_spec(node.type).resolve(node.params))
    return getattr(nn, node.type)(**module_arguments(node.type, inferred, layer_spec(node.type).resolve(node.params)))


def module_arguments(type_name: str, inferred: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``nn.<type_name>``'s keyword arguments: the inferred sizes and every parameter, in the few
    places where a catalog value stands for another PyTorch value translated (the model and the
    exported source both build from this)."""
    arguments = {**inferred, **params}
    if type_name == "Unflatten":
        arguments["dim"] = 1  # the features, after the batch
    if type_name == "Upsample" and not arguments["align_corners"]:
        arguments["align_corners"] = None  # PyTorch's default; nearest refuses an explicit False
    return arguments


def class_name(name: str) -> str:
    """A design name as a Python class name: "LeNet-5" → "LeNet5"."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    return text if text[0].isalpha() else f"Net{text}"
