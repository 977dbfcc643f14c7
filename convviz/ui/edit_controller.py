"""The Edit menu's work on the canvas: undo and redo, the clipboard (copy, cut, paste, duplicate),
delete, select, append a layer after the selected one, auto-layout, and the canvas's right-click
menu. Every change is one undoable command pushed on the document."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMimeData, QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication, QUndoStack
from PySide6.QtWidgets import QMenu, QStatusBar, QStyle, QWidget

from ..design import FAMILIES, DesignFileError, Node, layer_spec, types_in_family
from ..design.edits import InsertAfter
from ..design.fragments import MIME_TYPE, copy_fragment, paste_fragment
from ..i18n import ntr, tr
from .actions import ActionMaker
from .canvas import DesignScene, DesignView
from .canvas_layout import CanvasLayout, same_positions
from .card import HEIGHT, WIDTH
from .commands import AddNodesCommand, EditsCommand, MoveNodesCommand, RemoveNodesCommand, SetInputsCommand
from .document import Document
from .icons import layer_icon


class EditController(QObject):
    def __init__(self, document: Document, scene: DesignScene, view: DesignView, window: QWidget,
                 status: QStatusBar, actions: ActionMaker, canvas_layout: CanvasLayout,
                 focus_rename: Callable[[], None], fit_action: QAction) -> None:
        """``window``: the context menu's parent; ``status``: where results and refusals are said;
        ``focus_rename``: Edit ▸ Rename (the window shows the inspector's name field); ``fit_action``:
        View ▸ Fit to View, offered in the canvas's menu too."""
        super().__init__(window)
        self.document = document
        self.scene = scene
        self.view = view
        self.window = window
        self.status = status
        self.canvas_layout = canvas_layout
        self.fit_action = fit_action
        P = QStyle.StandardPixmap
        stack = document.undo_stack
        self.undo_action = self._undo_action(stack, redo=False)
        actions.bind_keys(self.undo_action, "undo")
        actions.set_icon(self.undo_action, P.SP_ArrowBack)
        self.redo_action = self._undo_action(stack, redo=True)
        actions.set_icon(self.redo_action, P.SP_ArrowForward)
        actions.bind_keys(self.redo_action, "redo")
        # The toolbar says "Undo"/"Redo" (the menu names the step): a button whose width followed each
        # edit's name would re-lay the toolbar out, and jump, on every edit.
        self.undo_action.setIconText(tr("Undo"))
        self.redo_action.setIconText(tr("Redo"))
        self.copy_action = actions.action(tr("&Copy"), self.copy_selection, "copy", canvas_only=True)
        self.cut_action = actions.action(tr("Cu&t"), self.cut_selection, "cut", canvas_only=True)
        self.paste_action = actions.action(tr("&Paste"), self.paste, "paste", canvas_only=True)
        self.duplicate_action = actions.action(tr("&Duplicate"), self.duplicate_selection, "duplicate",
                                               tr("Copy the selected layers beside them"), canvas_only=True)
        self.delete_action = actions.action(tr("&Delete"), self.delete_selection, "delete",
                                            tr("Delete the selected layers and edges"), canvas_only=True)
        self.select_all_action = actions.action(tr("Select &All"), self.select_all, "select_all", canvas_only=True)
        self.rename_action = actions.action(tr("&Rename…"), focus_rename, "rename", tr("Rename the selected layer"))
        self.layout_action = actions.action(tr("Auto-&Layout"), self.auto_layout, "layout",
                                            tr("Arrange top to bottom, branches side by side"), canvas_only=True)
        document.editRefused.connect(self._on_edit_refused)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_context_menu)

    def _undo_action(self, stack: QUndoStack, redo: bool) -> QAction:
        """Edit ▸ Undo / Redo, named after the command they would undo or redo (in the language's word
        order: "&Undo Set padding", "패딩 설정 실행 취소(&U)")."""
        action = QAction(self.window)

        def name(command: str) -> None:
            if redo:
                action.setText(tr("&Redo {command}").format(command=command) if command else tr("&Redo"))
            else:
                action.setText(tr("&Undo {command}").format(command=command) if command else tr("&Undo"))

        name("")
        action.setEnabled(stack.canRedo() if redo else stack.canUndo())
        action.triggered.connect(stack.redo if redo else stack.undo)
        (stack.canRedoChanged if redo else stack.canUndoChanged).connect(action.setEnabled)
        (stack.redoTextChanged if redo else stack.undoTextChanged).connect(name)
        return action

    def build_menu(self, edit_menu: QMenu) -> None:
        edit_menu.addActions([self.undo_action, self.redo_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.cut_action, self.copy_action, self.paste_action, self.duplicate_action,
                              self.delete_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.select_all_action, self.rename_action])

    # --- selection --------------------------------------------------------------------------------
    def select_node(self, node_id: str) -> None:
        """Select ``node_id`` alone and bring it into view (a row of the summary or the issues)."""
        if node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.focus_on(self.scene.nodes[node_id].sceneBoundingRect())

    def select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))

    def _on_context_menu(self, pos) -> None:
        """Right-click: what can be done to the layer under the cursor, or on the canvas."""
        scene_pos = self.view.mapToScene(pos)
        item = self.scene.node_at(scene_pos)
        menu = QMenu(self.window)
        if item is not None:
            if item.node_id not in self.scene.selected_node_ids():
                self.scene.select_nodes([item.node_id])
            result = self.document.analysis.nodes.get(item.node_id)
            for issue in result.errors + result.warnings if result else []:
                if issue.fix is not None:
                    menu.addAction(tr("Fix: {label}").format(label=self.document.fix_label(issue.fix, item.node_id)),
                                   lambda fix=issue.fix: self.document.apply_fix(fix))
            menu.addActions([self.rename_action, self.duplicate_action, self.copy_action, self.cut_action,
                             self.delete_action])
        else:
            add = menu.addMenu(tr("Add Layer"))
            for family in FAMILIES[1:]:
                sub = add.addMenu(tr(family))
                for spec in types_in_family(family):
                    sub.addAction(layer_icon(spec.type), spec.type,
                                  lambda t=spec.type: self.scene.add_layer(t, scene_pos))
            menu.addActions([self.paste_action, self.select_all_action])
            menu.addSeparator()
            menu.addActions([self.layout_action, self.fit_action])
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # --- editing ----------------------------------------------------------------------------------
    def _on_edit_refused(self, message: str) -> None:
        self.status.showMessage(tr("Not done: {reason}").format(reason=message), 8000)

    def append_layer(self, type_name: str) -> None:
        """Palette double-click: put a new layer after the selected one (or after the output)."""
        design = self.document.design
        selected = self.scene.selected_node_ids()
        after = selected[-1] if selected else self.document.analysis.output
        new_id = design.new_id(type_name)
        if after is None:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            node = Node(new_id, type_name, [], layer_spec(type_name).initial_params(), (centre.x(), centre.y()))
            self.document.push(AddNodesCommand(self.document, [node]))
        else:
            pos = design.node(after).pos
            below = (pos[0] + 30, pos[1] + HEIGHT + 40) if pos else None
            edits = self.canvas_layout.edits_with_tidy_layout(design, [InsertAfter(after, type_name, None, new_id,
                                                                                   below)])
            self.document.push(EditsCommand(self.document, tr("Append {type} after '{node}'").format(
                type=type_name, node=after), edits))
        self.select_node(new_id)

    def delete_selection(self) -> None:
        nodes = self.scene.selected_node_ids()
        edges = [e.key for e in self.scene.selected_edges() if e.source.node_id not in nodes
                 and e.target.node_id not in nodes]
        if not nodes and not edges:
            return
        stack = self.document.undo_stack
        stack.beginMacro(ntr("Delete {count} layer", "Delete {count} layers", len(nodes)).format(count=len(nodes))
                         if len(nodes) > 1 else tr("Delete '{node}'").format(node=nodes[0]) if nodes
                         else tr("Disconnect"))
        for target in dict.fromkeys(t for t, _ in edges):
            indexes = {i for t, i in edges if t == target}
            inputs = [s for i, s in enumerate(self.document.design.node(target).inputs) if i not in indexes]
            stack.push(SetInputsCommand(self.document, target, inputs,
                                        tr("Disconnect into '{node}'").format(node=target)))
        removal = RemoveNodesCommand(self.document, nodes) if nodes else None
        if removal is not None:
            stack.push(removal)
        stack.endMacro()
        if removal is not None and removal.note:
            self.status.showMessage(removal.note, 10000)

    def copy_selection(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        text = copy_fragment(self.document.design, ids)
        data = QMimeData()
        data.setData(MIME_TYPE, text.encode())
        data.setText(text)
        QGuiApplication.clipboard().setMimeData(data)
        self.status.showMessage(ntr("Copied {count} layer", "Copied {count} layers", len(ids)).format(
            count=len(ids)), 3000)
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        text = bytes(data.data(MIME_TYPE)).decode() if data.hasFormat(MIME_TYPE) else data.text()
        self._insert_fragment(text, duplicate=False)

    def duplicate_selection(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._insert_fragment(copy_fragment(self.document.design, ids), duplicate=True)

    def _insert_fragment(self, text: str, duplicate: bool) -> None:
        try:
            nodes = paste_fragment(self.document.design, text, offset=(WIDTH / 2 + 30, 50))
        except DesignFileError as exc:
            self.status.showMessage(str(exc), 5000)
            return
        if not nodes:
            return
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        nodes = [n if n.pos is not None else Node(n.id, n.type, n.inputs, n.params, (centre.x(), centre.y()))
                 for n in nodes]
        if duplicate:
            name = ntr("Duplicate {count} layer", "Duplicate {count} layers", len(nodes))
        else:
            name = ntr("Paste {count} layer", "Paste {count} layers", len(nodes))
        if self.document.push(AddNodesCommand(self.document, nodes, name.format(count=len(nodes)))):
            self.scene.select_nodes([n.id for n in nodes])

    def auto_layout(self) -> None:
        design = self.document.design
        after = self.canvas_layout.layout_of(design)
        if same_positions(design, after):
            self.view.fit_all()
            return
        self.document.push(MoveNodesCommand(self.document, {n.id: n.pos for n in design}, after, tr("Auto-layout")))
        self.view.fit_all()
