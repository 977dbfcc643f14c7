"""The Train tab, driven through its widgets: start, pause, resume, stop, failures, closing mid-run."""

from __future__ import annotations

import time

import pytest
import torch
from PySide6.QtWidgets import QFileDialog

from convviz.export import load_checkpoint
from convviz.ui.train import panel as train_panel

SMALL = 1200  # synthetic images per test run: seconds, not minutes


@pytest.fixture
def small_data(monkeypatch):
    from convviz.data import load_dataset

    def small(spec, shape, val_fraction, seed):
        return load_dataset(spec, shape, val_fraction=0.25, seed=seed, synthetic_size=SMALL)

    monkeypatch.setattr(train_panel, "load_dataset_for", small)
    torch.set_num_threads(1)  # two busy cores: one thread each for the run and the GUI
    yield
    torch.set_num_threads(2)


@pytest.fixture
def panel(window, qtbot, small_data):
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    panel.form.epochs.setValue(2)
    panel.form.lr.setText("0.003")
    panel.form.lr.editingFinished.emit()
    return panel


def wait_for_end(panel, qtbot, timeout=120000):
    qtbot.waitUntil(lambda: panel.run is None, timeout=timeout)


def test_train_tab_trains_and_hands_the_weights_to_the_design(panel, window, qtbot):
    assert panel.start_button.isEnabled()
    panel.start_button.click()
    assert panel.run is not None and not panel.start_button.isEnabled() and not panel.form.isEnabled()
    wait_for_end(panel, qtbot)
    assert "Done" in panel.status.text()
    # the last step arrives with the last epoch's results: the progress bar shows it all the same
    assert panel.progress.value() == panel.progress.maximum() > 0
    assert panel._refresh.paced  # it trained on the CPU: the live views' refresh was paced by its cost
    weights = window.document.weights
    assert weights is not None and weights["conv1.weight"].shape == (16, 1, 3, 3)
    assert window.document.normalization is not None
    assert len(panel.curves.val_acc.x) == 2 and len(panel.curves.train_loss.x) >= 2
    assert panel.confusion.image.image.shape == (10, 10)
    assert panel.filters.image.image is not None
    assert panel.save_button.isEnabled()
    curves = panel.curves
    best = max(range(2), key=lambda i: curves.val_acc.y[i])
    assert curves.best_text.toPlainText() == f"best: epoch {best + 1}, {curves.val_acc.y[best]:.1f} %"
    assert curves.best_line.isVisible() and curves.best_line.value() == best + 1
    # In the plot's top-left corner, clear of the legend (bottom right), however many runs it names.
    box = curves.acc_plot.getPlotItem().getViewBox()
    text, legend = curves.best_text.mapRectToItem(box, curves.best_text.boundingRect()), \
        curves.acc_legend.mapRectToItem(box, curves.acc_legend.boundingRect())
    assert box.boundingRect().contains(text) and not text.intersects(legend)
    curves.reset()
    assert not curves.best_text.isVisible() and not curves.best_line.isVisible()


def test_the_empty_confusion_matrix_names_its_axes_without_a_scale_prefix(panel, window):
    window.tabs.setCurrentWidget(panel)
    item = panel.confusion.matrix_view.plot.getPlotItem()
    labels = [item.getAxis("left").labelString(), item.getAxis("bottom").labelString()]
    assert "true class" in labels[0] and "predicted class" in labels[1]
    assert not any("x0.001" in label or "×" in label for label in labels), labels


def test_the_train_button_says_why_it_is_disabled(panel, window):
    window.document.design.set_inputs("fc", ["gap"])
    assert not panel.start_button.isEnabled()
    assert "fc" in panel.start_button.toolTip() and "errors" in panel.start_button.toolTip()


def test_pause_resume_and_stop(panel, window, qtbot):
    panel.form.epochs.setValue(50)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    panel.pause_button.click()
    assert panel.pause_button.text() == "Resume" and panel.run.control.paused
    qtbot.wait(400)  # the loop reaches its pause point
    frozen = panel.progress.value()
    qtbot.wait(800)
    assert panel.progress.value() == frozen  # nothing moves while paused
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > frozen, timeout=60000)
    panel.stop_button.click()
    wait_for_end(panel, qtbot)
    assert "Stopped" in panel.status.text()
    assert window.document.weights is not None  # stop keeps what was trained so far


def test_a_diverging_run_stops_with_a_suggestion(panel, qtbot):
    panel.form.optimizer.setCurrentIndex(0)  # SGD
    panel.form.lr.setText("1e30")
    panel.form.lr.editingFinished.emit()
    panel.form.schedule.setCurrentIndex(0)  # constant
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    text = panel.status.text()
    assert "Training stopped" in text and "learning rate" in text.lower()


def test_a_missing_dataset_folder_is_named(panel, qtbot, tmp_path):
    panel.form.source.setCurrentIndex(1)  # MNIST
    panel.form.folder.setText(str(tmp_path / "nowhere"))
    panel.form.folder.editingFinished.emit()
    qtbot.waitUntil(lambda: "Cannot use this data" in panel.data_info.text(), timeout=10000)
    assert "nowhere" in panel.data_info.text()
    assert not panel.start_button.isEnabled()


def test_the_design_must_fit_the_classes(panel, window, qtbot):
    assert window.document.data_classes == list(panel.dataset.classes)  # the designer is told the data's classes
    window.editing.select_node("fc")
    window.inspector.editors["out_features"].spin.setValue(7)
    warning = window.document.analysis.nodes["fc"].warnings[0]  # said at the layer, before a run fails
    assert "7 class scores, but the data has 10 classes" in warning.message and "out_features" in warning.fix.label
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    assert "Cannot train" in panel.status.text() and "10" in panel.status.text()


def test_edits_after_training_keep_unchanged_layers(panel, window, qtbot):
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    trained_conv1 = window.document.weights["conv1.weight"].clone()
    window.editing.select_node("conv3")
    window.inspector.editors["out_channels"].spin.setValue(32)
    panel.form.epochs.setValue(1)
    records = []
    panel.record_received.connect(records.append)
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    start = next(r for r in records if type(r).__name__ == "StartRecord")
    assert "conv1" in start.carried and "conv3" not in start.carried and "fc" not in start.carried
    assert not torch.equal(window.document.weights["conv1.weight"], trained_conv1)  # trained further


def test_save_trained_model(panel, window, qtbot, tmp_path, monkeypatch):
    panel.form.epochs.setValue(1)
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    target = tmp_path / "trained.pt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    panel.save_button.click()
    qtbot.waitUntil(lambda: target.exists(), timeout=30000)
    checkpoint = load_checkpoint(target)
    assert torch.equal(checkpoint.state_dict["conv1.weight"], window.document.weights["conv1.weight"])
    assert checkpoint.design.classes == window.document.design.classes


def answer(monkeypatch, button):
    """Answer the next questions with ``button``; returns the list of their titles."""
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, *a, **k: (asked.append(title), button)[1])
    return asked


def test_closing_the_window_mid_run_asks_then_stops_the_worker(panel, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    panel.form.epochs.setValue(50)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    run = panel.run
    window.document.undo_stack.setClean()
    asked = answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not window.close()   # the user said no: the run goes on
    assert asked == ["A run is training"] and run.running and not run.control.stopped
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    started = time.perf_counter()
    assert window.close()
    assert asked == ["A run is training"]
    assert not run.running and time.perf_counter() - started < 20


def test_closing_while_a_step_runs_for_long_quits_without_waiting_for_it(panel, window, qtbot, monkeypatch):
    """A step that takes minutes (a large model on a CPU) must not hold the window, nor abort the process."""
    import threading

    from convviz.train import heads
    from PySide6.QtWidgets import QMessageBox

    inside, release = threading.Event(), threading.Event()
    real = heads.compute_loss

    def slow(output, labels, reduction="mean"):
        if reduction == "mean" and inside.is_set() is False and threading.current_thread().name == "convviz-training":
            inside.set()
            release.wait(120)   # the step that never ends (until the test lets it)
        return real(output, labels, reduction)

    monkeypatch.setattr(heads, "compute_loss", slow)
    monkeypatch.setattr(train_panel, "SHUTDOWN_WAIT_MS", 300)
    panel.start_button.click()
    assert inside.wait(60)
    run = panel.run
    thread = run._thread
    window.document.undo_stack.setClean()
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    started = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - started < 10 and thread.is_alive() and run.control.stopped
    release.set()
    thread.join(60)
    assert not thread.is_alive()


def test_quitting_the_app_mid_run_stops_the_worker_once(panel, window, qtbot, monkeypatch):
    """QApplication.quit() with the window still open (a session ending): the run stops too."""
    from PySide6.QtCore import QCoreApplication

    panel.form.epochs.setValue(50)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    run = panel.run
    calls = []
    original = panel.shutdown
    monkeypatch.setattr(panel, "shutdown", lambda: (calls.append(1), original()))
    window.shutdown_hooks[window.shutdown_hooks.index(original)] = panel.shutdown
    QCoreApplication.instance().aboutToQuit.emit()
    assert not run.running
    window.document.undo_stack.setClean()
    assert window.close() and calls == [1]  # closing afterwards does not shut down again


def test_the_dataset_feeds_the_explain_tab(panel, window, qtbot):
    samples = window.document.sample_images(3)
    assert len(samples) == 3
    image, name = samples[0]
    assert image.shape == (32, 32) and image.dtype.name == "uint8" and name in panel.dataset.classes
    explain = window.show_explain()
    explain_input = explain.image_input
    qtbot.waitUntil(lambda: explain_input.dataset_button.isEnabled(), timeout=10000)
    explain_input.dataset_button.click()
    qtbot.waitUntil(lambda: "dataset image" in explain_input.caption.text(), timeout=30000)


def test_label_changing_augmentation_is_pointed_out(panel):
    assert panel.augment_warning.isHidden()
    panel.form.augment.mirror.setChecked(True)
    assert not panel.augment_warning.isHidden() and "diagonal /" in panel.augment_warning.text()
    panel.form.augment.mirror.setChecked(False)
    panel.form.augment.rotation.setValue(10)
    assert panel.augment_warning.isHidden()


def test_opening_another_design_mid_run_asks_and_keeps_its_results_away(panel, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    panel.form.epochs.setValue(50)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    asked = answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    window.files.new_action.trigger()
    assert asked == ["A run is training"] and panel.run is not None and "conv1" in window.document.design
    answers = iter([QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Discard])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    window.files.new_action.trigger()
    wait_for_end(panel, qtbot)
    assert window.document.design.node_ids == ["input"]
    assert window.document.weights is None and window.document.design.classes == []
    assert not window.isWindowModified()


def test_runs_do_not_leave_their_worker_and_thread_behind(panel, qtbot):
    import shiboken6

    panel.form.epochs.setValue(1)
    runs = []
    for _ in range(2):
        panel.start_button.click()
        runs.append((panel.run, panel.run._thread))
        wait_for_end(panel, qtbot)
    qtbot.wait(100)  # the deferred deletes
    assert not any(shiboken6.isValid(run) or thread.is_alive() for run, thread in runs)


def test_showing_settings_does_not_overwrite_the_remembered_ones(panel):
    from convviz.train import TrainConfig
    from convviz.ui.train.settings_form import remembered_config

    panel.form.epochs.setValue(42)
    assert remembered_config().epochs == 42
    panel.form.set_config(TrainConfig(epochs=3))
    assert panel.form.epochs.value() == 3 and remembered_config().epochs == 42


QUIT_MID_STEP = """
import os, sys, threading
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import torch
torch.set_num_threads(1)
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox
from convviz.train import heads
from convviz.data import load_dataset
from convviz.ui.app import leave, make_application
from convviz.ui.main_window import MainWindow
from convviz.ui.train import panel as train_panel

real = heads.compute_loss
inside = threading.Event()

def endless(output, labels, reduction="mean"):
    if threading.current_thread().name == "convviz-training" and reduction == "mean":
        inside.set()
        x = torch.randn(300, 300)
        while True:          # a step that takes forever, inside torch
            x = torch.tanh(x @ x.T / 300)
    return real(output, labels, reduction)

heads.compute_loss = endless
train_panel.SHUTDOWN_WAIT_MS = 500
train_panel.load_dataset_for = lambda spec, shape, v, seed: load_dataset(spec, shape, synthetic_size=400, seed=seed)
QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes
app = make_application()
window = MainWindow(persistent=False, recovery_dir=__import__("pathlib").Path(sys.argv[1]))
window.show()
window.tabs.setCurrentIndex(window.train_tab)
panel = window.tab_widget(window.train_tab)

def start():
    if panel.dataset is None:
        QTimer.singleShot(50, start)
        return
    panel.start()
    QTimer.singleShot(50, close)

def close():
    if not inside.is_set():
        QTimer.singleShot(50, close)
        return
    window.document.undo_stack.setClean()
    window.close()
    app.quit()

QTimer.singleShot(0, start)
print("exiting", flush=True)
sys.exit(leave(app.exec()))
"""


def test_quitting_with_a_step_still_running_in_torch_ends_cleanly(tmp_path):
    """Closing during a step that never ends: the app asks, stops, waits a bounded time and exits 0 (no abort,
    no "QThread: destroyed while thread is still running")."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", QUIT_MID_STEP, str(tmp_path / "recovery")], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "terminate" not in result.stderr and "QThread" not in result.stderr and "Traceback" not in result.stderr


def test_no_plot_is_resized_while_a_run_trains(panel, window, qtbot):
    """Titles that change with each step or epoch keep their height: a plot resized under them draws its
    axes anew, and the window stalled 50-70 ms at each epoch's end."""
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject

    class Resizes(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Resize:
                self.seen.append(type(watched).__name__)
            return False

    resizes = Resizes()
    plots = panel.findChildren(pg.GraphicsView)
    assert len(plots) >= 5
    for plot in plots:
        plot.installEventFilter(resizes)
    panel.start_button.click()
    wait_for_end(panel, qtbot)
    assert "Done" in panel.status.text() and "epoch 2" in panel.confusion.title.text()
    assert resizes.seen == []


def test_records_reach_the_gui_in_batches_in_order_and_a_pause_shows_where_the_run_stands(panel, qtbot):
    """Steps and snapshots come a batch at a time (each delivery wakes the GUI thread, which takes a core
    from torch's threads), the rest at once; pausing delivers the pause's report without waiting."""
    from convviz.train import StartRecord, StepRecord

    batches = []
    panel.form.epochs.setValue(50)
    panel.start_button.click()
    panel.run.records.connect(lambda batch: batches.append(list(batch)))
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    qtbot.wait(1500)
    panel.pause_button.click()
    qtbot.wait(600)  # the loop reaches its pause point and reports
    paused = [record for batch in batches for record in batch]
    panel.stop_button.click()
    wait_for_end(panel, qtbot)
    records = [record for batch in batches for record in batch]
    steps = [r.global_step for r in records if isinstance(r, StepRecord)]
    assert steps == sorted(steps) and len(steps) >= 4
    assert len(batches) < len(records) and max(len(batch) for batch in batches) >= 2
    assert isinstance(records[0], StartRecord)  # queued: even the first batch reaches a slot connected just after
    # the last step shown while paused is the step the run paused at (the progress bar says the same)
    last_paused = max(r.global_step for r in paused if isinstance(r, StepRecord))
    assert panel.progress.value() >= last_paused
    resumed_steps = [r for r in records[len(paused):] if isinstance(r, StepRecord)]
    assert all(r.global_step > last_paused for r in resumed_steps)
