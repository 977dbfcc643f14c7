"""Starting the app: a window on the chosen design (the designer replaces this summary view)."""

from __future__ import annotations

import sys

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QPlainTextEdit

from ..analysis import analyze
from ..analysis.report import summary_table
from ..design import DesignFileError, load_design_or_template


def run_app(design_spec: str | None = None, screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    view = QPlainTextEdit(readOnly=True)
    view.setFont(QFont("monospace"))
    window.setCentralWidget(view)
    window.resize(1600, 1000)
    try:
        design = load_design_or_template(design_spec or "default")
    except DesignFileError as exc:
        QMessageBox.critical(None, "convviz", str(exc))
        return 1
    window.setWindowTitle(f"{design.name} — convviz")
    view.setPlainText(summary_table(analyze(design), design.name))
    window.show()
    if screenshot:
        app.processEvents()
        return 0 if window.grab().save(screenshot) else 1
    return app.exec()
