"""The Pareto front of a trade-off: the runs no other run beats on both cost and accuracy."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (cost, value) that no other point dominates (as low a cost and as high a
    value, and strictly better in one), ordered by cost. Equal points are all on the front."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    best = float("-inf")
    for i in order:
        cost, value = points[i]
        if value > best:
            front.append(i)
            best = value
        elif front and value == best and points[front[-1]] == (cost, value):
            front.append(i)   # the same point twice: neither dominates the other
    return front
