"""Starting the app: QApplication set-up, the main window on a design, screenshots, start-up timing."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QLocale, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from ..design import DesignFileError, load_design_or_template
from ..design.templates import TEMPLATES, path_exists, template_design
from ..i18n import tr
from .display import fatal_qt_messages
from .guard import install_exception_dialog
from .gc_guard import freeze_after_imports
from .heap import freeze_heap, freeze_imports
from .language import add_hangul_font, install_qt_translations, start_language

SCREENSHOT_SIZE = (1600, 1000)


def make_application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        with fatal_qt_messages():  # a platform plugin that will not start: one line, not Qt's abort
            app = QApplication(sys.argv[:1])
    app.setOrganizationName("convviz")
    app.setApplicationName("convviz")
    app.setApplicationDisplayName("convviz")
    app.setDesktopFileName("convviz")  # Wayland and the task bar match the window to convviz.desktop
    from .icons import app_icon

    app.setWindowIcon(app_icon())
    global _hangul_font
    if not _hangul_font:  # once per process: Hangul renders without a system Korean font
        _hangul_font = add_hangul_font(app)
    return app


_hangul_font = False


def set_up_language(app: QApplication, requested: str | None = None) -> str:
    """The app's language (``--lang``, View ▸ Language, the system's) for convviz's words and Qt's own."""
    code = start_language(requested)
    install_qt_translations(app, code)
    if code != "en":  # dates and numbers in Qt's dialogs as the language writes them
        QLocale.setDefault(QLocale(code))
    return code


class FirstPaint(QObject):
    """Calls back once, when the window has painted for the first time (start-up timing, device probe)."""

    def __init__(self, window, callback) -> None:
        super().__init__(window)
        self.callback = callback
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.callback is not None:
            callback, self.callback = self.callback, None
            QTimer.singleShot(0, callback)
        return False


def run_app(design_spec: str | None = None, screenshot: str | None = None, view: str = "design",
            image: str | None = None, lang: str | None = None, runs: str | None = None, run: str | None = None,
            overlay: list[str] | None = None) -> int:
    """``view``: "design" or "explain-<name>" (the Explain tab's view on ``image``, a file or a sample's name);
    ``lang``: the language ("en", "ko"; None: View ▸ Language's choice, else the system's).
    ``runs``: the run store's folder (default: ``CONVVIZ_RUNS``, else the user's data folder; a screenshot
    without it records into a temporary one)."""
    started = time.perf_counter()
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_application()
    set_up_language(app, lang)
    from .main_window import MainWindow

    spec = design_spec or "default"
    checkpoint = Path(spec) if spec.lower().endswith(".pt") else None
    try:
        design = (template_design(spec) if spec in TEMPLATES and not path_exists(spec)
                  else load_design_or_template("default" if checkpoint else spec))
    except DesignFileError as exc:
        if screenshot:
            print(f"convviz: error: {exc}", file=sys.stderr)
            return 1
        QMessageBox.warning(None, "convviz", tr("Cannot open {design}: {reason}\n\nOpening the default design.").format(
            design=design_spec, reason=exc))
        design = load_design_or_template("default")
    # A screenshot leaves no trace in the user's settings, recent files or recovery folder.
    path = Path(spec) if not checkpoint and path_exists(spec) else None
    if screenshot and not runs and not os.environ.get("CONVVIZ_RUNS"):
        runs = tempfile.mkdtemp(prefix="convviz-shot-runs-")
    window = MainWindow(design, recovery_dir=Path(tempfile.mkdtemp(prefix="convviz-shot-")) if screenshot else None,
                        persistent=not screenshot, path=path, runs_dir=Path(runs) if runs else None)
    if checkpoint is not None:
        problems: list[str] = []
        window.files.open_path(checkpoint, on_error=problems.append if screenshot else None)
        if screenshot:  # the picture shows the model opened, or nothing
            if not window.files.settle(120):
                problems.append(tr("{path} did not open within two minutes").format(path=checkpoint))
            if problems:
                print(f"convviz: error: {problems[0]}", file=sys.stderr)
                return 1
    if run is not None:
        problem = open_recorded_run(window, run, overlay or [])
        if problem:
            if screenshot:
                print(f"convviz: error: {problem}", file=sys.stderr)
                return 1
            QMessageBox.warning(window, "convviz", problem)
    if view.startswith("train"):
        window.tabs.setCurrentIndex(window.train_tab)
        if view != "train":
            show_train_view(window, view.removeprefix("train-"))
    elif view != "design":
        if screenshot:  # the same random initial weights every time: README images change only when the app does
            import torch

            torch.manual_seed(0)
        window.show()
        problem = open_explain_view(window, view.removeprefix("explain-"), image)
        if problem and screenshot:
            print(f"convviz: error: {problem}", file=sys.stderr)
            return 1
    if screenshot:
        if view == "train" and run is None and not train_for_screenshot(app, window):
            return 1
        return save_screenshot(app, window, Path(screenshot), explain=view.startswith("explain-"))

    install_exception_dialog()
    probe = os.environ.get("CONVVIZ_STARTUP_PROBE")

    def on_first_paint() -> None:
        if probe:  # bench/gui_latency.py: report and leave
            print(f"first-paint {time.perf_counter() - started:.4f} s after run_app; epoch {time.time():.4f}",
                  flush=True)
            app.quit()
            return
        adopt_heap_policy(window)
        window.start_device_probe()
        window.files.clean_interrupted_saves()
        window.files.offer_recovery()

    FirstPaint(window, on_first_paint)
    window.show_fitted()
    return leave(app.exec())


def adopt_heap_policy(window) -> None:
    """The running app's collector policy, once start-up is done (the first paint): start-up's objects
    are never scanned again, nor what a big import (torch, pyqtgraph: a lazy tab's first build, the
    device probe) makes later (``heap``, ``gc_guard``). Benchmarks of the app adopt it too."""
    freeze_heap()
    freeze_after_imports()
    window.lazyTabBuilt.connect(lambda _index: freeze_imports())


def leave(code: int) -> int:
    """After the event loop: the window asked, stopped any run and waited a bounded time; a step still
    running in torch would be killed inside C++ code by Python's shutdown (an abort), so then the
    process ends here, everything saved (the run store keeps the run up to its last epoch)."""
    worker = sys.modules.get("convviz.ui.train.worker")
    if worker is not None and worker.training_still_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def train_for_screenshot(app: QApplication, window, epochs: int = 3, limit_s: float = 300) -> bool:
    """A short seeded run with the default settings (the user's remembered ones are neither used nor
    changed), so the picture shows the live views as they end."""
    from ..train import AugmentConfig, TrainConfig

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    panel = window.tab_widget(window.train_tab)
    panel.form.set_config(TrainConfig(epochs=epochs, augment=AugmentConfig(rotation=15, crop_padding=3)))
    panel.reload_dataset()
    deadline = time.perf_counter() + limit_s
    while panel.dataset is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    panel._update_preview()
    panel.start()
    while panel.run is not None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if panel.run is not None or panel.dataset is None:
        print("convviz: error: " + tr("the training run for the screenshot did not finish"), file=sys.stderr)
        return False
    return True


def open_recorded_run(window, key: str, overlay: list[str]) -> str | None:
    """Open run ``key`` from the store (its design, weights, results) and tick ``overlay``; why not, if not."""
    from ..runs import RunStoreError

    store = window.runs.store
    if store is None:
        return "; ".join(window.runs.problems) or tr("the run store cannot be opened")
    try:
        run = store.run(key)
        others = [store.run(k) for k in overlay]
    except RunStoreError as exc:
        return str(exc)
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    problems: list[str] = []
    if not window.files.open_run(run.id, on_error=problems.append) or not window.files.settle(120) or problems:
        return problems[0] if problems else tr("run {key} cannot be opened").format(key=key)
    window.document.undo_stack.setClean()
    panel = window.tab_widget(window.train_tab)
    panel.runs_panel.scope.setCurrentIndex(1)   # all runs: the overlaid ones may be of other designs
    for other in others:
        window.runs.set_ticked(other.id, True)
    panel.results.update_overlays()
    return None


def show_train_view(window, view: str) -> None:
    """The Train tab with its comparison (overlays + trade-off), the replay or the gradient flow in front."""
    panel = window.tab_widget(window.train_tab)
    if view == "compare":
        panel.lower_tabs.setCurrentWidget(panel.tradeoff)
    elif view == "replay":
        panel.right_tabs.setCurrentWidget(panel.replay)
        slider = panel.replay.slider
        slider.setValue(slider.maximum() // 2)   # mid-run: the filters and the CAM are still forming
    elif view == "gradients":
        panel.right_tabs.setCurrentWidget(panel.gradient_view)
        panel.gradient_view.set_cursor(None)


def open_explain_view(window, view: str, image: str | None) -> str | None:
    """Show the Explain tab's ``view`` on ``image``; returns why the image cannot be used, if so."""
    panel = window.show_explain()
    panel.show_view(view)
    return panel.image_input.load_spec(image)


def save_screenshot(app: QApplication, window, path: Path, explain: bool = False) -> int:
    """Render the window at 1600×1000 with the design fitted (or the Explain view once its results
    are on screen), save it as PNG (for README and tests)."""
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    window.start_device_probe()  # the status bar names the device, as it does in a running app
    deadline = time.perf_counter() + 20
    while window.device is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(3):
        app.processEvents()
    window.view.fit_all()
    app.processEvents()
    if explain:
        panel = window.explain_panel
        settled = panel.controller.settle(120)
        panel.current_view().showcase()
        if not (settled and panel.controller.settle(120)):
            print("convviz: error: " + tr("the Explain view did not finish within two minutes"), file=sys.stderr)
            return 1
        app.processEvents()
    image = window.grab()
    ok = image.save(str(path), "PNG")
    window.document.undo_stack.setClean()
    window.close()
    if not ok:
        print("convviz: error: " + tr("cannot write {path}").format(path=path), file=sys.stderr)
        return 1
    return 0
