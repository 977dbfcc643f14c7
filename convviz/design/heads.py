"""A design's output heads: which node is the main output, which are auxiliary, their loss weights.

A design without heads has one output (its last layer). Making a second node a head names both:
the current output becomes the main head (weight 1), the new one an auxiliary head. One head or
fewer left is the design's one implicit output again (no list: ``settled``), and an auxiliary head
is never made the main one by an edit that did not ask for it (a removal, a bridge). The functions
return the new list for ``Design.set_heads`` / ``Design.remove_nodes`` (an undo command applies it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .ports import node_of, port_of

if TYPE_CHECKING:  # the graph imports this module
    from .graph import Design

#: The weight a new auxiliary head starts with (GoogLeNet's 0.3).
AUX_WEIGHT = 0.3


@dataclass(frozen=True)
class Head:
    """One output of a design with several (GoogLeNet's auxiliary classifiers): the node whose output
    it is (an output reference ``split:1`` for one output of a node with several), and the weight of
    its loss in training (total = Σ weight · loss). The first head is the main one: accuracy, Explain
    and export use it."""

    node: str
    loss_weight: float = 1.0


def settled(heads: Sequence[Head]) -> list[Head]:
    """The list a design keeps: several heads, or none (one head is the design's one output), or one
    naming an output of a node with several (``split:0``: no implicit output can be that)."""
    return list(heads) if len(heads) > 1 or (heads and port_of(heads[0].node) is not None) else []


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
    return settled([h for h in design.heads if h.node != node_id])


def with_weight(design: Design, node_id: str, weight: float) -> list[Head]:
    return [Head(h.node, weight) if h.node == node_id else h for h in design.heads]


def after_removal(heads: Sequence[Head], removed: Collection[str], successor: str | None = None) -> list[Head]:
    """The heads once the nodes ``removed`` are gone (``heads`` may name outputs ``split:k`` of them).
    A removed auxiliary head is dropped. A removed main head passes to ``successor`` (what now gives
    the scores, found by the analysis: ``analysis.head.main_head_successor``) with its weight; without
    one no head is left, since making an auxiliary classifier the main one silently would train and
    explain another output."""
    if not heads:
        return []
    main, *aux = heads
    kept = [h for h in aux if node_of(h.node) not in removed]
    if node_of(main.node) not in removed:
        return settled([main, *kept])
    if successor is None or node_of(successor) in removed:
        return []
    return settled([Head(successor, main.loss_weight), *(h for h in kept if h.node != successor)])


def handed_over(heads: Sequence[Head], node_id: str, source: str) -> list[Head]:
    """The heads once ``node_id`` is bridged (removed, its consumers wired to ``source``): its head,
    main or auxiliary, passes to ``source`` with its weight (a ``source`` already a head stays where it was)."""
    handed: list[Head] = []
    for head in heads:
        head = Head(source, head.loss_weight) if head.node == node_id else head
        if all(h.node != head.node for h in handed):
            handed.append(head)
    return settled(handed)
