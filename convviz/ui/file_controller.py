"""The File menu's work: new, open (designs, trained models, recorded runs), templates, save, recent
files; autosave and crash recovery; and whether the design shown may be dropped (unsaved changes,
a run training)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtWidgets import QMenu, QMessageBox, QStatusBar, QStyle, QWidget

from ..atomic import remove_stale_temporaries
from ..design import TEMPLATES, Design, DesignFileError, InputSpec, load_design, template_title
from ..design.templates import template_design
from ..i18n import ntr, tr
from ..messages import first_line
from .actions import ActionMaker
from .canvas_layout import CanvasLayout
from .document import Document
from .file_dialogs import ask_open_path, ask_save_path
from .gc_guard import hold_collections_while
from .recovery import RecoveredWork, RecoveryStore
from .runs.controller import RunsController
from .settings import add_recent_file, clear_recent_files, recent_files
from .tasks import Task, TaskRunner

AUTOSAVE_MS = 5000


def read_checkpoint(path: Path):
    """A trained model's file (torch: in a worker thread, never the GUI thread); any failure as one
    ``ValueError`` line naming the file."""
    from ..export import CheckpointError, load_checkpoint  # torch: imported when a model is first opened
    from ..model.memory import out_of_memory_message

    try:
        return load_checkpoint(path)
    except (CheckpointError, RecursionError):
        raise
    except MemoryError as exc:  # its own message is empty: say where, what is free and what to do
        raise ValueError(path.name + ": " + out_of_memory_message(
            exc, "cpu", None, tr("close other programs, or open it on a machine with more memory"))) from None
    except Exception as exc:  # noqa: BLE001 — a reader's bug: said in one line, the design shown stays
        raise ValueError(reader_bug(path, exc)) from None


def reader_bug(path: Path, exc: Exception) -> str:
    """One line for a failure no reader caught (a bug), naming the file."""
    return tr("{path}: unexpected {kind}: {reason}").format(path=path.name, kind=type(exc).__name__,
                                                            reason=first_line(exc))


def file_filter() -> str:
    """The Open dialog's file types."""
    return tr("convviz designs and trained models (*.json *.pt);;Designs (*.json);;Trained models (*.pt);;"
              "All files (*)")


class FileController(QObject):
    def __init__(self, document: Document, window: QWidget, status: QStatusBar, actions: ActionMaker,
                 canvas_layout: CanvasLayout, recovery: RecoveryStore, runs: RunsController,
                 show_stored_run: Callable[[str], None], persistent: bool = True) -> None:
        """``window``: the parent of the dialogs; ``status``: where results are said; ``canvas_layout``
        places an opened design without positions; ``show_stored_run(run_id)`` shows an opened run's
        results in the Train tab; ``persistent``: remember recent files in the user's settings."""
        super().__init__(window)
        self.document = document
        self.window = window
        self.status = status
        self.canvas_layout = canvas_layout
        self.recovery = recovery
        self.runs = runs
        self.show_stored_run = show_stored_run
        self.persistent = persistent
        #: Asked before the design is dropped (closing, New, Open, a template): False keeps it (a run
        #: training that the user does not want stopped).
        self.discard_guards: list[Callable[[], bool]] = []
        P = QStyle.StandardPixmap
        self.new_action = actions.action(tr("&New"), self.new_design, "new", tr("Start a new design"), icon=P.SP_FileIcon)
        self.open_action = actions.action(tr("&Open…"), self.open_dialog, "open", tr("Open a design file"),
                                          icon=P.SP_DialogOpenButton)
        self.save_action = actions.action(tr("&Save"), self.save, "save", tr("Save the design"),
                                          icon=P.SP_DialogSaveButton)
        self.save_as_action = actions.action(tr("Save &As…"), self.save_as, "save_as", tr("Save under a new name"))

        self._edits_since_autosave = 0
        #: Edits and replacements seen: a model read in the background checks the design is as it was.
        self._revision = 0
        self.tasks = TaskRunner(self)
        self._opening: Task | None = None
        document.designChanged.connect(self._on_design_changed)
        document.designReplaced.connect(self._on_design_replaced)
        for changed in (document.undo_stack.cleanChanged, document.fileChanged, document.weightsChanged):
            changed.connect(self._on_saved_state)
        self.autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    def build_menu(self, file_menu: QMenu) -> None:
        """New, Open, Open Recent, Templates, then Save and Save As."""
        file_menu.addActions([self.new_action, self.open_action])
        self.recent_menu = file_menu.addMenu(tr("Open &Recent"))
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.templates_menu = file_menu.addMenu(tr("&Templates"))
        for name, line in TEMPLATES.items():
            action = self.templates_menu.addAction(template_title(name))
            action.setData(name)
            action.setStatusTip(tr(line))
            action.setToolTip(tr(line))
            action.triggered.connect(lambda _=False, n=name: self.open_template(n))
        self.templates_menu.setToolTipsVisible(True)
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action])

    # --- opening ----------------------------------------------------------------------------------
    def open_design(self, design: Design, path: Path | None, modified: bool = False) -> None:
        self.document.replace(self.canvas_layout.laid_out(design), path, modified)
        if path is not None:
            self._remember_file(path)

    def new_design(self) -> None:
        if not self.confirm_discard():
            return
        design = Design(tr("Untitled"), InputSpec(1, 32, 32))
        design.add_node("Input", "input", pos=(0.0, 0.0))
        self.open_design(design, None)

    def open_template(self, name: str) -> None:
        if self.confirm_discard():
            self.open_design(template_design(name), None)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = ask_open_path(self.window, tr("Open design"), file_filter(), "designs", self.document.path)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path, on_error=None) -> bool:
        """Open a design file or a trained model (.pt); a bad file says why (``on_error``, else a message
        box) and changes nothing. A design opens now (True if it did); a model is read in the background
        (True: started; ``opening`` meanwhile), the window staying usable, and opens once read."""
        if path.suffix.lower() == ".pt":
            self._read_then(path.name, read_checkpoint, path, then=lambda checkpoint: self._open_checkpoint(
                checkpoint, path), on_error=lambda message: self._cannot_open(path, message, on_error))
            return True
        try:
            design = load_design(path)
        except (DesignFileError, MemoryError, RecursionError) as exc:
            return self._cannot_open(path, first_line(exc), on_error)
        except Exception as exc:  # noqa: BLE001 — a reader's bug: said in one line, the design shown stays
            return self._cannot_open(path, reader_bug(path, exc), on_error)
        self.open_design(design, path)
        return True

    def _open_checkpoint(self, checkpoint, path: Path) -> None:
        """A checkpoint opens as an unsaved design (Save writes JSON) carrying its trained weights."""
        self.open_design(checkpoint.design, None)
        self._remember_file(path)
        if not checkpoint.trained:
            self.status.showMessage(tr("Opened {name}: its weights are initial ones, not trained").format(
                name=path.name), 8000)
            return
        pre = checkpoint.preprocessing
        self.document.set_weights(checkpoint.state_dict, (pre.mean, pre.std) if pre.mean else None,
                                  checkpoint.training, saved=True, origin=str(path))
        self.status.showMessage(tr("Opened {name} with its trained weights").format(name=path.name), 5000)

    # --- reading a model in the background -------------------------------------------------------
    @property
    def opening(self) -> bool:
        """A trained model or a run's weights are being read (``open_path``, ``open_run``)."""
        return self._opening is not None

    def settle(self, timeout_s: float = 120) -> bool:
        """Wait (serving events) until what is being opened has opened or failed; False on timeout. For
        screenshots and tests: the window itself never waits."""
        deadline = time.monotonic() + timeout_s
        while self.opening and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)
        return not self.opening

    def _read_then(self, what: str, read, *args, then, on_error) -> None:
        """``read(*args)`` in a worker thread (torch runs there, never on the GUI thread), then ``then(result)``
        here; ``on_error(line)`` if it fails. The design shown meanwhile stays usable: replaced meanwhile
        (another file, New, a template), the read is dropped; edited, the user is asked again whether
        to drop the edits."""
        self.tasks.cancel("open")
        revision = self._revision
        self.status.showMessage(tr("Opening {name}…").format(name=what))

        def arrived(result) -> None:
            self._end_opening()  # first: the design ``then`` opens must not count as one that took its place
            if self._revision == revision or self.confirm_discard():
                then(result)

        def failed(message: str) -> None:
            self._end_opening()
            on_error(message)

        self._opening = self.tasks.run(read, *args, channel="open", on_done=arrived, on_error=failed)
        hold_collections_while(self._opening)  # the first model opened imports torch in that thread

    def _end_opening(self) -> None:
        self._opening = None
        self.status.clearMessage()

    def _cannot_open(self, path: Path, message: str, on_error) -> bool:
        if on_error is not None:
            on_error(message)
        else:
            QMessageBox.warning(self.window, tr("Cannot open"), message)
        return False

    def open_run(self, run_id: str, on_error=None) -> bool:
        """A recorded run's design with the weights it ended with, as a new unsaved document (the Runs
        panel's double-click); its results become the Train tab's current ones. The weights are read in
        the background (True: started; ``opening`` meanwhile); a failure is said in the status bar
        (``on_error``: to it instead)."""
        from ..runs import RunStoreError

        if not self.confirm_discard():
            return False

        def cannot(why) -> bool:
            message = tr("Cannot open the run: {why}").format(why=why)
            if on_error is not None:
                on_error(message)
            else:
                self.status.showMessage(message, 8000)
            return False

        try:
            detail = self.runs.detail(run_id)
        except (RunStoreError, AttributeError) as exc:
            return cannot(exc)
        self._read_then(detail.summary.label, self.runs.store.weights, run_id, "last",
                        then=lambda weights: self._open_run_weights(detail, weights), on_error=cannot)
        return True

    def _open_run_weights(self, detail, weights) -> None:
        from ..runs.export import checkpoint_training

        run_id = detail.summary.id
        self.open_design(detail.design.copy(), None, modified=True)
        self.runs.adopt_lineage(detail.summary.lineage)
        training = {**checkpoint_training(detail, self.runs.curves(run_id), "last"), "run": run_id}
        self.document.set_weights(weights, (detail.mean, detail.std) if detail.mean else None, training)
        self.show_stored_run(run_id)
        self.status.showMessage(tr("Opened {run} with the weights it ended with").format(
            run=detail.summary.label), 6000)

    # --- saving -----------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = self.document.path or f"{self.document.design.name or 'design'}.json"
        path = ask_save_path(self.window, tr("Save design"), suggested, tr("convviz designs (*.json)"), ".json",
                             "designs")
        return path is not None and self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self.window, tr("Cannot save"), f"{path}: {exc.strerror or exc}")
            return False
        self._remember_file(path)
        self.status.showMessage(tr("Saved {path}").format(path=path), 4000)
        return True

    def _remember_file(self, path: Path) -> None:
        if self.persistent:
            add_recent_file(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = recent_files()
        for path in files:
            action = self.recent_menu.addAction(path.name)
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.confirm_discard() and self.open_path(p))
        if not files:
            self.recent_menu.addAction(tr("(none)")).setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(tr("Clear"), clear_recent_files)

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current design (saved, or the user says so; a run in flight
        stops only if the user agrees)."""
        if not all(guard() for guard in list(self.discard_guards)):
            return False
        if not self.document.is_modified:
            return True
        answer = QMessageBox.question(
            self.window, tr("Unsaved changes"),
            tr("Save the changes to {name}?").format(name=self.document.display_name),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # --- recovery ---------------------------------------------------------------------------------
    def _on_design_changed(self, _change) -> None:
        self._edits_since_autosave += 1
        self._revision += 1

    def _on_design_replaced(self) -> None:
        self._edits_since_autosave = 0
        self._revision += 1
        if self._opening is not None:  # another design took its place: drop the read
            self.tasks.cancel("open")
            self._end_opening()

    def _on_saved_state(self, *_) -> None:
        """Saved (or every change undone): nothing of this session is left to recover. The undo stack
        also reports itself clean as it is destroyed (the window destroyed without a close): that
        saves nothing, and the stack can no longer be asked."""
        if not shiboken6.isValid(self.document.undo_stack):
            return
        if not self.document.is_modified:
            self.recovery.clear()

    def autosave(self) -> None:
        if self.document.is_modified and self._edits_since_autosave:
            try:
                self.recovery.save(self.document.design, self.document.path)
                self._edits_since_autosave = 0
            except OSError as exc:
                self.status.showMessage(tr("Autosave failed: {reason}").format(reason=exc.strerror or exc), 8000)

    def clean_interrupted_saves(self) -> None:
        """At start: remove what saves killed midway left beside the recent files (their temporary
        files; the recovery folder cleans its own)."""
        for path in recent_files() if self.persistent else []:
            remove_stale_temporaries(path.parent, path.name)

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest unsaved work left behind. True if it was restored."""
        orphans = self.recovery.orphans()
        if self.recovery.newer:
            count = len(self.recovery.newer)
            self.status.showMessage(ntr(
                "Kept {count} recovery file written by a newer convviz in {folder} (open it with that version)",
                "Kept {count} recovery files written by a newer convviz in {folder} (open them with that version)",
                count).format(count=count, folder=self.recovery.folder), 15000)
        if not orphans:
            return False
        work = orphans[0]
        restore = self.ask_to_recover(work)
        RecoveryStore.discard_file(work.file)
        if restore:
            self.open_design(work.design, work.original_path, modified=True)
            self._edits_since_autosave = 1
            self.autosave()
        return restore

    def ask_to_recover(self, work: RecoveredWork) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(work.saved_at)) if work.saved_at else tr("an unknown time")
        name = work.original_path.name if work.original_path else work.design.name
        answer = QMessageBox.question(
            self.window, tr("Recover unsaved work?"),
            tr("convviz did not close properly last time. Recover the unsaved changes to “{name}” from {when}?").format(
                name=name, when=when),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def close(self) -> None:
        """The window closed (the user agreed): this session leaves nothing to recover."""
        self.recovery.close()
        self.autosave_timer.stop()
