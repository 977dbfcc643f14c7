"""How an image is fitted to a design's input, in one place for training and for the explain views:
keep the aspect ratio by a centred crop, then resize; grey from colour by ITU-R 601 luma."""

from __future__ import annotations

#: Weights of R, G and B in grey (ITU-R BT.601 luma, as Pillow's "L" conversion uses).
LUMA = (0.299, 0.587, 0.114)


def centre_crop_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom): the largest centred box of the target's aspect ratio (to the pixel).

    ``size`` and ``target`` are (width, height).
    """
    w, h = size
    tw, th = target
    if w * th > h * tw:  # wider than the target: crop the sides
        cw = max(1, round(h * tw / th))
        return ((w - cw) // 2, 0, (w - cw) // 2 + cw, h)
    ch = max(1, round(w * th / tw))
    return (0, (h - ch) // 2, w, (h - ch) // 2 + ch)
