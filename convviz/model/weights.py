"""Weight carry-over: editing one layer keeps every other layer's training."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def tensors_by_node(state: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Group ``conv1.weight``, ``conv1.bias`` … under ``conv1``."""
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        node_id, _, name = key.partition(".")
        grouped.setdefault(node_id, {})[name] = tensor
    return grouped


def carry_over_weights(model: nn.Module, previous: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy tensors from ``previous`` (a state_dict) into ``model`` node by node.

    A node takes the old tensors only when it has the same id and exactly the same tensor names
    and shapes (all or nothing: half a batch norm would be worse than a fresh one). Returns the
    ids of the nodes that kept their weights.
    """
    old = tensors_by_node(previous)
    carried: list[str] = []
    with torch.no_grad():
        for node_id, tensors in tensors_by_node(model.state_dict()).items():
            before = old.get(node_id)
            if before is None or before.keys() != tensors.keys():
                continue
            if any(before[name].shape != t.shape for name, t in tensors.items()):
                continue
            for name, tensor in tensors.items():
                tensor.copy_(before[name])
            carried.append(node_id)
    return carried
