"""The sliding window of a Conv2d, ConvTranspose2d, MaxPool2d or AvgPool2d node, on the real input to that node.

Frame i is output cell (i // W_out, i % W_out) of the chosen output channel: the input cells
under the window (with padding, stride, dilation, ceil-mode overhang and, for a conv, the input
channels its group reads), the kernel, the products and sums, and the value written. Values are
recomputed here in float64 from the float32 inputs and weights, so they match the module's own
output to float32 rounding (tests: relative 1e-5 of the sum of |terms|; exactly for max-pool).

Padding modes: zero padding reads 0; reflect, replicate and circular read the values PyTorch's
``F.pad`` puts there (the frame still marks those cells as padding). Pools never read padding:
max-pool treats it as −∞, avg-pool as 0 (counted in the divisor when count_include_pad).
Cells of a ceil-mode window beyond the padded input do not exist: NaN in ``window``.

A transposed convolution is shown as the convolution it equals (Dumoulin & Visin's picture): its
input with stride − 1 zeros inserted between pixels, padded by d·(k − 1) − padding on each side
(and output_padding more at the bottom and right), under the flipped kernel at stride 1. The
inserted zeros count as padding (``WindowGeometry.inserted``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplainError
from .hooks import Activations, model_device
from .network import Network
from ..analysis.layers import hw
from ..i18n import tr
from .sliding import sliding_window

KINDS = {nn.Conv2d: "conv", nn.ConvTranspose2d: "conv", nn.MaxPool2d: "max", nn.AvgPool2d: "avg"}


@dataclass(frozen=True)
class WindowGeometry:
    kind: str                                # "conv", "max" or "avg"
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    #: (top, left, bottom, right) padding in input cells.
    padding: tuple[int, int, int, int]
    input_size: tuple[int, int]              # (H, W) of the input map
    output_size: tuple[int, int]             # (H_out, W_out)
    in_channels: int
    out_channels: int
    groups: int = 1
    ceil_mode: bool = False
    padding_mode: str = "zeros"              # conv only
    count_include_pad: bool = True           # avg only
    divisor_override: int | None = None      # avg only
    #: A transposed conv's stride: its input (``input_size``) is the node's input with this − 1 zeros
    #: between pixels; only cells at multiples of it are real. (1, 1) for everything else.
    inserted: tuple[int, int] = (1, 1)
    #: A transposed conv, shown as the convolution it equals (flipped kernel, stride 1).
    transposed: bool = False

    def real(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(len(rows), len(cols)) bool: the cells that hold an input value (not padding, not an inserted zero)."""
        height, width = self.input_size
        in_rows = (rows >= 0) & (rows < height) & (rows % self.inserted[0] == 0)
        in_cols = (cols >= 0) & (cols < width) & (cols % self.inserted[1] == 0)
        return in_rows[:, None] & in_cols[None, :]


@dataclass(frozen=True)
class WindowFrame:
    index: int
    out_channel: int
    #: (row, col) of the output cell being written.
    out_pos: tuple[int, int]
    #: Input row of each kernel row / input column of each kernel column (outside 0…H−1: padding
    #: or, in ceil mode, beyond it).
    rows: np.ndarray
    cols: np.ndarray
    #: (kh, kw) bool: the tap lies on a real input cell / in the padding.
    inside: np.ndarray
    in_padding: np.ndarray
    #: The input channels read, one per slice of ``window`` (a conv's group; a pool's own channel).
    input_channels: np.ndarray
    #: (n, kh, kw) float32: the values read (see the module docstring for padding and overhang).
    window: np.ndarray
    #: The value computed here, and the module's own output at this cell.
    value: float
    output: float
    #: conv: (n, kh, kw) float32 weights, float64 products, (n,) per-input-channel sums, bias.
    kernel: np.ndarray | None = None
    products: np.ndarray | None = None
    channel_sums: np.ndarray | None = None
    bias: float = 0.0
    #: max: (ky, kx) of the maximum (the first in row-major order, as PyTorch picks).
    argmax: tuple[int, int] | None = None
    #: avg: what the sum is divided by.
    divisor: int | None = None
    total: float | None = None


class WindowAnimation:
    """All frames of one output channel; ``frame(i)`` is computed on demand."""

    def __init__(self, module: nn.Module, inputs: torch.Tensor, out_channel: int = 0) -> None:
        kind = next((k for cls, k in KINDS.items() if type(module) is cls), None)
        if kind is None:
            raise ExplainError(tr("the sliding window is shown for Conv2d, ConvTranspose2d, MaxPool2d and AvgPool2d "
                                  "nodes; this node is a {type}").format(type=type(module).__name__))
        x = inputs.detach().to(model_device(module), torch.float32)  # the layer runs where its weights are
        if x.dim() == 3:
            x = x.unsqueeze(0)
        with torch.inference_mode():
            out = module(x)[0]
        channels = out.shape[0]
        if not 0 <= out_channel < channels:
            raise ExplainError(tr("output channel {channel} is out of range (0…{last})").format(
                channel=out_channel, last=channels - 1))
        self.module = module
        self.out_channel = out_channel
        transposed = isinstance(module, nn.ConvTranspose2d)
        if transposed:
            x = _insert_zeros(x, hw(module.stride))
        #: (C, H, W) float32: the node's input (a transposed conv's: with its zeros inserted).
        self.input = x[0].cpu().numpy().copy()
        #: (H_out, W_out) float32: the module's output for ``out_channel``.
        self.output = out[out_channel].cpu().numpy().copy()
        self.geometry = _geometry(module, kind, self.input.shape, self.output.shape, channels)
        self._padded, self._offset = _padded_input(x, self.geometry, module)
        if kind == "conv" and transposed:
            per_out = channels // module.groups
            group, local = divmod(out_channel, per_out)
            per_in = module.in_channels // module.groups
            weight = module.weight.detach().to("cpu", torch.float32)[group * per_in:(group + 1) * per_in, local]
            self._weight = weight.flip(-2, -1).numpy().copy()  # the equivalent convolution's kernel
        elif kind == "conv":
            self._weight = module.weight.detach().to("cpu", torch.float32)[out_channel].numpy()
        if kind == "conv":
            self._bias = float(module.bias.detach()[out_channel]) if module.bias is not None else 0.0

    def __len__(self) -> int:
        return self.output.size

    def __iter__(self) -> Iterator[WindowFrame]:
        return (self.frame(i) for i in range(len(self)))

    @property
    def input_channels(self) -> np.ndarray:
        """The input channels that feed ``out_channel`` (its group's, for a conv)."""
        g = self.geometry
        if g.kind != "conv":
            return np.array([self.out_channel])
        per_group = g.in_channels // g.groups
        group = self.out_channel // (g.out_channels // g.groups)
        return np.arange(group * per_group, (group + 1) * per_group)

    def frame(self, index: int) -> WindowFrame:
        g = self.geometry
        if not 0 <= index < len(self):
            raise ExplainError(tr("frame {index} is out of range (0…{last})").format(index=index, last=len(self) - 1))
        oy, ox = divmod(index, g.output_size[1])
        (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
        top, left = g.padding[0], g.padding[1]
        rows = oy * sh - top + np.arange(kh) * dh
        cols = ox * sw - left + np.arange(kw) * dw
        height, width = g.input_size
        pad_rows = (rows >= -top) & (rows < height + g.padding[2])
        pad_cols = (cols >= -left) & (cols < width + g.padding[3])
        inside = g.real(rows, cols)
        in_padding = pad_rows[:, None] & pad_cols[None, :] & ~inside
        channels = self.input_channels
        window = self._padded[np.ix_(channels, rows + self._offset[0], cols + self._offset[1])]
        common = dict(index=index, out_channel=self.out_channel, out_pos=(oy, ox), rows=rows, cols=cols,
                      inside=inside, in_padding=in_padding, input_channels=channels, window=window,
                      output=float(self.output[oy, ox]))
        if g.kind == "conv":
            products = window.astype(np.float64) * self._weight.astype(np.float64)
            sums = products.sum(axis=(1, 2))
            return WindowFrame(**common, value=float(sums.sum() + self._bias), kernel=self._weight,
                               products=products, channel_sums=sums, bias=self._bias)
        if g.kind == "max":
            values = np.where(inside, window[0], -np.inf)
            flat = int(np.argmax(values))
            return WindowFrame(**common, value=float(values.flat[flat]), argmax=divmod(flat, kw))
        divisor = _divisor(g, inside, in_padding)
        total = float(np.where(inside, window[0], 0.0).sum(dtype=np.float64))
        return WindowFrame(**common, value=total / divisor, divisor=divisor, total=total)


def _divisor(g: WindowGeometry, inside: np.ndarray, in_padding: np.ndarray) -> int:
    """PyTorch's avg-pool divisor: the override, else the cells inside the padded input
    (count_include_pad) or only the real ones — a ceil-mode overhang is never counted."""
    if g.divisor_override:
        return int(g.divisor_override)
    return int((inside | in_padding).sum() if g.count_include_pad else inside.sum())


def _geometry(module: nn.Module, kind: str, in_shape, out_shape, out_channels: int) -> WindowGeometry:
    size = tuple(in_shape[1:])
    window = None if isinstance(module, nn.ConvTranspose2d) else sliding_window(module)
    if isinstance(module, nn.ConvTranspose2d):
        k, s, p, d, extra = (hw(v) for v in (module.kernel_size, module.stride, module.padding, module.dilation,
                                             module.output_padding))
        before = (d[0] * (k[0] - 1) - p[0], d[1] * (k[1] - 1) - p[1])
        return WindowGeometry(kind, k, (1, 1), d, (before[0], before[1], before[0] + extra[0], before[1] + extra[1]),
                              size, tuple(out_shape), in_shape[0], out_channels, module.groups, inserted=s,
                              transposed=True)
    if kind == "conv":
        return WindowGeometry(kind, *window, size, tuple(out_shape), in_shape[0], out_channels,
                              module.groups, padding_mode=module.padding_mode)
    return WindowGeometry(kind, *window, size, tuple(out_shape), in_shape[0], out_channels,
                          ceil_mode=module.ceil_mode, count_include_pad=getattr(module, "count_include_pad", True),
                          divisor_override=getattr(module, "divisor_override", None))


def _padded_input(x: torch.Tensor, g: WindowGeometry, module: nn.Module) -> tuple[np.ndarray, tuple[int, int]]:
    """The input with its padding (the values the layer reads) and room for any ceil-mode
    overhang (NaN); returns it and the (row, col) index of input cell (0, 0) in it."""
    # A transposed conv that crops more than its kernel adds has negative padding: its windows start inside.
    top, left, bottom, right = (max(v, 0) for v in g.padding)
    (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
    need_h = (g.output_size[0] - 1) * sh + (kh - 1) * dh + 1 - g.padding[0] - g.input_size[0]
    need_w = (g.output_size[1] - 1) * sw + (kw - 1) * dw + 1 - g.padding[1] - g.input_size[1]
    extra_h, extra_w = max(0, need_h - bottom), max(0, need_w - right)
    if g.kind == "conv":
        mode = "constant" if g.padding_mode == "zeros" else g.padding_mode
        padded = F.pad(x, (left, right, top, bottom), mode=mode)[0].cpu().numpy()
    else:
        fill = -np.inf if g.kind == "max" else 0.0
        padded = np.pad(x[0].cpu().numpy(), ((0, 0), (top, bottom), (left, right)), constant_values=fill)
    padded = np.pad(padded, ((0, 0), (0, extra_h), (0, extra_w)), constant_values=np.nan)
    return padded.astype(np.float32), (top, left)


def _insert_zeros(x: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """(1, C, H, W) → (1, C, (H − 1)·s + 1, (W − 1)·s + 1): s − 1 zeros between neighbouring pixels."""
    n, c, h, w = x.shape
    out = x.new_zeros((n, c, (h - 1) * stride[0] + 1, (w - 1) * stride[1] + 1))
    out[:, :, ::stride[0], ::stride[1]] = x
    return out


def window_animation(network: Network, activations: Activations, node_id: str, out_channel: int = 0) -> WindowAnimation:
    """The animation of ``node_id`` on the input it received in ``activations`` (from
    ``feature_maps``)."""
    node = network.design.node(node_id)
    if not node.inputs:
        raise ExplainError(tr("{node} has no input to slide over").format(node=repr(node_id)))
    return WindowAnimation(network.model.get_submodule(node_id), activations.tensor(node.inputs[0]), out_channel)
