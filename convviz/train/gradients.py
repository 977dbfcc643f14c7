"""Gradient flow: per layer, the gradient's norm and the update-to-weight ratio of one training step.

A deep plain network shows its lesson here: the first layers' gradients are orders of magnitude
smaller than the last ones', and their weights barely move (ratio ≪ 1e-3), while the same depth
with residual shortcuts keeps them alive. Measured only on the steps the loop reports (a few per
second), with ``torch._foreach_norm`` (what ``clip_grad_norm_`` uses): a handful of kernels, and
the result stays on the device until the loop's one read per report.
"""

from __future__ import annotations

import torch
from torch import nn

from ..model import tensors_by_node


class GradientMeter:
    """Call ``before_step`` after ``backward`` (gradients ready, weights not yet updated) and
    ``after_step`` after the optimizer's step; ``after_step`` returns an L×2 device tensor:
    the gradient norm and ‖Δw‖ / ‖w‖ of each of ``layers`` (nodes with trainable parameters)."""

    def __init__(self, model: nn.Module) -> None:
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        nodes = list(tensors_by_node(dict(named)))
        self.layers: tuple[str, ...] = tuple(nodes)
        self._params = [p for _, p in named]
        device = self._params[0].device if self._params else torch.device("cpu")
        self._layer_of = torch.tensor([nodes.index(name.partition(".")[0]) for name, _ in named],
                                      dtype=torch.int64, device=device)
        self._grad_sq: torch.Tensor | None = None
        self._before: list[torch.Tensor] = []
        self._measured: list[torch.nn.Parameter] = []

    def _per_layer(self, norms: list[torch.Tensor], index: torch.Tensor) -> torch.Tensor:
        squares = torch.stack(norms).float().square()
        return torch.zeros(len(self.layers), device=squares.device).index_add_(0, index, squares)

    def before_step(self) -> None:
        used = [i for i, p in enumerate(self._params) if p.grad is not None]
        if not used:
            self._grad_sq = None
            return
        self._measured = [self._params[i] for i in used]
        index = self._layer_of[used] if len(used) != len(self._params) else self._layer_of
        self._index = index
        with torch.no_grad():
            self._grad_sq = self._per_layer(torch._foreach_norm([p.grad for p in self._measured]), index)
            self._before = [p.detach().clone() for p in self._measured]

    def after_step(self) -> torch.Tensor | None:
        if self._grad_sq is None:
            return None
        with torch.no_grad():
            delta = torch._foreach_sub([p.detach() for p in self._measured], self._before)
            update_sq = self._per_layer(torch._foreach_norm(delta), self._index)
            weight_sq = self._per_layer(torch._foreach_norm([p.detach() for p in self._measured]), self._index)
            ratio = update_sq.sqrt() / weight_sq.sqrt().clamp_min(1e-12)
            result = torch.stack([self._grad_sq.sqrt(), ratio], dim=1)
        self._before, self._grad_sq = [], None
        return result
