"""The sliding window of a built convolution or pooling module, read once for every view that
follows one (the receptive field walk, the window animation).

PyTorch keeps these in different forms per module (a conv's padding may be "same" and
asymmetric, a pool's stride may be None): this is the one place that turns them into pairs.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import nn

from ..analysis.layers import hw


class Window(NamedTuple):
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    #: (top, left, bottom, right) padding in input cells.
    padding: tuple[int, int, int, int]


def sliding_window(module: nn.Module) -> Window:
    """The window of an ``nn.Conv2d``, ``nn.MaxPool2d`` or ``nn.AvgPool2d``."""
    if isinstance(module, nn.Conv2d):
        left, right, top, bottom = module._reversed_padding_repeated_twice  # what F.pad applies
        return Window(hw(module.kernel_size), hw(module.stride), hw(module.dilation), (top, left, bottom, right))
    kernel = hw(module.kernel_size)
    pad = hw(module.padding)
    return Window(kernel, hw(module.stride) if module.stride else kernel, hw(getattr(module, "dilation", 1)),
                  (pad[0], pad[1], pad[0], pad[1]))
