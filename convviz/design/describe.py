"""A node's key parameters in a few characters, for cards and comments: "16 · 3×3 · s2 · p1"."""

from __future__ import annotations

from typing import Any

from ..i18n import ntr, tr
from .catalog import layer_spec
from .graph import Design, Node


def key_params_text(node: Node, design: Design | None = None) -> str:
    spec = layer_spec(node.type)
    p = spec.resolve(node.params)
    parts: list[str] = []
    if node.type == "Input":
        count = len(design.classes) if design is not None else 0
        return tr("{n} classes").format(n=count) if count else tr("image batch")
    if node.type == "Conv2d":
        parts.append(tr("{n} filters").format(n=p['out_channels']))
        parts.append(_size(p["kernel_size"]))
        parts += _window_extras(p)
        if p["groups"] != 1:
            parts.append(f"g{p['groups']}")
        if not p["bias"]:
            parts.append(tr("no bias"))
    elif node.type == "ConvTranspose2d":
        parts.append(tr("{n} filters").format(n=p['out_channels']))
        parts.append(_size(p["kernel_size"]))
        parts += _window_extras(p)
        if p["output_padding"] not in (0, (0, 0)):
            parts.append(f"op{_compact(p['output_padding'])}")
        if p["groups"] != 1:
            parts.append(f"g{p['groups']}")
    elif node.type in ("MaxPool2d", "AvgPool2d"):
        parts.append(_size(p["kernel_size"]))
        if p["stride"] is not None and p["stride"] != p["kernel_size"]:
            parts.append(f"s{_compact(p['stride'])}")
        parts += _window_extras({**p, "stride": 1})
        if p["ceil_mode"]:
            parts.append(tr("ceil"))
    elif node.type in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        parts.append(f"→ {_size(p['output_size'])}")
    elif node.type == "Linear":
        parts.append(tr("{n} outputs").format(n=p['out_features']))
        if not p["bias"]:
            parts.append(tr("no bias"))
    elif node.type in ("Dropout", "Dropout2d"):
        parts.append(f"p = {p['p']:g}")
    elif node.type == "LeakyReLU":
        parts.append(tr("slope {value}").format(value=f"{p['negative_slope']:g}"))
    elif node.type == "Softmax":
        parts.append(f"dim {p['dim']}")
    elif node.type == "Upsample":
        if p["size"] is not None:
            parts.append(f"→ {_size(p['size'])}")
        elif p["scale_factor"] is not None:
            parts.append(f"×{_scale(p['scale_factor'])}")
        parts.append(p["mode"])
    elif node.type == "ZeroPad2d":
        pad = p["padding"]
        parts.append(tr("pad {value}").format(value=pad if isinstance(pad, int) else ",".join(map(str, pad))))
    elif node.type == "GroupNorm":
        parts.append(tr("{n} groups").format(n=p['num_groups']))
    elif node.type == "ChannelShuffle":
        parts.append(tr("{n} groups").format(n=p['groups']))
    elif node.type == "PReLU" and p["num_parameters"] != 1:
        parts.append(tr("{n} slopes").format(n=p['num_parameters']))
    elif node.type == "ELU" and p["alpha"] != 1.0:
        parts.append(f"α {p['alpha']:g}")
    elif node.type == "LocalResponseNorm":
        parts.append(tr("size {n}").format(n=p['size']))
    elif node.type == "BatchNorm2d" and not p["affine"]:
        parts.append(tr("no affine"))
    elif node.type == "Flatten" and (p["start_dim"], p["end_dim"]) != (1, -1):
        parts.append(tr("dims {start}…{end}").format(start=p['start_dim'], end=p['end_dim']))
    elif node.type == "GELU" and p["approximate"] != "none":
        parts.append(tr("tanh approx."))
    elif spec.is_merge:
        parts.append(ntr("{n} input", "{n} inputs", len(node.inputs)).format(n=len(node.inputs)))
    return " · ".join(parts)


def _window_extras(p: dict[str, Any]) -> list[str]:
    parts = []
    if p.get("stride", 1) not in (1, (1, 1)):
        parts.append(f"s{_compact(p['stride'])}")
    padding = p.get("padding", 0)
    if isinstance(padding, str):
        parts.append(padding)
    elif padding not in (0, (0, 0)):
        parts.append(f"p{_compact(padding)}")
    if p.get("dilation", 1) not in (1, (1, 1)):
        parts.append(f"d{_compact(p['dilation'])}")
    return parts


def _size(value: Any) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}×{value[1]}"
    return f"{value}×{value}"


def _scale(value: Any) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:g}×{value[1]:g}" if value[0] != value[1] else f"{value[0]:g}"
    return f"{value:g}"


def _compact(value: Any) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    return str(value)
