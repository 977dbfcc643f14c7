"""The merge layers PyTorch has no module for, so they get a submodule (and hooks) like the rest."""

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
