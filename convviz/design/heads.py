"""Editing a design's output heads: which node is the main output, which are auxiliary, their loss weights.

A design without heads has one output (its last layer). Making a second node a head names both:
the current output becomes the main head (weight 1), the new one an auxiliary head. Dropping the
last auxiliary head returns the design to its one implicit output. These return the new list for
``Design.set_heads`` (an undo command applies it).
"""

from __future__ import annotations

from .graph import Design, Head

#: The weight a new auxiliary head starts with (GoogLeNet's 0.3).
AUX_WEIGHT = 0.3


def head_of(design: Design, node_id: str) -> Head | None:
    return next((head for head in design.heads if head.node == node_id), None)


def with_auxiliary(design: Design, node_id: str, output: str, weight: float = AUX_WEIGHT) -> list[Head]:
    """``node_id`` as one more auxiliary head; ``output``: the design's output now (the main head to be)."""
    heads = list(design.heads) or [Head(output)]
    return [*(h for h in heads if h.node != node_id), Head(node_id, weight)]


def with_main(design: Design, node_id: str) -> list[Head]:
    """``node_id`` as the main head; the former main one becomes auxiliary (with the weight it had as one, or 0.3)."""
    heads = list(design.heads)
    old = head_of(design, node_id)
    main = heads[0] if heads else None
    rest = [h for h in heads[1:] if h.node != node_id]
    if main is not None and main.node != node_id:
        rest.insert(0, Head(main.node, old.loss_weight if old is not None else AUX_WEIGHT))
    return [Head(node_id), *rest]


def without(design: Design, node_id: str) -> list[Head]:
    """``node_id`` no longer a head; one head left means one implicit output again (no list)."""
    heads = [h for h in design.heads if h.node != node_id]
    return heads if len(heads) > 1 else []


def with_weight(design: Design, node_id: str, weight: float) -> list[Head]:
    return [Head(h.node, weight) if h.node == node_id else h for h in design.heads]
