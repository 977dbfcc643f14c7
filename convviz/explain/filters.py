"""A conv node's filters as one mosaic, zero at mid-grey so the sign of every weight shows.

Each filter is scaled on its own: w / (2·max|w|) + 0.5 (0 → 0.5, the largest magnitude → 0 or 1).
A filter over 3 input channels is shown in colour (its three slices as R, G, B) unless an input
channel is chosen; otherwise one input channel at a time, picked with ``input_channel``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..i18n import ntr, tr
from .errors import ExplainError
from .mosaic import Mosaic, mosaic


@dataclass(frozen=True)
class FilterMosaic:
    #: Tile i is output channel i's filter; ``mosaic.locate`` gives (out channel, ky, kx).
    mosaic: Mosaic
    #: True when each tile is H×W×3 (the three input channels as RGB).
    colour: bool
    #: The weight's input-channel index shown (None in colour).
    input_channel: int | None
    #: The selector's range: ``input_channel`` runs over 0 … in_per_group − 1.
    in_per_group: int
    groups: int
    out_channels: int

    def node_input_channel(self, out_channel: int) -> int | None:
        """Which channel of the node's input the shown slice of filter ``out_channel`` reads
        (with groups, filter j sees only its group's input channels)."""
        if self.input_channel is None:
            return None
        group = out_channel // (self.out_channels // self.groups)
        return group * self.in_per_group + self.input_channel


def filter_mosaic(module: nn.Module, input_channel: int | None = None, *, gap: int = 1) -> FilterMosaic:
    """The filters of a Conv2d module (``network.model.get_submodule(node_id)``)."""
    if not isinstance(module, nn.Conv2d):
        raise ExplainError(tr("filters are shown for Conv2d nodes; this node is a {kind}").format(kind=type(module).__name__))
    return weight_mosaic(module.weight.detach().cpu().float().numpy(), module.groups, input_channel, gap=gap)


def weight_mosaic(weight: np.ndarray, groups: int = 1, input_channel: int | None = None, *,
                  gap: int = 1) -> FilterMosaic:
    """Conv weights (C_out, C_in / groups, kh, kw) as a mosaic: colour when each filter reads 3 channels
    (and no input channel is picked), else one input channel of every filter. A training run's
    weight snapshots come as such arrays."""
    out_channels, per_group = weight.shape[:2]
    if input_channel is None and per_group == 3:
        tiles = weight.transpose(0, 2, 3, 1)
        shown = mosaic(tiles, scale="tile", symmetric=True, gap=gap)
        return FilterMosaic(shown, True, None, per_group, groups, out_channels)
    index = 0 if input_channel is None else int(input_channel)
    if not 0 <= index < per_group:
        raise ExplainError(ntr("input channel {index} is out of range: each filter has {per_group} input channel (0…{last})",
                               "input channel {index} is out of range: each filter has {per_group} input channels (0…{last})",
                               per_group).format(index=index, per_group=per_group, last=per_group - 1))
    shown = mosaic(weight[:, index], scale="tile", symmetric=True, gap=gap)
    return FilterMosaic(shown, False, index, per_group, groups, out_channels)
