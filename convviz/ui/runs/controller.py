"""``RunsController``: the app's side of the run store, shared by the Train tab's views.

It opens the store on first use (the designer starts without it), knows the lineage of the open
design (the runs of this design and of the designs it came from), which runs are ticked for
overlay and in which colour, and caches what the views read (curves, details). Deleting runs is a
``QUndoCommand`` on its own stack: undoable until the app closes, when the deleted runs are purged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QUndoCommand, QUndoStack

from ...i18n import ntr, tr
from ...messages import first_line

#: Overlay colours (Tableau 10 without the live run's blue and orange), in the order they are handed out.
OVERLAY_COLORS = ("#54A24B", "#E45756", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC",
                  "#2F4B7C", "#A05195")


class DeleteRunsCommand(QUndoCommand):
    def __init__(self, controller: RunsController, run_ids: list[str], label: str) -> None:
        super().__init__(label)
        self.controller, self.run_ids = controller, list(run_ids)

    def redo(self) -> None:
        # A store that refuses (a full disk, a read-only index) leaves the runs as they were: the command
        # goes (obsolete), the panel says why.
        if not self.controller._set_deleted(self.run_ids, True):
            self.setObsolete(True)

    def undo(self) -> None:
        if not self.controller._set_deleted(self.run_ids, False):
            self.setObsolete(True)


class RunsController(QObject):
    #: The list of runs changed (one added, ended, renamed, deleted or restored).
    runsChanged = Signal()
    #: One run's rows changed (an epoch ended): its curves and numbers are newer.
    runUpdated = Signal(str)
    #: The ticked (overlaid) runs changed.
    tickedChanged = Signal()
    #: ``problems`` changed (a damaged index, runs skipped).
    problemsChanged = Signal()

    def __init__(self, document, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.folder = Path(folder)
        self.undo_stack = QUndoStack(self)
        self._store = None
        self._failure = ""
        #: The last change the store refused (a read-only index, a full disk): shown until the next one works.
        self._refused = ""
        self._closed = False
        self._lineage: str | None = None
        self._origin = document.design.copy()
        self._ticked: dict[str, QColor] = {}
        self._curves: dict[str, object] = {}
        self._details: dict[str, object] = {}
        self._gradients: dict[str, object] = {}
        self._summaries: dict[str, object] = {}
        #: The run training now (its id), highlighted in the views.
        self.live_run: str | None = None
        document.designReplaced.connect(self._on_design_replaced)
        document.fileChanged.connect(self._on_file_changed)

    # --- the store --------------------------------------------------------------------------------
    @property
    def store(self):
        """The ``RunStore`` (None when it cannot be opened; ``problems`` says why)."""
        if self._store is None and not self._failure and not self._closed:
            from ...runs import RunStore, RunStoreError

            try:
                self._store = RunStore(self.folder)
            except RunStoreError as exc:
                self._failure = str(exc)
            self.problemsChanged.emit()
        return self._store

    @property
    def problems(self) -> list[str]:
        if self._failure:
            return [self._failure]
        found = list(self._store.problems) if self._store is not None else []
        return [self._refused, *(p for p in found if p != self._refused)] if self._refused else found

    @property
    def editable(self) -> bool:
        """Runs can be renamed, annotated, starred and deleted (not in an index a newer convviz wrote)."""
        store = self.store
        return store is not None and not store.read_only

    @property
    def recording_folder(self) -> Path | None:
        """Where a new run records (None: not recorded, the store cannot be written)."""
        store = self.store
        return None if store is None or store.read_only else self.folder

    # --- lineage ----------------------------------------------------------------------------------
    @property
    def lineage(self) -> str:
        """The open design's line: the one of the latest run of the design as it was opened, else a new one."""
        if self._lineage is None:
            from ...runs import design_fingerprint, new_lineage

            store = self.store
            found = None
            if store is not None:
                path = self.document.path
                found = (store.lineage_of_file(path) if path is not None else None) or \
                    store.lineage_of(design_fingerprint(self._origin))
            self._lineage = found or new_lineage()
        return self._lineage

    def adopt_lineage(self, lineage: str) -> None:
        """The design just opened comes from a run: it continues that run's line."""
        self._lineage = lineage
        self.runsChanged.emit()

    def _on_file_changed(self) -> None:
        """Saved under a name: the file remembers the design's line (when the store is in use this session)."""
        path = self.document.path
        if path is None or self._store is None or self.document.is_modified:
            return
        try:
            self._store.remember_file(path, self.lineage)
        except (sqlite3.Error, OSError):   # a missing link, never a failed save
            pass

    def _on_design_replaced(self) -> None:
        self._origin = self.document.design.copy()
        self._lineage = None
        self.runsChanged.emit()

    # --- queries (cached) -------------------------------------------------------------------------
    def runs(self, all_runs: bool = False) -> list:
        store = self.store
        if store is None:
            return []
        found = store.runs(None if all_runs else self.lineage)
        self._summaries.update((r.id, r) for r in found)
        self.problemsChanged.emit()
        return found

    def curves(self, run_id: str):
        if run_id not in self._curves:
            self._curves[run_id] = self.store.curves(run_id)
        return self._curves[run_id]

    def detail(self, run_id: str):
        if run_id not in self._details:
            self._details[run_id] = self.store.detail(run_id)
        return self._details[run_id]

    def gradients(self, run_id: str):
        if run_id not in self._gradients:
            self._gradients[run_id] = self.store.gradients(run_id)
        return self._gradients[run_id]

    def summary(self, run_id: str):
        """One run's row, as the last list had it (or from the store)."""
        if run_id not in self._summaries and self.store is not None:
            found = self.store.summary(run_id)
            if found is not None:
                self._summaries[run_id] = found
        return self._summaries.get(run_id)

    # --- the live run -----------------------------------------------------------------------------
    def run_started(self, run_id: str) -> None:
        self.live_run = run_id
        self.runsChanged.emit()

    def run_progressed(self, run_id: str) -> None:
        for cache in (self._curves, self._details, self._gradients, self._summaries):
            cache.pop(run_id, None)
        self.runUpdated.emit(run_id)

    def run_ended(self, run_id: str | None) -> None:
        if run_id is not None:
            for cache in (self._curves, self._details, self._gradients, self._summaries):
                cache.pop(run_id, None)
        self.live_run = None
        self.runsChanged.emit()

    # --- ticks ------------------------------------------------------------------------------------
    @property
    def ticked(self) -> list[str]:
        return list(self._ticked)

    def is_ticked(self, run_id: str) -> bool:
        return run_id in self._ticked

    def colour(self, run_id: str) -> QColor | None:
        return self._ticked.get(run_id)

    def set_ticked(self, run_id: str, on: bool) -> None:
        if on == (run_id in self._ticked):
            return
        if on:
            used = {c.name().upper() for c in self._ticked.values()}
            free = [c for c in OVERLAY_COLORS if c.upper() not in used]
            self._ticked[run_id] = QColor(free[0] if free else OVERLAY_COLORS[len(self._ticked) % len(OVERLAY_COLORS)])
        else:
            del self._ticked[run_id]
        self.tickedChanged.emit()

    def clear_ticks(self) -> None:
        if self._ticked:
            self._ticked.clear()
            self.tickedChanged.emit()

    # --- changes ----------------------------------------------------------------------------------
    def rename(self, run_id: str, name: str) -> bool:
        return self._change(run_id, lambda store: store.rename(run_id, name))

    def annotate(self, run_id: str, note: str) -> bool:
        return self._change(run_id, lambda store: store.annotate(run_id, note))

    def star(self, run_id: str, starred: bool) -> bool:
        return self._change(run_id, lambda store: store.star(run_id, starred))

    def _change(self, run_id: str, change) -> bool:
        """Apply ``change(store)``; a refusal (RunStoreError, a database error) is shown, never raised into the
        event loop. True if it was done."""
        if not self._attempt(change):
            return False
        self._details.pop(run_id, None)
        self._summaries.pop(run_id, None)
        self.runsChanged.emit()
        return True

    def _attempt(self, change) -> bool:
        from ...runs import RunStoreError

        store = self.store
        if store is None:
            return False
        try:
            change(store)
        except (RunStoreError, sqlite3.Error, OSError) as exc:
            self._refused = tr("cannot change the runs: {why}").format(why=first_line(exc))
            self.problemsChanged.emit()
            return False
        if self._refused:
            self._refused = ""
            self.problemsChanged.emit()
        return True

    def delete(self, run_ids: list[str]) -> None:
        run_ids = [r for r in run_ids if r != self.live_run]
        if run_ids and self._attempt(lambda store: store.check_writable()):
            label = ntr("Delete {n} Run", "Delete {n} Runs", len(run_ids)).format(n=len(run_ids))
            self.undo_stack.push(DeleteRunsCommand(self, run_ids, label))

    def _set_deleted(self, run_ids: list[str], deleted: bool) -> bool:
        if not self._attempt(lambda store: (store.delete if deleted else store.restore)(run_ids)):
            return False
        for run_id in run_ids:
            self._summaries.pop(run_id, None)
        if deleted:
            for run_id in run_ids:
                self._ticked.pop(run_id, None)
            self.tickedChanged.emit()
        self.runsChanged.emit()
        return True

    def shutdown(self) -> None:
        """The app closes: the runs deleted in this session go for good (once; later calls do nothing)."""
        self._closed = True
        if self._store is not None:
            self._store.purge()
            self._store.close()
            self._store = None

    def describe_problems(self) -> str:
        problems = self.problems
        if not problems:
            return ""
        more = ntr(" (and {n} more)", " (and {n} more)", len(problems) - 1).format(n=len(problems) - 1) \
            if len(problems) > 1 else ""
        return tr("⚠ {first}{more}").format(first=problems[0], more=more)
