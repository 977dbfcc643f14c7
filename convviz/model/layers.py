"""The merge and split layers PyTorch has no module for, so they get a submodule (and hooks) like the rest."""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """Element-wise sum of all inputs (a residual shortcut joins here)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Inputs stacked along the channel axis, in input order (an inception block joins here)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=1)


class Multiply(nn.Module):
    """Element-wise product of all inputs, broadcasting sizes of 1 (a squeeze-and-excitation gate joins here)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Split(nn.Module):
    """The channels in parts, one output each: ``chunks`` equal parts (``torch.chunk``) or ``sizes``
    (``torch.split``). Returns a tuple; the model reads output k as item k."""

    def __init__(self, chunks: int = 2, sizes: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.chunks = chunks
        self.sizes = list(sizes) if sizes else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.sizes:
            return torch.split(x, self.sizes, dim=1)
        return torch.chunk(x, self.chunks, dim=1)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}" if self.sizes else f"chunks={self.chunks}"
