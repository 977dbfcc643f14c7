"""Rules for the layers that regroup channels: ChannelShuffle (``analysis/layers.py``'s contract).

A channel permutation leaves every unit's spatial field as it was: the step is a pass-through.
"""

from __future__ import annotations

from ..i18n import tr
from .layers import Ctx, LayerOut, _divisors


def channel_shuffle(c: Ctx) -> LayerOut | None:
    if not c.check_limits():
        return None
    x = c.need_map("needs")
    if x is None:
        return None
    channels, groups = x[0], c.p["groups"]
    if channels % groups:
        best = max(v for v in _divisors(channels) if v <= groups)
        c.error(tr("groups = {g} must divide the {c} channels.").format(g=groups, c=channels),
                tr("Use {best} groups of {size} channels.").format(best=best, size=channels // best),
                c.set_fix(tr("Set groups to {value}").format(value=best), "groups", best))
        return None
    if c.explaining:
        per_group = channels // groups
        c.derive("note", tr("{g} groups of {n} channels are interleaved: channel i·{n} + j moves to j·{g} + i").format(
            g=groups, n=per_group))
    return LayerOut(x)


RULES = {
    "ChannelShuffle": channel_shuffle,
}
