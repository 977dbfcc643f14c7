"""The Train tab: settings and data on the left, live curves in the middle, filters and the confusion
matrix on the right; Train / Pause / Stop above.

The dataset loads in the background when the source (or the design's input) changes and the tab is
shown (``DatasetController``: a design opened while the tab is hidden loads nothing until it is
needed), so its samples and the augmentation preview are there before the run starts. The run trains a
frozen copy of the design in a ``TrainingRun`` thread; its weights become the document's after
every epoch (the explain views follow) and at the end (editing the design keeps the weights of
the layers that still fit).
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...analysis.text import grouped
from ..commands import SetClassesCommand
from ..plots import image_view
from ..tasks import TaskRunner
from ..theme import WARNING
from .data_loading import DatasetController
from .live_views import ConfusionView, CurvesView, FiltersView
from .settings_form import TrainSettingsForm
from .worker import TrainingRun

PREVIEW_COUNT = 8
REFRESH_HZ = 5
GOOD, NOTE, BAD = "#2E7D32", "#B26A00", "#D62728"


def load_dataset_for(spec, shape, val_fraction: float, seed: int):
    from ...data import load_dataset

    return load_dataset(spec, shape, val_fraction=val_fraction, seed=seed)


def _load_for_request(spec, shape, val_fraction: float, seed: int):
    return load_dataset_for(spec, shape, val_fraction, seed)  # looked up when called: tests replace it


def import_training() -> None:
    """Import the training loop ahead of the first run, in the background: first imports in the run's
    thread would hold the interpreter while the window waits. The first optimizer imports all of
    torch._dynamo (800 modules, a second and a half), so make one here."""
    import torch

    import convviz.train.loop  # noqa: F401

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def download(kind: str, folder: str):
    from ...data import download_dataset

    if not folder:
        raise ValueError("choose a folder to download into first")
    return download_dataset(kind, folder)


def image_grid(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of uint8 N×C×H×W images as one float image (H×W or H×W×3), 2-pixel gaps."""
    tiles = [[img.transpose(1, 2, 0) if img.shape[0] == 3 else img[0] for img in row] for row in rows]
    h, w = tiles[0][0].shape[:2]
    colour = tiles[0][0].ndim == 3
    gap = 2
    grid = np.full((len(rows) * (h + gap) - gap, len(tiles[0]) * (w + gap) - gap) + ((3,) if colour else ()),
                   np.nan, dtype=np.float32)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile / 255.0
    return grid


class TrainPanel(QWidget):
    #: Every record of the current run, re-emitted on the GUI thread (for other views, tests, benches).
    record_received = Signal(object)

    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.document = window.document
        self.tasks = TaskRunner(self)
        self.dataset = None
        self.data = DatasetController(self.tasks, _load_for_request, self)
        self.data.ready.connect(self._on_dataset)
        self.data.failed.connect(self._show_data_problem)
        self.data.loading.connect(self._on_data_loading)
        self._training_imported = False
        self.run: TrainingRun | None = None
        self.classes: list[str] = []

        self.form = TrainSettingsForm()
        self.curves = CurvesView()
        self.filters = FiltersView()
        self.confusion = ConfusionView()
        self.data_info = QLabel("Loading the data…", wordWrap=True)
        self.augment_warning = QLabel(wordWrap=True)
        self.augment_warning.hide()
        self.preview_widget, _, self.preview = image_view()
        self.preview_widget.setMinimumHeight(120)

        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Train")
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.save_button = QPushButton("Save Trained Model…")
        self.save_button.setToolTip("A .pt checkpoint: the design, its trained weights and the preprocessing")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.save_button):
            controls.addWidget(button)
        controls.addWidget(self.progress, 1)
        settings_scroll = QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setWidget(self.form)
        settings_scroll.setMinimumWidth(330)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.curves, 3)
        middle_layout.addWidget(QLabel("<b>Data</b>: sample training images (top) and the same images augmented "
                                       "(bottom), as the run will see them", wordWrap=True))
        middle_layout.addWidget(self.preview_widget, 1)
        middle_layout.addWidget(self.augment_warning)
        middle_layout.addWidget(self.data_info)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.filters)
        right.addWidget(self.confusion)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(settings_scroll)
        splitter.addWidget(middle)
        splitter.addWidget(right)
        splitter.setSizes([340, 800, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self._on_pause)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(lambda: window.export_actions.export_dialog(".pt"))
        self.form.data_changed.connect(self._schedule_reload)
        self.form.changed.connect(self._update_preview)
        self.form.download_requested.connect(self._on_download)
        self.document.analysisChanged.connect(self._on_analysis)
        self.document.designReplaced.connect(self._on_design_replaced)
        self.document.weightsChanged.connect(self._update_buttons)
        window.shutdown_hooks.append(self.shutdown)
        self._pending_steps, self._pending_snapshot = [], None
        self._detached = False
        self._run_normalization = None
        self._refresh = QTimer(self, interval=1000 // REFRESH_HZ)
        self._refresh.timeout.connect(self._flush)
        self._reload_timer = QTimer(self, singleShot=True, interval=200)
        self._reload_timer.timeout.connect(self.reload_dataset)
        self._input_shape = self.document.design.input.shape
        self._on_analysis(self.document.analysis)
        self.reload_dataset()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.data.set_active(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.data.set_active(False)

    # --- data -------------------------------------------------------------------------------------
    def _schedule_reload(self) -> None:
        self._reload_timer.start()

    def _on_design_replaced(self) -> None:
        """New, Open, a template: a run of the previous design must not hand its weights to this one."""
        if self.run is not None:
            self._detached = True
            self.run.stop()
            self._set_status("The run of the previous design was stopped: its weights are not kept.", NOTE)
        self._schedule_reload()

    def reload_dataset(self, reload: bool = False, needed: bool = False) -> None:
        """Ask for the data the settings and the design call for: loaded while the tab is shown, or at
        once when ``needed`` (a run waits for it)."""
        try:
            spec = self.form.data_spec()
        except ValueError as exc:
            self._show_data_problem(str(exc))
            return
        self.data.request(spec, self.document.design.input.shape, self.form.val_fraction.value(),
                          self.form.seed.value(), reload=reload, needed=needed)
        if self.data.dataset is None:  # the controller said what it is loading
            self.dataset = None
            self._update_buttons()

    def _on_data_loading(self, text: str) -> None:
        self.data_info.setText(text)

    def _on_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.classes = list(dataset.classes)
        split = "its test set" if dataset.val_is_test else "held out"
        self.data_info.setText(
            f"<b>{dataset.name}</b>: {grouped(len(dataset.train))} training and {grouped(len(dataset.val))} "
            f"validation images ({split}), {len(dataset.classes)} classes, fitted to "
            f"{'×'.join(map(str, dataset.shape))}: {', '.join(dataset.classes[:12])}"
            + ("…" if len(dataset.classes) > 12 else "")
            + (f"<br><span style='color:{NOTE}'>{html.escape(dataset.note)}.</span>" if dataset.note else "")
            + (f"<br><span style='color:{WARNING.name()}'>{html.escape(dataset.skipped_note())}</span>"
               if dataset.skipped else ""))
        self.data_info.setToolTip("\n".join(f"{s.path}: {s.reason}" for s in dataset.skipped[:50]))
        self.document.sample_images = self._sample_images
        self.document.data_classes = list(dataset.classes)  # the design is warned if its scores do not match
        self._samples = dataset.samples(PREVIEW_COUNT, seed=1)[0]
        self._update_preview()
        self._update_buttons()
        if not self._training_imported:  # after the data, not beside it: both want the two cores
            self._training_imported = True
            self.tasks.run(import_training)

    def _sample_images(self, count: int) -> list[tuple[np.ndarray, str]]:
        """For the Explain tab: ``count`` random validation images (H×W or H×W×3 uint8) with their classes."""
        images, names = self.data.samples(count, seed=int(np.random.randint(1 << 30)), split="val")
        return [(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0), name)
                for image, name in zip(images, names)]

    def _show_data_problem(self, message: str) -> None:
        self.dataset = None
        self.document.sample_images = None
        self.data_info.setText(f"<span style='color:{BAD}'>Cannot use this data: {message}</span>")
        self.preview.clear()
        self._update_buttons()

    def _update_preview(self) -> None:
        if self.dataset is None:
            return
        from ...data import preview_augmentation

        try:
            augment = self.form.config().augment
        except ValueError:
            return
        augmented = preview_augmentation(self._samples, augment, seed=self.form.seed.value())
        self.preview.setImage(image_grid([self._samples, augmented]), levels=(0.0, 1.0), autoLevels=False)
        warnings = self.dataset.augmentation_warnings(augment)
        self.augment_warning.setText("".join(f"<span style='color:{NOTE}'>⚠ {w}.</span><br>" for w in warnings))
        self.augment_warning.setVisible(bool(warnings))

    def _on_download(self, kind: str, folder: str) -> None:
        self.data_info.setText(f"Downloading {kind} into {folder or '…'} (this needs the internet)…")
        self.tasks.run(download, kind, folder, on_done=lambda _: self._after_download(),
                       on_error=lambda message: self._show_data_problem(f"download failed: {message}"))

    def _after_download(self) -> None:
        self.reload_dataset(reload=True)

    # --- state ------------------------------------------------------------------------------------
    def _on_analysis(self, analysis) -> None:
        if self.document.design.input.shape != self._input_shape:
            self._input_shape = self.document.design.input.shape
            self._schedule_reload()
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.run is not None
        problem = self.document.analysis.first_error()
        if problem:
            reason = f"The design has errors: {problem}"
        elif self.dataset is None:
            reason = "Waiting for the data (see below the curves)."
        else:
            reason = ""
        self.start_button.setEnabled(not running and not reason)
        self.start_button.setToolTip(reason or "Train the design on the data with these settings")
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(not running and self.document.weights is not None)
        self.form.setEnabled(not running)
        if reason and not running:
            self._set_status(reason, BAD if problem else NOTE)

    def _set_status(self, text: str, color: str | None = None) -> None:
        self.status.setText(f"<span style='color:{color}'>{text}</span>" if color else text)

    # --- the run ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self.run is not None or self.dataset is None or not self.document.analysis.ok:
            return
        try:
            config = self.form.config()
        except ValueError as exc:
            self._set_status(str(exc), BAD)
            return
        initial = self.document.weights if self.form.continue_training.isChecked() else None
        self._detached = False
        # What the run normalises with, fixed now: the panel's dataset may be reloaded while it runs.
        self._run_normalization = self.dataset.mean_std() if config.normalize else None
        self._max_lr = config.lr
        self.run = TrainingRun(self.document.design.copy(), self.dataset, config, initial)
        self.run.record.connect(self._on_record)
        self.run.failed.connect(self._on_failed)
        self.run.finished.connect(self._on_finished)
        self._pending_steps, self._pending_snapshot = [], None
        self._refresh.start()
        self.curves.reset()
        self.progress.setValue(0)
        self._set_status("Starting…")
        self._update_buttons()
        self.run.start()

    def _on_pause(self) -> None:
        if self.run is None:
            return
        if self.run.control.paused:
            self.run.resume()
            self.pause_button.setText("Pause")
            self._set_status("Resumed.")
        else:
            self.run.pause()
            self.pause_button.setText("Resume")
            self._set_status("Paused: Resume goes on from here; Stop keeps the weights trained so far.", NOTE)

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self._set_status("Stopping after this step…", NOTE)

    def _on_record(self, record) -> None:
        from ...train import EndRecord, EpochRecord, SnapshotRecord, StartRecord, StepRecord

        self.record_received.emit(record)
        if getattr(self, "_detached", False):
            return  # a run of a design that is no longer open: nothing of it reaches the new one
        if isinstance(record, StepRecord):
            self._pending_steps.append(record)
        elif isinstance(record, SnapshotRecord):
            self._pending_snapshot = record
        elif isinstance(record, EpochRecord):
            self._flush()
            self.curves.add_epoch(record)
            self.confusion.show_epoch(record, self.classes)
            if record.state is not None:
                self.document.set_weights(record.state, self._run_normalization,
                                          {"epochs_completed": record.epoch, "in_progress": True})
        elif isinstance(record, StartRecord):
            self.curves.set_epochs(record.epochs, self._max_lr)
            self._epochs, self._device = record.epochs, record.device + ("" if record.amp == "off" else f", {record.amp}")
            self.classes = list(record.classes)
            kept = f" Kept the trained weights of {len(record.carried)} layers." if record.carried else ""
            notes = " ".join(record.notes)
            self._set_status(f"Training {grouped(record.parameters)} parameters on {self._device}: "
                             f"{grouped(record.train_size)} images × {record.epochs} epochs.{kept} {notes}")
        elif isinstance(record, EndRecord):
            self._flush()
            self._on_end(record)

    def _flush(self) -> None:
        """Show what arrived since the last refresh: the views redraw at most REFRESH_HZ times a second
        however fast the records come (painting is the GUI thread's real cost while training)."""
        steps, self._pending_steps = self._pending_steps, []
        if steps:
            self.curves.add_steps(steps)
            last = steps[-1]
            self.progress.setMaximum(last.total_steps)
            self.progress.setValue(last.global_step)
            self.progress.setFormat(f"epoch {last.epoch}/{self._epochs} · step {last.step}/{last.steps_per_epoch}")
            self._set_status(f"Training on {self._device}: {grouped(round(last.samples_per_s))} images/s, "
                             f"loss {last.loss:.3f}, accuracy {100 * last.accuracy:.1f} %, "
                             f"ETA {_duration(last.eta_s)}")
        snapshot, self._pending_snapshot = self._pending_snapshot, None
        if snapshot is not None:
            node = self.run_design_node(snapshot.node_id)
            groups = node.resolved_params()["groups"] if node is not None else 1
            self.filters.show_weights(snapshot.node_id, snapshot.weights, groups,
                                      f"(epoch {snapshot.epoch}, step {snapshot.step})")

    def run_design_node(self, node_id: str):
        return self.document.design.get(node_id)

    def _on_end(self, end) -> None:
        from ...train import FAILED, STOPPED

        if end.state_dict:
            self.document.set_weights(end.state_dict, (end.mean, end.std) if end.mean else None, end.training)
        if list(end.design.classes) != list(self.document.design.classes):
            self.document.push(SetClassesCommand(self.document, end.design.classes))
        best = f" Best validation accuracy {100 * end.best_val_acc:.1f} % (epoch {end.best_epoch})." if end.best_epoch else ""
        if end.reason == FAILED:
            self._set_status(f"Training stopped: {end.message}", BAD)
        elif end.reason == STOPPED:
            self._set_status(f"Stopped: {end.message}.{best}", NOTE)
        else:
            self._set_status(f"Done in {_duration(end.seconds)}: {end.message}.{best} The trained weights are now "
                             "the design's (Explain uses them; File ▸ Export saves them).", GOOD)

    def _on_failed(self, message: str) -> None:
        self._set_status(f"Cannot train: {message}", BAD)

    def _on_finished(self) -> None:
        self._refresh.stop()
        if not self._detached:
            self._flush()
        run, self.run = self.run, None
        if run is not None:
            run.wait(5000)  # the thread's own end deletes the run and the thread
        self.pause_button.setText("Pause")
        self._update_buttons()

    def shutdown(self) -> None:
        """Closing the window: stop the run cleanly and wait for its thread."""
        if self.run is not None:
            self.run.stop()
            self.run.wait(30000)
        self.tasks.wait(10000)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
