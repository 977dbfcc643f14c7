"""The issues list: every error and warning, where it is, and its fix (double-click to go there)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..analysis import Analysis, Fix
from ..i18n import tr
from .document import Document
from .theme import ERROR, WARNING

NODE_ROLE = Qt.ItemDataRole.UserRole + 1
#: GUI-thread time per event-loop turn for measuring fixes' outcomes.
LABEL_BUDGET_S = 0.02


class IssuesPanel(QWidget):
    nodeActivated = Signal(str)
    #: The number of errors changed: the dock's tab shows it.
    countChanged = Signal(int, int)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.fixes: list[Fix | None] = []
        self._listed: list | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", tr("Layer"), tr("Problem"), tr("Suggested fix")])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 70)
        self.tree.setColumnWidth(1, 140)
        self.tree.setColumnWidth(2, 520)
        self.tree.itemDoubleClicked.connect(self._on_double_clicked)
        self._unlabelled: list[tuple[QTreeWidgetItem, Fix, str | None]] = []
        self._label_timer = QTimer(self, singleShot=True, interval=0)
        self._label_timer.timeout.connect(self._label_fixes)
        self.tree.currentItemChanged.connect(self._on_current)
        self.fix_button = QPushButton(tr("Apply fix"))
        self.fix_button.setEnabled(False)
        self.fix_button.clicked.connect(self.apply_current_fix)
        self.empty = QLabel(tr("No problems: the design can be built and trained."))
        bar = QHBoxLayout()
        bar.addWidget(self.empty, 1)
        bar.addWidget(self.fix_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tree)
        layout.addLayout(bar)
        document.analysisChanged.connect(self._on_analysis)
        self._on_analysis(document.analysis)

    def _on_analysis(self, analysis: Analysis) -> None:
        listed = analysis.issues()
        if listed == self._listed:
            return  # the same problems (most edits): the list, its selection and scroll stay as they are
        self._listed = listed
        self.tree.clear()
        self.fixes = []
        self._unlabelled = []
        errors = warnings = 0
        for node_id, issue in listed:
            is_error = issue.severity == "error"
            errors += is_error
            warnings += not is_error
            item = QTreeWidgetItem([tr("Error") if is_error else tr("Warning"), node_id or "—", issue.message,
                                    issue.fix.label if issue.fix else issue.hint])
            if issue.fix is not None:
                self._unlabelled.append((item, issue.fix, node_id))
            item.setForeground(0, ERROR if is_error else WARNING)
            item.setToolTip(2, issue.text())
            item.setData(0, NODE_ROLE, len(self.fixes))
            item.setData(1, NODE_ROLE, node_id)
            self.fixes.append(issue.fix)
            self.tree.addTopLevelItem(item)
        self.empty.setVisible(errors + warnings == 0)
        self.fix_button.setEnabled(False)
        self.countChanged.emit(errors, warnings)
        if self._unlabelled:
            self._label_timer.start()

    def _label_fixes(self) -> None:
        """Each fix's outcome (a copy of the design analysed per fix), a few at a time after the list is
        shown, so a design with many problems does not hold up the edit that made them."""
        deadline = time.perf_counter() + LABEL_BUDGET_S
        while self._unlabelled and time.perf_counter() < deadline:
            item, fix, node_id = self._unlabelled.pop(0)
            label = self.document.fix_label(fix, node_id)
            item.setText(3, label)
            item.setToolTip(3, label)
        if self._unlabelled:
            self._label_timer.start()

    def _on_current(self, item: QTreeWidgetItem | None, _previous) -> None:
        self.fix_button.setEnabled(item is not None and self.fixes[item.data(0, NODE_ROLE)] is not None)
        if item is not None and item.data(1, NODE_ROLE):
            self.nodeActivated.emit(item.data(1, NODE_ROLE))

    def _on_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(1, NODE_ROLE):
            self.nodeActivated.emit(item.data(1, NODE_ROLE))

    def apply_current_fix(self) -> None:
        item = self.tree.currentItem()
        fix = self.fixes[item.data(0, NODE_ROLE)] if item is not None else None
        if fix is not None:
            self.document.apply_fix(fix)
