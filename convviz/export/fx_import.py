"""Import a hand-written ``nn.Module``: ``torch.fx`` traces it into a design and its weights.

Catalog layers called as submodules become nodes named after their qualified names
(``layer1.0.conv1`` → ``layer1_0_conv1``); a module without state called twice (torchvision's one
``self.relu`` per block) becomes one node per call. ``+`` / ``torch.add``, ``*`` / ``torch.mul``
(broadcasting: a squeeze-and-excitation gate), ``torch.cat(..., dim=1)`` (of one tensor: nothing),
``torch.flatten``, ``x.view(x.size(0), -1)``, ``x.mean((2, 3))`` (global average pooling), the
view–transpose–view of a channel shuffle and the functional forms of the activations, pools,
dropout, ``F.interpolate`` and ``F.pad`` become the matching layer types.

What cannot be imported is never replaced by another function: it becomes a ``Placeholder`` node
(an error until the user replaces it) and an ``ImportIssue`` naming the fx node and the reason. A
module with weights called twice (true weight sharing) is refused, naming both call sites: a
design gives every layer its own weights. A complete import is checked against the original
module on a random input, node by node, before it is returned.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import operator
import os
import re
import sys
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp, _extract_tensor_metadata

from ..analysis import analyze
from ..design import Design, Head, InputSpec, fresh_id, id_problem
from ..design.ids import MAX_ID_LENGTH
from ..design.ports import output_ref, port_of
from ..i18n import ntr, tr
from ..messages import first_line
from ..model import build_model, carry_over_weights
from ..reading import open_regular
from . import fx_ops as ops
from .fx_check import Mismatch, check_same_function


#: A Python file larger than this is refused before it is run.
MAX_SOURCE_BYTES = 16 << 20


class ModuleImportError(ValueError):
    """The module cannot be imported at all (no such class, does not build, cannot be traced), in one line."""


@dataclass(frozen=True)
class ImportIssue:
    """One operation that could not be imported as it is: the fx node, what it calls, and why."""

    node: str
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.node} ({self.target}): {self.reason}" if self.node else self.reason


@dataclass
class ImportResult:
    design: Design
    #: Keyed by the new node ids; complete (ready for ``build_model(design).load_state_dict``) when
    #: the design analyses cleanly, else only the tensors taken from the module.
    state_dict: OrderedDict[str, torch.Tensor]
    issues: list[ImportIssue] = field(default_factory=list)
    #: What the user should know about a complete import (the loss weights given to auxiliary heads).
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.issues


# --- loading a class from a file ---------------------------------------------------------------

def load_module(path: str | os.PathLike, class_name: str) -> nn.Module:
    """Run the Python file ``path`` (as ``python`` would) and build ``class_name()`` from it."""
    target = Path(path)
    with open_regular(target, MAX_SOURCE_BYTES, ModuleImportError, "a Python file"):
        pass  # a regular file of a sane size: running a pipe or /dev/zero would never end
    name = f"_convviz_import_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, target)
    if spec is None or spec.loader is None:
        raise ModuleImportError(tr('{name}: not a Python file').format(name=target.name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        raise ModuleImportError(tr('{name}: running it failed: {error_type}: {first_line}').format(name=target.name, error_type=type(exc).__name__, first_line=first_line(exc))) from exc
    finally:
        sys.modules.pop(name, None)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = [k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)
                 and v.__module__ == name]
        raise ModuleImportError(tr('{name} has no nn.Module class {class_name!r} (it has: {value})').format(name=target.name, class_name=class_name, value=', '.join(found) or 'none'))
    try:
        return cls()
    except TypeError as exc:
        raise ModuleImportError(tr('{class_name}() cannot be built without arguments ({first_line}); give its arguments defaults').format(class_name=class_name, first_line=first_line(exc))) from exc
    except Exception as exc:
        raise ModuleImportError(tr('{class_name}() failed: {error_type}: {first_line}').format(class_name=class_name, error_type=type(exc).__name__, first_line=first_line(exc))) from exc


_counter = itertools.count(1)


def import_python_file(path: str | os.PathLike, class_name: str, input_spec: InputSpec) -> ImportResult:
    return import_module(load_module(path, class_name), input_spec, name=class_name)


# --- tracing ---------------------------------------------------------------------------------------

def import_module(module: nn.Module, input_spec: InputSpec, name: str | None = None) -> ImportResult:
    """Trace ``module`` (a copy, in eval mode: the original is not touched) on ``input_spec`` images.

    A module whose training-mode forward returns more outputs than its eval-mode one (GoogLeNet's
    and Inception-v3's auxiliary classifiers) is imported with them as heads, when that trace
    imports completely: the main output first, each auxiliary one with a loss weight of
    ``AUX_LOSS_WEIGHT`` (said in ``ImportResult.notes``)."""
    name = name or type(module).__name__
    result = _Translator(_traced(copy.deepcopy(module).eval(), input_spec, name), input_spec, name).run()
    if result.issues:
        return result
    training = _training_trace(module, input_spec, name)
    if training is None:
        return result
    try:
        with_heads = _Translator(training, input_spec, name).run()
    except ModuleImportError:
        with_heads = None
    if with_heads is None or with_heads.issues:
        result.notes.append(tr("{name} returns more outputs in training mode (auxiliary heads), but they could not "
                               "be imported: the design has its main output only").format(name=name))
        return result
    return with_heads


#: The loss weight an imported auxiliary head starts with (GoogLeNet's paper: 0.3); the inspector edits it.
AUX_LOSS_WEIGHT = 0.3


def _traced(module: nn.Module, input_spec: InputSpec, name: str) -> torch.fx.GraphModule:
    """``module`` traced by torch.fx (with the lines of the user's code, for messages) and its
    values' shapes propagated on a batch of two ``input_spec`` images."""
    tracer = _MarkingTracer()
    tracer.record_stack_traces = True  # so a refusal can name the lines of the user's file
    try:
        with _self_training_marked(module):
            graph = tracer.trace(module)
        graph_module = torch.fx.GraphModule(module, graph, name)
    except Exception as exc:
        raise ModuleImportError(tr('torch.fx cannot trace {name}.forward: {first_line}').format(name=name, first_line=first_line(exc))) from exc
    placeholders = [n for n in graph_module.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ModuleImportError(tr('{name}.forward takes {count} inputs; a design has one image input').format(name=name, count=len(placeholders)))
    example = torch.zeros(2, *input_spec.shape)
    shape = "×".join(map(str, input_spec.shape))
    try:
        with torch.no_grad():
            _QuietShapeProp(graph_module.eval()).propagate(example)
    except _LayerFailed as failed:  # fx's interpreter appends its node dump on further lines
        raise ModuleImportError(tr('{name} does not run on {shape} images: {first_line}').format(name=name, shape=shape, first_line=first_line(failed, 600))) from None
    except Exception as exc:
        raise ModuleImportError(tr('{name} does not run on {shape} images: {first_line}').format(name=name, shape=shape, first_line=first_line(exc))) from None
    return graph_module


class _EvalTraining:
    """``self.training`` of a module traced in eval mode: false, as it is then, but told apart from a
    hard-coded False (``F.dropout(x, p, training=False)`` never drops; ``training=self.training`` is a Dropout)."""

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is self or other is False or other == 0

    def __hash__(self) -> int:
        return hash(False)


class _MarkingTracer(torch.fx.Tracer):
    """Records a call's arguments that were ``self.training`` (an ``_EvalTraining``) as False, naming them
    (by keyword or ``#index``) in the node's ``meta[fx_ops.SELF_TRAINING]``."""

    def create_proxy(self, kind, target, args, kwargs, *rest, **options):
        named = {f"#{i}" for i, a in enumerate(args) if isinstance(a, _EvalTraining)}
        named |= {k for k, v in kwargs.items() if isinstance(v, _EvalTraining)}
        if named:
            args = tuple(False if isinstance(a, _EvalTraining) else a for a in args)
            kwargs = {k: False if isinstance(v, _EvalTraining) else v for k, v in kwargs.items()}
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **options)
        if named:
            proxy.node.meta[ops.SELF_TRAINING] = frozenset(named)
        return proxy


@contextmanager
def _self_training_marked(module: nn.Module) -> Iterator[None]:
    """While an eval-mode ``module`` is traced, every submodule's ``training`` is an ``_EvalTraining``
    (a module in training mode is traced as it is)."""
    if module.training:
        yield
        return
    modules = list(module.modules())
    try:
        for m in modules:
            m.training = _EvalTraining()
        yield
    finally:
        for m in modules:
            m.training = False


def _training_trace(module: nn.Module, input_spec: InputSpec, name: str) -> torch.fx.GraphModule | None:
    """The training-mode trace (its modules then set to eval), when its forward returns several outputs."""
    copy_ = copy.deepcopy(module).train()
    try:
        graph = torch.fx.Tracer().trace(copy_)
    except Exception:
        return None
    output = next((n for n in graph.nodes if n.op == "output"), None)
    returned = output.args[0] if output is not None else None
    if not isinstance(returned, (tuple, list)) or len(returned) < 2:
        return None
    try:
        return _traced(copy_, input_spec, name)
    except ModuleImportError:
        return None


class _LayerFailed(Exception):
    """Which layer failed on which input shapes, and PyTorch's first line about it."""


class _QuietShapeProp(ShapeProp):
    """``ShapeProp`` that names the failing layer and its input shapes in one line, instead of
    printing PyTorch's traceback and raising a message that dumps the node's metadata."""

    def run_node(self, n: torch.fx.Node) -> Any:
        try:
            result = torch.fx.Interpreter.run_node(self, n)
        except Exception as exc:  # noqa: BLE001 — whatever the user's module raises is reported, not re-raised
            args, _ = self.fetch_args_kwargs_from_env(n)
            # the example batch holds 2 images: say what one image's tensor is, as the user wrote the input
            shapes = ", ".join("×".join(map(str, a.shape[1:] if a.dim() > 1 and a.shape[0] == 2 else a.shape))
                               for a in args if isinstance(a, torch.Tensor)) or tr("no tensor")
            raise _LayerFailed(tr('{describe_node} gets {shapes} per image: {first_line}').format(describe_node=_describe_node(self.module, n), shapes=shapes, first_line=first_line(exc))) from None
        metas = []

        def meta_of(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                metas.append(value)
                return _extract_tensor_metadata(value)
            return value

        meta = torch.fx.node.map_aggregate(result, meta_of)
        if metas:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result


def _describe_node(module: nn.Module, n: torch.fx.Node) -> str:
    """ "layer conv1 (Conv2d)", "flatten (torch.flatten)", "x.view" """
    if n.op == "call_module":
        try:
            kind = type(module.get_submodule(str(n.target))).__name__
        except AttributeError:
            kind = "module"
        return tr('layer {target} ({kind})').format(target=n.target, kind=kind)
    if n.op == "call_function":
        return f"{n.name} ({getattr(n.target, '__module__', '') or ''}.{getattr(n.target, '__name__', n.target)})".replace(
            "(.", "(")
    return f"{n.name} ({n.op} {n.target})"


class _Translator:
    def __init__(self, graph_module: torch.fx.GraphModule, input_spec: InputSpec, name: str) -> None:
        self.gm = graph_module
        self.design = Design(name, input_spec)
        self.state: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.issues: list[ImportIssue] = []
        self.notes: list[str] = []
        #: fx node → id of the design node holding its tensor (absent: not a tensor, or lost).
        self.values: dict[torch.fx.Node, str] = {}
        #: fx node → why its tensor is not in the design (a parameter used directly).
        self.lost: dict[torch.fx.Node, str] = {}
        #: Submodule name → the fx node of its first call (a second call of a module with state is refused).
        self.first_calls: dict[str, torch.fx.Node] = {}
        #: fx split/chunk node → the Split node holding its outputs (its items are ``split:k``).
        self.splits: dict[torch.fx.Node, str] = {}
        #: Channel shuffles under way, by the fx node of their latest step.
        self.shuffles: dict[torch.fx.Node, _Shuffle] = {}

    def run(self) -> ImportResult:
        output = None
        for node in self.gm.graph.nodes:
            if node.op == "output":
                output = node
            else:
                self.translate(node)
        result = output.args[0] if output is not None else None
        returned = list(result) if isinstance(result, (tuple, list)) else [result]
        if not all(isinstance(r, torch.fx.Node) and r in self.values for r in returned) or \
                len({self.values[r] for r in returned}) != len(returned):
            raise ModuleImportError(tr('{name}.forward must return one tensor computed from its input').format(name=self.design.name))
        heads = [self.values[r] for r in returned]
        if len(heads) > 1:  # the training-mode trace of a module with auxiliary heads
            self.design.set_heads([Head(heads[0]), *(Head(nid, AUX_LOSS_WEIGHT) for nid in heads[1:])])
            self.notes.append(ntr("its auxiliary head {names} starts with loss weight {w:g}",
                                  "its {n} auxiliary heads ({names}) start with loss weight {w:g} each",
                                  len(heads) - 1).format(n=len(heads) - 1, names=", ".join(heads[1:]),
                                                         w=AUX_LOSS_WEIGHT))
        elif port_of(heads[0]) is not None:  # ``return x.chunk(2, 1)[0]``: one output of a Split is the model's
            self.design.set_heads([Head(heads[0])])
        return self.finish(heads[0])

    def translate(self, node: torch.fx.Node) -> None:
        if node.op == "placeholder":
            self.values[node] = self.add("input", "Input", [], {})
            return
        if node.op == "get_attr":
            self.lost[node] = tr('self.{target}, a parameter or buffer used directly').format(target=node.target)
            return
        if ops.is_split(node):
            self.translate_split(node)
            return
        if node.op == "call_function" and node.target is operator.getitem and node.args[0] in self.splits:
            self.values[node] = output_ref(self.splits[node.args[0]], node.args[1])  # output k of a Split
            return
        if not ops.is_tensor(node):
            return  # sizes and other plumbing: what consumes them is checked where it is used
        tensors = [a for a in ops.node_arguments(node) if ops.is_tensor(a) or a in self.lost]
        try:
            if any(a in self.shuffles for a in tensors):
                self.continue_shuffle(node, tensors)
                return
            missing = [self.lost[a] for a in tensors if a not in self.values]
            if missing:
                raise ops.Unsupported(tr('its input is {missing}').format(missing=missing[0]))
            self.translate_op(node, [self.values[a] for a in tensors])
        except ops.Unsupported as exc:
            reason = str(exc)
            inputs = list(dict.fromkeys(self.values[a] for a in tensors if a in self.values))
            # Never another function in its place: an error node the user must replace, wired where it stood.
            self.values[node] = self.add(node.name, "Placeholder", inputs,
                                         {"stands_for": ops.describe(node, self.gm), "reason": reason})
            self.issues.append(ImportIssue(node.name, ops.describe(node, self.gm), reason))

    def translate_op(self, node: torch.fx.Node, inputs: list[str]) -> None:
        if node.op == "call_module":
            self.translate_module(node, inputs)
            return
        if node.op == "call_method" and node.target in ops.PASS_THROUGH_METHODS:
            self.values[node] = inputs[0]
            return
        groups = ops.shuffle_groups(node)
        if groups is not None:
            self.shuffles[node] = _Shuffle(inputs[0], node.all_input_nodes[0], groups, "grouped")
            return
        current = inputs
        layers = ops.operation_layers(node, inputs)
        if not layers:
            self.values[node] = inputs[0]
            return
        for index, (layer, params) in enumerate(layers):
            raw = node.name if index == 0 else f"{node.name}_{layer.lower()}"
            current = [self.add(raw, layer, current, params)]
        self.values[node] = current[0]

    def translate_module(self, node: torch.fx.Node, inputs: list[str]) -> None:
        module = self.gm.get_submodule(node.target)
        first = self.first_calls.get(node.target)
        if first is not None and _has_state(module):
            raise ModuleImportError(tr(
                "self.{name} ({type}) is called twice, at {first} and at {second}: it shares its weights between "
                "them, and a design gives every layer weights of its own. Give the second call a module of its "
                "own (copy.deepcopy), or import a version without shared weights").format(
                    name=node.target, type=type(module).__name__, first=_call_site(first), second=_call_site(node)))
        self.first_calls.setdefault(node.target, node)
        layer, params = ops.module_layer(module, node)
        node_id = self.add(str(node.target), layer, inputs, params)
        for key, tensor in module.state_dict().items():
            self.state[f"{node_id}.{key}"] = tensor.detach().clone()
        self.values[node] = node_id

    def translate_split(self, node: torch.fx.Node) -> None:
        source = node.all_input_nodes[0] if node.all_input_nodes else None
        try:
            if source not in self.values:
                raise ops.Unsupported(tr('its input is {get}').format(get=self.lost.get(source, 'not a tensor')))
            layer, params = ops.split_layer(node)
        except ops.Unsupported as exc:  # its outputs are lost: what reads them becomes a placeholder
            self.lost[node] = tr('{name}, which could not be imported').format(name=node.name)
            self.issues.append(ImportIssue(node.name, ops.describe(node, self.gm), str(exc)))
            return
        self.splits[node] = self.add(node.name, layer, [self.values[source]], params)

    def continue_shuffle(self, node: torch.fx.Node, tensors: list[torch.fx.Node]) -> None:
        """One more step of view(N, g, C/g, H, W) → transpose(1, 2) → view(N, C, H, W): a ChannelShuffle."""
        shuffle = self.shuffles[next(a for a in tensors if a in self.shuffles)]
        alone = len(tensors) == 1
        if alone and node.op == "call_method" and node.target in ops.PASS_THROUGH_METHODS:
            self.shuffles[node] = shuffle
        elif alone and shuffle.step == "grouped" and ops.swaps_groups(node):
            self.shuffles[node] = shuffle._replace(step="swapped")
        elif alone and shuffle.step == "swapped" and ops.is_reshape(node) and \
                ops.shape_of(node) == ops.shape_of(shuffle.origin):
            self.values[node] = self.add("channel_shuffle", "ChannelShuffle", [shuffle.source], {"groups": shuffle.groups})
        else:
            raise ops.Unsupported(tr("a 5-D view of a map is imported only as a channel shuffle: view(N, g, C/g, H, W), "
                                     "transpose(1, 2), view(N, C, H, W)"))

    def add(self, raw_id: str, layer: str, inputs: list[str], params: dict[str, Any]) -> str:
        node_id = _unique_id(raw_id, self.design)
        self.design.add_node(layer, node_id, inputs, params)
        return node_id

    def finish(self, output_id: str) -> ImportResult:
        if self.issues:  # placeholders: the design cannot be built until the user replaces them
            return ImportResult(self.design, self.state, self.issues, self.notes)
        analysis = analyze(self.design)
        if not analysis.ok:
            self.issues.append(ImportIssue("", "", tr('the imported design has errors: {first_error}').format(first_error=analysis.first_error())))
            return ImportResult(self.design, self.state, self.issues, self.notes)
        if analysis.output != output_id:  # it would compute another function: never written, --partial or not
            raise ModuleImportError(tr("the design's output is {output}, but {name} returns {output_id}").format(
                output=analysis.output, name=self.design.name, output_id=output_id))
        model = build_model(self.design, analysis, heads="all")
        kept = set(carry_over_weights(model, self.state))
        for node_id in dict.fromkeys(key.partition(".")[0] for key in self.state):
            if node_id not in kept:
                self.issues.append(ImportIssue(node_id, self.design.node(node_id).type,
                                               tr("its weights do not fit the imported layer; it starts afresh")))
        if not self.issues:
            example = torch.randn(2, *self.design.input.shape, generator=torch.Generator().manual_seed(0))
            try:
                check_same_function(self.gm, model.eval(), self.values, analysis.order, example)
            except Mismatch as exc:
                raise ModuleImportError(tr("the import does not compute what {name} computes, so nothing is written: "
                                           "{problem}").format(name=self.design.name, problem=exc)) from None
        return ImportResult(self.design, OrderedDict(model.state_dict()), self.issues, self.notes)


class _Shuffle(NamedTuple):
    #: The design node holding the map being shuffled, and the fx node that computed it.
    source: str
    origin: torch.fx.Node
    groups: int
    #: "grouped" (viewed as N × g × C/g × H × W), then "swapped" (dims 1 and 2 transposed).
    step: str


def _has_state(module: nn.Module) -> bool:
    """Weights or buffers (running statistics): what a second call would share."""
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _call_site(node: torch.fx.Node) -> str:
    """Where ``node`` was called in the user's file (``nets.py:34``), or its fx name."""
    for match in _FRAME.finditer(node.stack_trace or ""):
        path = match.group(1)
        if "site-packages" not in path and f"{os.sep}torch{os.sep}" not in path:
            return f"{Path(path).name}:{match.group(2)}"
    return node.name


def _unique_id(raw: str, taken: Design) -> str:
    """A qualified name as a node id: dots and other symbols → _, then made valid and unused."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    if not base[:1].isascii() or not base[:1].isalpha():
        base = f"n{base}"
    base = base[:MAX_ID_LENGTH - 6]
    if id_problem(base) is None and base not in taken:
        return base
    return fresh_id(taken, prefix=f"{base}_")
