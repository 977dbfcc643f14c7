"""An import's last check: the built design computes what the original module computes.

Both run on one random batch (eval mode, the imported weights); every design node's output is
compared with the traced value it stands for, in execution order, so a mismatch names the first
node where the two part ways, not only the output.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.fx
from torch import nn

from ..design.ports import node_of, output_ref
from ..i18n import tr

#: Relative to the largest magnitude of the value compared: float32 sums in another order stay far inside.
TOLERANCE = 1e-4


class Mismatch(ValueError):
    """The design does not compute what the module does; the message names the first node that differs."""


def check_same_function(original: torch.fx.GraphModule, model: nn.Module, values: Mapping[torch.fx.Node, str],
                        order: list[str], example: torch.Tensor) -> None:
    """Raise ``Mismatch`` unless ``model`` (the design) and ``original`` agree on ``example`` at every
    design node that stands for a traced value (``values``: fx node → design node id)."""
    traced = _traced_values(original, example)
    built = _node_outputs(model, example)
    expected = {}
    for fx_node, node_id in values.items():
        if fx_node in traced and isinstance(traced[fx_node], torch.Tensor):
            expected.setdefault(node_id, traced[fx_node])
    position = {nid: i for i, nid in enumerate(order)}
    for node_id in sorted(expected, key=lambda ref: (position.get(node_of(ref), len(position)), ref)):
        want, got = expected.get(node_id), built.get(node_id)
        if want is None or not isinstance(got, torch.Tensor):
            continue
        if got.shape != want.shape:
            raise Mismatch(tr("{node} gives {got} where the module computes {want}").format(
                node=repr(node_id), got=_dims(got.shape), want=_dims(want.shape)))
        scale = float(want.abs().max()) if want.numel() else 0.0
        difference = float((got - want).abs().max()) if want.numel() else 0.0
        if difference > TOLERANCE * max(scale, 1.0):
            raise Mismatch(tr("{node} computes something else than the module: on a random input its values differ "
                              "by up to {diff:.3g} (of {scale:.3g})").format(node=repr(node_id), diff=difference,
                                                                           scale=scale))


def _traced_values(graph_module: torch.fx.GraphModule, example: torch.Tensor) -> dict[torch.fx.Node, object]:
    """Every value the traced graph computes on ``example``."""
    values: dict[torch.fx.Node, object] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node):
            result = super().run_node(node)
            values[node] = result.detach().clone() if isinstance(result, torch.Tensor) else result
            return result

    with torch.no_grad():
        Recorder(graph_module).run(example)
    return values


def _node_outputs(model: nn.Module, example: torch.Tensor) -> dict[str, object]:
    """Every design node's output on ``example`` (forward hooks on the model's submodules)."""
    outputs: dict[str, object] = {}
    handles = []
    for name, module in model.named_children():
        def hook(module, args, output, name=name):
            if isinstance(output, tuple):  # a Split: each output under its reference
                for port, part in enumerate(output):
                    outputs[output_ref(name, port)] = part.detach().clone()
            else:
                outputs[name] = output.detach().clone() if isinstance(output, torch.Tensor) else output
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def _dims(shape) -> str:
    return "×".join(map(str, shape[1:])) or "a scalar"
