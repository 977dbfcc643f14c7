"""The Runs panel: every run of this design and of the designs it came from (or all runs), sortable,
with a tick to overlay each on the live plots, and the actions a run offers: open it, train again
from its start, replay it, rename, annotate, star, delete (undoable)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...i18n import ntr, tr
from .table_model import NAME, NOTE, RUN_ID_ROLE, STAR, TICK, WHEN, RunsFilterProxy, RunsTableModel

THIS_DESIGN, ALL_RUNS = 0, 1


class RunsTableView(QTableView):
    """The runs table keeps its own keys: F2 renames the run and Delete deletes it, not the window's layer
    shortcuts on the same keys (a focused widget takes a key by accepting its ShortcutOverride)."""

    OWN_KEYS = (Qt.Key.Key_F2, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in self.OWN_KEYS \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.state() != self.State.EditingState:
            self.parent_panel.delete_selected()
            return
        if event.key() == Qt.Key.Key_F2 and self.currentIndex().isValid():
            index = self.currentIndex()
            self.edit(index.siblingAtColumn(NAME))
            return
        super().keyPressEvent(event)


class RunsPanel(QWidget):
    openRequested = Signal(str)
    rerunRequested = Signal(str)
    replayRequested = Signal(str)
    #: The run under the cursor changed (None: nothing selected).
    currentChanged = Signal(object)
    #: The listed runs changed (new, updated, another scope): the trade-off plot shows the same runs.
    listed = Signal(list)

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.model = RunsTableModel(controller, self)
        self.proxy = RunsFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.scope = QComboBox()
        self.scope.addItems([tr("This design's runs"), tr("All runs")])
        self.scope.setToolTip(tr("The runs of this design and of the designs it was edited from, or every run"))
        self.search = QLineEdit(placeholderText=tr("Filter by name, note, data…"), clearButtonEnabled=True)
        self.open_button = QPushButton(tr("Open"))
        self.open_button.setToolTip(tr("Open the run's design with its weights (replaces the open design)"))
        self.rerun_button = QPushButton(tr("Rerun from Its Start"))
        self.rerun_button.setToolTip(tr("Train the open design again from the initial weights this run started "
                                        "from (every layer that still fits), with its seed and data order: the "
                                        "difference between the two curves is your edit alone"))
        self.replay_button = QPushButton(tr("Replay"))
        self.replay_button.setToolTip(tr("Step through the run's snapshots: filters, feature maps, Grad-CAM"))
        self.delete_button = QPushButton(tr("Delete"))
        self.undo_action = controller.undo_stack.createUndoAction(self, tr("Undo"))
        self.undo_button = QPushButton(tr("Undo"))
        self.undo_button.setToolTip(tr("Bring the deleted runs back (until convviz closes)"))
        self.undo_button.clicked.connect(controller.undo_stack.undo)
        self.problem_label = QLabel(wordWrap=True)
        self.problem_label.setStyleSheet("color: #B26A00")
        self.problem_label.hide()
        self.empty_label = QLabel(wordWrap=True)
        self.empty_label.setStyleSheet("color: palette(mid)")

        self.table = RunsTableView()
        self.table.parent_panel = self
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(WHEN, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((TICK, 34), (STAR, 26), (NAME, 170), (WHEN, 92), (NOTE, 120)):
            self.table.setColumnWidth(column, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.scope)
        top.addWidget(self.search, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.open_button, self.rerun_button, self.replay_button, self.delete_button, self.undo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)

        self.delete_action = QAction(tr("Delete Run"), self)
        self.delete_action.triggered.connect(self.delete_selected)

        self.scope.currentIndexChanged.connect(lambda _: self.refresh())
        self.search.textChanged.connect(self.proxy.set_text)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.clicked.connect(self._on_click)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._on_current())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.open_button.clicked.connect(lambda: self._emit_current(self.openRequested))
        self.rerun_button.clicked.connect(lambda: self._emit_current(self.rerunRequested))
        self.replay_button.clicked.connect(lambda: self._emit_current(self.replayRequested))
        self.delete_button.clicked.connect(self.delete_selected)
        controller.runsChanged.connect(self.refresh)
        controller.problemsChanged.connect(self._show_problems)
        controller.runUpdated.connect(lambda _: self.refresh())
        controller.tickedChanged.connect(self.model.refresh_ticks)
        controller.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.refresh()

    # --- contents ---------------------------------------------------------------------------------
    @property
    def all_runs(self) -> bool:
        return self.scope.currentIndex() == ALL_RUNS

    def refresh(self) -> None:
        selected = self.selected_ids()
        current = self.current_id()
        runs = self.controller.runs(all_runs=self.all_runs)
        self.model.set_runs(runs)
        self._restore_selection(selected, current)
        self.listed.emit(runs)
        self._show_problems()
        if runs:
            self.empty_label.hide()
        else:
            self.empty_label.setText(tr("No runs of this design yet: every run you train is kept here.")
                                     if not self.all_runs else tr("No runs yet: every run you train is kept here."))
            self.empty_label.show()
        self._update_buttons()

    def _show_problems(self) -> None:
        problems = self.controller.describe_problems()
        self.problem_label.setText(problems)
        self.problem_label.setToolTip("\n".join(self.controller.problems))
        self.problem_label.setVisible(bool(problems))

    def _restore_selection(self, run_ids: list[str], current: str | None) -> None:
        selection = self.table.selectionModel()
        for run_id in run_ids:
            index = self._proxy_index(run_id)
            if index.isValid():
                selection.select(index, QItemSelectionModel.SelectionFlag.Select |
                                 QItemSelectionModel.SelectionFlag.Rows)
        if current is not None:
            index = self._proxy_index(current)
            if index.isValid():
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _proxy_index(self, run_id: str, column: int = NAME) -> QModelIndex:
        row = self.model.row_of(run_id)
        if row < 0:
            return QModelIndex()
        return self.proxy.mapFromSource(self.model.index(row, column))

    def select_run(self, run_id: str) -> None:
        index = self._proxy_index(run_id)
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)

    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [index.data(RUN_ID_ROLE) for index in rows]

    def current_id(self) -> str | None:
        index = self.table.selectionModel().currentIndex() if self.table.selectionModel() else QModelIndex()
        return index.data(RUN_ID_ROLE) if index.isValid() else None

    # --- actions ----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        current = self.current_id()
        for button in (self.open_button, self.rerun_button, self.replay_button):
            button.setEnabled(current is not None)
        self.rerun_button.setEnabled(current is not None and current != self.controller.live_run)
        editable = self.controller.editable
        self.delete_button.setEnabled(editable and bool([r for r in self.selected_ids()
                                                         if r != self.controller.live_run]))
        self.delete_action.setEnabled(self.delete_button.isEnabled())
        self.undo_button.setEnabled(self.controller.undo_stack.canUndo())

    def _on_current(self) -> None:
        self._update_buttons()
        self.currentChanged.emit(self.current_id())

    def _emit_current(self, signal) -> None:
        current = self.current_id()
        if current is not None:
            signal.emit(current)

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.column() not in (TICK, STAR):
            self.openRequested.emit(index.data(RUN_ID_ROLE))

    def _on_click(self, index: QModelIndex) -> None:
        if index.column() == STAR and self.controller.editable:
            run = self.model.run_at(self.proxy.mapToSource(index).row())
            if run is not None:
                self.controller.star(run.id, not run.starred)

    def delete_selected(self) -> None:
        """Delete the selected runs, after asking (and undoable until convviz closes)."""
        ids = [r for r in self.selected_ids() if r != self.controller.live_run]
        if not ids or not self.controller.editable:
            return
        runs = [self.model.run_at(self.model.row_of(run_id)) for run_id in ids]
        names = ", ".join(r.label for r in runs[:3]) + ("…" if len(runs) > 3 else "")
        answer = QMessageBox.question(
            self, tr("Delete runs"),
            ntr("Delete {names}? Undo brings it back until convviz closes.",
                "Delete {n} runs ({names})? Undo brings them back until convviz closes.", len(ids)).format(
                n=len(ids), names=names),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.delete(ids)

    def _rename_current(self) -> None:
        index = self._proxy_index(self.current_id() or "")
        if index.isValid():
            self.table.edit(index)

    def _annotate_current(self) -> None:
        run_id = self.current_id()
        run = self.model.run_at(self.model.row_of(run_id)) if run_id else None
        if run is None or not self.controller.editable:
            return
        text, ok = QInputDialog.getMultiLineText(self, tr("Note"), tr("A note on {run}:").format(run=run.label),
                                                 run.note)
        if ok:
            self.controller.annotate(run.id, text)

    def _on_context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        menu = QMenu(self)
        if index.isValid():
            if self.current_id() != index.data(RUN_ID_ROLE):
                self.select_run(index.data(RUN_ID_ROLE))
            run = self.model.run_at(self.proxy.mapToSource(index).row())
            menu.addAction(tr("Open Design with Its Weights"), lambda: self._emit_current(self.openRequested))
            rerun = menu.addAction(tr("Train Again from Its Start"), lambda: self._emit_current(self.rerunRequested))
            rerun.setEnabled(run.id != self.controller.live_run)
            menu.addAction(tr("Replay"), lambda: self._emit_current(self.replayRequested))
            menu.addSeparator()
            tick = menu.addAction(tr("Overlay on the Plots"))
            tick.setCheckable(True)
            tick.setChecked(self.controller.is_ticked(run.id))
            tick.toggled.connect(lambda on, r=run.id: self.controller.set_ticked(r, on))
            editable = self.controller.editable
            menu.addAction(tr("Rename…"), self._rename_current).setEnabled(editable)
            menu.addAction(tr("Note…"), self._annotate_current).setEnabled(editable)
            menu.addAction(tr("Unstar") if run.starred else tr("Star"),
                           lambda r=run: self.controller.star(r.id, not r.starred)).setEnabled(editable)
            menu.addSeparator()
            menu.addAction(self.delete_action)
        menu.addAction(self.undo_action)
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()
