"""Capturing node outputs, and the activations they yield.

Every output of a built model (a ``GraphModule``) is recorded by running its graph with all node
values returned (``_recorder``: no hook calls); a subset, or a module of another kind, through
forward hooks. Hooks store references (no copies) and are removed when the ``with`` block ends,
even on an exception, so nothing is left on the model. Each hook records only calls made from the
thread that installed it: two workers explaining the same model at once do not see each other's
captures.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch
import torch.fx
from torch import nn

from .. import sysmem
from ..i18n import tr
from ..data.images import PreparedImage
from ..design.ports import node_of, output_ref
from .errors import ExplainError


def as_batch(image: torch.Tensor | PreparedImage, model: nn.Module | None = None) -> torch.Tensor:
    """The (1, C, H, W) float32 tensor of a prepared image (or of a tensor already in that form), on
    ``model``'s device (prepared images are made on the CPU; a model may be on a GPU)."""
    tensor = image.tensor if isinstance(image, PreparedImage) else image
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4 or tensor.shape[0] != 1:
        raise ExplainError(tr("expected one image as a 1×C×H×W tensor, got shape {value}").format(value=tuple(tensor.shape)))
    return tensor.detach().to(model_device(model) if model is not None else tensor.device, torch.float32)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s weights are (the CPU for a model without any)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def node_ids(model: nn.Module) -> list[str]:
    """The node ids of a built model: its direct submodules, in topological order."""
    return [name for name, _ in model.named_children()]


@contextmanager
def capture(model: nn.Module, nodes: Iterable[str] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, every forward call stores each node's output tensor in the yielded dict
    (``nodes`` may name one output of a Split, ``sp:1``: its Split is hooked, and every output stored)."""
    store: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()
    handles = []
    try:
        for node_id in (node_ids(model) if nodes is None else dict.fromkeys(map(node_of, nodes))):
            def hook(module, args, output, node_id=node_id):
                if threading.get_ident() == owner:
                    _keep(store, node_id, output)
            handles.append(_module(model, node_id).register_forward_hook(hook))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def _keep(store: dict[str, torch.Tensor], node_id: str, output: torch.Tensor | tuple[torch.Tensor, ...]) -> None:
    """Store one node's output; a Split's: the whole (its input again) and each output."""
    if isinstance(output, tuple):
        for port, part in enumerate(output):
            store[output_ref(node_id, port)] = part
        output = torch.cat(output, dim=1)
    store[node_id] = output


#: model → (a weak reference to its graph (a graph refers to its model), a module running that graph
#: that returns every node's output, their ids).
_RECORDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_RECORDERS_LOCK = threading.Lock()


def _recorder(model: nn.Module) -> tuple[nn.Module, list[str]] | None:
    """For a built model (a ``GraphModule``): a module sharing its layers whose ``forward`` returns
    every node's output, and the node ids in that order — what ``capture``'s hooks collect, without a
    Python hook call per layer (1.5–2 ms of resnet18's 25 ms pass). Made once per model and graph.
    None for other modules: they are captured with hooks."""
    if not isinstance(model, torch.fx.GraphModule):
        return None
    with _RECORDERS_LOCK:
        made = _RECORDERS.get(model)
        if made is not None and made[0]() is model.graph:
            return made[1], made[2]
        graph, values, ids = torch.fx.Graph(), {}, []
        outputs = []
        for node in model.graph.nodes:
            if node.op == "output":
                continue
            values[node] = graph.node_copy(node, values.__getitem__)
            if node.op == "call_module":
                ids.append(node.target)
                outputs.append(values[node])
        graph.output(tuple(outputs))
        recorder = torch.fx.GraphModule(model, graph, class_name="Recorder")
        _RECORDERS[model] = (weakref.ref(model.graph), recorder, ids)
        return recorder, ids


class _Reached(Exception):
    def __init__(self, output: torch.Tensor) -> None:
        super().__init__()
        self.output = output


def run_to(model: nn.Module, image: torch.Tensor, node_id: str) -> torch.Tensor:
    """Run the forward pass only as far as ``node_id`` and return its output (with autograd
    history when gradients are on); the layers after it never run."""
    owner = threading.get_ident()

    def stop(module, args, output):
        if threading.get_ident() == owner:
            raise _Reached(torch.cat(output, dim=1) if isinstance(output, tuple) else output)

    handle = _module(model, node_id).register_forward_hook(stop)
    try:
        output = model(image)
    except _Reached as reached:
        return reached.output
    finally:
        handle.remove()
    return output  # pragma: no cover - the hook always fires for a node of the model


@contextmanager
def leaf_at(model: nn.Module, node_id: str) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, ``node_id``'s output is replaced by a detached copy that requires grad
    (stored under "leaf"): gradients of later outputs stop there, so a backward pass costs only
    the layers after the node."""
    store: dict[str, torch.Tensor] = {}
    owner = threading.get_ident()

    def hook(module, args, output):
        if threading.get_ident() == owner:
            store["leaf"] = output.detach().requires_grad_(True)
            return store["leaf"]
        return None

    handle = _module(model, node_id).register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


class Activations(Mapping):
    """Every captured node's output for one image: ``acts[node_id]`` is a numpy float32 array of
    the node's per-image shape (C, H, W) or (F,), made on first access and shared (read-only)."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], order: list[str] | None = None) -> None:
        self._tensors = dict(tensors)
        self._order = [n for n in (order or list(self._tensors)) if n in self._tensors]
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, node_id: str) -> np.ndarray:
        array = self._arrays.get(node_id)
        if array is None:
            tensor = self._tensors[node_id][0]
            array = np.ascontiguousarray(tensor.detach().cpu().to(torch.float32).numpy())
            array.flags.writeable = False
            self._arrays[node_id] = array
        return array

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def tensor(self, node_id: str) -> torch.Tensor:
        """The captured (1, …) tensor itself (no copy): what the next layer received. ``node_id`` may
        name one output of a Split (``split1:1``); the Split's own id gives all its channels."""
        return self._tensors[node_id]


def feature_maps(network, image: torch.Tensor | PreparedImage, nodes: Iterable[str] | None = None) -> Activations:
    """One forward pass (no autograd) capturing the output of every node, or of ``nodes``.
    ``network``: a ``Network`` or a built model."""
    model = getattr(network, "model", network)
    batch = as_batch(image, model)
    recorder = _recorder(model) if nodes is None else None
    with torch.inference_mode():
        if recorder is None:
            with capture(model, nodes) as store:
                model(batch)
        else:
            module, ids = recorder
            store = {}
            for node_id, output in zip(ids, module(batch)):
                _keep(store, node_id, output)
    return Activations(store, node_ids(model))


def keep_freed_memory(limit: int = 1 << 30) -> bool:
    """Ask glibc to keep up to ``limit`` bytes of freed memory instead of returning it at once.

    A capture keeps every activation alive (33 MB for resnet18 at 224×224), so the forward pass
    writes to memory that glibc handed back to the system after the previous capture: thousands
    of page faults per capture, about a third of a bare forward pass in ``bench/explain_latency.py``.
    With this call they vanish. Process-wide and permanent, so it is for the app to call once at
    start, not for library code; returns False (and does nothing) where the C library is not glibc.
    """
    libc = sysmem.glibc()
    if libc is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    return bool(libc.mallopt(m_trim_threshold, int(limit))) and bool(libc.mallopt(m_mmap_threshold, 32 << 20))


def _module(model: nn.Module, node_id: str) -> nn.Module:
    try:
        return model.get_submodule(node_id)
    except AttributeError:
        raise ExplainError(tr("the model has no node {node_id}").format(node_id=repr(node_id))) from None
