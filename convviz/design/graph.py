"""The network as data: nodes with ordered inputs, edited through a few methods that notify listeners.

Every edit the app makes goes through a ``Design`` method (the undo commands call nothing else), and
every method tells the listeners what changed, so views redraw from the design rather than from
the gesture that changed it. Inferred sizes (``in_channels``, ``in_features``) are not stored:
the analysis derives them, so one edit reshapes everything downstream.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..i18n import tr
from .catalog import CATALOG, ParamTypeError, layer_spec
from .heads import Head, after_removal
from .ids import fresh_id, id_problem
from .ports import node_of, renamed_ref


class DesignError(ValueError):
    """An edit that cannot be made (unknown node, taken id, wrong parameter type, …)."""


@dataclass(frozen=True)
class InputSpec:
    channels: int = 1
    height: int = 28
    width: int = 28

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)


@dataclass
class Node:
    id: str
    type: str
    #: The outputs it reads, in order: node ids, or ``node:k`` for output k of a Split (``design.ports``).
    inputs: list[str] = field(default_factory=list)
    #: Only what was set; the rest takes PyTorch's defaults (``LayerSpec.resolve``).
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] | None = None

    def resolved_params(self) -> dict[str, Any]:
        return layer_spec(self.type).resolve(self.params)

    def copy(self) -> Node:
        return Node(self.id, self.type, list(self.inputs), dict(self.params), self.pos)


@dataclass(frozen=True)
class Change:
    """What an edit touched. ``kind``: structure, params, position, rename or meta."""

    kind: str
    node_ids: tuple[str, ...] = ()

    @property
    def affects_analysis(self) -> bool:
        return self.kind != "position"


@dataclass(frozen=True)
class Removal:
    """Everything ``remove_nodes`` took out, so ``restore`` can put it back exactly."""

    #: (index in node order, node) for each removed node, ascending.
    nodes: tuple[tuple[int, Node], ...]
    #: Input lists of surviving consumers before the removal: (node id, inputs).
    consumer_inputs: tuple[tuple[str, tuple[str, ...]], ...]
    #: The design's heads before the removal (a removed head is dropped with its node).
    heads: tuple[Head, ...] = ()


@dataclass(frozen=True)
class StructuralIssue:
    """A problem with the graph's wiring, naming the nodes concerned."""

    message: str
    node_ids: tuple[str, ...] = ()
    fix: str = ""
    severity: str = "error"  # or "warning"
    #: A one-click repair (``design.edits``) and its button's label, where there is one.
    edits: tuple = ()
    fix_label: str = ""


UNSET = object()  # set_param(..., UNSET) removes a stored value: the parameter takes its default.

Listener = Callable[[Change], None]


class Design:
    """A network: name, input shape, class names and nodes in a stable order."""

    def __init__(self, name: str = "Untitled", input: InputSpec | None = None,
                 classes: Iterable[str] = (), nodes: Iterable[Node] = (), heads: Iterable[Head] = ()) -> None:
        self.name = name
        self.input = input or InputSpec()
        self.classes: list[str] = list(classes)
        #: Several outputs, the main one first; empty: one output, the design's last layer (the usual case).
        self.heads: list[Head] = list(heads)
        self._nodes: dict[str, Node] = {}
        self._listeners: list[Listener] = []
        self._batch_depth = 0
        self._pending: list[Change] = []
        for node in nodes:
            if node.id in self._nodes:
                raise DesignError(tr('two nodes have the id {id!r}').format(id=node.id))
            # Hand-made nodes may hold [h, w] lists: store the canonical form, as set_param does.
            node.params = {name: _coerce(node.type, name, value) for name, value in node.params.items()}
            self._nodes[node.id] = node

    # --- queries -------------------------------------------------------------------------------
    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Design):
            return NotImplemented
        return (self.name, self.input, self.classes, self.heads, list(self._nodes.values())) == (
            other.name, other.input, other.classes, other.heads, list(other._nodes.values()))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Design({self.name!r}, {len(self)} nodes)"

    @property
    def node_ids(self) -> list[str]:
        return list(self._nodes)

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise DesignError(tr('no node {node_id!r}').format(node_id=node_id)) from None

    def get(self, node_id: str) -> Node | None:
        return self._nodes.get(node_id)

    def consumers(self, node_id: str) -> list[tuple[str, int]]:
        """(consumer id, input index) for every edge leaving ``node_id`` (any of its outputs), in node order."""
        return [(n.id, i) for n in self._nodes.values() for i, src in enumerate(n.inputs) if node_of(src) == node_id]

    def ancestors(self, node_id: str) -> set[str]:
        """``node_id`` (or the node of an output reference ``split:1``) and every node its output depends
        on (inputs naming missing nodes included, not followed)."""
        node_id = node_of(node_id)
        seen, stack = {node_id}, [node_id]
        while stack:
            node = self._nodes.get(stack.pop())
            for src in (node_of(ref) for ref in node.inputs) if node else ():
                if src not in seen:
                    seen.add(src)
                    stack.append(src)
        return seen

    def input_nodes(self) -> list[Node]:
        return [n for n in self._nodes.values() if n.type == "Input"]

    def sinks(self) -> list[str]:
        used = {node_of(src) for n in self._nodes.values() for src in n.inputs}
        return [n.id for n in self._nodes.values() if n.id not in used]

    def topological_order(self) -> tuple[list[str], list[str]]:
        """(ordered ids, ids on or behind a cycle). Ties keep node order, so chains read naturally.

        Dangling inputs (ids that name no node) are ignored here; validation reports them.
        """
        from .structure import topological_order

        return topological_order(self)

    # --- notification --------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group edits: listeners hear one merged change at the end (a paste of 40 nodes: one redraw)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._pending:
                pending, self._pending = self._pending, []
                kinds = {c.kind for c in pending}
                kind = kinds.pop() if len(kinds) == 1 else "structure"
                ids = tuple(dict.fromkeys(i for c in pending for i in c.node_ids))
                self._emit(Change(kind, ids))

    def _changed(self, kind: str, *node_ids: str) -> None:
        change = Change(kind, node_ids)
        if self._batch_depth:
            self._pending.append(change)
        else:
            self._emit(change)

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # --- edits ---------------------------------------------------------------------------------
    def new_id(self, type_name: str) -> str:
        return fresh_id(self._nodes, type_name)

    def check_new_id(self, node_id: str) -> None:
        problem = id_problem(node_id)
        if problem:
            raise DesignError(problem)
        if node_id in self._nodes:
            raise DesignError(tr('the id {node_id!r} is already taken').format(node_id=node_id))

    def add_node(self, type_name: str, node_id: str | None = None, inputs: Iterable[str] = (),
                 params: dict[str, Any] | None = None, pos: tuple[float, float] | None = None,
                 index: int | None = None) -> Node:
        """Add a node; ``params`` None gives the palette's starting values. ``index``: position in order."""
        spec = layer_spec(type_name) if type_name in CATALOG else None
        if spec is None:
            raise DesignError(tr('unknown layer type {type_name!r}').format(type_name=type_name))
        node_id = node_id or self.new_id(type_name)
        self.check_new_id(node_id)
        stored = spec.initial_params() if params is None else {}
        for name, value in (params or {}).items():
            stored[name] = _coerce(type_name, name, value)
        node = Node(node_id, type_name, list(inputs), stored, _pos(pos))
        self._insert(node, index)
        self._changed("structure", node_id)
        return node

    def insert_node(self, node: Node, index: int | None = None) -> None:
        """Add a ready-made node (a paste, a redo); its id must be free."""
        self.check_new_id(node.id)
        layer_spec(node.type)
        self._insert(node.copy(), index)
        self._changed("structure", node.id)

    def _insert(self, node: Node, index: int | None) -> None:
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
            return
        items = list(self._nodes.items())
        items.insert(max(index, 0), (node.id, node))
        self._nodes = dict(items)

    def remove_nodes(self, node_ids: Iterable[str], heads: Iterable[Head] | None = None) -> Removal:
        """Remove nodes and every edge touching them; the returned record undoes it. ``heads``: the
        heads afterwards (default ``heads.after_removal``: a removed main head leaves none, never an
        auxiliary one made main)."""
        doomed = set(node_ids)
        for nid in doomed:
            self.node(nid)
        order = list(self._nodes)
        removed = tuple((i, self._nodes[nid].copy()) for i, nid in enumerate(order) if nid in doomed)
        consumers = tuple(
            (n.id, tuple(n.inputs)) for n in self._nodes.values()
            if n.id not in doomed and any(node_of(src) in doomed for src in n.inputs)
        )
        before = tuple(self.heads)
        for nid in doomed:
            del self._nodes[nid]
        for nid, inputs in consumers:
            self._nodes[nid].inputs = [src for src in inputs if node_of(src) not in doomed]
        self.heads = after_removal(self.heads, doomed) if heads is None else list(heads)
        self._changed("structure", *doomed, *(nid for nid, _ in consumers))
        return Removal(removed, consumers, before)

    def restore(self, removal: Removal) -> None:
        """Undo ``remove_nodes``: the nodes at their old places, the consumers' inputs as they were."""
        for index, node in removal.nodes:
            self.check_new_id(node.id)
            self._insert(node.copy(), index)
        for nid, inputs in removal.consumer_inputs:
            self.node(nid).inputs = list(inputs)
        self.heads = list(removal.heads)
        self._changed("structure", *(n.id for _, n in removal.nodes), *(nid for nid, _ in removal.consumer_inputs))

    def rename_node(self, old: str, new: str) -> None:
        """Give a node a new id, rewriting every edge that names it."""
        if old == new:
            return
        node = self.node(old)
        self.check_new_id(new)
        node.id = new
        self._nodes = {(new if nid == old else nid): n for nid, n in self._nodes.items()}
        for n in self._nodes.values():
            n.inputs = [renamed_ref(src, old, new) for src in n.inputs]
        self.heads = [Head(renamed_ref(h.node, old, new), h.loss_weight) for h in self.heads]
        self._changed("rename", old, new)

    def set_inputs(self, node_id: str, inputs: Iterable[str]) -> list[str]:
        """Replace a node's ordered inputs; returns the old list (for undo)."""
        node = self.node(node_id)
        old = list(node.inputs)
        node.inputs = list(inputs)
        self._changed("structure", node_id)
        return old

    def connect(self, source: str, target: str, index: int | None = None) -> None:
        """Add an edge source → target at input position ``index`` (default: last); ``source`` is a
        node id or, for a node with several outputs, ``node:k``."""
        self.node(node_of(source))
        node = self.node(target)
        spec = layer_spec(node.type)
        if spec.max_inputs is not None and len(node.inputs) >= spec.max_inputs:
            if spec.max_inputs == 0:
                raise DesignError(tr('{id!r} ({type}) takes no inputs').format(id=node.id, type=node.type))
            if spec.max_inputs == 1:
                # A single-input layer swaps its input rather than refusing: what a drag means.
                self.set_inputs(target, [source])
                return
            raise DesignError(tr('{id!r} ({type}) takes at most {max_inputs} inputs').format(id=node.id, type=node.type, max_inputs=spec.max_inputs))
        inputs = list(node.inputs)
        inputs.insert(len(inputs) if index is None else index, source)
        self.set_inputs(target, inputs)

    def disconnect(self, target: str, index: int) -> str:
        """Remove input ``index`` of ``target``; returns the source it came from."""
        inputs = list(self.node(target).inputs)
        source = inputs.pop(index)
        self.set_inputs(target, inputs)
        return source

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set (or with ``UNSET`` clear) a parameter; returns the old stored value or ``UNSET``."""
        node = self.node(node_id)
        old = node.params.get(name, UNSET)
        if value is UNSET:
            node.params.pop(name, None)
        else:
            node.params[name] = _coerce(node.type, name, value)
        self._changed("params", node_id)
        return old

    def set_position(self, node_id: str, pos: tuple[float, float] | None) -> None:
        self.node(node_id).pos = _pos(pos)
        self._changed("position", node_id)

    def set_positions(self, positions: dict[str, tuple[float, float] | None]) -> None:
        for nid, pos in positions.items():
            self.node(nid).pos = _pos(pos)
        self._changed("position", *positions)

    def set_heads(self, heads: Iterable[Head]) -> list[Head]:
        """Name the design's outputs (the main one first, with loss weights); returns the old list (for undo).
        Which node is the output changes the analysis: a structural change."""
        old = list(self.heads)
        self.heads = list(heads)
        self._changed("structure", *dict.fromkeys(h.node for h in (*old, *self.heads)))
        return old

    def set_input_spec(self, spec: InputSpec) -> None:
        self.input = spec
        self._changed("meta")

    def set_name(self, name: str) -> None:
        self.name = name
        self._changed("meta")

    def set_classes(self, classes: Iterable[str]) -> None:
        self.classes = list(classes)
        self._changed("meta")

    def replace_with(self, other: Design) -> None:
        """Take ``other``'s content, keeping listeners (open a file, undo a compound edit).

        Listeners hear which nodes differ, so a small undo redraws little.
        """
        before = {n.id: n for n in self}
        touched = [nid for nid in dict.fromkeys([*before, *other.node_ids]) if before.get(nid) != other.get(nid)]
        meta_changed = (self.name, self.input, self.classes) != (other.name, other.input, other.classes)
        heads_changed = self.heads != other.heads
        self.name, self.input, self.classes = other.name, other.input, list(other.classes)
        self.heads = list(other.heads)
        self._nodes = {n.id: n.copy() for n in other}
        if touched or heads_changed or list(before) != other.node_ids:
            self._changed("structure", *touched)
        elif meta_changed:
            self._changed("meta")

    def copy(self) -> Design:
        """A deep copy without listeners: what a training run freezes."""
        return Design(self.name, self.input, self.classes, (n.copy() for n in self._nodes.values()), self.heads)

    # --- validation ----------------------------------------------------------------------------
    def validate(self, facts=None) -> list[StructuralIssue]:
        """Wiring problems, each naming its nodes: see ``structure.check_structure``."""
        from .structure import check_structure

        return check_structure(self, facts)


def _coerce(type_name: str, name: str, value: Any) -> Any:
    spec = layer_spec(type_name)
    if name not in spec.param_index:
        known = ", ".join(spec.param_index) or "none"
        raise DesignError(tr('{type_name} has no parameter {name!r} (its parameters: {known})').format(type_name=type_name, name=name, known=known))
    try:
        return spec.param(name).coerce(copy.copy(value))
    except ParamTypeError as exc:
        raise DesignError(f"{name}: {exc}") from None


def _pos(pos: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if pos is None else (float(pos[0]), float(pos[1]))
