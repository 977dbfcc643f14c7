"""How much memory a design needs to train and to explain, from the analysis alone (no torch).

Training one step holds, at its peak (float32 throughout):

    weights W + gradients W + optimiser state (SGD with momentum: W; Adam, AdamW: 2·W)
      + max(batch × per image, the optimiser step's temporaries)
    per image = OVERHEAD × (what autograd saves for the backward pass + the backward pass's working set)

What autograd saves is PyTorch's own rule, per layer: a conv, a batch norm, a linear layer and a
pooling layer keep their *input*; ReLU, Sigmoid, Tanh and Softmax keep their *output*; a max-pool
also keeps the index of each maximum (int64: twice a float32 output); dropout keeps its mask
(1 byte per value); Add, Concat and Flatten keep nothing (Flatten is a view of its input). A
tensor kept by several layers counts once. The backward pass works one layer at a time, freeing
what was saved as it goes: its working set is that layer's input and output gradients, and for a
conv its input unfolded into columns (C_in/groups·k·k values per output position: its MACs over
C_out). The optimiser steps after the backward pass, one tensor at a time on the CPU, with up to
four temporaries the size of the largest weight tensor. ``OVERHEAD`` covers what the allocator
holds beyond live tensors. Against the measured peak of real steps (``bench/memory.py
--calibrate``, ``tests/test_memory.py``) the estimate is within 0.85–1.23×.

Explaining an image keeps every layer's output (the views show them all) and runs Grad-CAM's
backward pass: weights + every output + what autograd saves, for one image.

``memory_warning`` turns an estimate into the analysis's warning at the node that dominates, with
the fix that shrinks it most simply; the engine adds it to that node's record in every analysis
(one pass over the records), keeping the record without it for the next incremental analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..design.catalog import layer_spec
from ..design.edits import InsertBefore, SetParam
from ..design.graph import Design
from ..design.ports import node_of
from ..i18n import tr
from ..messages import size_in_bytes
from .results import Analysis, Fix, Issue
from .text import grouped, shape as fmt_shape

BYTES_PER_VALUE = 4
#: Optimiser state per parameter, in copies of the weights.
OPTIMIZER_COPIES = {"sgd": 1, "adam": 2, "adamw": 2}
#: The analysis warns when training a batch this small would need more than ``WARN_BYTES``: more
#: than a 16 GB GPU or a 16 GB laptop holds, even for a modest batch.
REFERENCE_BATCH = 8
WARN_BYTES = 16 << 30

#: What the allocator adds (freed blocks not yet reused, temporaries inside a layer), measured as
#: the peak resident memory of real training steps over the sum above (bench/memory.py --calibrate).
OVERHEAD = 1.25

#: Layers whose backward pass needs their input (kept until the backward pass reaches them).
SAVES_INPUT = frozenset({"Conv2d", "BatchNorm2d", "Linear", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                         "AdaptiveMaxPool2d", "LeakyReLU", "ReLU6", "GELU", "SiLU", "LocalResponseNorm",
                         "ConvTranspose2d", "GroupNorm", "LayerNorm", "InstanceNorm2d", "Hardswish", "Hardsigmoid",
                         "PReLU", "Mish", "Multiply"})
#: Layers whose backward pass needs their output.
SAVES_OUTPUT = frozenset({"ReLU", "Sigmoid", "Tanh", "Softmax", "ELU"})
#: Layers whose output is a view of their input (no memory of their own; a Split's chunks are views).
VIEWS = frozenset({"Flatten", "Identity", "Input", "Split"})
#: Extra bytes per output value a layer keeps besides a tensor: max-pool indices (int64), dropout's mask.
EXTRA_PER_VALUE = {"MaxPool2d": 8, "AdaptiveMaxPool2d": 8, "Dropout": 1, "Dropout2d": 1,
                   "LocalResponseNorm": 2 * BYTES_PER_VALUE}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs at its peak, by part; ``total`` is the peak."""

    weights: int
    gradients: int
    optimizer_state: int
    #: For the whole batch: what is kept for the backward pass (or shown) plus the working gradients.
    activations: int
    batch_size: int
    #: The node responsible for the largest part (its activations × batch, or its weights' share).
    dominant: str | None = None
    #: The optimiser's temporaries during its step (after the backward pass has freed the activations).
    step: int = 0

    @property
    def total(self) -> int:
        return self.fixed + max(self.activations, self.step)

    @property
    def fixed(self) -> int:
        """What does not grow with the batch."""
        return self.weights + self.gradients + self.optimizer_state

    @property
    def per_image(self) -> int:
        return self.activations // max(self.batch_size, 1)

    def largest_batch(self, free: int) -> int:
        """The largest batch whose estimate fits in ``free`` bytes (0: not even one image)."""
        room = free - self.fixed
        if room < self.step or room < 0:
            return 0
        return room // self.per_image if self.per_image else 1 << 30

    def describe(self) -> str:
        """ "about 4.2 GiB (weights 45 MiB, gradients 45 MiB, optimiser state 90 MiB, activations
        4.0 GiB for a batch of 64)" """
        parts = [tr("weights {size}").format(size=size_in_bytes(self.weights))]
        if self.gradients:
            parts.append(tr("gradients {size}").format(size=size_in_bytes(self.gradients)))
        if self.optimizer_state:
            parts.append(tr("optimiser state {size}").format(size=size_in_bytes(self.optimizer_state)))
        if self.step > self.activations:
            parts.append(tr("the optimiser's step {size}").format(size=size_in_bytes(self.step)))
        else:
            parts.append(tr("activations {size} for {count}").format(
                size=size_in_bytes(self.activations),
                count=tr("one image") if self.batch_size == 1 else tr("a batch of {n}").format(n=self.batch_size)))
        return tr("about {total} ({parts})").format(total=size_in_bytes(self.total), parts=", ".join(parts))


@dataclass(frozen=True)
class _Parts:
    """Per node (bytes, one image): kept for backward, kept by the views, weights (parameters)."""

    saved: dict[str, int]
    shown: dict[str, int]
    params: dict[str, int]
    #: The most the backward pass holds at one layer besides what is saved: the gradients into
    #: and out of it, and for a conv the unfolded input (C_in/groups·k·k values per output position).
    working: int


def _parts(design: Design, analysis: Analysis) -> _Parts:
    """Attribute every kept tensor to the node that made it (a view's to the node it views). One
    pass over the records (their types and input ids): nothing is looked up in the design."""
    owner: dict[str, str] = {}
    saved: dict[str, int] = {}
    shown: dict[str, int] = {}
    params: dict[str, int] = {}
    working = 0
    nodes = analysis.nodes
    for nid in analysis.order:
        result = nodes[nid]
        if result.output_shape is None:
            continue
        kind, size = result.type, result.activation_bytes
        inputs = tuple(node_of(src) for src in result.basis.inputs) if result.basis is not None else ()
        working = max(working, record_working(result))
        params[nid] = result.params
        if kind == "Input":
            owner[nid] = nid
            saved[nid] = size  # the batch itself is always in memory
            shown[nid] = size
            continue
        is_view = kind in VIEWS
        owner[nid] = owner.get(inputs[0], inputs[0]) if is_view and inputs else nid
        if not is_view:
            shown[nid] = size
        if kind in SAVES_OUTPUT:
            holder = owner[nid]
            saved[holder] = nodes[holder].activation_bytes
        if kind in SAVES_INPUT:
            for src in inputs:
                holder = owner.get(src, src)
                saved[holder] = nodes[holder].activation_bytes
        extra = EXTRA_PER_VALUE.get(kind, 0)
        if extra:
            saved[f"{nid}#extra"] = size // BYTES_PER_VALUE * extra
    return _Parts(saved, shown, params, working)


def training_memory(design: Design, analysis: Analysis, batch_size: int = REFERENCE_BATCH,
                    optimizer: str = "adam", momentum: float = 0.9, activation_scale: float = 1.0) -> MemoryEstimate:
    """The peak of one training step at ``batch_size`` (see the module docstring).
    ``activation_scale``: < 1 under mixed precision (half-precision activations)."""
    parts = _parts(design, analysis)
    weights = sum(parts.params.values()) * BYTES_PER_VALUE
    copies = OPTIMIZER_COPIES.get(optimizer, 2) if optimizer != "sgd" or momentum else 0
    per_image = int((sum(parts.saved.values()) + parts.working) * OVERHEAD)
    activations = int(per_image * batch_size * activation_scale)
    # The optimiser's step runs after the backward pass has freed the activations; on the CPU it
    # works one tensor at a time with up to four temporaries the size of that tensor.
    step = 4 * max(parts.params.values(), default=0) * BYTES_PER_VALUE if copies or momentum else 0
    return MemoryEstimate(weights, weights, copies * weights, activations, batch_size,
                          _dominant(parts, batch_size, 2 + copies), step)


def weights_memory(design: Design, analysis: Analysis) -> MemoryEstimate:
    """Only the weights: what building the model allocates."""
    return MemoryEstimate(analysis.params * BYTES_PER_VALUE, 0, 0, 0, 1, None)


def explain_memory(design: Design, analysis: Analysis) -> MemoryEstimate:
    """Explaining one image: weights, every output (the views keep them), and Grad-CAM's backward pass."""
    parts = _parts(design, analysis)
    weights = sum(parts.params.values()) * BYTES_PER_VALUE
    activations = int((sum(parts.shown.values()) + sum(parts.saved.values()) + parts.working) * OVERHEAD)
    return MemoryEstimate(weights, 0, 0, activations, 1, _dominant(parts, 1, 0))


def _dominant(parts: _Parts, batch: int, weight_copies: int) -> str | None:
    share: dict[str, int] = {}
    for key, size in parts.saved.items():
        node = key.partition("#")[0]
        share[node] = share.get(node, 0) + size * batch
    for node, count in parts.params.items():
        share[node] = share.get(node, 0) + count * BYTES_PER_VALUE * (1 + weight_copies)
    return max(share, key=share.get) if share else None


def record_kept(result) -> int:
    """Per image, an upper bound of what one node's record adds to what autograd saves: its output
    and its extras (whether or not a layer after it keeps them). Read from the record alone, so the
    engine keeps the sum over an analysis up to date as it re-runs nodes."""
    if result.output_shape is None:
        return 0
    size = result.activation_bytes
    return size + size // BYTES_PER_VALUE * EXTRA_PER_VALUE.get(result.type, 0)


def record_working(result) -> int:
    """Per image, the backward pass's working set at one node: its output's and its inputs' gradients,
    and for a conv its input unfolded into columns (C_in/groups·k_h·k_w values per output position,
    the CPU's and many GPU kernels' workspace: its MACs over C_out). The estimate takes the largest
    over the nodes; the engine keeps a running maximum as it re-runs nodes."""
    shape = result.output_shape
    if shape is None:
        return 0
    total = result.activation_bytes
    for input_shape in result.input_shapes:
        total += _prod(input_shape) * BYTES_PER_VALUE
    if result.type == "Conv2d" and shape[0]:
        total += result.macs // shape[0] * BYTES_PER_VALUE
    return total


_prod = math.prod


def may_need_warning(params: int, kept: int, working: int) -> bool:
    """Whether a design with ``params`` parameters, a ``record_kept`` sum of ``kept`` and a
    ``record_working`` of at most ``working`` could need the memory warning: when not,
    ``memory_warning`` has nothing to say (checked in O(1) on every edit)."""
    weights = params * BYTES_PER_VALUE
    upper = 4 * weights + max(int(OVERHEAD * (kept + working) * REFERENCE_BATCH), 4 * weights)
    return upper > WARN_BYTES


def memory_warning(design: Design, analysis: Analysis) -> tuple[str, Issue] | None:
    """(node, warning) when training even a batch of ``REFERENCE_BATCH`` needs more than ``WARN_BYTES``:
    at the node whose activations or weights dominate, with what would shrink them."""
    if not analysis.ok:
        return None
    estimate = training_memory(design, analysis)
    if estimate.total <= WARN_BYTES or estimate.dominant is None:
        return None
    nid = estimate.dominant
    result = analysis.nodes[nid]
    node = design.node(nid)
    need = tr("Training needs {estimate}: more than most GPUs and computers have.").format(
        estimate=estimate.describe())
    weights_share = result.params * BYTES_PER_VALUE * (estimate.fixed // max(estimate.weights, 1))
    if weights_share >= result.activation_bytes * estimate.batch_size:  # its weights, not its output
        message = tr("{need} {node} holds {count} parameters: {size} with their gradients and optimiser "
                     "state.").format(need=need, node=repr(nid), count=grouped(result.params),
                                      size=size_in_bytes(weights_share))
        return nid, _weights_issue(design, analysis, nid, message)
    message = tr("{need} The largest part is the output of {node} ({shape}): {size} per image, kept for the "
                 "backward pass.").format(need=need, node=repr(nid), shape=fmt_shape(result.output_shape),
                                          size=size_in_bytes(result.activation_bytes))
    if node.type in ("Conv2d", "MaxPool2d", "AvgPool2d") and _stride(node) == (1, 1):
        return nid, Issue(message, tr("Downsample early: a stride of 2 here quarters this map and every map after "
                                      "it; or use a smaller input."),
                          Fix(tr("Set stride to 2"), (SetParam(nid, "stride", 2),)), "warning")
    return nid, Issue(message, tr("Use a smaller input, or downsample (stride 2, pooling) before this layer."),
                      None, "warning")


def _weights_issue(design: Design, analysis: Analysis, nid: str, message: str) -> Issue:
    """A Linear fed by a Flatten of a large map: pool the map first."""
    node = design.node(nid)
    source = design.get(node.inputs[0]) if node.type == "Linear" and node.inputs else None
    if source is not None and source.type == "Flatten" and source.inputs:
        before = analysis.nodes[source.inputs[0]].output_shape
        if before and len(before) == 3 and before[1] * before[2] > 1:
            hint = tr("Pool the map before {flatten}: an AdaptiveAvgPool2d to 1×1 gives {node} {small} inputs "
                      "instead of {large}.").format(flatten=repr(source.id), node=repr(nid), small=grouped(before[0]),
                                                    large=grouped(math.prod(before)))
            return Issue(message, hint, Fix(tr("Insert AdaptiveAvgPool2d (1×1) before {flatten}").format(
                flatten=repr(source.id)), (InsertBefore(source.id, "AdaptiveAvgPool2d", {"output_size": 1}),)),
                "warning")
    return Issue(message, tr("Use fewer channels or features in this layer."), None, "warning")


def _stride(node) -> tuple[int, int]:
    params = layer_spec(node.type).resolve(node.params)
    value = params["stride"] if params["stride"] is not None else params["kernel_size"]  # pooling: the kernel
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))
