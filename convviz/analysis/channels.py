"""Rules for the layers that regroup channels: ChannelShuffle and Split (``analysis/layers.py``'s contract).

Permuting or parting channels leaves every unit's spatial field as it was: the step is a pass-through.
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


def split(c: Ctx) -> LayerOut | None:
    """Channel parts as outputs: ``chunks`` equal ones, or ``sizes`` (which must add up to the channels)."""
    if not c.check_limits():
        return None
    x = c.x
    channels, sizes, chunks = x[0], c.p["sizes"], c.p["chunks"]
    if sizes:
        if sum(sizes) != channels:
            c.error(tr("The sizes add up to {total} channels, but the input has {c}.").format(
                        total=sum(sizes), c=channels),
                    tr("Make them add up to {c}, or split into equal chunks.").format(c=channels),
                    c.set_fix(tr("Split into {n} equal chunks").format(n=len(sizes)), "sizes", None)
                    if channels % len(sizes) == 0 else None)
            return None
        parts = tuple(sizes)
    else:
        if channels % chunks:
            best = max(v for v in _divisors(channels) if v <= chunks)
            c.error(tr("{c} channels do not split into {n} equal chunks.").format(c=channels, n=chunks),
                    tr("Use {best} chunks of {size}, or give the sizes.").format(best=best, size=channels // best),
                    c.set_fix(tr("Set chunks to {value}").format(value=best), "chunks", best))
            return None
        parts = (channels // chunks,) * chunks
    outputs = tuple((part, *x[1:]) for part in parts)
    if c.explaining:
        c.derive("C_out", f"C = {channels} = {' + '.join(map(str, parts))}" + (
            tr(" ({n} equal chunks)").format(n=chunks) if not sizes else ""))
        c.derive("note", tr("output k is channels {ranges}").format(
            ranges=", ".join(f"{k}: {start}…{start + part - 1}" for k, (start, part) in
                             enumerate(zip(_starts(parts), parts)))))
    return LayerOut(outputs[0], outputs=outputs)


def _starts(parts: tuple[int, ...]) -> list[int]:
    starts, at = [], 0
    for part in parts:
        starts.append(at)
        at += part
    return starts


RULES = {
    "ChannelShuffle": channel_shuffle,
    "Split": split,
}
