"""Rules for the normalisation layers that do not use batch statistics: GroupNorm, LayerNorm and
InstanceNorm2d (``analysis/layers.py``'s contract; BatchNorm2d and LocalResponseNorm live there).

Their receptive-field step is a pass-through, as textbooks count normalisation; the statistics
they divide by span a group, an image or a channel's whole map, which the Explain view's exact
field shows.
"""

from __future__ import annotations

import math

from ..design.edits import Bridge
from ..i18n import tr
from .layers import Ctx, LayerOut, _divisors
from .results import Fix
from .text import grouped, shape as fmt_shape


def group_norm(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.x
    channels, groups = x[0], c.p["num_groups"]
    if channels % groups:
        best = max(v for v in _divisors(channels) if v <= groups)
        c.error(tr("num_groups = {g} must divide the {c} channels.").format(g=groups, c=channels),
                tr("Use {best} groups of {size} channels.").format(best=best, size=channels // best),
                c.set_fix(tr("Set num_groups to {value}").format(value=best), "num_groups", best))
        return None
    c.infer("num_channels", channels)
    params = 2 * channels if c.p["affine"] else 0
    if c.explaining:
        per_group = channels // groups
        values = per_group * math.prod(x[1:])
        c.derive("note", tr("each image's {g} groups of {n} channels are normalised over {v} values each").format(
            g=groups, n=per_group, v=grouped(values)))
        c.derive("params", f"params = 2·C = 2·{channels} = {grouped(params)} " + tr("(γ and β per channel)")
                 if params else tr("params = 0 (affine is off: no γ, β)"))
    return LayerOut(x, params)


def layer_norm(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.x
    c.infer("normalized_shape", x)
    values = math.prod(x)
    affine, bias = c.p["elementwise_affine"], c.p["bias"]
    params = values * (2 if bias else 1) if affine else 0
    if c.explaining:
        c.derive("note", tr("each image is normalised over all its {v} values ({shape})").format(
            v=grouped(values), shape=fmt_shape(x)))
        if not affine:
            c.derive("params", tr("params = 0 (elementwise_affine is off: no γ, β)"))
        elif bias:
            c.derive("params", f"params = 2·{'·'.join(map(str, x))} = {grouped(params)} " + tr("(γ and β per value)"))
        else:
            c.derive("params", f"params = {'·'.join(map(str, x))} = {grouped(params)} " + tr("(γ per value, no β)"))
    return LayerOut(x, params)


def instance_norm2d(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, height, width = x
    if height * width == 1:
        c.error(tr("InstanceNorm2d normalises each channel over its own map, and this map is 1×1: one value has "
                   "no spread to divide by (PyTorch refuses it in training)."),
                tr("Normalise before the map shrinks to 1×1, or use BatchNorm2d."),
                Fix(tr("Remove {node}").format(node=repr(c.id)), (Bridge(c.id),)))
        return None
    c.infer("num_features", channels)
    params = 2 * channels if c.p["affine"] else 0
    if c.explaining:
        c.derive("note", tr("each of the {c} channels of each image is normalised over its {h}×{w} map").format(
            c=channels, h=height, w=width))
        c.derive("params", f"params = 2·C = 2·{channels} = {grouped(params)} " + tr("(γ and β per channel)")
                 if params else tr("params = 0 (affine is off, PyTorch's default: no γ, β)"))
    return LayerOut(x, params)


RULES = {
    "GroupNorm": group_norm,
    "LayerNorm": layer_norm,
    "InstanceNorm2d": instance_norm2d,
}
