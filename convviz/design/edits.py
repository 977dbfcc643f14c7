"""Edits as data: what a suggested fix does, applied through ``Design`` methods.

The analysis proposes fixes as lists of these (it cannot touch the design), and the app applies
one list as a single undoable step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..i18n import tr
from .catalog import layer_spec
from .graph import Design, DesignError
from .heads import handed_over
from .ports import node_of, output_ref


@dataclass(frozen=True)
class SetParam:
    node: str
    name: str
    value: Any

    def apply(self, design: Design) -> None:
        design.set_param(self.node, self.name, self.value)


@dataclass(frozen=True)
class InsertBefore:
    """Put a new node on the edge into ``node``'s input ``input_index``."""

    node: str
    type: str
    params: dict[str, Any] | None = field(default_factory=dict)
    input_index: int = 0
    new_id: str | None = None

    def apply(self, design: Design) -> None:
        target = design.node(self.node)
        inputs = list(target.inputs)
        source = inputs[self.input_index] if self.input_index < len(inputs) else None
        pos = _between(design, source, self.node)
        with design.batch():
            params = None if self.params is None else dict(self.params)  # None: the palette's starting values
            new = design.add_node(self.type, self.new_id, [source] if source else [], params, pos,
                                  index=design.node_ids.index(self.node))
            if source is None:
                inputs.append(new.id)
            else:
                inputs[self.input_index] = new.id
            design.set_inputs(self.node, inputs)


@dataclass(frozen=True)
class InsertAfter:
    """Put a new node right after ``node``: it takes ``node``'s output, ``node``'s consumers take its."""

    node: str
    type: str
    params: dict[str, Any] | None = None
    new_id: str | None = None
    pos: tuple[float, float] | None = None

    def apply(self, design: Design) -> None:
        # After a node with several outputs: after its first (the others keep their consumers).
        source = output_ref(self.node, 0 if layer_spec(design.node(self.node).type).multi_output else None)
        consumers = design.consumers(self.node)
        with design.batch():
            new = design.add_node(self.type, self.new_id, [source], self.params, self.pos,
                                  index=design.node_ids.index(self.node) + 1)
            for cid in dict.fromkeys(c for c, _ in consumers):
                design.set_inputs(cid, [new.id if s == source else s for s in design.node(cid).inputs])


@dataclass(frozen=True)
class Bridge:
    """Remove a single-input node, wiring its consumers to its input; a head passes to its input too."""

    node: str

    def apply(self, design: Design) -> None:
        node = design.node(self.node)
        if len(node.inputs) != 1 or layer_spec(node.type).multi_output:
            raise DesignError(tr("{node} must have exactly one input and one output to be bridged").format(
                node=repr(self.node)))
        source = node.inputs[0]
        consumers = design.consumers(self.node)
        with design.batch():
            rewired = {cid: [source if s == self.node else s for s in design.node(cid).inputs] for cid, _ in consumers}
            design.remove_nodes([self.node], handed_over(design.heads, self.node, source))
            for cid, inputs in rewired.items():
                design.set_inputs(cid, inputs)


@dataclass(frozen=True)
class SetHeads:
    """Name the design's heads (``Design.set_heads``)."""

    heads: tuple

    def apply(self, design: Design) -> None:
        design.set_heads(self.heads)


@dataclass(frozen=True)
class SetPositions:
    """Move nodes (a re-layout after an insertion keeps a tidy design tidy)."""

    positions: dict[str, tuple[float, float]]

    def apply(self, design: Design) -> None:
        design.set_positions({k: v for k, v in self.positions.items() if k in design})


Edit = Union[SetParam, InsertBefore, InsertAfter, Bridge, SetHeads, SetPositions]


def apply_edits(design: Design, edits: tuple[Edit, ...] | list[Edit]) -> None:
    with design.batch():
        for edit in edits:
            edit.apply(design)


def _between(design: Design, source: str | None, target: str) -> tuple[float, float] | None:
    source = node_of(source) if source else None
    a = design.get(source).pos if source and design.get(source) else None
    b = design.node(target).pos
    if a is None or b is None:
        return b
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
