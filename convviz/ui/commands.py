"""Undo commands: every edit of the design is one of these, and each calls ``Design`` methods only.

Consecutive changes of one parameter merge into one step (``mergeWith``), and a drag is one
move, recorded on release, so Undo takes back what the user thinks of as one action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..design import UNSET, Design, DesignError, DesignFileError, Head, InputSpec, Node
from ..design.edits import Edit, SetPositions, apply_edits
from ..design.layout import make_room
from ..i18n import ntr, tr
from .card import CARD_SPACING
from ..messages import first_line
from .document import Document

_SET_PARAM_ID = 1001


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
    """Delete nodes with their edges; undo puts back nodes, edges and input order exactly."""

    def __init__(self, document: Document, node_ids: Sequence[str]) -> None:
        ids = list(node_ids)
        super().__init__(document, tr("Delete '{node}'").format(node=ids[0]) if len(ids) == 1
                         else ntr("Delete {count} layer", "Delete {count} layers", len(ids)).format(count=len(ids)))
        self.node_ids = ids
        self.removal = None

    def apply(self) -> None:
        self.removal = self.design.remove_nodes(self.node_ids)

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
    """Name the design's output heads (main first, with loss weights)."""

    def __init__(self, document: Document, heads: Sequence[Head], text: str) -> None:
        super().__init__(document, text)
        self.heads, self.old = list(heads), list(document.design.heads)

    def apply(self) -> None:
        self.design.set_heads(self.heads)

    def revert(self) -> None:
        self.design.set_heads(self.old)


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
