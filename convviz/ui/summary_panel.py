"""The summary: a torchinfo-like table of every node with totals; click a row to select the node."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..analysis import Analysis
from ..analysis.report import SummaryRow, network_field_text, summary_csv, summary_rows, summary_table
from ..analysis.text import grouped
from .document import Document
from .theme import ERROR, WARNING

COLUMNS = ("Layer (id)", "Type", "Output shape", "Params", "% params", "MACs", "% MACs", "RF")
NUMERIC = {3, 4, 5, 6, 7}


class SummaryModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[SummaryRow] = []

    def set_analysis(self, analysis: Analysis) -> None:
        rows = summary_rows(analysis)
        if [r.id for r in rows] == [r.id for r in self.rows]:
            self.rows = rows  # same nodes: repaint the cells, keep the view's selection and scroll
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.id, row.type, row.output, grouped(row.params), f"{100 * row.params_share:.1f}",
                    grouped(row.macs), f"{100 * row.macs_share:.1f}", row.field)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and row.status in ("error", "warning") and column in (0, 2):
            return ERROR if row.status == "error" else WARNING
        if role == Qt.ItemDataRole.ToolTipRole and row.note:
            return row.note
        return None


class SummaryPanel(QWidget):
    nodeActivated = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.model = SummaryModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        self.table.clicked.connect(self._on_clicked)
        self.totals = QLabel()
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy_text = QPushButton("Copy as text")
        copy_text.clicked.connect(self.copy_text)
        copy_csv = QPushButton("Copy as CSV")
        copy_csv.clicked.connect(self.copy_csv)
        bottom = QHBoxLayout()
        bottom.addWidget(self.totals, 1)
        bottom.addWidget(copy_text)
        bottom.addWidget(copy_csv)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addLayout(bottom)
        document.analysisChanged.connect(self._on_analysis)
        self._on_analysis(document.analysis)
        widths = (0, 140, 110, 110, 80, 140, 80, 70)
        for column, width in enumerate(widths):
            if width:
                self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # ids can be long: they take the room

    def _on_analysis(self, analysis: Analysis) -> None:
        self.model.set_analysis(analysis)
        self.totals.setText(
            f"<b>Total</b>: {grouped(analysis.params)} params · {grouped(analysis.macs)} MACs · "
            f"receptive field {network_field_text(analysis)}")

    def _on_clicked(self, index: QModelIndex) -> None:
        self.nodeActivated.emit(self.model.rows[index.row()].id)

    def select_node(self, node_id: str | None) -> None:
        ids = [r.id for r in self.model.rows]
        if node_id in ids:
            row = ids.index(node_id)
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            self.table.clearSelection()

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(summary_table(self.document.analysis, self.document.design.name, self.document.design))

    def copy_csv(self) -> None:
        QGuiApplication.clipboard().setText(summary_csv(self.document.analysis))
