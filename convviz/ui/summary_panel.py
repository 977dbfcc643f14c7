"""The summary: a torchinfo-like table of every node with totals; click a row to select the node."""

from __future__ import annotations

import html

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
from ..analysis.report import SummaryRow, network_field_text, summary_csv, summary_row, summary_table
from ..analysis.text import grouped
from ..i18n import N_, tr
from .document import Document
from .steady_geometry import SteadyLabel
from .theme import ERROR, WARNING

#: Column titles (translated where shown).
COLUMNS = (N_("Layer (id)"), N_("Type"), N_("Output shape"), N_("Params"), N_("% params"), "MACs", N_("% MACs"),
           N_("RF"))
NUMERIC = {3, 4, 5, 6, 7}
SHARE_COLUMNS = (4, 6)
# Roles as plain ints, as the view passes them (an enum comparison per cell and role adds up).
_DISPLAY, _ALIGNMENT = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND, _TOOLTIP = int(Qt.ItemDataRole.ForegroundRole), int(Qt.ItemDataRole.ToolTipRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _runs(rows: list[int]):
    """Sorted row numbers as (first, last) runs of consecutive rows: one dataChanged each."""
    start = previous = None
    for row in rows:
        if previous is not None and row == previous + 1:
            previous = row
            continue
        if start is not None:
            yield start, previous
        start = previous = row
    if start is not None:
        yield start, previous


class SummaryModel(QAbstractTableModel):
    """One row per node. Rows are made when the view asks for them (the visible ones); a new analysis
    announces only the rows whose nodes changed, and the share columns when the totals moved."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.analysis: Analysis | None = None
        self.ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._made: dict[int, SummaryRow] = {}
        self._cells: dict[int, tuple[str, ...]] = {}

    @property
    def rows(self) -> list[SummaryRow]:
        """Every row (for copies and tests; the view asks cell by cell)."""
        return [self.row(i) for i in range(len(self.ids))]

    def row(self, index: int) -> SummaryRow:
        made = self._made.get(index)
        if made is None:
            made = self._made[index] = summary_row(self.analysis, self.ids[index])
        return made

    def row_of(self, node_id: str | None) -> int | None:
        return self._row_of.get(node_id)

    def set_analysis(self, analysis: Analysis, changed: frozenset[str] | None = None) -> None:
        """``changed``: the nodes whose results differ from the previous analysis (None: any may)."""
        before = self.analysis
        if before is None or changed is None or analysis.order != self.ids:
            self.beginResetModel()
            self.analysis, self.ids = analysis, list(analysis.order)
            self._row_of = {nid: i for i, nid in enumerate(self.ids)}
            self._made.clear()
            self._cells.clear()
            self.endResetModel()
            return
        self.analysis = analysis
        rows = sorted(self._row_of[nid] for nid in changed if nid in self._row_of)
        totals_moved = (analysis.params, analysis.macs) != (before.params, before.macs)
        if totals_moved:
            self._made.clear()
            self._cells.clear()
        for row in rows:
            self._made.pop(row, None)
            self._cells.pop(row, None)
        last_column = len(COLUMNS) - 1
        for first, last in _runs(rows):  # same nodes: repaint the cells, keep the view's selection and scroll
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_column))
        if totals_moved and self.ids:  # every node's share of the totals
            self.dataChanged.emit(self.index(0, SHARE_COLUMNS[0]), self.index(len(self.ids) - 1, SHARE_COLUMNS[-1]))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return tr(COLUMNS[section])
        return None

    def cells(self, index: int) -> tuple[str, ...]:
        """Row ``index``'s texts, column by column (written once per row and analysis: the view asks
        for every cell and several roles of it on each paint)."""
        cells = self._cells.get(index)
        if cells is None:
            row = self.row(index)
            cells = self._cells[index] = (
                row.id, row.type, row.output, grouped(row.params), f"{100 * row.params_share:.1f}",
                grouped(row.macs), f"{100 * row.macs_share:.1f}", row.field)
        return cells

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        column = index.column()
        if role == _DISPLAY:
            return self.cells(index.row())[column]
        if role == _ALIGNMENT:
            return _RIGHT if column in NUMERIC else None
        if role == _FOREGROUND:
            row = self.row(index.row())
            if row.status in ("error", "warning") and column in (0, 2):
                return ERROR if row.status == "error" else WARNING
            return None
        if role == _TOOLTIP:
            return self.row(index.row()).note or None
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
        self.totals = SteadyLabel()
        copy_text = QPushButton(tr("Copy as text"))
        copy_text.clicked.connect(self.copy_text)
        copy_csv = QPushButton(tr("Copy as CSV"))
        copy_csv.clicked.connect(self.copy_csv)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("<b>" + html.escape(tr("Total:")) + "</b>"))
        bottom.addWidget(self.totals)  # plain text: a rich label lays its text out again when it paints
        bottom.addStretch(1)
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
        self.model.set_analysis(analysis, self.document.changed_nodes)
        self.totals.setText(tr("{params} params · {macs} MACs · receptive field {field}").format(
            params=grouped(analysis.params), macs=grouped(analysis.macs), field=network_field_text(analysis)))

    def _on_clicked(self, index: QModelIndex) -> None:
        self.nodeActivated.emit(self.model.ids[index.row()])

    def select_node(self, node_id: str | None) -> None:
        row = self.model.row_of(node_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            self.table.clearSelection()

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(summary_table(self.document.analysis, self.document.design.name, self.document.design))

    def copy_csv(self) -> None:
        QGuiApplication.clipboard().setText(summary_csv(self.document.analysis))
