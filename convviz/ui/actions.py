"""The window's menu actions, made one way: the icon, the keys from the shortcut table, the tooltip
that names them, and single-key shortcuts kept to the canvas.

Each controller (files, editing, viewing) makes its own actions here; Help ▸ Keyboard Shortcuts
lists every action made with keys, in the order of the table (``shortcuts.SHORTCUTS``), so the
list does not depend on which controller was built first.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStyle, QWidget

from .language import plain_label
from .shortcuts import SHORTCUTS, key_sequences, shortcut_text


class ActionMaker:
    def __init__(self, window: QWidget, canvas: QWidget) -> None:
        """``window``: the actions' parent (and the style their icons come from); ``canvas``: the widget
        whose focus single-key shortcuts need (F, L, Delete must not fire while typing in a field)."""
        self.window = window
        self.canvas = canvas
        #: Every action with a keyboard shortcut: Help ▸ Keyboard Shortcuts lists them.
        self.shortcut_actions: list[QAction] = []

    def action(self, text: str, slot, shortcut: str | None = None, tip: str = "", canvas_only: bool = False,
               icon: QStyle.StandardPixmap | None = None) -> QAction:
        action = QAction(text, self.window)
        if icon is not None:
            self.set_icon(action, icon)
        action.triggered.connect(slot)
        if shortcut is not None:
            self.bind_keys(action, shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{plain_label(text)} ({action.shortcut().toString()})"
                              if shortcut else tip)
        if canvas_only:  # single-key shortcuts must not fire while typing in a field
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.canvas.addAction(action)
        return action

    def set_icon(self, action: QAction, icon: QStyle.StandardPixmap) -> None:
        action.setIcon(self.window.style().standardIcon(icon))

    def bind_keys(self, action: QAction, name: str) -> None:
        """Bind the keys of ``name`` (``shortcuts.SHORTCUTS``); Help lists the action under its name as
        it reads now (Undo and Redo rename themselves after the command)."""
        action.setShortcuts(key_sequences(name))
        action.setProperty("help_label", plain_label(action.text()))
        action.setProperty("shortcut_name", name)
        self.shortcut_actions.append(action)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Each action's name and the keys bound to it (read from the actions, so the list is what
        works), in the shortcut table's order."""
        order = list(SHORTCUTS)
        actions = sorted(self.shortcut_actions, key=lambda a: order.index(a.property("shortcut_name")))
        return [(a.property("help_label"), shortcut_text(a.shortcuts())) for a in actions]
