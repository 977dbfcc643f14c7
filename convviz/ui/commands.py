"""Undo commands: every edit of the design is one of these, and each calls ``Design`` methods only.

Consecutive changes of one parameter merge into one step (``mergeWith``), and a drag is one
move, recorded on release, so Undo takes back what the user thinks of as one action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..design import UNSET, Design, DesignError, DesignFileError, Head, InputSpec, Node
from ..analysis.head import main_head_successor
from ..design.edits import Edit, SetPositions, apply_edits
from ..design.heads import after_removal
from ..design.ports import node_of
from ..i18n import tr
from ..design.layout import make_room
from ..i18n import ntr, tr
from .card import CARD_SPACING
from ..messages import first_line
from .document import Document

_SET_PARAM_ID = 1001
_SET_HEAD_WEIGHT_ID = 1002


class DesignCommand(QUndoCommand):
    """Subclasses ``apply`` and ``revert``. An edit the design refuses makes the command obsolete in its
    first redo, which QUndoStack then drops: a refused edit never sits on the undo stack."""

    def __init__(self, document: Document, text: str) -> None:
        super().__init__(text)
        self.document = document
        self.error: str | None = None

    @property
    def design(self) -> Design:
        return self.document.design

    def redo(self) -> None:
        try:
            self.apply()
        except (DesignError, DesignFileError, ValueError, KeyError) as exc:
            self.error = first_line(exc)
            self.setObsolete(True)

    def undo(self) -> None:
        self.revert()

    def apply(self) -> None:
        raise NotImplementedError

    def revert(self) -> None:
        raise NotImplementedError


class AddNodesCommand(DesignCommand):
    """Add ready-made nodes (a drop, a paste, a duplicate)."""

    def __init__(self, document: Document, nodes: Sequence[Node], text: str | None = None) -> None:
        label = text or (tr("Add {type} '{node}'").format(type=nodes[0].type, node=nodes[0].id) if len(nodes) == 1
                         else ntr("Add {count} layer", "Add {count} layers", len(nodes)).format(count=len(nodes)))
        super().__init__(document, label)
        self.nodes = [n.copy() for n in nodes]

    def apply(self) -> None:
        with self.design.batch():
            for node in self.nodes:
                self.design.insert_node(node)

    def revert(self) -> None:
        self.design.remove_nodes([n.id for n in self.nodes])


class RemoveNodesCommand(DesignCommand):
    """Delete nodes with their edges; undo puts back nodes, edges and input order exactly. A deleted
    main head passes to the layer that fed it when that then gives the scores; else the heads are
    cleared (never an auxiliary head made main) and ``note`` says so, for the status bar."""

    def __init__(self, document: Document, node_ids: Sequence[str]) -> None:
        ids = list(node_ids)
        super().__init__(document, tr("Delete '{node}'").format(node=ids[0]) if len(ids) == 1
                         else ntr("Delete {count} layer", "Delete {count} layers", len(ids)).format(count=len(ids)))
        self.node_ids = ids
        self.removal = None
        self.note = ""

    def apply(self) -> None:
        design, removed = self.design, set(self.node_ids)
        successor = main_head_successor(design, self.document.analysis.nodes, removed)
        heads = after_removal(design.heads, removed, successor)
        main = design.heads[0].node if design.heads else None
        left = [h.node for h in design.heads[1:] if node_of(h.node) not in removed]
        if main is not None and node_of(main) in removed and successor is None and left:
            self.note = tr("{main} was the main output head and no layer gives its scores now: the heads are "
                           "cleared ({aux} no longer train); choose the main head in the inspector's "
                           "\"Output head\" box.").format(
                               main=repr(main), aux=", ".join(map(repr, left)))
        self.removal = design.remove_nodes(self.node_ids, heads)

    def revert(self) -> None:
        self.design.restore(self.removal)


class MoveNodesCommand(DesignCommand):
    def __init__(self, document: Document, before: dict[str, Any], after: dict[str, Any], text: str = "") -> None:
        super().__init__(document, text or (tr("Move '{node}'").format(node=next(iter(after))) if len(after) == 1
                                            else ntr("Move {count} layer", "Move {count} layers", len(after)).format(
                                                count=len(after))))
        self.before, self.after = dict(before), dict(after)

    def apply(self) -> None:
        self.design.set_positions(self.after)

    def revert(self) -> None:
        self.design.set_positions(self.before)


class SetInputsCommand(DesignCommand):
    """Connect, disconnect or reorder: a node's ordered inputs replaced."""

    def __init__(self, document: Document, node_id: str, inputs: Sequence[str], text: str) -> None:
        super().__init__(document, text)
        self.node_id = node_id
        self.inputs = list(inputs)
        self.old: list[str] = []

    def apply(self) -> None:
        self.old = self.design.set_inputs(self.node_id, self.inputs)

    def revert(self) -> None:
        self.design.set_inputs(self.node_id, self.old)


class SetParamCommand(DesignCommand):
    def __init__(self, document: Document, node_id: str, name: str, value: Any) -> None:
        super().__init__(document, tr("Change {node}.{param}").format(node=node_id, param=name))
        self.node_id, self.name, self.value = node_id, name, value
        self.old = document.design.node(node_id).params.get(name, UNSET)

    def id(self) -> int:
        return _SET_PARAM_ID

    def apply(self) -> None:
        self.design.set_param(self.node_id, self.name, self.value)

    def revert(self) -> None:
        self.design.set_param(self.node_id, self.name, self.old)

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Spin-box steps on one parameter are one undo step; a step back to the start is none."""
        if not isinstance(other, SetParamCommand) or (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.value = other.value
        self.setObsolete(self.value == self.old)
        return True


class RenameNodeCommand(DesignCommand):
    def __init__(self, document: Document, old: str, new: str) -> None:
        super().__init__(document, tr("Rename '{old}' to '{new}'").format(old=old, new=new))
        self.old, self.new = old, new

    def apply(self) -> None:
        self.design.rename_node(self.old, self.new)

    def revert(self) -> None:
        self.design.rename_node(self.new, self.old)


class SetInputSpecCommand(DesignCommand):
    def __init__(self, document: Document, spec: InputSpec) -> None:
        super().__init__(document, tr("Set input to {shape}").format(shape=f"{spec.channels}×{spec.height}×{spec.width}"))
        self.spec, self.old = spec, document.design.input

    def apply(self) -> None:
        self.design.set_input_spec(self.spec)

    def revert(self) -> None:
        self.design.set_input_spec(self.old)


class SetClassesCommand(DesignCommand):
    def __init__(self, document: Document, classes: Sequence[str]) -> None:
        super().__init__(document, tr("Set class names"))
        self.classes, self.old = list(classes), list(document.design.classes)

    def apply(self) -> None:
        self.design.set_classes(self.classes)

    def revert(self) -> None:
        self.design.set_classes(self.old)


class SetHeadsCommand(DesignCommand):
    """Name the design's output heads (main first, with loss weights). ``weight_of``: the head whose loss
    weight this changes, so that a spin box's steps on it merge into one undo step (a step back to the
    start is none), as parameter edits do."""

    def __init__(self, document: Document, heads: Sequence[Head], text: str, weight_of: str | None = None) -> None:
        super().__init__(document, text)
        self.heads, self.old = list(heads), list(document.design.heads)
        self.weight_of = weight_of

    def id(self) -> int:
        return _SET_HEAD_WEIGHT_ID if self.weight_of is not None else -1

    def apply(self) -> None:
        self.design.set_heads(self.heads)

    def revert(self) -> None:
        self.design.set_heads(self.old)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetHeadsCommand) or other.weight_of is None or other.weight_of != self.weight_of:
            return False
        self.heads = other.heads
        self.setObsolete(self.heads == self.old)
        return True


class EditsCommand(DesignCommand):
    """A compound edit (a fix, an insert on an edge): applied once, then replayed from snapshots."""

    def __init__(self, document: Document, text: str, edits: Sequence[Edit]) -> None:
        super().__init__(document, text)
        self.edits = list(edits)
        self.before: Design | None = None
        self.after: Design | None = None

    def apply(self) -> None:
        if self.after is None:
            self.before = self.design.copy()
            try:
                with self.design.batch():
                    apply_edits(self.design, self.edits)
                    self._make_room()
            except Exception:
                self.design.replace_with(self.before)  # all or nothing
                self.after = None
                raise
            self.after = self.design.copy()
        else:
            self.design.replace_with(self.after)

    def revert(self) -> None:
        self.design.replace_with(self.before)

    def _make_room(self) -> None:
        """A layer inserted on an edge gets a card of its own: what it feeds moves down (unless the
        edits lay the whole design out themselves)."""
        if any(isinstance(e, SetPositions) for e in self.edits):
            return
        new = [nid for nid in self.design.node_ids if nid not in self.before]
        new += [e.new_id for e in self.edits if getattr(e, "new_id", None) in self.before]  # a moved node
        if new:
            self.design.set_positions(make_room(self.design, new, CARD_SPACING))
