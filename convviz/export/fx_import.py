"""Import a hand-written ``nn.Module``: ``torch.fx`` traces it into a design and its weights.

Catalog layers called as submodules become nodes named after their qualified names
(``layer1.0.conv1`` → ``layer1_0_conv1``); ``+`` / ``torch.add``, ``torch.cat(..., dim=1)``,
``torch.flatten``, ``x.view(x.size(0), -1)`` and the functional forms of the activations and
pools (``F.relu``, ``F.max_pool2d``, …) become the matching layer types. Anything else is listed
in ``ImportResult.issues`` with its fx node and the reason, and an Identity placeholder keeps
the graph connected where it stood, so the user sees what is missing and where.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import math
import operator
import os
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp, _extract_tensor_metadata

from ..analysis import analyze
from ..design import CATALOG, Design, InputSpec, fresh_id, id_problem, layer_spec
from ..design.catalog import ParamTypeError
from ..design.ids import MAX_ID_LENGTH
from ..messages import first_line
from ..reading import open_regular
from ..model import build_model, carry_over_weights
from .pysource import canonical_size


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

    @property
    def complete(self) -> bool:
        return not self.issues


class _Unsupported(Exception):
    """Raised while translating one fx node; the message is the issue's reason."""


# --- what maps to what --------------------------------------------------------------------------

_REQUIRED = object()

#: Functions → (layer type, their arguments in order with defaults). Arguments named like a catalog
#: parameter become that parameter; the rest must keep the default listed here.
_FUNCTIONS: dict[Any, tuple[str, tuple[tuple[str, Any], ...]]] = {}


def _function(layer: str, *arguments: tuple[str, Any], targets: tuple[Any, ...]) -> None:
    for target in targets:
        _FUNCTIONS[target] = (layer, (("input", _REQUIRED), *arguments))


_INPLACE = ("inplace", False)
_function("ReLU", _INPLACE, targets=(F.relu, torch.relu))
_function("ReLU6", _INPLACE, targets=(F.relu6,))
_function("LeakyReLU", ("negative_slope", 0.01), _INPLACE, targets=(F.leaky_relu,))
_function("GELU", ("approximate", "none"), targets=(F.gelu,))
_function("SiLU", _INPLACE, targets=(F.silu,))
_function("Sigmoid", targets=(torch.sigmoid, F.sigmoid))
_function("Tanh", targets=(torch.tanh, F.tanh))
_function("Softmax", ("dim", None), ("_stacklevel", 3), ("dtype", None), targets=(F.softmax,))
_function("Softmax", ("dim", _REQUIRED), ("dtype", None), targets=(torch.softmax,))
_function("MaxPool2d", ("kernel_size", _REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
          ("ceil_mode", False), ("return_indices", False), targets=(F.max_pool2d,))
_function("AvgPool2d", ("kernel_size", _REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False),
          ("count_include_pad", True), ("divisor_override", None), targets=(F.avg_pool2d,))
_function("AdaptiveAvgPool2d", ("output_size", _REQUIRED), targets=(F.adaptive_avg_pool2d,))
_function("AdaptiveMaxPool2d", ("output_size", _REQUIRED), ("return_indices", False),
          targets=(F.adaptive_max_pool2d,))
_function("Flatten", ("start_dim", 0), ("end_dim", -1), targets=(torch.flatten,))

#: Tensor methods (``x.relu()``) → the same, with ``self`` as the input.
_METHODS: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "relu": ("ReLU", (("input", _REQUIRED),)),
    "sigmoid": ("Sigmoid", (("input", _REQUIRED),)),
    "tanh": ("Tanh", (("input", _REQUIRED),)),
    "softmax": ("Softmax", (("input", _REQUIRED), ("dim", _REQUIRED), ("dtype", None))),
    "flatten": ("Flatten", (("input", _REQUIRED), ("start_dim", 0), ("end_dim", -1))),
}

_ADDS = (operator.add, operator.iadd, torch.add)
_CATS = (torch.cat, torch.concat, torch.concatenate)
_RESHAPES = ("view", "reshape")
#: Calls that return their input unchanged (as far as a design is concerned).
_PASS_THROUGH_METHODS = ("contiguous",)

#: Arguments that never change what a layer computes.
_HARMLESS = frozenset({"input", "inplace", "_stacklevel"})


# --- loading a class from a file ---------------------------------------------------------------

def load_module(path: str | os.PathLike, class_name: str) -> nn.Module:
    """Run the Python file ``path`` (as ``python`` would) and build ``class_name()`` from it."""
    target = Path(path)
    with open_regular(target, MAX_SOURCE_BYTES, ModuleImportError, "a Python file"):
        pass  # a regular file of a sane size: running a pipe or /dev/zero would never end
    name = f"_convviz_import_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, target)
    if spec is None or spec.loader is None:
        raise ModuleImportError(f"{target.name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        raise ModuleImportError(f"{target.name}: running it failed: {type(exc).__name__}: {first_line(exc)}") from exc
    finally:
        sys.modules.pop(name, None)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = [k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)
                 and v.__module__ == name]
        raise ModuleImportError(f"{target.name} has no nn.Module class {class_name!r}"
                                f" (it has: {', '.join(found) or 'none'})")
    try:
        return cls()
    except TypeError as exc:
        raise ModuleImportError(f"{class_name}() cannot be built without arguments ({first_line(exc)}); "
                                "give its arguments defaults") from exc
    except Exception as exc:
        raise ModuleImportError(f"{class_name}() failed: {type(exc).__name__}: {first_line(exc)}") from exc


_counter = itertools.count(1)


def import_python_file(path: str | os.PathLike, class_name: str, input_spec: InputSpec) -> ImportResult:
    return import_module(load_module(path, class_name), input_spec, name=class_name)


# --- tracing ---------------------------------------------------------------------------------------

def import_module(module: nn.Module, input_spec: InputSpec, name: str | None = None) -> ImportResult:
    """Trace ``module`` (a copy, in eval mode: the original is not touched) on ``input_spec`` images."""
    name = name or type(module).__name__
    module = copy.deepcopy(module).eval()
    try:
        graph_module = torch.fx.symbolic_trace(module)
    except Exception as exc:
        raise ModuleImportError(f"torch.fx cannot trace {name}.forward: {first_line(exc)}") from exc
    placeholders = [n for n in graph_module.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ModuleImportError(f"{name}.forward takes {len(placeholders)} inputs; a design has one image input")
    example = torch.zeros(2, *input_spec.shape)
    shape = "×".join(map(str, input_spec.shape))
    try:
        with torch.no_grad():
            _QuietShapeProp(graph_module).propagate(example)
    except _LayerFailed as failed:  # fx's interpreter appends its node dump on further lines
        raise ModuleImportError(f"{name} does not run on {shape} images: {first_line(failed, 600)}") from None
    except Exception as exc:
        raise ModuleImportError(f"{name} does not run on {shape} images: {first_line(exc)}") from None
    return _Translator(graph_module, input_spec, name).run()


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
                               for a in args if isinstance(a, torch.Tensor)) or "no tensor"
            raise _LayerFailed(f"{_describe_node(self.module, n)} gets {shapes} per image: {first_line(exc)}") from None
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
        return f"layer {n.target} ({kind})"
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
        #: fx node → id of the design node holding its tensor (absent: not a tensor, or lost).
        self.values: dict[torch.fx.Node, str] = {}
        #: fx node → why its tensor is not in the design (a parameter used directly, a lost op).
        self.lost: dict[torch.fx.Node, str] = {}
        self.module_ids: dict[str, str] = {}

    def run(self) -> ImportResult:
        output = None
        for node in self.gm.graph.nodes:
            if node.op == "output":
                output = node
            else:
                self.translate(node)
        result = output.args[0] if output is not None else None
        if not isinstance(result, torch.fx.Node) or result not in self.values:
            raise ModuleImportError(f"{self.design.name}.forward must return one tensor computed from its input")
        return self.finish(self.values[result])

    def translate(self, node: torch.fx.Node) -> None:
        if node.op == "placeholder":
            self.values[node] = self.add("input", "Input", [], {})
            return
        if node.op == "get_attr":
            self.lost[node] = f"self.{node.target}, a parameter or buffer used directly"
            return
        if not _is_tensor(node):
            return  # sizes and other plumbing: what consumes them is checked where it is used
        tensors = [a for a in _node_arguments(node) if _is_tensor(a) or a in self.lost]
        try:
            missing = [self.lost[a] for a in tensors if a not in self.values]
            if missing:
                raise _Unsupported(f"its input is {missing[0]}")
            self.translate_op(node, [self.values[a] for a in tensors])
        except _Unsupported as exc:
            reason = str(exc)
            mapped = [self.values[a] for a in tensors if a in self.values]
            if mapped:  # an Identity stands where the operation was, so the graph stays connected
                self.values[node] = self.add(node.name, "Identity", mapped[:1], {})
                reason += "; an Identity stands in its place"
            else:
                self.lost[node] = f"{node.name}, which could not be imported"
            self.issues.append(ImportIssue(node.name, _describe(node, self.gm), reason))

    def translate_op(self, node: torch.fx.Node, inputs: list[str]) -> None:
        if node.op == "call_module":
            module = self.gm.get_submodule(node.target)
            layer, params = _module_layer(module, node)
            node_id = self.add(str(node.target), layer, inputs, params)
            if node.target in self.module_ids:
                self.issues.append(ImportIssue(node.name, _describe(node, self.gm),
                                               f"shares its weights with {self.module_ids[node.target]}; "
                                               f"imported as a separate copy ({node_id})"))
            self.module_ids.setdefault(node.target, node_id)
            for key, tensor in module.state_dict().items():
                self.state[f"{node_id}.{key}"] = tensor.detach().clone()
            self.values[node] = node_id
            return
        if node.op == "call_method" and node.target in _PASS_THROUGH_METHODS:
            self.values[node] = inputs[0]
            return
        layer, params = _operation_layer(node)
        self.values[node] = self.add(node.name, layer, inputs, params)

    def add(self, raw_id: str, layer: str, inputs: list[str], params: dict[str, Any]) -> str:
        node_id = _unique_id(raw_id, self.design)
        self.design.add_node(layer, node_id, inputs, params)
        return node_id

    def finish(self, output_id: str) -> ImportResult:
        analysis = analyze(self.design)
        if not analysis.ok:
            self.issues.append(ImportIssue("", "", f"the imported design has errors: {analysis.first_error()}"))
            return ImportResult(self.design, self.state, self.issues)
        if analysis.output != output_id:
            self.issues.append(ImportIssue("", "", f"the design's output is {analysis.output}, "
                                                   f"but {self.design.name} returns {output_id}"))
        model = build_model(self.design, analysis)
        kept = set(carry_over_weights(model, self.state))
        for node_id in dict.fromkeys(key.partition(".")[0] for key in self.state):
            if node_id not in kept:
                self.issues.append(ImportIssue(node_id, self.design.node(node_id).type,
                                               "its weights do not fit the imported layer; it starts afresh"))
        return ImportResult(self.design, OrderedDict(model.state_dict()), self.issues)


# --- one operation -----------------------------------------------------------------------------

def _module_layer(module: nn.Module, node: torch.fx.Node) -> tuple[str, dict[str, Any]]:
    type_name = type(module).__name__
    if type_name not in CATALOG or type(module) is not getattr(nn, type_name, None):
        raise _Unsupported(f"{type(module).__module__}.{type(module).__qualname__} is not a convviz layer type")
    values = {p.name: getattr(module, p.name) for p in layer_spec(type_name).params}
    if "bias" in values and type_name in ("Conv2d", "Linear"):
        values["bias"] = module.bias is not None
    if type_name == "MaxPool2d" and module.return_indices:
        raise _Unsupported("return_indices=True is not supported")
    if type_name == "AvgPool2d" and module.divisor_override is not None:
        raise _Unsupported("divisor_override is not supported")
    pool = type_name in ("MaxPool2d", "AvgPool2d")
    if pool and canonical_size(values["stride"]) == canonical_size(values["kernel_size"]):
        values["stride"] = None  # PyTorch stores the kernel size where the stride was left out
    if type_name == "BatchNorm2d" and values["momentum"] is None:
        raise _Unsupported("momentum=None (a cumulative average) is not supported")
    if type_name == "Softmax" and values["dim"] is None:
        values["dim"] = _implicit_softmax_dim(node.all_input_nodes[0])
    return type_name, _catalog_params(type_name, values)


def _operation_layer(node: torch.fx.Node) -> tuple[str, dict[str, Any]]:
    target = node.target
    if node.op == "call_function" and target in _ADDS:
        if len(node.args) != 2 or not all(isinstance(a, torch.fx.Node) and _is_tensor(a) for a in node.args):
            raise _Unsupported("only the sum of two layer outputs is supported (not a constant)")
        if node.kwargs.get("alpha", 1) != 1:
            raise _Unsupported("torch.add with alpha is not supported")
        return "Add", {}
    if node.op == "call_function" and target in _CATS:
        bound = _bind(node, (("tensors", _REQUIRED), ("dim", 0)))
        if _positive_dim(bound["dim"], node) != 1:
            raise _Unsupported(f"concatenation along dim={bound['dim']} is not supported (only channels, dim=1)")
        return "Concat", {}
    if node.op in ("call_method", "call_function") and _is_reshape(node):
        before, after = _shape(node.all_input_nodes[0]), _shape(node)
        if len(after) == 2 and after[0] == before[0] and after[1] == math.prod(before[1:]):
            return "Flatten", {}
        raise _Unsupported(f"a reshape from {_dims(before)} to {_dims(after)} is not a flatten")
    table = _METHODS if node.op == "call_method" else _FUNCTIONS if node.op == "call_function" else {}
    try:
        layer, arguments = table[target]
    except (KeyError, TypeError):
        raise _Unsupported("convviz has no layer for this operation") from None
    bound = _bind(node, arguments)
    params = {}
    for name, default in arguments:
        value = bound[name]
        if name in _HARMLESS:
            continue
        if name in layer_spec(layer).param_index:
            params[name] = value
        elif value is not default:
            raise _Unsupported(f"{name}={value!r} is not supported")
    if layer == "Softmax" and params.get("dim") is None:
        params["dim"] = _implicit_softmax_dim(node.all_input_nodes[0])
    return layer, _catalog_params(layer, params)


def _bind(node: torch.fx.Node, arguments: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The call's arguments by name, defaults filled in (a tiny ``inspect.Signature.bind``)."""
    names = [name for name, _ in arguments]
    if len(node.args) > len(names) or set(node.kwargs) - set(names):
        raise _Unsupported("called with arguments convviz does not know")
    bound = {name: default for name, default in arguments}
    bound.update(zip(names, node.args))
    bound.update(node.kwargs)
    for name, value in bound.items():
        if value is _REQUIRED:
            raise _Unsupported(f"{name} is missing")
        if name != "input" and name != "tensors" and isinstance(value, torch.fx.Node):
            raise _Unsupported(f"{name} is computed at run time; a layer needs a fixed value")
    return bound


def _catalog_params(layer: str, values: dict[str, Any]) -> dict[str, Any]:
    """Stored parameters: the values PyTorch's layer has, less those equal to the catalog's default."""
    spec = layer_spec(layer)
    params = {}
    for name, value in values.items():
        param = spec.param(name)
        try:
            value = param.coerce(canonical_size(value))
        except ParamTypeError as exc:
            raise _Unsupported(f"{name}: {exc}") from None
        if param.required or canonical_size(value) != canonical_size(param.default):
            params[name] = value
    return params


def _node_arguments(node: torch.fx.Node) -> list[torch.fx.Node]:
    """The fx nodes among a call's arguments, in order, repeats kept (``x + x``, ``torch.cat([a, a])``)."""
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    return found


def _is_reshape(node: torch.fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in _RESHAPES
    return node.target is torch.reshape


def _is_tensor(node: torch.fx.Node) -> bool:
    return isinstance(node.meta.get("tensor_meta"), torch.fx.passes.shape_prop.TensorMetadata)


def _shape(node: torch.fx.Node) -> tuple[int, ...]:
    return tuple(node.meta["tensor_meta"].shape)


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _positive_dim(dim: int, node: torch.fx.Node) -> int:
    return dim + len(_shape(node)) if dim < 0 else dim


def _implicit_softmax_dim(node: torch.fx.Node) -> int:
    """What ``softmax(dim=None)`` picks, as PyTorch's legacy rule does: 0 for 0-, 1- and 3-D input, else 1."""
    return 0 if len(_shape(node)) in (0, 1, 3) else 1


def _unique_id(raw: str, taken: Design) -> str:
    """A qualified name as a node id: dots and other symbols → _, then made valid and unused."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    if not base[:1].isascii() or not base[:1].isalpha():
        base = f"n{base}"
    base = base[:MAX_ID_LENGTH - 6]
    if id_problem(base) is None and base not in taken:
        return base
    return fresh_id(taken, prefix=f"{base}_")


def _describe(node: torch.fx.Node, gm: torch.fx.GraphModule) -> str:
    """What an fx node calls, as the user wrote it: ``self.up (Upsample)``, ``torch.mul``, ``x.mean``."""
    if node.op == "call_module":
        return f"self.{node.target} ({type(gm.get_submodule(node.target)).__name__})"
    if node.op == "call_method":
        return f"x.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    return f"torch.{name}" if module.startswith("torch") or module == "" else f"{module}.{name}"
