"""What an fx node of a traced module maps to: a chain of catalog layers, or ``Unsupported`` with the reason.

The tables below name every function, method and module an import understands, with the
arguments each may take: an argument named like a catalog parameter becomes that parameter, any
other must keep the default listed (so nothing is imported that would compute something else).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import TensorMetadata

from ..design import CATALOG, layer_spec
from ..analysis.layers import hw
from ..design.catalog import ParamTypeError
from ..i18n import tr
from .pysource import canonical_size

#: One imported layer: (type, stored parameters).
Layer = tuple[str, dict[str, Any]]


class Unsupported(Exception):
    """Raised while translating one fx node; the message is the issue's reason."""


REQUIRED = object()

#: Functions → (layer type, their arguments in order with defaults).
FUNCTIONS: dict[Any, tuple[str, tuple[tuple[str, Any], ...]]] = {}


def _function(layer: str, *arguments: tuple[str, Any], targets: tuple[Any, ...]) -> None:
    for target in targets:
        FUNCTIONS[target] = (layer, (("input", REQUIRED), *arguments))


_INPLACE = ("inplace", False)
_function("ReLU", _INPLACE, targets=(F.relu, torch.relu))
_function("ReLU6", _INPLACE, targets=(F.relu6,))
_function("LeakyReLU", ("negative_slope", 0.01), _INPLACE, targets=(F.leaky_relu,))
_function("GELU", ("approximate", "none"), targets=(F.gelu,))
_function("SiLU", _INPLACE, targets=(F.silu,))
_function("Sigmoid", targets=(torch.sigmoid, F.sigmoid))
_function("Tanh", targets=(torch.tanh, F.tanh))
_function("Hardswish", _INPLACE, targets=(F.hardswish,))
_function("Hardsigmoid", _INPLACE, targets=(F.hardsigmoid,))
_function("ELU", ("alpha", 1.0), _INPLACE, targets=(F.elu,))
_function("Mish", _INPLACE, targets=(F.mish,))
_function("Softmax", ("dim", None), ("_stacklevel", 3), ("dtype", None), targets=(F.softmax,))
_function("Softmax", ("dim", REQUIRED), ("dtype", None), targets=(torch.softmax,))
_function("MaxPool2d", ("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
          ("ceil_mode", False), ("return_indices", False), targets=(F.max_pool2d,))
_function("AvgPool2d", ("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False),
          ("count_include_pad", True), ("divisor_override", None), targets=(F.avg_pool2d,))
_function("AdaptiveAvgPool2d", ("output_size", REQUIRED), targets=(F.adaptive_avg_pool2d,))
_function("AdaptiveMaxPool2d", ("output_size", REQUIRED), ("return_indices", False),
          targets=(F.adaptive_max_pool2d,))
_function("Flatten", ("start_dim", 0), ("end_dim", -1), targets=(torch.flatten,))
# ``training=self.training`` is what a Dropout layer does by itself (a hard-coded True, dropout in
# eval mode too, fails the import's output check); a hard-coded False never drops: an Identity.
_function("Dropout", ("p", 0.5), ("training", True), _INPLACE, targets=(F.dropout,))
_function("Dropout2d", ("p", 0.5), ("training", True), _INPLACE, targets=(F.dropout2d,))
DROPOUTS = ("Dropout", "Dropout2d")
#: ``node.meta`` key of a call traced in eval mode: its arguments that were ``self.training`` (False
#: then), by keyword or as ``#index``; fx_import marks them.
SELF_TRAINING = "convviz_self_training"
_function("ChannelShuffle", ("groups", REQUIRED), targets=(torch.channel_shuffle,))

#: Tensor methods (``x.relu()``) → the same, with ``self`` as the input.
METHODS: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "relu": ("ReLU", (("input", REQUIRED),)),
    "sigmoid": ("Sigmoid", (("input", REQUIRED),)),
    "tanh": ("Tanh", (("input", REQUIRED),)),
    "softmax": ("Softmax", (("input", REQUIRED), ("dim", REQUIRED), ("dtype", None))),
    "flatten": ("Flatten", (("input", REQUIRED), ("start_dim", 0), ("end_dim", -1))),
    "hardswish": ("Hardswish", (("input", REQUIRED),)),
    "hardsigmoid": ("Hardsigmoid", (("input", REQUIRED),)),
}

ADDS = (operator.add, operator.iadd, torch.add)
MULS = (operator.mul, operator.imul, torch.mul)
CATS = (torch.cat, torch.concat, torch.concatenate)
INTERPOLATIONS = (F.interpolate, F.upsample)
RESHAPES = ("view", "reshape")
TRANSPOSES = ("transpose", "swapaxes")
#: ``y.expand_as(x)``: what a product broadcasts by itself.
EXPANSIONS = ("expand_as", "expand")
#: Calls that return their input unchanged (as far as a design is concerned).
PASS_THROUGH_METHODS = ("contiguous",)

#: Arguments that never change what a layer computes (``training``: see Dropout above).
_HARMLESS = frozenset({"input", "inplace", "_stacklevel", "training"})


# --- modules -----------------------------------------------------------------------------------

def module_layer(module: nn.Module, node: torch.fx.Node) -> Layer:
    type_name = type(module).__name__
    if type_name not in CATALOG or type(module) is not getattr(nn, type_name, None):
        raise Unsupported(f"{type(module).__module__}.{type(module).__qualname__} is not a convviz layer type")
    values = {p.name: getattr(module, p.name) for p in layer_spec(type_name).params}
    if "bias" in values:  # Conv2d, ConvTranspose2d, Linear, LayerNorm: a tensor or None in the module
        values["bias"] = module.bias is not None
    if type_name == "MaxPool2d" and module.return_indices:
        raise Unsupported("return_indices=True is not supported")
    if type_name == "AvgPool2d" and module.divisor_override is not None:
        raise Unsupported("divisor_override is not supported")
    pool = type_name in ("MaxPool2d", "AvgPool2d")
    if pool and canonical_size(values["stride"]) == canonical_size(values["kernel_size"]):
        values["stride"] = None  # PyTorch stores the kernel size where the stride was left out
    if type_name in ("BatchNorm2d", "InstanceNorm2d") and values["momentum"] is None:
        raise Unsupported("momentum=None (a cumulative average) is not supported")
    if type_name == "Softmax" and values["dim"] is None:
        values["dim"] = implicit_softmax_dim(node.all_input_nodes[0])
    if type_name == "LayerNorm" and tuple(module.normalized_shape) != shape_of(node.all_input_nodes[0])[1:]:
        raise Unsupported(tr("LayerNorm over {dims} of a {shape} input: convviz normalises over all of an image's "
                             "values").format(dims=dims(module.normalized_shape),
                                              shape=dims(shape_of(node.all_input_nodes[0])[1:])))
    if type_name == "Upsample":
        values.update(_upsample_values(module.recompute_scale_factor, module.align_corners))
    values.update(_call_arguments(module, node))
    return type_name, catalog_params(type_name, values)


def _call_arguments(module: nn.Module, node: torch.fx.Node) -> dict[str, Any]:
    """What a module's call passes besides its input, as parameters: ``self.up(y, output_size=x.size())``
    (a ConvTranspose2d's output size, given at the call) becomes the output_padding the traced shapes
    show; any other argument is refused by name (it would change what the layer computes)."""
    names = {"ConvTranspose2d": ("output_size",)}.get(type(module).__name__, ())
    given = dict(zip(names, node.args[1:]))
    if len(node.args) - 1 > len(names):
        raise Unsupported(tr("self.{name} is called with {n} arguments besides its input; convviz imports "
                             "none").format(name=node.target, n=len(node.args) - 1))
    for key, value in node.kwargs.items():
        if key not in names:
            raise Unsupported(tr("self.{name} is called with {arg}=…, which convviz does not import").format(
                name=node.target, arg=key))
        given[key] = value
    if given.get("output_size") is None:
        return {}
    source, traced = shape_of(node.args[0]), shape_of(node)
    extra = []
    for axis in (0, 1):
        k, s, p, d = (hw(getattr(module, name))[axis] for name in ("kernel_size", "stride", "padding", "dilation"))
        extra.append(traced[2 + axis] - ((source[2 + axis] - 1) * s - 2 * p + d * (k - 1) + 1))
    return {"output_padding": extra[0] if extra[0] == extra[1] else tuple(extra)}


def _upsample_values(recompute: Any, align_corners: Any) -> dict[str, Any]:
    if recompute:
        raise Unsupported("recompute_scale_factor=True is not supported")
    return {"align_corners": bool(align_corners)}


# --- functions and methods -----------------------------------------------------------------------

def operation_layers(node: torch.fx.Node, inputs: list[str]) -> list[Layer]:
    """The layers an fx call becomes, in a chain (``x.mean((2, 3))``: a global pool and a Flatten);
    none for a call that changes nothing (``torch.cat`` of one tensor)."""
    target = node.target
    if node.op == "call_function" and target in ADDS + MULS:
        return [_binary(node, "Add" if target in ADDS else "Multiply")]
    if node.op == "call_method" and target in ("add", "mul"):
        return [_binary(node, "Add" if target == "add" else "Multiply")]
    if node.op == "call_function" and target in CATS:
        bound = bind(node, (("tensors", REQUIRED), ("dim", 0)))
        if len(bound["tensors"]) == 1:
            return []  # concatenating one tensor returns it (DenseNet's first layer does this)
        if positive_dim(bound["dim"], node) != 1:
            raise Unsupported(f"concatenation along dim={bound['dim']} is not supported (only channels, dim=1)")
        return [("Concat", {})]
    if is_mean(node):
        return _global_mean(node)
    if node.op == "call_method" and node.target in EXPANSIONS:
        return _broadcast(node)
    if node.op == "call_function" and target in INTERPOLATIONS:
        return [_interpolation(node)]
    if node.op == "call_function" and target is F.pad:
        return [_zero_pad(node)]
    if node.op in ("call_method", "call_function") and is_reshape(node):
        before, after = shape_of(node.all_input_nodes[0]), shape_of(node)
        if len(after) == 2 and after[0] == before[0] and after[1] == math.prod(before[1:]):
            return [("Flatten", {})]
        if len(before) == 2 and 3 <= len(after) <= 4 and after[0] == before[0] and math.prod(after[1:]) == before[1]:
            return [("Unflatten", {"unflattened_size": tuple(after[1:])})]  # y.view(b, c, 1, 1): a gate's map
        raise Unsupported(f"a reshape from {dims(before)} to {dims(after)} is not a flatten")
    table = METHODS if node.op == "call_method" else FUNCTIONS if node.op == "call_function" else {}
    try:
        layer, arguments = table[target]
    except (KeyError, TypeError):
        raise Unsupported("convviz has no layer for this operation") from None
    bound = bind(node, arguments)
    if layer in DROPOUTS and bound["training"] is False and not _is_self_training(node, arguments, "training"):
        return [("Identity", {})]  # F.dropout(x, p, training=False) passes its input through
    params = {}
    for name, default in arguments:
        value = bound[name]
        if name in _HARMLESS:
            continue
        if name in layer_spec(layer).param_index:
            params[name] = value
        elif value is not default:
            raise Unsupported(f"{name}={value!r} is not supported")
    if layer == "Softmax" and params.get("dim") is None:
        params["dim"] = implicit_softmax_dim(node.all_input_nodes[0])
    return [(layer, catalog_params(layer, params))]


def _is_self_training(node: torch.fx.Node, arguments: tuple[tuple[str, Any], ...], name: str) -> bool:
    """Argument ``name`` of the call was ``self.training`` in the user's code (see ``SELF_TRAINING``)."""
    marked = node.meta.get(SELF_TRAINING, frozenset())
    index = [n for n, _ in arguments].index(name)
    return name in marked or f"#{index}" in marked


def _broadcast(node: torch.fx.Node) -> list[Layer]:
    """``x * y.expand_as(x)``: an expansion read only by products is the broadcast they do anyway (a
    C×1×1 gate over a C×H×W map), so nothing; anywhere else it would copy values, which no layer does."""
    source, target = shape_of(node.args[0]), shape_of(node)
    feeds_products = node.users and all(
        (user.op == "call_function" and user.target in MULS) or (user.op == "call_method" and user.target == "mul")
        for user in node.users)
    if not feeds_products or len(source) != len(target) or any(a not in (1, b) for a, b in zip(source, target)):
        raise Unsupported(tr("an expansion from {a} to {b} is supported only as the broadcast of a product "
                             "(x * y.expand_as(x))").format(a=dims(source), b=dims(target)))
    return []


def _binary(node: torch.fx.Node, layer: str) -> Layer:
    if node.kwargs.get("alpha", 1) != 1:
        raise Unsupported("torch.add with alpha is not supported")
    operands = [*node.args, *(value for key, value in node.kwargs.items() if key != "alpha")]
    if len(operands) != 2 or not all(isinstance(a, torch.fx.Node) and is_tensor(a) for a in operands):
        what = tr("sum") if layer == "Add" else tr("product")
        raise Unsupported(tr("only the {what} of two layer outputs is supported (not with a constant)").format(what=what))
    return layer, {}


def is_mean(node: torch.fx.Node) -> bool:
    return (node.op == "call_method" and node.target == "mean") or \
        (node.op == "call_function" and node.target is torch.mean)


def _global_mean(node: torch.fx.Node) -> list[Layer]:
    """``x.mean((2, 3))`` averages each channel's map: global average pooling (and a flatten unless keepdim)."""
    bound = bind(node, (("input", REQUIRED), ("dim", None), ("keepdim", False), ("dtype", None)))
    rank = len(shape_of(node.all_input_nodes[0]))
    axes = bound["dim"]
    axes = (axes,) if isinstance(axes, int) else tuple(axes) if axes is not None else None
    if rank != 4 or axes is None or sorted(a % rank for a in axes) != [2, 3] or bound["dtype"] is not None:
        raise Unsupported(tr("a mean over dimensions {axes} is not a global average pool (which averages dims 2 and "
                             "3 of a batch of maps)").format(axes=axes))
    pool = ("AdaptiveAvgPool2d", {"output_size": 1})
    return [pool] if bound["keepdim"] else [pool, ("Flatten", {})]


def _interpolation(node: torch.fx.Node) -> Layer:
    bound = bind(node, (("input", REQUIRED), ("size", None), ("scale_factor", None), ("mode", "nearest"),
                        ("align_corners", None), ("recompute_scale_factor", None), ("antialias", False)),
                 traced=("size",))
    if _computed(bound["size"]):  # size=x.shape[-2:]: fixed for the traced input, so the traced output's size
        bound["size"] = tuple(shape_of(node)[2:])
    if bound["antialias"]:
        raise Unsupported("antialias=True is not supported")
    values = {"size": bound["size"], "scale_factor": bound["scale_factor"], "mode": bound["mode"],
              **_upsample_values(bound["recompute_scale_factor"], bound["align_corners"])}
    if isinstance(values["scale_factor"], (list, tuple)):
        values["scale_factor"] = tuple(float(v) for v in values["scale_factor"])
    return "Upsample", catalog_params("Upsample", values)


def _zero_pad(node: torch.fx.Node) -> Layer:
    bound = bind(node, (("input", REQUIRED), ("pad", REQUIRED), ("mode", "constant"), ("value", None)))
    pad = tuple(bound["pad"])
    if bound["mode"] != "constant" or bound["value"] not in (None, 0, 0.0) or len(pad) != 4 or min(pad) < 0:
        raise Unsupported(tr("only zero padding of height and width (F.pad(x, (left, right, top, bottom))) is "
                             "supported"))
    return "ZeroPad2d", catalog_params("ZeroPad2d", {"padding": pad})


def _computed(value: Any) -> bool:
    """``value`` (or a part of it: ``[h, x.shape[3]]``) is computed by the traced code."""
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg(value, found.append)
    return bool(found)


def bind(node: torch.fx.Node, arguments: tuple[tuple[str, Any], ...], traced: tuple[str, ...] = ()) -> dict[str, Any]:
    """The call's arguments by name, defaults filled in (a tiny ``inspect.Signature.bind``). ``traced``:
    arguments that may be computed at run time (a size read from a tensor), the caller reading them
    from the traced shapes."""
    names = [name for name, _ in arguments]
    if len(node.args) > len(names) or set(node.kwargs) - set(names):
        raise Unsupported("called with arguments convviz does not know")
    bound = {name: default for name, default in arguments}
    bound.update(zip(names, node.args))
    bound.update(node.kwargs)
    for name, value in bound.items():
        if value is REQUIRED:
            raise Unsupported(f"{name} is missing")
        if name not in ("input", "tensors", *traced) and isinstance(value, torch.fx.Node):
            raise Unsupported(f"{name} is computed at run time; a layer needs a fixed value")
    return bound


def catalog_params(layer: str, values: dict[str, Any]) -> dict[str, Any]:
    """Stored parameters: the values PyTorch's layer has, less those equal to the catalog's default."""
    spec = layer_spec(layer)
    params = {}
    for name, value in values.items():
        param = spec.param(name)
        try:
            value = param.coerce(canonical_size(value))
        except ParamTypeError as exc:
            raise Unsupported(f"{name}: {exc}") from None
        if param.required or canonical_size(value) != canonical_size(param.default):
            params[name] = value
    return params


# --- splits: x.chunk(2, dim=1), torch.split(x, 58, dim=1) ---------------------------------------

def is_split(node: torch.fx.Node) -> bool:
    return (node.op == "call_method" and node.target in ("chunk", "split")) or \
        (node.op == "call_function" and node.target in (torch.chunk, torch.split))


def split_layer(node: torch.fx.Node) -> Layer:
    """A Split of the channels: equal chunks where the parts are equal, else their sizes (as traced)."""
    meta = node.meta.get("tensor_meta")
    parts = [tuple(m.shape) for m in meta] if isinstance(meta, (tuple, list)) else []
    chunk = node.target in ("chunk", torch.chunk)
    names = (("input", REQUIRED), ("chunks", REQUIRED), ("dim", 0)) if chunk else \
        (("input", REQUIRED), ("split_size_or_sections", REQUIRED), ("dim", 0))
    if node.op == "call_method" and not chunk:
        names = (("input", REQUIRED), ("split_size", REQUIRED), ("dim", 0))
    bound = bind(node, names)
    source = shape_of(node.all_input_nodes[0])
    if not parts or bound["dim"] % len(source) != 1:
        raise Unsupported(tr("a split along dim={dim} is not supported (only channels, dim=1)").format(dim=bound["dim"]))
    sizes = [shape[1] for shape in parts]
    if len(set(sizes)) == 1:
        return "Split", catalog_params("Split", {"chunks": len(sizes)})
    return "Split", catalog_params("Split", {"sizes": tuple(sizes)})


# --- the channel shuffle: view(N, g, C/g, H, W), transpose(1, 2), view(N, C, H, W) ---------------

def shuffle_groups(node: torch.fx.Node) -> int | None:
    """``g`` when ``node`` views a batch of maps (N, C, H, W) as (N, g, C/g, H, W): a shuffle's first step."""
    if not (node.op in ("call_method", "call_function") and is_reshape(node)):
        return None
    before, after = shape_of(node.all_input_nodes[0]), shape_of(node)
    if len(before) == 4 and len(after) == 5 and after[0] == before[0] and after[1] * after[2] == before[1] \
            and after[3:] == before[2:]:
        return after[1]
    return None


def swaps_groups(node: torch.fx.Node) -> bool:
    """``node`` swaps dims 1 and 2 of a 5-D tensor (``torch.transpose(x, 1, 2)``, ``x.permute(0, 2, 1, 3, 4)``)."""
    if node.op == "call_function" and node.target is torch.transpose or \
            node.op == "call_method" and node.target in TRANSPOSES:
        axes = sorted(a % 5 for a in node.args[1:3]) if len(node.args) >= 3 else None
        return axes == [1, 2]
    if node.op == "call_method" and node.target == "permute":
        order = node.args[1:] if len(node.args) > 2 else node.args[1] if len(node.args) == 2 else ()
        return tuple(order) == (0, 2, 1, 3, 4)
    return False


# --- fx helpers ----------------------------------------------------------------------------------

def node_arguments(node: torch.fx.Node) -> list[torch.fx.Node]:
    """The fx nodes among a call's arguments, in order, repeats kept (``x + x``, ``torch.cat([a, a])``)."""
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    return found


def is_reshape(node: torch.fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in RESHAPES
    return node.target is torch.reshape


def is_tensor(node: torch.fx.Node) -> bool:
    return isinstance(node.meta.get("tensor_meta"), TensorMetadata)


def shape_of(node: torch.fx.Node) -> tuple[int, ...]:
    return tuple(node.meta["tensor_meta"].shape)


def dims(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def positive_dim(dim: int, node: torch.fx.Node) -> int:
    return dim + len(shape_of(node)) if dim < 0 else dim


def implicit_softmax_dim(node: torch.fx.Node) -> int:
    """What ``softmax(dim=None)`` picks, as PyTorch's legacy rule does: 0 for 0-, 1- and 3-D input, else 1."""
    return 0 if len(shape_of(node)) in (0, 1, 3) else 1


def describe(node: torch.fx.Node, gm: torch.fx.GraphModule) -> str:
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
