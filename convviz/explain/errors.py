"""The explain views' failures: one line each, naming the node or parameter and what to do."""

from __future__ import annotations


class ExplainError(ValueError):
    """A view that cannot be made for this node / network (a pool where a conv is needed, …)."""


class Cancelled(ExplainError):
    """A long computation stopped because its ``should_stop`` callback said so."""
