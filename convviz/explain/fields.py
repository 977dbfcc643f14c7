"""Receptive fields of one unit: theoretical (from the layers' geometry) and effective (gradients).

The theoretical field is found by walking the graph backwards from the unit through the actual
modules (kernel, stride, padding, dilation, groups, ceil_mode, adaptive windows, merges), carrying
the set of units that can influence it on every map upstream. Two walks are made:

- ``boxes``: the textbook field. Padding positions are followed further back as if they were
  units, so the rectangle may extend beyond a map (into its padding). For a chain it is exactly
  the analysis' ``ReceptiveField.window``; at a merge it is the union of the branches' rectangles.
- ``masks``: the exact set of real units (inside each map) that can change the unit's value when
  every weight is non-zero — what a gradient can reach. Zero padding ends a path; reflect,
  replicate and circular padding fold it onto the real cells they copy. Dilation gaps, strides
  larger than kernels and channel-specific paths (groups, Concat, pooling) are kept exactly.

Coordinates: (row, col) of each map, row 0 at the top; ``Box`` bounds are inclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..analysis import ReceptiveField
from ..analysis.layers import adaptive_windows, hw
from ..analysis.results import Phases
from ..analysis.upsampling import interpolation_phases
from ..data.images import PreparedImage
from ..i18n import tr
from ..design.ports import node_of, output_ref
from ..model import Add, Concat, Multiply, Split
from .errors import ExplainError
from .hooks import as_batch, run_to
from .network import Network, require_node
from .sliding import Window, sliding_window

#: Modules whose output unit (c, y, x) depends on input unit (c, y, x) only.
POINTWISE = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
             nn.Dropout, nn.Dropout2d, nn.Identity, nn.Hardswish, nn.Hardsigmoid, nn.PReLU, nn.ELU, nn.Mish)

#: Normalisations by statistics of the image itself: a pass-through for the textbook field, but every
#: value they divide by counts for the exact one.
SELF_NORMALISING = (nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


@dataclass(frozen=True)
class Box:
    """Inclusive bounds in a map's (row, col) coordinates; may lie partly outside the map."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def clipped(self, height: int, width: int) -> Box | None:
        """The part inside a height×width map (None when none is)."""
        box = Box(max(self.top, 0), max(self.left, 0), min(self.bottom, height - 1), min(self.right, width - 1))
        return box if box.top <= box.bottom and box.left <= box.right else None


@dataclass(frozen=True)
class UnitField:
    node_id: str
    #: (y, x) of the unit in its map ((0, 0) for a vector node).
    unit: tuple[int, int]
    #: The unit's channel (feature index for a vector node), or None for "any channel at (y, x)".
    channel: int | None
    #: Textbook rectangle on every map node upstream (the node itself and the input included).
    boxes: dict[str, Box]
    #: Exact set of influencing real units on every map node upstream: (H, W) bool.
    masks: dict[str, np.ndarray]
    input_id: str
    #: The analysis' field of the node (size, jump, start relative to the input), if it has one.
    formula: ReceptiveField | None

    @property
    def input_box(self) -> Box:
        return self.boxes[self.input_id]

    @property
    def input_mask(self) -> np.ndarray:
        return self.masks[self.input_id]

    @property
    def formula_box(self) -> Box | None:
        """The analysis' rectangle for this unit (``formula.window``), when it is whole pixels."""
        if self.formula is None:
            return None
        corners = self.formula.window(*self.unit)
        if corners is None or not all(float(v).is_integer() for v in corners):
            return None
        return Box(*(int(v) for v in corners))

    @property
    def formula_exact(self) -> bool:
        """True when the analysis' size/jump/start describe this unit's rectangle exactly
        (chains; not after a merge of unequal branches or an adaptive pool with uneven windows)."""
        return self.formula_box == self.input_box


@dataclass
class _Region:
    """Units of one map: mask (Cm, h, w) over rows top… and cols left…; Cm == 1 means every
    channel. Non-map outputs (vectors) use a mask of the output's exact shape and no offsets."""

    mask: np.ndarray
    top: int = 0
    left: int = 0
    spatial: bool = True


def unit_field(network: Network, node_id: str, y: int = 0, x: int = 0, channel: int | None = None) -> UnitField:
    """The receptive field of unit (y, x) of ``node_id`` (all channels, or ``channel``)."""
    require_node(network, node_id)
    analysis, design = network.analysis, network.design
    record = analysis.nodes[node_id]
    shape = record.input_shapes[0] if record.output_shapes else record.output_shape  # a Split: all its channels
    if len(shape) == 3:
        c, h, w = shape
        if not (0 <= y < h and 0 <= x < w):
            raise ExplainError(tr("unit ({y}, {x}) is outside {node_id}'s {h}×{w} map").format(y=y, x=x, node_id=repr(node_id), h=h, w=w))
        if channel is not None and not 0 <= channel < c:
            raise ExplainError(tr("channel {channel} is out of range for {node_id} ({c} channels)").format(channel=channel, node_id=repr(node_id), c=c))
        start = np.zeros((1 if channel is None else c, 1, 1), dtype=bool)
        start[0 if channel is None else channel] = True
        seed = _Region(start, y, x)
    else:
        index = 0 if channel is None else channel
        if not 0 <= index < int(np.prod(shape)):
            raise ExplainError(tr("feature {index} is out of range for {node_id} ({value} features)").format(index=index, node_id=repr(node_id), value=int(np.prod(shape))))
        mask = np.zeros(shape, dtype=bool)
        mask.reshape(-1)[index] = True
        seed = _Region(mask, spatial=False)
        y = x = 0
    boxes = {nid: _bbox(region) for nid, region in _walk(network, node_id, seed, False).items()
             if nid in analysis.nodes and region.spatial and region.mask.any()}
    exact = _walk(network, node_id, seed, True)
    masks = {}
    for nid in boxes:
        h, w = analysis.nodes[nid].output_shape[1:]
        masks[nid] = _dense(exact[nid], h, w).any(axis=0) if nid in exact else np.zeros((h, w), dtype=bool)
    input_id = next((n.id for n in design.input_nodes() if n.id in boxes), None)
    if input_id is None:  # padding all the way back, or a transposed conv's gap between its kernel's stamps
        raise ExplainError(tr("unit ({y}, {x}) of {node} reads only padding or a bias: no input pixel reaches it")
                           .format(y=y, x=x, node=repr(node_id)))
    formula = analysis.nodes[node_id].receptive_field
    return UnitField(node_id, (y, x), channel, boxes, masks, input_id, formula)


def effective_field(network: Network, image: torch.Tensor | PreparedImage, node_id: str, y: int = 0, x: int = 0,
                    channel: int | None = None, normalized: bool = True) -> np.ndarray:
    """|∂ unit / ∂ input| summed over the input's channels, divided by its maximum: (H, W) float32
    in [0, 1], the input's size (``normalized=False``: the gradient's own values). The unit is
    (channel, y, x), or the sum over channels at (y, x). All zeros when no pixel moves the unit
    (a ReLU on the way outputs 0 for this image)."""
    require_node(network, node_id)
    with torch.inference_mode(False), torch.enable_grad():
        batch = as_batch(image, network.model).clone().requires_grad_(True)
        out = run_to(network.model, batch, node_id)[0]
        if out.dim() == 3:
            unit = out[:, y, x].sum() if channel is None else out[channel, y, x]
        else:
            unit = out.reshape(-1)[0 if channel is None else channel]
        if not unit.requires_grad:
            return np.zeros(tuple(batch.shape[2:]), dtype=np.float32)
        (grad,) = torch.autograd.grad(unit, batch)
    heat = grad[0].abs().sum(0)
    peak = float(heat.max())
    return (heat / peak if peak > 0 and normalized else heat).cpu().numpy().astype(np.float32)


# --- the backward walk ---------------------------------------------------------------------------

def _walk(network: Network, node_id: str, seed: _Region, exact: bool) -> dict[str, _Region]:
    """The region of every map upstream of the seed, keyed by node id (and ``split1:k`` for a Split's outputs)."""
    design, analysis, model = network.design, network.analysis, network.model
    regions = {node_id: seed}
    for nid in reversed(analysis.order):
        node = design.node(nid)
        record = analysis.nodes[nid]
        if record.output_shapes:  # a Split: its outputs' regions, side by side in its input's channels
            parts = [(regions.get(output_ref(nid, k)), shape) for k, shape in enumerate(record.output_shapes)]
            if any(part is not None for part, _ in parts):
                joined = _join_channels(parts, record.input_shapes[0])
                regions[nid] = joined if nid not in regions else _union(regions[nid], joined, record.input_shapes[0])
        region = regions.get(nid)
        if region is None or not node.inputs:
            continue
        in_shapes = [analysis.nodes[node_of(src)].shape_of(src) for src in node.inputs]
        out_shape = record.input_shapes[0] if record.output_shapes else record.output_shape
        for src, part in zip(node.inputs, _backward(model.get_submodule(nid), region, in_shapes, out_shape, exact)):
            regions[src] = part if src not in regions else _union(regions[src], part, in_shapes[node.inputs.index(src)])
    return regions


def _join_channels(parts: list[tuple[_Region | None, tuple[int, ...]]], whole: tuple[int, ...]) -> _Region:
    """A Split's input region from its outputs' (each in its own channels): they lie side by side."""
    joined: _Region | None = None
    start = 0
    for region, shape in parts:
        if region is not None:
            mask = region.mask
            if region.spatial and mask.shape[0] == 1 and shape[0] > 1:
                mask = np.repeat(mask, shape[0], axis=0)  # "every channel" of this output
            full = np.zeros((whole[0], *mask.shape[1:]), dtype=bool)
            full[start:start + shape[0]] = mask
            placed = _Region(full, region.top, region.left, region.spatial)
            joined = placed if joined is None else _union(joined, placed, whole)
        start += shape[0]
    return joined


def _backward(module: nn.Module, region: _Region, in_shapes: Sequence[tuple[int, ...]],
              out_shape: tuple[int, ...], exact: bool) -> list[_Region]:
    """The units of each input that feed ``region`` of this module's output."""
    if isinstance(module, (*POINTWISE, Split)):  # a Split's region arrives in its input's channels
        return [region]
    if isinstance(module, Add):
        return [region] * len(in_shapes)
    if isinstance(module, Concat):
        return _split_channels(region, in_shapes)
    if isinstance(module, Multiply):
        return [region if shape == out_shape else _broadcast(region, shape, out_shape) for shape in in_shapes]
    if isinstance(module, nn.Conv2d):
        return [_conv(module, region, in_shapes[0], exact)]
    if isinstance(module, nn.ConvTranspose2d):
        return [_conv_transpose(module, region, in_shapes[0], exact)]
    if isinstance(module, nn.ZeroPad2d):
        left, right, top, bottom = module.padding
        shifted = _Region(region.mask, region.top - top, region.left - left)
        return [_fold(shifted, in_shapes[0][1:], "zeros") if exact else shifted]
    if isinstance(module, nn.Upsample):
        textbook = None if exact else _interpolation_phases(module, in_shapes[0], out_shape)
        if textbook is not None:
            return [_phased(region, *textbook)]
        rows, cols = _interpolation_matrices(module, in_shapes[0], out_shape)
        return [_Region(rows.T @ _dense(region, *out_shape[1:]).astype(np.float32) @ cols > 0, 0, 0)]
    if isinstance(module, nn.ChannelShuffle):
        return [_unshuffle(region, module.groups)]
    if isinstance(module, SELF_NORMALISING):
        return [_normalised(module, region, in_shapes[0]) if exact else region]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return [_pool(module, region, in_shapes[0], exact)]
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        (_, n_h, n_w), (_, o_h, o_w) = in_shapes[0], out_shape
        if not exact:  # the windows' arithmetic, on through the padding positions
            return [_phased(region, adaptive_windows(n_h, o_h), adaptive_windows(n_w, o_w))]
        return [_adaptive(region, in_shapes[0], out_shape)]
    if isinstance(module, nn.LocalResponseNorm):
        return [_lrn(module, region, in_shapes[0][0])]
    if isinstance(module, nn.Softmax):
        return [_softmax(module, region, in_shapes[0])]
    if isinstance(module, (nn.Flatten, nn.Unflatten)):
        dense = _dense(region, *out_shape[1:]) if region.spatial else region.mask
        return [_from_dense(np.broadcast_to(dense, out_shape).reshape(in_shapes[0]))]
    if isinstance(module, nn.Linear):
        return [_from_dense(np.full(in_shapes[0], bool(region.mask.any())))]
    raise ExplainError(tr("receptive fields do not know how a {kind} layer maps its input").format(kind=type(module).__name__))


def _conv(module: nn.Conv2d, region: _Region, in_shape: tuple[int, ...], exact: bool) -> _Region:
    groups, mask = module.groups, region.mask
    if mask.shape[0] == 1 or groups == 1:  # every input channel feeds the region
        mask = mask.any(axis=0, keepdims=True)
    else:  # a group's input channels feed only that group's output channels
        mask = mask.reshape(groups, -1, *mask.shape[1:]).any(axis=1)
    spread = _spread(_Region(mask, region.top, region.left), sliding_window(module))
    if spread.mask.shape[0] > 1:  # one mask per group → one per input channel
        spread.mask = np.repeat(spread.mask, in_shape[0] // groups, axis=0)
    if not exact:
        return spread
    return _fold(spread, in_shape[1:], module.padding_mode)


def _conv_transpose(module: nn.ConvTranspose2d, region: _Region, in_shape: tuple[int, ...], exact: bool) -> _Region:
    """Output cell o reads input cell i where o = i·s − p + t·d for a tap t (its kernel "stamps")."""
    groups, mask = module.groups, region.mask
    if mask.shape[0] == 1 or groups == 1:
        mask = mask.any(axis=0, keepdims=True)
    else:
        mask = mask.reshape(groups, -1, *mask.shape[1:]).any(axis=1)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (hw(v) for v in (module.kernel_size, module.stride, module.padding,
                                                              module.dilation))
    c, h, w = mask.shape
    top = (region.top + ph - (kh - 1) * dh) // sh
    left = (region.left + pw - (kw - 1) * dw) // sw
    out = np.zeros((c, (region.top + h - 1 + ph) // sh - top + 1, (region.left + w - 1 + pw) // sw - left + 1),
                   dtype=bool)
    rows, cols = region.top + np.arange(h) + ph, region.left + np.arange(w) + pw
    for ty in range(kh):
        row_ok = (rows - ty * dh) % sh == 0
        in_rows = (rows[row_ok] - ty * dh) // sh - top
        for tx in range(kw):
            col_ok = (cols - tx * dw) % sw == 0
            in_cols = (cols[col_ok] - tx * dw) // sw - left
            out[:, in_rows[:, None], in_cols[None, :]] |= mask[:, row_ok][:, :, col_ok]
    if out.shape[0] > 1:
        out = np.repeat(out, in_shape[0] // groups, axis=0)
    spread = _Region(out, top, left)
    return _fold(spread, in_shape[1:], "zeros") if exact else spread


#: A weight this small is zero but for rounding (a bicubic or bilinear sampling point that falls on a
#: pixel leaves ~1e-17 on its neighbours): the textbook and the analysis say the pixel alone is read.
ROUNDING = 1e-9


def _interpolation_phases(module: nn.Upsample, in_shape: tuple[int, ...],
                          out_shape: tuple[int, ...]) -> tuple[Phases, Phases] | None:
    """The analysis' per-unit windows of an interpolation (None where it found no exact period)."""
    scales = _scale_factors(module)
    axes = tuple(interpolation_phases(module.mode, bool(module.align_corners), in_shape[a + 1], out_shape[a + 1],
                                      scales[a]) for a in (0, 1))
    return None if None in axes else axes


def _phased(region: _Region, rows: Phases, cols: Phases) -> _Region:
    """The textbook walk through windows listed per unit (uneven pools, interpolation): each unit of
    the region, padding positions included, reads its window, on an unbounded map."""
    row_map, top = _window_matrix(rows, region.top, region.mask.shape[1])
    col_map, left = _window_matrix(cols, region.left, region.mask.shape[2])
    spread = np.tensordot(row_map.T, region.mask.astype(np.float32), axes=([1], [1]))  # (in_rows, C, w)
    spread = np.tensordot(spread, col_map, axes=([2], [0]))                            # (in_rows, C, in_cols)
    return _Region(spread.transpose(1, 0, 2) > 0, top, left)


def _window_matrix(phases: Phases, first: int, count: int) -> tuple[np.ndarray, int]:
    """(count × span) float32: which input units units first … first + count − 1 read; and the first input unit."""
    windows = [phases.window(u) for u in range(first, first + count)]
    low = int(min(w[0] for w in windows if w is not None))
    high = int(max(w[1] for w in windows if w is not None))
    matrix = np.zeros((count, high - low + 1), dtype=np.float32)
    for u, w in enumerate(windows):
        if w is not None:
            matrix[u, int(w[0]) - low:int(w[1]) - low + 1] = 1
    return matrix, low


def _scale_factors(module: nn.Upsample) -> tuple[float | None, float | None]:
    """The Upsample's scale factor per axis, or (None, None) when it is given a size."""
    scale = module.scale_factor
    if scale is None:
        return (None, None)
    return tuple(map(float, scale)) if isinstance(scale, tuple) else (float(scale), float(scale))


def _interpolation_matrices(module: nn.Upsample, in_shape: tuple[int, ...],
                            out_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(out × in) bool per axis: which input rows (columns) each output row (column) blends with a
    non-zero weight, read from PyTorch's own interpolation of one-hot rows (in float64)."""
    scales = _scale_factors(module)
    matrices = []
    for axis in (0, 1):
        n, out = in_shape[axis + 1], out_shape[axis + 1]
        shape = (n, 1, n, 1) if axis == 0 else (n, 1, 1, n)
        one_hot = torch.eye(n, dtype=torch.float64).reshape(shape)
        if scales[axis] is None:
            size = (out, 1) if axis == 0 else (1, out)
            spread = F.interpolate(one_hot, size=size, mode=module.mode, align_corners=module.align_corners)
        else:
            factors = (scales[0], 1.0) if axis == 0 else (1.0, scales[1])
            spread = F.interpolate(one_hot, scale_factor=factors, mode=module.mode,
                                   align_corners=module.align_corners)
        matrices.append((spread.reshape(n, out).abs() > ROUNDING).numpy().T)
    return matrices[0], matrices[1]


def _unshuffle(region: _Region, groups: int) -> _Region:
    """ChannelShuffle: output channel o is input channel (o mod g)·(C/g) + o div g."""
    mask = region.mask
    if mask.shape[0] == 1:
        return region
    channels = mask.shape[0]
    source = np.array([(o % groups) * (channels // groups) + o // groups for o in range(channels)])
    out = np.zeros_like(mask)
    out[source] = mask
    return _Region(out, region.top, region.left, region.spatial)


def _normalised(module: nn.Module, region: _Region, in_shape: tuple[int, ...]) -> _Region:
    """Every value a normalisation's statistics read: a group's channels (GroupNorm), the image
    (LayerNorm), a channel's map (InstanceNorm2d) — unless it runs on its running statistics."""
    if isinstance(module, nn.InstanceNorm2d) and module.track_running_stats and not module.training:
        return region
    mask = _dense(region, *in_shape[1:]) if region.spatial else region.mask
    if isinstance(module, nn.LayerNorm) or mask.shape[0] == 1:
        whole = np.full(mask.shape, bool(mask.any()))
        return _Region(whole, 0, 0) if region.spatial else _from_dense(whole)
    touched = mask.reshape(mask.shape[0], -1).any(axis=1)
    if isinstance(module, nn.GroupNorm):
        groups = module.num_groups
        touched = np.repeat(touched.reshape(groups, -1).any(axis=1), mask.shape[0] // groups)
    out = np.broadcast_to(touched.reshape(-1, *(1,) * (mask.ndim - 1)), mask.shape).copy()
    return _Region(out, 0, 0) if region.spatial else _from_dense(out)


def _broadcast(region: _Region, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> _Region:
    """A broadcast input of a Multiply: along each of its size-1 axes, every output unit reads its one unit."""
    if region.spatial:
        dense = _dense(region, *out_shape[1:])
        if in_shape[0] == 1:
            dense = dense.any(axis=0, keepdims=True)
        for axis in (1, 2):
            if in_shape[axis] == 1:
                dense = dense.any(axis=axis, keepdims=True)
        return _Region(dense, 0, 0)
    dense = region.mask
    for axis, size in enumerate(in_shape):
        if size == 1:
            dense = dense.any(axis=axis, keepdims=True)
    return _from_dense(dense)


def _pool(module: nn.Module, region: _Region, in_shape: tuple[int, ...], exact: bool) -> _Region:
    spread = _spread(region, sliding_window(module))
    return _fold(spread, in_shape[1:], "zeros") if exact else spread


def _spread(region: _Region, window: Window) -> _Region:
    """Every input cell under the windows of the region's output cells (padding included)."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw, _, _) = window
    c, h, w = region.mask.shape
    out = np.zeros((c, (h - 1) * sh + (kh - 1) * dh + 1, (w - 1) * sw + (kw - 1) * dw + 1), dtype=bool)
    for ty in range(kh):
        for tx in range(kw):
            out[:, ty * dh: ty * dh + (h - 1) * sh + 1: sh, tx * dw: tx * dw + (w - 1) * sw + 1: sw] |= region.mask
    return _Region(out, region.top * sh - ph, region.left * sw - pw)


def _fold(region: _Region, size: tuple[int, int], mode: str) -> _Region:
    """Cells outside the map: dropped (zero padding), or moved onto the cells whose values the
    padding copies (reflect, replicate, circular). The result covers the whole map."""
    height, width = size
    rows = _source(np.arange(region.top, region.top + region.mask.shape[1]), height, mode)
    cols = _source(np.arange(region.left, region.left + region.mask.shape[2]), width, mode)
    out = np.zeros((region.mask.shape[0], height, width), dtype=bool)
    keep_r, keep_c = rows >= 0, cols >= 0
    sub = region.mask[:, keep_r][:, :, keep_c]
    rr, cc = np.meshgrid(rows[keep_r], cols[keep_c], indexing="ij")
    for ch in range(out.shape[0]):
        out[ch, rr[sub[ch]], cc[sub[ch]]] = True
    return _Region(out, 0, 0)


def _source(index: np.ndarray, n: int, mode: str) -> np.ndarray:
    """The real cell each (possibly padded) index reads, or −1 for a zero."""
    if mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        folded = np.abs(index) % period
        return np.where(folded >= n, period - folded, folded)
    if mode == "replicate":
        return np.clip(index, 0, n - 1)
    if mode == "circular":
        return index % n
    return np.where((index >= 0) & (index < n), index, -1)


def _adaptive(region: _Region, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> _Region:
    """Adaptive pooling: output i reads input ⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1 (exact, uneven windows too)."""
    (_, height, width), (_, oh, ow) = in_shape, out_shape
    mask = _dense(region, oh, ow).astype(np.float32)
    rows, cols = _adaptive_matrix(height, oh), _adaptive_matrix(width, ow)
    return _Region(rows.T @ mask @ cols > 0, 0, 0)


def _adaptive_matrix(n: int, o: int) -> np.ndarray:
    windows = adaptive_windows(n, o)
    m = np.zeros((o, n), dtype=np.float32)
    for i in range(o):
        first, last = windows.window(i)
        m[i, int(first):int(last) + 1] = 1
    return m


def _lrn(module: nn.LocalResponseNorm, region: _Region, channels: int) -> _Region:
    """Output channel c reads channels c − size//2 … c + (size−1)//2."""
    if region.mask.shape[0] == 1:
        return region
    out = np.zeros_like(region.mask)
    for offset in range(-(module.size // 2), (module.size - 1) // 2 + 1):
        lo, hi = max(0, offset), min(channels, channels + offset)
        out[lo:hi] |= region.mask[lo - offset:hi - offset]
    return _Region(out, region.top, region.left)


def _softmax(module: nn.Softmax, region: _Region, in_shape: tuple[int, ...]) -> _Region:
    """Every value along the softmax axis depends on all the others."""
    if not region.spatial:
        dim = (module.dim if module.dim is not None else 1) % (len(in_shape) + 1) - 1
        return _from_dense(np.broadcast_to(region.mask.any(axis=dim, keepdims=True), in_shape).copy())
    axis = (module.dim if module.dim is not None else 1) % 4 - 1  # 0: channels, 1: rows, 2: cols
    if axis == 0:
        return _Region(region.mask.any(axis=0, keepdims=True), region.top, region.left)
    dense = _dense(region, *in_shape[1:])
    return _Region(np.broadcast_to(dense.any(axis=axis, keepdims=True), dense.shape).copy(), 0, 0)


def _split_channels(region: _Region, in_shapes: Sequence[tuple[int, ...]]) -> list[_Region]:
    if region.spatial and region.mask.shape[0] == 1:
        return [region] * len(in_shapes)
    parts, start = [], 0
    for shape in in_shapes:
        piece = region.mask[start:start + shape[0]]
        parts.append(_Region(piece, region.top, region.left, region.spatial))
        start += shape[0]
    return parts


def _union(a: _Region, b: _Region, shape: tuple[int, ...]) -> _Region:
    if not a.spatial:
        return _Region(a.mask | b.mask, spatial=False)
    top, left = min(a.top, b.top), min(a.left, b.left)
    bottom = max(a.top + a.mask.shape[1], b.top + b.mask.shape[1])
    right = max(a.left + a.mask.shape[2], b.left + b.mask.shape[2])
    channels = 1 if a.mask.shape[0] == b.mask.shape[0] == 1 else shape[0]
    out = np.zeros((channels, bottom - top, right - left), dtype=bool)
    for r in (a, b):
        out[:, r.top - top: r.top - top + r.mask.shape[1], r.left - left: r.left - left + r.mask.shape[2]] |= r.mask
    return _Region(out, top, left)


def _dense(region: _Region, height: int, width: int) -> np.ndarray:
    """The region's cells inside a height×width map: (Cm, height, width) bool."""
    out = np.zeros((region.mask.shape[0], height, width), dtype=bool)
    r0, c0 = max(region.top, 0), max(region.left, 0)
    r1 = min(region.top + region.mask.shape[1], height)
    c1 = min(region.left + region.mask.shape[2], width)
    if r0 < r1 and c0 < c1:
        out[:, r0:r1, c0:c1] = region.mask[:, r0 - region.top:r1 - region.top, c0 - region.left:c1 - region.left]
    return out


def _from_dense(mask: np.ndarray) -> _Region:
    return _Region(mask, 0, 0) if mask.ndim == 3 else _Region(mask, spatial=False)


def _bbox(region: _Region) -> Box:
    cells = region.mask.any(axis=0)
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    return Box(region.top + int(rows[0]), region.left + int(cols[0]),
               region.top + int(rows[-1]), region.left + int(cols[-1]))

