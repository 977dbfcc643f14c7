"""What a node's input names: another node's output.

Most layers have one output, named by the node's id (``"conv1"``). A layer with several (a channel
Split) has numbered outputs, and an input names one of them: ``"split1:0"``, ``"split1:1"``. The
two forms never mix: a plain id always means "the node's one output", a numbered one "output k of
a node that has several", so every reference has one meaning without looking the node up (the
structural checks report the wrong form, with the right one).
"""

from __future__ import annotations

SEPARATOR = ":"


def node_of(ref: str) -> str:
    """The node an input reference names: ``"split1:1"`` → ``"split1"``, ``"conv1"`` → ``"conv1"``."""
    return ref.partition(SEPARATOR)[0] if SEPARATOR in ref else ref


def port_of(ref: str) -> int | None:
    """The output an input reference names, or None for a node's one output (or a malformed number)."""
    if SEPARATOR not in ref:
        return None
    digits = ref.partition(SEPARATOR)[2]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def output_ref(node_id: str, port: int | None) -> str:
    """The reference to ``node_id``'s output ``port`` (None: its one output)."""
    return node_id if port is None else f"{node_id}{SEPARATOR}{port}"


def ref_problem(ref: object) -> str | None:
    """Why ``ref`` is not an input reference (a file edited by hand), or None."""
    if not isinstance(ref, str):
        return f"expected a node id, got {ref!r}"
    if SEPARATOR in ref and port_of(ref) is None:
        return f"{ref!r} is neither a node id nor node{SEPARATOR}output (an output is a number: split1{SEPARATOR}0)"
    return None


def renamed_ref(ref: str, old: str, new: str) -> str:
    """``ref`` after node ``old`` was renamed ``new`` (its port kept)."""
    if ref == old:
        return new
    if SEPARATOR in ref and node_of(ref) == old:
        return f"{new}{SEPARATOR}{ref.partition(SEPARATOR)[2]}"
    return ref
