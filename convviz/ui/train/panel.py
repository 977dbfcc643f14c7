"""The Train tab: settings on the left; the curves (other runs overlaid) in the middle over the runs,
their comparison, the trade-off plot and the data; the live filters and confusion matrix, the
gradient flow and the replay on the right; Train / Pause / Stop above.

The dataset loads in the background when the source (or the design's input) changes and the tab is
shown (``DatasetController``: a design opened while the tab is hidden loads nothing until it is
needed), so its samples and the augmentation preview are there before the run starts. The built-in
shapes are shown from the disk cache at once, before torch has loaded (``first_look``: the counts,
the classes and the sample images; the augmented row follows with torch); Train pressed meanwhile
starts the run as soon as the dataset is in. The run trains
a frozen copy of the design in a ``TrainingRun`` thread and is recorded in the run store as it goes;
its weights become the document's after every epoch (the explain views follow) and at the end
(editing the design keeps the weights of the layers that still fit). What the result views show,
and when, is ``RunResults``'s.
"""

from __future__ import annotations

import html
import sys

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...analysis.text import grouped
from ...data.first_look import first_look
from ...i18n import ntr, tr
from ..commands import SetClassesCommand
from ..gc_guard import hold_collections_while
from ..plots import image_view
from ..runs.compare_view import CompareView
from ..runs.gradient_view import GradientFlowView
from ..runs.replay_view import ReplayView
from ..runs.runs_panel import RunsPanel
from ..runs.tradeoff_view import TradeoffView
from ..tasks import TaskRunner
from ..theme import WARNING
from .data_loading import DatasetController
from .live_views import ConfusionView, CurvesView, FiltersView
from .pacing import RefreshPacer
from .results import RunResults
from .settings_form import TrainSettingsForm
from .worker import TrainingRun, import_training

PREVIEW_COUNT = 8
#: The preview's images: ``Dataset.samples(PREVIEW_COUNT, PREVIEW_SEED)`` (and the first look's, the same).
PREVIEW_SEED = 1
#: How long closing the window waits for a run's current step before leaving it behind (a daemon thread).
SHUTDOWN_WAIT_MS = 5000
GOOD, NOTE, BAD = "#2E7D32", "#B26A00", "#D62728"


def load_dataset_for(spec, shape, val_fraction: float, seed: int):
    from ...data import load_dataset

    return load_dataset(spec, shape, val_fraction=val_fraction, seed=seed)


def _load_for_request(spec, shape, val_fraction: float, seed: int):
    return load_dataset_for(spec, shape, val_fraction, seed)  # looked up when called: tests replace it


def _first_look_for_request(spec, shape, val_fraction: float, seed: int, draw: bool = False):
    return first_look(spec, shape, val_fraction, seed, PREVIEW_COUNT, sample_seed=PREVIEW_SEED, draw=draw)


def _drawn_first_look_for_request(spec, shape, val_fraction: float, seed: int):
    return _first_look_for_request(spec, shape, val_fraction, seed, draw=True)


def download(kind: str, folder: str):
    from ...data import download_dataset

    if not folder:
        raise ValueError(tr("choose a folder to download into first"))
    return download_dataset(kind, folder)


def preview_pictures(dataset, samples: np.ndarray | None, augment, seed: int) -> tuple:
    """In a worker: (dataset, its preview samples — ``samples`` if already drawn —, those samples
    augmented by ``augment``)."""
    from ...data import preview_augmentation

    if samples is None:
        samples = dataset.samples(PREVIEW_COUNT, seed=PREVIEW_SEED)[0]
    return dataset, samples, preview_augmentation(samples, augment, seed=seed)


def image_grid(rows: list[np.ndarray], blank_rows: tuple[int, ...] = ()) -> np.ndarray:
    """Rows of uint8 N×C×H×W images (C = 1 or 3) as one uint8 RGBA image, 2-pixel gaps, transparent
    where there is no image; the rows numbered in ``blank_rows`` are left empty (their place kept).
    Bytes, not floats: pyqtgraph shows them as they are, where a float grid of 16 images at 224×224
    cost three float copies of itself each time it was drawn (the peak of opening ResNet-18)."""
    h, w = rows[0][0].shape[-2:]
    gap = 2
    grid = np.zeros((len(rows) * (h + gap) - gap, len(rows[0]) * (w + gap) - gap, 4), dtype=np.uint8)
    for r, row in enumerate(rows):
        if r in blank_rows:
            continue
        for c, image in enumerate(row):
            tile = grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w]
            tile[..., :3] = image.transpose(1, 2, 0)  # (a grey image's one channel to all three)
            tile[..., 3] = 255
    return grid


class TrainPanel(QWidget):
    #: Every record of the current run, re-emitted on the GUI thread (for other views, tests, benches).
    record_received = Signal(object)

    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.document = window.document
        self.runs = window.runs
        self.tasks = TaskRunner(self)
        self.dataset = None
        self.data = DatasetController(self.tasks, _load_for_request, self, glimpse=_first_look_for_request,
                                      drawn_glimpse=_drawn_first_look_for_request)
        self.data.ready.connect(self._on_dataset)
        self.data.glimpsed.connect(self._on_first_look)
        #: The first look at the data being loaded (``convviz.data.FirstLook``), shown until the dataset is in.
        self.first_look = None
        self.data.failed.connect(self._show_data_problem)
        self.data.loading.connect(self._on_data_loading)
        self._training_imported = False
        self.run: TrainingRun | None = None
        self.classes: list[str] = []

        self.form = TrainSettingsForm()
        self.curves = CurvesView()
        self.filters = FiltersView()
        self.confusion = ConfusionView()
        self.gradient_view = GradientFlowView()
        self.replay = ReplayView()
        self.runs_panel = RunsPanel(self.runs)
        self.compare = CompareView(self.runs)
        self.tradeoff = TradeoffView(self.runs)
        self.data_info = QLabel(tr("Loading the data…"), wordWrap=True)
        self.augment_warning = QLabel(wordWrap=True)
        self.augment_warning.hide()
        self.preview_widget, _, self.preview = image_view()
        self.preview_widget.setMinimumHeight(100)

        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), tr("Train"))
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), tr("Pause"))
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), tr("Stop"))
        self.save_button = QPushButton(tr("Save Trained Model…"))
        self.save_button.setToolTip(tr("A .pt checkpoint: the design, its trained weights and the preprocessing"))
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
        settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        settings_scroll.setWidget(self.form)
        settings_scroll.setMinimumWidth(self.form.minimumSizeHint().width()
                                        + style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 6)
        data_page = QWidget()
        data_layout = QVBoxLayout(data_page)
        data_layout.addWidget(QLabel(tr("<b>Data</b>: sample training images (top) and the same images augmented "
                                        "(bottom), as the run will see them"), wordWrap=True))
        data_layout.addWidget(self.preview_widget, 1)
        data_layout.addWidget(self.augment_warning)
        data_layout.addWidget(self.data_info)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.setDocumentMode(True)
        self.lower_tabs.addTab(self.runs_panel, tr("Runs"))
        self.lower_tabs.addTab(self.compare, tr("Compare"))
        self.lower_tabs.addTab(self.tradeoff, tr("Trade-off"))
        self.lower_tabs.addTab(data_page, tr("Data"))
        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.curves)
        middle.addWidget(self.lower_tabs)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        live = QSplitter(Qt.Orientation.Vertical)
        live.addWidget(self.filters)
        live.addWidget(self.confusion)
        live.setSizes([250, 550])
        self.right_tabs = QTabWidget()
        self.right_tabs.setDocumentMode(True)
        self.right_tabs.addTab(live, tr("Live"))
        self.right_tabs.addTab(self.gradient_view, tr("Gradient Flow"))
        self.right_tabs.addTab(self.replay, tr("Replay"))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(settings_scroll)
        splitter.addWidget(middle)
        splitter.addWidget(self.right_tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([settings_scroll.minimumWidth(), 800, 400])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

        self._detached = False
        self._shown_step = None   # the step the progress bar and the status line show
        self._run_normalization = None
        self._pending_start = None
        self._status_kind = ""
        self.results = RunResults(self)
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self._on_pause)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(lambda: window.export_actions.export_dialog(".pt"))
        self.form.data_changed.connect(self._on_data_setting)
        self.form.changed.connect(self._update_preview)
        self.form.download_requested.connect(self._on_download)
        self.document.analysisChanged.connect(self._on_analysis)
        self.document.designReplaced.connect(self._on_design_replaced)
        self.document.weightsChanged.connect(self._update_buttons)
        self.runs_panel.openRequested.connect(self._on_open_run)
        self.runs_panel.rerunRequested.connect(self.train_again_from)
        self.runs_panel.replayRequested.connect(self._on_replay_run)
        self.runs_panel.listed.connect(self.tradeoff.set_runs)
        self.runs.runsChanged.connect(self.compare.refresh)
        self.runs.runUpdated.connect(lambda _: self.compare.refresh())
        self.runs.tickedChanged.connect(self._on_ticks_changed)
        self.tradeoff.runClicked.connect(self._on_tradeoff_click)
        window.shutdown_hooks.append(self.shutdown)
        window.discard_guards.append(self.confirm_stop_run)
        self._refresh = RefreshPacer(self)  # the rates: ``pacing``
        self._refresh.timeout.connect(self._flush)
        self._reload_timer = QTimer(self, singleShot=True, interval=200)
        self._reload_timer.timeout.connect(self.reload_dataset)
        self._input_shape = self.document.design.input.shape
        self._on_analysis(self.document.analysis)
        self.tradeoff.set_runs(self.runs_panel.model.runs)
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

    def _on_data_setting(self) -> None:
        """The user changed the data (source, folder, validation share, seed): a run waiting for the data it
        asked for (a rerun) is abandoned, it must not start later on other data by itself."""
        self._abandon_pending()
        self._schedule_reload()

    def _abandon_pending(self) -> None:
        if self._pending_start is not None:
            self._pending_start = None
            if self._status_kind == "run" and self.run is None:
                self._set_status("", kind="")
                self._update_buttons()

    def _on_design_replaced(self) -> None:
        """New, Open, a template: a run of the previous design must not hand its weights to this one (the
        user agreed to stop it; the run store keeps what it learnt)."""
        if self.run is not None:
            self._detached = True
            self.run.stop()
            self.results.run_abandoned()
            self._set_status(tr("The run of the previous design was stopped; it is kept in Runs."), NOTE)
        self._schedule_reload()

    def reload_dataset(self, reload: bool = False, needed: bool = False) -> None:
        """Ask for the data the settings and the design call for: loaded while the tab is shown, or at
        once when ``needed`` (a run waits for it)."""
        try:
            spec = self.form.data_spec()
        except ValueError as exc:
            self._show_data_problem(str(exc))
            return
        self.first_look = None
        self.data.request(spec, self.document.design.input.shape, self.form.val_fraction.value(),
                          self.form.seed.value(), reload=reload, needed=needed)
        if self.data.dataset is None:  # the controller said what it is loading
            self.dataset = None
            self._update_buttons()

    def _on_data_loading(self, text: str) -> None:
        self.data_info.setText(text)

    @property
    def data_shown(self) -> bool:
        """The data summary and the sample images are on screen (the first look's, or the dataset's)."""
        return self.dataset is not None or self.first_look is not None

    def _show_data_summary(self, data, train: int, val: int, skipped_note: str = "") -> None:
        """``data``: a ``Dataset`` or a ``FirstLook`` (title, classes, shape, note, val_is_test)."""
        split = tr("its test set") if data.val_is_test else tr("held out")
        self.data_info.setText(
            tr("<b>{name}</b>: {train} training and {val} validation images ({split}), {classes} classes, fitted "
               "to {shape}: {names}").format(
                name=html.escape(data.title), train=grouped(train), val=grouped(val),
                split=split, classes=len(data.classes), shape="×".join(map(str, data.shape)),
                names=html.escape(", ".join(data.classes[:12])))
            + ("…" if len(data.classes) > 12 else "")
            + (f"<br><span style='color:{NOTE}'>{html.escape(data.note)}.</span>" if data.note else "")
            + (f"<br><span style='color:{WARNING.name()}'>{html.escape(skipped_note)}</span>" if skipped_note else ""))

    def _on_first_look(self, look) -> None:
        """The data is loading (torch first, the first time): what the cache shows of it already."""
        self.first_look = look
        self._show_data_summary(look, look.train_count, look.val_count)
        self.data_info.setToolTip("")
        self.document.data_classes = list(look.classes)
        self._samples = look.samples
        # The augmented row needs torch: an empty row holds its place until the dataset is in.
        self.preview.setImage(image_grid([self._samples, self._samples], blank_rows=(1,)), autoLevels=False)
        self._update_buttons()

    def _on_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.first_look = None
        self.classes = list(dataset.classes)
        self._show_data_summary(dataset, len(dataset.train), len(dataset.val), dataset.skipped_note())
        self.data_info.setToolTip("\n".join(f"{s.path}: {s.reason}" for s in dataset.skipped[:50]))
        self.document.sample_images = self._sample_images
        self.document.data_classes = list(dataset.classes)  # the design is warned if its scores do not match
        self._samples = None  # drawn from this dataset by the preview's job
        self._update_preview()
        self._update_buttons()
        if not self._training_imported:  # after the data, not beside it: both want the two cores
            self._training_imported = True
            task = self.tasks.run(import_training)
            # torch._dynamo's 800 modules: frozen once they are in, not walked meanwhile.
            hold_collections_while(task, task.done, task.failed)
        if self._pending_start is not None and self.run is None:
            self._start_pending()

    def _sample_images(self, count: int) -> list[tuple[np.ndarray, str]]:
        """For the Explain tab: ``count`` random validation images (H×W or H×W×3 uint8) with their classes."""
        images, names = self.data.samples(count, seed=int(np.random.randint(1 << 30)), split="val")
        return [(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0), name)
                for image, name in zip(images, names)]

    def _show_data_problem(self, message: str) -> None:
        self._pending_start = None   # the run waiting for this data cannot start: it is not started later
        self.dataset = None
        self.first_look = None
        self.document.sample_images = None
        self.data_info.setText(f"<span style='color:{BAD}'>"
                               + tr("Cannot use this data: {message}").format(message=html.escape(message))
                               + "</span>")
        self.preview.clear()
        self._update_buttons()

    def _update_preview(self) -> None:
        """The sample images and what the augmentation makes of them, drawn in a worker: the GUI
        thread never runs torch (a thread that has keeps an OpenMP team, which slows every training
        step and forward pass after it: see ``ui/tasks.py``)."""
        if self.dataset is None:
            return
        try:
            augment = self.form.config().augment
        except ValueError:
            return
        self.tasks.run(preview_pictures, self.dataset, self._samples, augment, self.form.seed.value(),
                       channel="preview", on_done=self._show_preview, on_error=self._on_preview_failed)
        warnings = self.dataset.augmentation_warnings(augment)
        self.augment_warning.setText("".join(f"<span style='color:{NOTE}'>⚠ {w}.</span><br>" for w in warnings))
        self.augment_warning.setVisible(bool(warnings))

    def _show_preview(self, pictures: tuple) -> None:
        dataset, samples, augmented = pictures
        if dataset is not self.dataset:
            return  # made for data replaced since; the new data's preview is on its way
        self._samples = samples
        self.preview.setImage(image_grid([samples, augmented]), autoLevels=False)

    def _on_preview_failed(self, message: str) -> None:
        self.preview.clear()
        self.augment_warning.setText(f"<span style='color:{BAD}'>" + html.escape(
            tr("The preview could not be drawn: {message}").format(message=message)) + "</span>")
        self.augment_warning.setVisible(True)

    def _on_download(self, kind: str, folder: str) -> None:
        self.data_info.setText(tr("Downloading {kind} into {folder} (this needs the internet)…").format(
            kind=kind, folder=folder or "…"))
        self.tasks.run(download, kind, folder, on_done=lambda _: self._after_download(),
                       on_error=lambda message: self._show_data_problem(
                           tr("download failed: {message}").format(message=message)))

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
            reason = tr("The design has errors: {problem}").format(problem=problem)
        elif self.dataset is None and self.first_look is None:
            reason = tr("Waiting for the data (see Data below the curves).")
        else:
            reason = ""
        waiting = self.dataset is None and self._pending_start is not None   # Train pressed: it starts when in
        self.start_button.setEnabled(not running and not reason and not waiting)
        self.start_button.setToolTip(reason or tr("Train the design on the data with these settings"))
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(not running and self.document.weights is not None)
        self.form.setEnabled(not running)
        if running:
            return
        if reason:
            self._set_status(reason, BAD if problem else NOTE, kind="reason")
        elif self.dataset is None:   # the first look is shown; PyTorch (and with it the dataset) is loading
            if not waiting:
                self._set_status(tr("PyTorch is loading: Train starts the run as soon as it is ready.")
                                 if _torch_loading() else
                                 tr("The data is loading: Train starts the run as soon as it is ready."), NOTE,
                                 kind="reason")
        elif self._status_kind == "reason":   # the reason is gone (the data arrived, the error was fixed)
            self._set_status(tr("Ready: Train starts a run on {data}.").format(data=self.dataset.title), kind="ready")

    def _set_status(self, text: str, color: str | None = None, kind: str = "") -> None:
        self._status_kind = kind
        self.status.setText(f"<span style='color:{color}'>{text}</span>" if color else text)

    def results_cleared(self) -> None:
        """``RunResults`` has nothing to show for the open design: neither has the status line."""
        if self.run is None and self._status_kind in ("ended", "run"):
            self._set_status("", kind="")
            self.progress.setValue(0)
            self.progress.setFormat("")
            self._update_buttons()

    # --- the runs -----------------------------------------------------------------------------------
    def _on_ticks_changed(self) -> None:
        self.tradeoff.redraw()
        self.compare.refresh()

    def _on_tradeoff_click(self, run_id: str) -> None:
        self.runs_panel.select_run(run_id)

    def _on_open_run(self, run_id: str) -> None:
        self.window.open_run(run_id)

    def _on_replay_run(self, run_id: str) -> None:
        self.results.show_replay(run_id)
        self.right_tabs.setCurrentWidget(self.replay)

    def train_again_from(self, run_id: str) -> None:
        """Train the open design from the initial weights run ``run_id`` started from (every layer that still
        fits), on its data with its seed (so its data order and augmentation too); the other settings are the
        form's, as the user set them: a change there is what the comparison shows."""
        from ...runs import RunStoreError

        if self.run is not None:
            return
        try:
            detail = self.runs.detail(run_id)
            initial = self.runs.store.weights(run_id, "initial")
        except RunStoreError as exc:
            self._set_status(str(exc), BAD)
            return
        self.form.set_start(detail.config)
        self._pending_start = (initial, run_id)
        self.reload_dataset(needed=True)
        if self.dataset is not None:
            self._start_pending()
        else:
            self._set_status(tr("Loading the data of {run}…").format(run=detail.summary.label), NOTE, kind="run")

    def _start_pending(self) -> None:
        pending, self._pending_start = self._pending_start, None
        if pending is not None:
            self.start(initial=pending[0], parent=pending[1])

    def show_stored_run(self, run_id: str) -> None:
        """The design and weights of run ``run_id`` were just opened: show its results as the current ones."""
        self.results.show_stored(run_id)
        summary = self.runs.summary(run_id)
        if summary is not None:
            self._set_status(tr("{run}: {message}").format(run=summary.label, message=summary.message), kind="ended")
            self.runs_panel.select_run(run_id)

    # --- the run ----------------------------------------------------------------------------------
    def start(self, initial=None, parent: str | None = None) -> None:
        """Train the design; ``initial``: the weights to start from (default: the design's when "start from
        the trained weights" is ticked); ``parent``: the run whose start they are (train again from it)."""
        if self.run is not None or not self.document.analysis.ok:
            return
        if self._reload_timer.isActive():   # a data setting just changed: train on the data it calls for
            self._reload_timer.stop()
            self.reload_dataset(needed=True)
            if self.dataset is None:        # it starts once loaded (unless the data changes or fails first)
                self._pending_start = (initial, parent)
                self._set_status(tr("Loading the data…"), NOTE, kind="run")
                return
        if self.dataset is None:
            if self.first_look is not None and self._pending_start is None:   # torch is loading: start when in
                self._pending_start = (initial, parent)
                self._set_status(tr("Starting as soon as PyTorch has loaded…") if _torch_loading()
                                 else tr("Loading the data…"), NOTE, kind="run")
                self._update_buttons()
            return
        try:
            config = self.form.config()
        except ValueError as exc:
            self._set_status(str(exc), BAD)
            return
        start = None   # the recorder's default: the parent's start, else fresh
        if initial is None and self.form.continue_training.isChecked() and self.document.weights is not None:
            initial = self.document.weights
            start = self._weights_start()
        self._detached = False
        self._shown_step = None   # the step the progress bar and the status line show
        self._run_normalization = None  # the run's own, from its StartRecord (computed in its thread)
        self._max_lr = config.lr
        self.run = TrainingRun(self.document.design.copy(), self.dataset, config, initial,
                               runs_folder=self.runs.recording_folder, lineage=self.runs.lineage, parent=parent,
                               start=start)
        self.run.records.connect(self._on_records)
        self.run.failed.connect(self._on_failed)
        self.run.finished.connect(self._on_finished)
        self.run.recording.connect(self._on_recording)
        self.run.written.connect(self._on_written)
        self.run.problem.connect(self._on_store_problem)
        self.results.run_starting()
        self._refresh.start()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._set_status(tr("Starting…"), kind="run")
        self._update_buttons()
        self.run.start()

    def _weights_start(self) -> dict:
        """What the design's weights are, for the run that starts from them: a checkpoint file's (opened), a
        run's (trained here or opened from Runs), or other (imported)."""
        from ...runs import start

        run_id = self.document.training_info.get("run")
        if self.document.weights_origin:
            return start.checkpoint(self.document.weights_origin)
        if isinstance(run_id, str) and run_id:
            return start.continued(run_id)
        return start.other_weights()

    def _on_recording(self, run_id: str, number: int, name: str) -> None:
        if self._detached:
            return
        self.results.run_recording(run_id, f"#{number} {name}")
        self.runs.run_started(run_id)
        self.runs_panel.select_run(run_id)

    def _on_written(self, run_id: str) -> None:
        """The store has the run's newest epoch: the runs table, the trade-off and the comparison follow."""
        if self.runs.live_run == run_id:
            self.runs.run_progressed(run_id)

    def _on_store_problem(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 10000)

    def _on_pause(self) -> None:
        if self.run is None:
            return
        if self.run.control.paused:
            self.run.resume()
            self.pause_button.setText(tr("Pause"))
            self._set_status(tr("Resumed."), kind="run")
        else:
            self.run.pause()
            self.pause_button.setText(tr("Resume"))
            self._show_paused()

    def _show_paused(self) -> None:
        where = self.progress.format() if self.progress.value() else tr("before the first step")
        self._set_status(tr("Paused ({where}): Resume goes on from here; Stop keeps the weights trained so far.")
                         .format(where=where), NOTE, kind="run")

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self._set_status(tr("Stopping after this step…"), NOTE, kind="run")

    def confirm_stop_run(self) -> bool:
        """Before closing or replacing the design: a run in flight stops only if the user agrees."""
        if self.run is None or self._detached or self.run.control.stopped or not self.run.running:
            return True
        answer = QMessageBox.question(
            self, tr("A run is training"),
            tr("Stop the run training now? What it has learnt so far stays in Runs (and its weights in the design "
               "until you open another)."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _on_records(self, records: list) -> None:
        for record in records:
            self._on_record(record)
        if self.run is not None and self.run.control.paused:
            self._flush()   # the pause's report: shown now, not at the next (paced) refresh

    def _on_record(self, record) -> None:
        from ...train import EndRecord, EpochRecord, StartRecord

        self.record_received.emit(record)
        if self._detached:
            return  # a run of a design that is no longer open: nothing of it reaches the new one
        self.results.on_record(record)
        if isinstance(record, EpochRecord):
            self._flush()
            if record.state is not None:
                self.document.set_weights(record.state, self._run_normalization,
                                          self.results.weights_info({"epochs_completed": record.epoch,
                                                                     "in_progress": True}))
        elif isinstance(record, StartRecord):
            self._refresh.paced = record.device == "cpu"  # on a GPU the GUI thread has a core of its own
            self._run_normalization = record.normalization
            self.curves.set_epochs(record.epochs, self._max_lr)
            self._epochs = record.epochs
            self._device = record.device + ("" if record.amp == "off" else f", {record.amp}")
            self.classes = list(record.classes)
            kept = ntr(" Kept the trained weights of {n} layer.", " Kept the trained weights of {n} layers.",
                       len(record.carried)).format(n=len(record.carried)) if record.carried else ""
            notes = " ".join(record.notes)
            self._set_status(tr("Training {params} parameters on {device}: {images} images × {epochs} epochs.")
                             .format(params=grouped(record.parameters), device=self._device,
                                     images=grouped(record.train_size), epochs=record.epochs) + kept + " " + notes,
                             kind="run")
        elif isinstance(record, EndRecord):
            self._flush()
            self._on_end(record)

    def _flush(self) -> None:
        """Show what arrived since the last refresh: the views redraw at most 5 times a second
        however fast the records come (painting is the GUI thread's real cost while training)."""
        if self._detached:
            return
        self.results.flush()
        last = self.results.newest_step   # also when an epoch's end showed the steps before it
        if last is None or last is self._shown_step:
            return
        self._shown_step = last
        self.progress.setMaximum(last.total_steps)
        self.progress.setValue(last.global_step)
        self.progress.setFormat(tr("epoch {epoch}/{epochs} · step {step}/{steps}").format(
            epoch=last.epoch, epochs=self._epochs, step=last.step, steps=last.steps_per_epoch))
        if self.run is not None and self.run.control.paused:
            self._show_paused()
        elif self.run is not None and not self.run.control.stopped:
            heads = ""
            if last.head_losses:  # several heads: the loss trained on is their weighted sum
                heads = " (" + ", ".join(f"{head.node} {value:.3f}"
                                         for head, value in zip(self.document.design.heads, last.head_losses)) + ")"
            self._set_status(tr("Training on {device}: {speed} images/s, loss {loss}, accuracy {acc} %, ETA {eta}")
                             .format(device=self._device, speed=grouped(round(last.samples_per_s)),
                                     loss=f"{last.loss:.3f}{heads}", acc=f"{100 * last.accuracy:.1f}",
                                     eta=_duration(last.eta_s)), kind="run")

    def _on_end(self, end) -> None:
        from ...train import DIVERGED, FAILED, STOPPED

        if end.state_dict:
            self.document.set_weights(end.state_dict, (end.mean, end.std) if end.mean else None,
                                      self.results.weights_info(end.training))
        if list(end.design.classes) != list(self.document.design.classes):
            self.document.push(SetClassesCommand(self.document, end.design.classes))
        self.results.run_ended(end)
        best = tr(" Best validation accuracy {acc} % (epoch {epoch}).").format(
            acc=f"{100 * end.best_val_acc:.1f}", epoch=end.best_epoch) if end.best_epoch else ""
        message = end.message[:1].upper() + end.message[1:]
        if end.reason in (FAILED, DIVERGED):
            self._set_status(tr("Training stopped: {message}").format(message=end.message), BAD, kind="ended")
        elif end.reason == STOPPED:
            self._set_status(f"{message}.{best}", NOTE, kind="ended")
        else:
            self._set_status(tr("Done in {time}: {message}.{best} The trained weights are now the design's (Explain "
                                "uses them; File ▸ Export saves them).").format(
                time=_duration(end.seconds), message=end.message, best=best), GOOD, kind="ended")

    def _on_failed(self, message: str) -> None:
        if not self._detached:
            self.results.run_abandoned()
        self._set_status(tr("Cannot train: {message}").format(message=message), BAD, kind="ended")

    def _on_finished(self) -> None:
        self._refresh.stop()
        if not self._detached:
            self._flush()
        run, self.run = self.run, None
        if run is not None:
            run.wait(5000)
            run.deleteLater()
        self.pause_button.setText(tr("Pause"))
        self._update_buttons()
        if self._pending_start is not None and self.dataset is not None:
            self._start_pending()

    def shutdown(self) -> None:
        """Closing the window (the user agreed) or quitting: stop the run and wait a bounded time for its
        step; a step that takes longer is left to finish in its daemon thread, which the process's exit
        ends (the run store keeps everything up to its last epoch)."""
        if self.run is not None:
            self.run.stop()
            self.run.control.resume()
            if not self.run.wait(SHUTDOWN_WAIT_MS):
                print("convviz: " + tr("the training step still running was left to end with the app"),
                      file=sys.stderr)
        self.tasks.wait(10000)


def _torch_loading() -> bool:
    """torch is not in yet (its import is still running in the background, or not started)."""
    return "torch.nn" not in sys.modules


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
