"""The runs table as Qt model/view: ``RunsTableModel`` (one row per ``RunSummary``) under a
``RunsFilterProxy`` that sorts by each column's value (not its text) and filters by a search text.

Column 0 is the overlay tick (a check box, with the run's colour once ticked); the star toggles on
a click; the name edits in place (F2)."""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from ...analysis.text import compact, grouped
from ...i18n import N_, tr
from ...train.config import dataset_title

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2

TICK, STAR, NAME, WHEN, OUTCOME, BEST, PARAMS, MACS, FIELD, TIME, SPEED, DATA, NOTE = range(13)
HEADERS = ("", "★", N_("Name"), N_("When"), N_("Outcome"), N_("Best val. acc."), N_("Params"), N_("MACs"),
           N_("RF"), N_("Time"), N_("Samples/s"), N_("Data"), N_("Note"))
HEADER_TIPS = {TICK: N_("Tick to overlay the run's curves on the plots"), STAR: N_("Starred runs"),
               BEST: N_("The best validation accuracy and the epoch it was reached in"),
               FIELD: N_("Receptive field of the network, in input pixels"),
               SPEED: N_("Training images per second (validation excluded)")}
STATUS_COLORS = {"finished": "#2E7D32", "stopped": "#B26A00", "diverged": "#D62728", "failed": "#D62728",
                 "interrupted": "#B26A00", "running": "#4C78A8"}


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunsTableModel(QAbstractTableModel):
    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._runs: list = []
        self._row_of: dict[str, int] = {}

    # --- contents ---------------------------------------------------------------------------------
    def set_runs(self, runs: list) -> None:
        """Show ``runs``; when they are the same runs as before, only their values change (the selection,
        the sort and the scroll position stay)."""
        if [r.id for r in runs] == [r.id for r in self._runs]:
            self._runs = list(runs)
            if runs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(runs) - 1, len(HEADERS) - 1))
            return
        self.beginResetModel()
        self._runs = list(runs)
        self._row_of = {r.id: i for i, r in enumerate(self._runs)}
        self.endResetModel()

    def run_at(self, row: int):
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def row_of(self, run_id: str) -> int:
        return self._row_of.get(run_id, -1)

    @property
    def runs(self) -> list:
        return list(self._runs)

    def refresh_ticks(self) -> None:
        if self._runs:
            self.dataChanged.emit(self.index(0, TICK), self.index(len(self._runs) - 1, TICK))

    # --- the model --------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(HEADERS[section]) if HEADERS[section] else ""
        if role == Qt.ItemDataRole.ToolTipRole and section in HEADER_TIPS:
            return tr(HEADER_TIPS[section])
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == TICK:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        if index.column() == NAME and self.controller.editable:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        run = self.run_at(index.row())
        if run is None:
            return None
        column = index.column()
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(run, column)
        if role == Qt.ItemDataRole.EditRole and column == NAME:
            return run.name
        if role == SORT_ROLE:
            return self._sort_key(run, column)
        if role == Qt.ItemDataRole.CheckStateRole and column == TICK:
            return Qt.CheckState.Checked if self.controller.is_ticked(run.id) else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == TICK:
            colour = self.controller.colour(run.id)
            if run.id == self.controller.live_run:
                return QColor("#4C78A8")
            return colour
        if role == Qt.ItemDataRole.ForegroundRole and column == OUTCOME:
            return QBrush(QColor(STATUS_COLORS.get(run.status, "#777777")))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(run, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (BEST, PARAMS, MACS, FIELD, TIME, SPEED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and run.id == self.controller.live_run and column == NAME:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        run = self.run_at(index.row())
        if run is None:
            return False
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == TICK:
            self.controller.set_ticked(run.id, Qt.CheckState(value) == Qt.CheckState.Checked)
            self.dataChanged.emit(index, index)
            return True
        if role == Qt.ItemDataRole.EditRole and index.column() == NAME and str(value).strip():
            return self.controller.rename(run.id, str(value))
        return False

    # --- cells ------------------------------------------------------------------------------------
    def _text(self, run, column: int) -> str:
        from ...runs import status_label

        if column == TICK:
            return ""
        if column == STAR:
            return "★" if run.starred else "☆"
        if column == NAME:
            return run.name
        if column == WHEN:
            return time.strftime("%m-%d %H:%M", time.localtime(run.created))
        if column == OUTCOME:
            text = status_label(run.status)
            if run.status in ("running", "stopped", "interrupted") and run.epochs:
                text += f" {run.epochs_done}/{run.epochs}"
            return text
        if column == BEST:
            if run.best_val_acc is None or not run.best_epoch:
                return "—"
            return tr("{acc} % ({epoch})").format(acc=f"{100 * run.best_val_acc:.1f}", epoch=run.best_epoch)
        if column == PARAMS:
            return compact(run.params)
        if column == MACS:
            return compact(run.macs)
        if column == FIELD:
            return run.receptive_field or "—"
        if column == TIME:
            return duration(run.seconds)
        if column == SPEED:
            return f"{run.samples_per_s:,.0f}" if run.samples_per_s else "—"
        if column == DATA:
            return dataset_title(run.dataset)
        if column == NOTE:
            return run.note.splitlines()[0] if run.note else ""
        return ""

    @staticmethod
    def _sort_key(run, column: int):
        key = _SORT_KEYS.get(column)
        return key(run) if key is not None else 0

    @staticmethod
    def _tip(run, column: int) -> str | None:
        if column == OUTCOME:
            return run.message or None
        if column == NAME:
            return tr("#{number} {name} · {design}\n{data}\nDouble-click to open its design with its weights").format(
                number=run.number, name=run.name, design=run.design_name, data=dataset_title(run.dataset))
        if column in (PARAMS, MACS):
            return grouped(run.params if column == PARAMS else run.macs)
        if column == NOTE and run.note:
            return run.note
        if column == STAR:
            return tr("Click to star or unstar")
        return None


_SORT_KEYS = {
    STAR: lambda r: int(r.starred), NAME: lambda r: r.name.lower(), WHEN: lambda r: r.created,
    OUTCOME: lambda r: r.status, BEST: lambda r: -1.0 if r.best_val_acc is None else r.best_val_acc,
    PARAMS: lambda r: r.params, MACS: lambda r: r.macs, FIELD: lambda r: _field_size(r.receptive_field),
    TIME: lambda r: r.seconds, SPEED: lambda r: r.samples_per_s, DATA: lambda r: r.dataset.lower(),
    NOTE: lambda r: r.note.lower(),
}


def _field_size(text: str) -> float:
    try:
        return float(text.split("×")[0])
    except (ValueError, IndexError):
        return -1.0


class RunsFilterProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` (numbers as numbers) and keeps the rows whose name, note, design or data
    contain the search text."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._text = ""

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):   # Qt 6.9+: invalidateFilter is deprecated there
            self.beginFilterChange()
            self._text = text.strip().lower()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._text = text.strip().lower()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._text:
            return True
        run = self.sourceModel().run_at(row)
        if run is None:
            return False
        haystack = " ".join((run.name, run.note, run.design_name, run.dataset, f"#{run.number}")).lower()
        return self._text in haystack
