"""Help: the keyboard shortcuts (read from the actions, so the list is what works) and About."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from ..i18n import N_, tr
from .actions import ActionMaker
from .shortcuts import key_sequences, shortcut_text

#: What the mouse does, for Help ▸ Keyboard Shortcuts.
MOUSE_ROWS = [(N_("Zoom"), N_("wheel")), (N_("Pan"), N_("middle button, or Space + drag")),
              (N_("Connect"), N_("drag from a bottom port to a layer")),
              (N_("Disconnect"), N_("drag an edge's end off its port"))]


class HelpMenu(QMenu):
    def __init__(self, parent: QWidget, action_maker: ActionMaker) -> None:
        """``parent``: the window (the dialogs' parent); ``action_maker``: where the window's shortcuts are."""
        super().__init__(tr("&Help"), parent)
        self.action_maker = action_maker
        self.addAction(tr("&Keyboard Shortcuts"), self._show_shortcuts)
        self.addAction(tr("&About convviz"), self._show_about)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Help ▸ Keyboard Shortcuts: every action's name and the keys bound to it, then what the mouse does."""
        rows = self.action_maker.shortcut_rows()
        rows.append((tr("Paste an image (Explain tab)"), shortcut_text(key_sequences("paste"))))
        rows += [(tr(a), tr(b)) for a, b in MOUSE_ROWS]
        return rows

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self.parentWidget(), tr("Keyboard shortcuts"), "<table>" + "".join(
            f"<tr><td><b>{html.escape(a)}</b>&nbsp;&nbsp;</td><td>{html.escape(b)}</td></tr>"
            for a, b in self.shortcut_rows()) + "</table>")

    def _show_about(self) -> None:
        from .. import __version__

        QMessageBox.about(self.parentWidget(), tr("About convviz"), f"<b>convviz {__version__}</b><br>"
                          + html.escape(tr("Design, train and understand convolutional neural networks.")))
