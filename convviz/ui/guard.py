"""The last line of defence: an exception that reaches the Qt event loop is shown, not fatal.

Slots catch the failures they expect (bad files, impossible edits) and say so where the user
looks; this hook catches the rest, logs the traceback and shows a dialog, and the app carries on.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtWidgets import QApplication, QMessageBox

from ..i18n import tr


def install_exception_dialog() -> None:
    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        print(text, file=sys.stderr)
        if QApplication.instance() is None:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, tr("convviz: unexpected error"),
                          tr("Something went wrong: {reason}\n\nYour work is kept; saving is a good idea.").format(
                              reason=value))
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook
