"""The comparison of the ticked runs: what differs between their designs and settings (layer by layer,
setting by setting), then their results side by side."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...analysis.text import compact
from ...i18n import tr
from ...train.config import dataset_title
from .table_model import duration

DESIGN_TINT, SETTING_TINT = QColor(76, 120, 168, 28), QColor(84, 162, 75, 28)


class CompareView(QWidget):
    def __init__(self, controller) -> None:
        super().__init__()
        self.controller = controller
        self.caption = QLabel(wordWrap=True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.differences: list = []
        self._dirty = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def refresh(self) -> None:
        """Now if shown; else when next shown."""
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._fill()

    def _fill(self) -> None:
        from ...runs import RunStoreError, differences, status_label

        ids = self.controller.ticked
        runs = [self.controller.summary(run_id) for run_id in ids]
        runs = [r for r in runs if r is not None]
        if len(runs) < 2:
            self.differences = []
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.caption.setText(tr("Tick two or more runs in Runs to see what differs between them and how they "
                                    "did."))
            return
        try:
            details = [self.controller.detail(r.id) for r in runs]
        except RunStoreError as exc:
            self.caption.setText(str(exc))
            return
        self.differences = differences(details)
        results = [
            (tr("best val. accuracy"), [f"{100 * r.best_val_acc:.1f} % ({r.best_epoch})" if r.best_val_acc is not None
                                        and r.best_epoch else "—" for r in runs]),
            (tr("outcome"), [status_label(r.status) + (f" {r.epochs_done}/{r.epochs}" if r.status != "finished"
                                                        else "") for r in runs]),
            (tr("parameters"), [compact(r.params) for r in runs]),
            (tr("MACs"), [compact(r.macs) for r in runs]),
            (tr("receptive field"), [r.receptive_field or "—" for r in runs]),
            (tr("time"), [duration(r.seconds) for r in runs]),
            (tr("samples/s"), [f"{r.samples_per_s:,.0f}" for r in runs]),
        ]
        rows = [(d.what, list(d.values), DESIGN_TINT if d.kind == "design" else SETTING_TINT)
                for d in self.differences] + [(what, values, None) for what, values in results]
        self.table.clear()
        self.table.setColumnCount(len(runs))
        self.table.setRowCount(len(rows))
        for column, run in enumerate(runs):
            header = QTableWidgetItem(f"#{run.number} {run.name}")
            colour = self.controller.colour(run.id)
            if colour is not None:
                header.setForeground(QBrush(colour))
            header.setToolTip(dataset_title(run.dataset))
            self.table.setHorizontalHeaderItem(column, header)
        for row, (what, values, tint) in enumerate(rows):
            self.table.setVerticalHeaderItem(row, QTableWidgetItem(what))
            for column, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                if tint is not None:
                    cell.setBackground(QBrush(tint))
                if column and tint is not None and value != values[0]:
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(row, column, cell)
        for column in range(len(runs)):
            self.table.setColumnWidth(column, 170)
        designs = sum(d.kind == "design" for d in self.differences)
        settings = len(self.differences) - designs
        first = runs[0]
        changes = "; ".join(d.change(0, 1) for d in self.differences[:4]) if len(runs) == 2 else ""
        self.caption.setText(
            (tr("#{a} → #{b}: {changes}").format(a=first.number, b=runs[1].number, changes=changes) if changes else
             tr("The same design and settings: the difference is chance (or the data order)."))
            if len(runs) == 2 else
            tr("{designs} design and {settings} setting differences; bold: unlike the first run.").format(
                designs=designs, settings=settings))
