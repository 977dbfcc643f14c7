"""The run store in the Train tab: the runs table, overlays, comparison, trade-off, replay, rerun from the same
start, opening a run, deleting with undo; and the result views showing only the current design's results."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.runs import ReplayProbe, RunRecorder, RunStore
from convviz.train import DataSpec, TrainConfig, Trainer
from convviz.ui.runs.table_model import NAME, TICK
from convviz.ui.train import panel as train_panel

SMALL = 1200


@pytest.fixture
def small_data(monkeypatch):
    def small(spec, shape, val_fraction, seed):
        return load_dataset(spec, shape, val_fraction=0.25, seed=seed, synthetic_size=SMALL)

    monkeypatch.setattr(train_panel, "load_dataset_for", small)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(2)


@pytest.fixture
def panel(window, qtbot, small_data):
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    panel.form.epochs.setValue(2)
    return panel


def train_once(panel, qtbot, epochs: int = 2):
    panel.form.epochs.setValue(epochs)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.run is None and panel._pending_start is None, timeout=120000)


def record(design, config: TrainConfig, name: str, lineage: str | None = None, folder=None):
    """A run recorded straight into the test's run store (no window involved)."""
    data = load_dataset(DataSpec(), design.input, synthetic_size=400, val_fraction=0.25, seed=0)
    trainer = Trainer(design, data, config, probe=ReplayProbe(design, data), report_rate=200, snapshot_rate=0)
    store = RunStore(folder or os.environ["CONVVIZ_RUNS"])
    recorder = RunRecorder(store, trainer, name=name, lineage=lineage)
    for r in trainer:
        recorder.add(r)
    store.close()
    return recorder


def rows(panel) -> list[str]:
    proxy = panel.runs_panel.proxy
    return [proxy.index(r, NAME).data() for r in range(proxy.rowCount())]


def tick(panel, name: str, on: bool = True) -> None:
    proxy = panel.runs_panel.proxy
    row = rows(panel).index(name)
    proxy.setData(proxy.index(row, TICK), (Qt.CheckState.Checked if on else Qt.CheckState.Unchecked).value,
                  Qt.ItemDataRole.CheckStateRole)


def test_a_run_is_kept_in_runs_with_its_outcome_curves_gradients_and_replay(panel, window, qtbot):
    train_once(panel, qtbot)
    assert rows(panel) == ["Shapes CNN #1"]
    run = panel.runs.runs()[0]
    assert run.status == "finished" and run.epochs_done == 2 and run.best_val_acc is not None
    assert window.document.training_info["run"] == run.id
    assert panel.gradient_view.values.shape[1:] == (7, 2) and len(panel.gradient_view.x) > 2
    assert panel.replay.run_id == run.id and len(panel.replay.snapshots) >= 20 and not panel.replay.live
    assert panel.replay.confusion_title.text() == "<b>Confusion matrix</b>"   # hidden: drawn when shown
    panel.right_tabs.setCurrentWidget(panel.replay)
    assert "after epoch 2" in panel.replay.confusion_title.text()


def test_a_template_opened_after_a_run_shows_none_of_its_results(panel, window, qtbot):
    train_once(panel, qtbot)
    assert panel.confusion.image.image is not None and panel.curves.val_acc.x
    window.document.undo_stack.setClean()
    window.files.open_template("lenet5")
    assert panel.curves.val_acc.x == [] and panel.curves.train_loss.x == []
    assert panel.confusion.image.image is None and panel.filters.image.image is None
    assert "no run of this design yet" in panel.confusion.title.text()
    assert panel.curves.placeholder.isVisible()
    assert "Done" not in panel.status.text()
    assert window.document.key.weights > 0 and window.document.weights is None


def test_a_new_run_shows_nothing_of_the_previous_run_until_its_own_first_epoch(panel, window, qtbot):
    train_once(panel, qtbot)
    panel.form.epochs.setValue(50)
    seen = []
    panel.record_received.connect(lambda r: seen.append((type(r).__name__, panel.confusion.image.image is None)))
    panel.start_button.click()
    assert panel.confusion.image.image is None and panel.curves.val_acc.x == []
    qtbot.waitUntil(lambda: any(kind == "EpochRecord" for kind, _ in seen), timeout=60000)
    before_first_epoch = [empty for kind, empty in seen[:[k for k, _ in seen].index("EpochRecord")]]
    assert all(before_first_epoch)
    assert panel.confusion.image.image is not None
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.run is None, timeout=60000)


def test_an_edit_after_a_run_clears_its_results_and_the_run_stays_in_runs(panel, window, qtbot):
    train_once(panel, qtbot)
    window.editing.select_node("conv1")
    window.inspector.editors["out_channels"].spin.setValue(8)
    assert panel.curves.val_acc.x == [] and panel.confusion.image.image is None
    assert rows(panel) == ["Shapes CNN #1"]   # the same lineage: the run of the design it came from


def test_the_paused_run_says_so_and_the_stopped_one_says_it_once(panel, window, qtbot):
    panel.form.epochs.setValue(50)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    panel.pause_button.click()
    qtbot.wait(700)   # several refreshes go by while paused
    assert "Paused" in panel.status.text() and "Training on" not in panel.status.text()
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.run is None, timeout=60000)
    text = panel.status.text()
    assert text.count("topped") == 1 and ("Stopped in epoch" in text or "Stopped after epoch" in text)


def test_waiting_for_the_data_goes_once_it_has_loaded(window, qtbot, small_data):
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    assert "Waiting for the data" not in panel.status.text() and "Ready" in panel.status.text()


def test_ticked_runs_are_overlaid_in_their_colours_and_compared(panel, window, qtbot):
    lineage = panel.runs.lineage
    design = load_template("default")
    record(design, TrainConfig(epochs=2, batch_size=32, lr=3e-3), "base", lineage)
    wide = design.copy()
    wide.set_param("conv2", "kernel_size", 5)
    wide.set_param("conv2", "padding", 2)
    record(wide, TrainConfig(epochs=1, batch_size=32, lr=1e-2), "5x5", lineage)
    panel.runs.runsChanged.emit()
    assert rows(panel) == ["5x5", "base"]
    assert panel.curves.placeholder.isVisible()   # "No run of this design yet"
    tick(panel, "base")
    tick(panel, "5x5")
    qtbot.waitUntil(lambda: len(panel.curves.overlay_ids) == 2, timeout=5000)
    assert not panel.curves.placeholder.isVisible()   # it would sit on their curves
    base, wide_run = (next(r for r in panel.runs.runs() if r.name == n) for n in ("base", "5x5"))
    assert panel.runs.colour(base.id) != panel.runs.colour(wide_run.id)
    legend = [label.text for _, label in panel.curves.acc_legend.items]
    assert f"#{base.number} base" in legend and f"#{wide_run.number} 5x5" in legend
    assert panel.compare.differences == []   # not drawn while hidden …
    panel.lower_tabs.setCurrentWidget(panel.compare)   # … but as soon as it is shown
    found = {d.what: d.values for d in panel.compare.differences}
    assert found["conv2 · kernel_size"] == ("3", "5") and found["learning rate"] == ("0.003", "0.01")
    assert panel.compare.table.columnCount() == 2
    tick(panel, "base", False)
    qtbot.waitUntil(lambda: panel.curves.overlay_ids == [wide_run.id], timeout=5000)
    assert "Tick two or more" in panel.compare.caption.text()
    tick(panel, "5x5", False)
    qtbot.waitUntil(lambda: panel.curves.overlay_ids == [], timeout=5000)
    assert panel.curves.placeholder.isVisible()


def test_the_trade_off_plot_draws_the_pareto_front(panel, window, qtbot):
    lineage = panel.runs.lineage
    design = load_template("default")
    record(design, TrainConfig(epochs=1, batch_size=32), "small", lineage)
    bigger = design.copy()
    bigger.set_param("conv3", "out_channels", 128)
    record(bigger, TrainConfig(epochs=1, batch_size=32), "big", lineage)
    panel.runs.runsChanged.emit()
    panel.lower_tabs.setCurrentWidget(panel.tradeoff)
    runs = {r.name: r for r in panel.runs.runs()}
    expected = [runs["small"].id] + ([runs["big"].id] if runs["big"].best_val_acc > runs["small"].best_val_acc else [])
    assert panel.tradeoff.front_ids == expected
    panel.tradeoff.axis.setCurrentIndex(1)
    assert panel.tradeoff.front_ids == expected   # more parameters too


def test_the_trade_off_plot_draws_one_front_per_dataset(panel, window, qtbot):
    from convviz.runs import RunSummary

    def run(number, macs, acc, spec):
        data = {"name": spec, "spec": spec, "val": 100, "val_is_test": True, "shape": [1, 32, 32]}
        return RunSummary(f"run-{number}", number, f"r{number}", 0.0, "finished", "", "d", "line", "f", spec, 1, 1, 1,
                          acc, macs, macs, "5×5", 1.0, 1.0, "cpu", data=data)

    # On MNIST, #2 beats #1 on both; on CIFAR-10 (far lower accuracies) #3 and #4 are a front of their own.
    runs = [run(1, 2e6, 0.90, "mnist:x"), run(2, 1e6, 0.95, "mnist:x"), run(3, 1e6, 0.40, "cifar10:y"),
            run(4, 4e6, 0.60, "cifar10:y")]
    panel.lower_tabs.setCurrentWidget(panel.tradeoff)
    panel.tradeoff.set_runs(runs)
    assert sorted(panel.tradeoff.front_ids) == ["run-2", "run-3", "run-4"]
    assert "One front per dataset (2 datasets)" in panel.tradeoff.caption.text()
    x, y = panel.tradeoff.front.getData()
    assert int(np.isnan(y).sum()) == 1 and len(y) == 4   # two polylines, unconnected


def test_replaying_a_run_moves_through_its_snapshots(panel, window, qtbot):
    recorder = record(load_template("default"), TrainConfig(epochs=2, batch_size=8), "long", panel.runs.lineage)
    panel.runs.runsChanged.emit()
    panel.runs_panel.select_run(recorder.run_id)
    panel.runs_panel.replay_button.click()
    replay = panel.replay
    assert panel.right_tabs.currentWidget() is replay
    assert replay.run_id == recorder.run_id and len(replay.snapshots) >= 30
    replay.slider.setValue(0)
    first = replay.filters_image.image.copy()
    assert "before training" in replay.position.text() and "no epoch completed" in replay.confusion_title.text()
    replay.slider.setValue(replay.slider.maximum())
    assert not np.array_equal(first, replay.filters_image.image)
    assert "after epoch 2" in replay.confusion_title.text() and replay.cam_image.image is not None
    assert panel.gradient_view.cursor.isVisible()


def test_replaying_a_run_with_a_malformed_snapshot_skips_it_and_says_so(panel, window, qtbot):
    rec = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "x", panel.runs.lineage)
    folder = Path(os.environ["CONVVIZ_RUNS"]) / "runs" / rec.run_id / "replay"
    np.savez(folder / "0003.npz", map_nodes=np.array(["a", "b"]), cam_class=np.array([1, 2]))
    panel.runs.runsChanged.emit()
    panel.runs_panel.select_run(rec.run_id)
    panel.runs_panel.replay_button.click()
    assert panel.replay.run_id == rec.run_id and panel.replay.snapshots
    assert 3 not in [s.index for s in panel.replay.snapshots]
    assert "replay snapshot 3 is damaged" in panel.runs_panel.problem_label.toolTip()


def test_the_replay_position_moves_the_cursor_of_the_curves_and_the_gradient_flow(panel, window, qtbot):
    recorder = record(load_template("default"), TrainConfig(epochs=2, batch_size=32), "long", panel.runs.lineage)
    panel.runs.runsChanged.emit()
    tick(panel, "long")
    panel.runs_panel.select_run(recorder.run_id)
    panel.runs_panel.replay_button.click()
    replay = panel.replay
    replay.slider.setValue(replay.slider.maximum() // 2)
    x = replay.snapshots[replay.slider.value()].x
    assert 0 < x < 2
    for plot, cursor in panel.curves.cursors.items():
        assert cursor.isVisible() and cursor.value() == pytest.approx(x)
    assert panel.gradient_view.cursor.value() == pytest.approx(x)
    panel.right_tabs.setCurrentWidget(panel.gradient_view)
    caption = panel.gradient_view.caption.text()
    assert caption.startswith(f"#{recorder.number} long at its end:") and "Now" not in caption
    tick(panel, "long", False)   # no longer drawn: no cursor on the curves
    panel.right_tabs.setCurrentWidget(replay)
    replay.slider.setValue(0)
    assert not any(c.isVisible() for c in panel.curves.cursors.values())


def test_the_learning_rate_plot_keeps_room_for_its_labels_at_1280_by_800(panel, window, qtbot):
    window.resize(1280, 800)
    qtbot.wait(50)
    assert panel.curves.lr_plot.height() >= 110


def test_train_again_from_the_same_start_after_a_one_layer_edit(panel, window, qtbot):
    panel.form.seed.setValue(5)
    train_once(panel, qtbot, epochs=1)
    first = panel.runs.runs()[0]
    window.editing.select_node("conv2")
    window.inspector.editors["out_channels"].spin.setValue(16)
    panel.form.seed.setValue(9)   # the rerun takes the first run's settings, seed included
    panel.form.continue_training.setChecked(True)
    panel.runs_panel.select_run(first.id)
    panel.runs_panel.rerun_button.click()
    qtbot.waitUntil(lambda: panel.run is None and len(panel.runs.runs()) == 2, timeout=120000)
    second = next(r for r in panel.runs.runs() if r.id != first.id)
    assert second.parent == first.id and panel.form.seed.value() == 5
    store = panel.runs.store
    a, b = store.weights(first.id, "initial"), store.weights(second.id, "initial")
    changed = {"conv2", "bn2", "conv3"}   # conv2's width changed, so bn2's and conv3's shapes did too
    assert all(a[f"{n}.weight"].shape != b[f"{n}.weight"].shape for n in changed)
    unchanged = [key for key in a if key.split(".")[0] not in changed]
    assert len(unchanged) > 8 and all(torch.equal(a[key], b[key]) for key in unchanged)


def test_rerun_keeps_the_settings_the_user_changed_and_the_comparison_shows_them(panel, window, qtbot):
    panel.form.seed.setValue(5)
    panel.form.train_images.setValue(300)
    train_once(panel, qtbot, epochs=1)
    first = panel.runs.runs()[0]
    panel.form.weight_decay.setText("0.05")   # the change to compare
    panel.form.seed.setValue(9)              # not the start's: the rerun takes the first run's
    panel.form.train_images.setValue(0)
    panel.runs_panel.select_run(first.id)
    panel.runs_panel.rerun_button.click()
    assert panel.form.weight_decay.text() == "0.05"
    assert (panel.form.seed.value(), panel.form.train_images.value()) == (5, 300)
    qtbot.waitUntil(lambda: panel.run is None and len(panel.runs.runs()) == 2, timeout=120000)
    second = next(r for r in panel.runs.runs() if r.id != first.id)
    config = panel.runs.detail(second.id).config
    assert (config.weight_decay, config.seed, config.train_images) == (0.05, 5, 300)
    from convviz.runs import differences

    found = {d.what: d.values for d in differences([panel.runs.detail(first.id), panel.runs.detail(second.id)])}
    assert found["weight decay"] == ("0", "0.05") and "seed" not in found
    assert found["initial weights"] == ("fresh (seed 5)", f"the same start as #{first.number}")


def test_a_rerun_without_an_edit_reproduces_the_same_curves(panel, window, qtbot):
    panel.form.seed.setValue(3)
    train_once(panel, qtbot, epochs=2)
    first = panel.runs.runs()[0]
    panel.form.seed.setValue(8)   # the rerun takes the first run's seed back
    panel.runs_panel.select_run(first.id)
    panel.runs_panel.rerun_button.click()
    qtbot.waitUntil(lambda: panel.run is None and len(panel.runs.runs()) == 2, timeout=120000)
    second = next(r for r in panel.runs.runs() if r.id != first.id)
    a, b = panel.runs.curves(first.id), panel.runs.curves(second.id)
    assert len(a.epoch) == len(b.epoch) == 2
    for name in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-6), name
    store = panel.runs.store
    last_a, last_b = store.weights(first.id, "last"), store.weights(second.id, "last")
    assert all(torch.allclose(last_a[k].float(), last_b[k].float(), atol=1e-5) for k in last_a)


def _point_run_at_missing_data(run_id: str, tmp_path) -> None:
    import json
    import sqlite3

    with sqlite3.connect(Path(os.environ["CONVVIZ_RUNS"]) / "runs.sqlite3") as db:
        config = json.loads(db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()[0])
        config["data"] = f"mnist:{tmp_path / 'nothing-here'}"
        db.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(config), run_id))


def test_a_rerun_whose_data_fails_does_not_start_later_by_itself(panel, window, qtbot, tmp_path):
    rec = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "x", panel.runs.lineage)
    _point_run_at_missing_data(rec.run_id, tmp_path)
    panel.runs.runsChanged.emit()
    panel.runs_panel.select_run(rec.run_id)
    panel.runs_panel.rerun_button.click()
    qtbot.waitUntil(lambda: "Cannot use" in panel.data_info.text(), timeout=30000)
    assert panel._pending_start is None
    panel.form.source.setCurrentIndex(0)   # the user goes back to the built-in shapes
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    qtbot.wait(300)
    assert panel.run is None and len(panel.runs.runs()) == 1


def test_a_rerun_waiting_for_its_data_is_abandoned_when_the_data_setting_changes(panel, window, qtbot, tmp_path):
    rec = record(load_template("default"), TrainConfig(epochs=1, batch_size=32, val_fraction=0.3), "x",
                 panel.runs.lineage)
    panel.runs.runsChanged.emit()
    panel.runs_panel.select_run(rec.run_id)
    panel.runs_panel.rerun_button.click()   # the validation share differs: its data loads first
    assert panel._pending_start is not None and panel.run is None
    panel.form.val_fraction.setValue(0.2)
    assert panel._pending_start is None
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    qtbot.wait(300)
    assert panel.run is None and len(panel.runs.runs()) == 1


def test_a_run_from_the_trained_weights_is_recorded_as_continued_and_compared_so(panel, window, qtbot, tmp_path):
    from convviz.runs import differences

    train_once(panel, qtbot, epochs=1)
    first = panel.runs.runs()[0]
    assert panel.form.continue_training.isChecked()   # the default: start from the trained weights
    train_once(panel, qtbot, epochs=1)
    second = next(r for r in panel.runs.runs() if r.id != first.id)
    assert second.start == {"kind": "continued", "run": first.id} and second.parent is None
    found = {d.what: d.values for d in differences([panel.runs.detail(first.id), panel.runs.detail(second.id)])}
    assert found["initial weights"] == ("fresh (seed 0)", f"continued from #{first.number}")
    window.export_actions.export(tmp_path / "model.pt")
    qtbot.waitUntil(lambda: (tmp_path / "model.pt").is_file(), timeout=30000)
    window.document.undo_stack.setClean()
    assert window.files.open_path(tmp_path / "model.pt") and window.files.settle(60)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    train_once(panel, qtbot, epochs=1)
    third = panel.runs.runs(all_runs=True)[0]
    assert third.start == {"kind": "checkpoint", "path": str(tmp_path / "model.pt")}


def test_double_click_opens_the_runs_design_with_its_weights(panel, window, qtbot):
    wide = load_template("default")
    wide.set_param("conv1", "out_channels", 8)
    recorder = record(wide, TrainConfig(epochs=1, batch_size=32), "narrow", panel.runs.lineage)
    panel.runs.runsChanged.emit()
    window.document.undo_stack.setClean()
    index = panel.runs_panel._proxy_index(recorder.run_id)
    panel.runs_panel.table.doubleClicked.emit(index)
    assert window.files.settle(60)  # the weights are read in the background
    assert window.document.design.node("conv1").params["out_channels"] == 8
    weights = panel.runs.store.weights(recorder.run_id, "last")
    assert torch.equal(window.document.weights["conv1.weight"], weights["conv1.weight"])
    assert window.document.training_info["run"] == recorder.run_id
    assert panel.results.run_id == recorder.run_id and panel.curves.val_acc.x == [1.0]
    assert panel.confusion.image.image is not None and "not saved" in window.windowTitle()
    assert rows(panel) == ["narrow"]   # its lineage


def test_delete_asks_and_is_undoable_until_the_app_closes(panel, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    recorder = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "doomed", panel.runs.lineage)
    panel.runs.runsChanged.emit()
    panel.runs_panel.select_run(recorder.run_id)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (asked.append(a[2]), QMessageBox.StandardButton.Cancel)[1])
    panel.runs_panel.delete_button.click()
    assert rows(panel) == ["doomed"] and "Delete #1 doomed?" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.runs_panel.delete_button.click()
    assert rows(panel) == [] and panel.runs_panel.undo_button.isEnabled()
    panel.runs_panel.undo_button.click()
    assert rows(panel) == ["doomed"]
    panel.runs_panel.select_run(recorder.run_id)
    panel.runs_panel.delete_action.trigger()
    assert rows(panel) == []
    folder = Path(os.environ["CONVVIZ_RUNS"]) / "runs" / recorder.run_id
    assert folder.is_dir()
    window.document.undo_stack.setClean()
    window.close()
    assert not folder.exists() and RunStore(os.environ["CONVVIZ_RUNS"]).runs(include_deleted=True) == []


def test_a_corrupt_index_is_reported_and_the_app_still_trains(qtbot, tmp_path, small_data, monkeypatch):
    from convviz.ui.main_window import MainWindow

    folder = Path(os.environ["CONVVIZ_RUNS"])
    folder.mkdir(parents=True)
    (folder / "runs.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    win = MainWindow(load_template("default"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    win.tabs.setCurrentIndex(win.train_tab)
    panel = win.tab_widget(win.train_tab)
    assert panel.runs_panel.problem_label.isVisibleTo(panel) and "damaged" in panel.runs_panel.problem_label.text()
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    train_once(panel, qtbot, epochs=1)
    assert "Done" in panel.status.text() and rows(panel) == ["Shapes CNN #1"]


@pytest.mark.parametrize("damage", [{"config": [1]}, {"outcome": "x"}])
def test_a_damaged_run_folder_is_reported_and_the_tab_still_works(qtbot, tmp_path, small_data, damage):
    import json

    from convviz.ui.main_window import MainWindow

    folder = Path(os.environ["CONVVIZ_RUNS"])
    good = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "good")
    bad = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "bad", good.lineage)
    manifest_path = folder / "runs" / bad.run_id / "run.json"
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), **damage}))
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()
    win = MainWindow(load_template("default"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    win.tabs.setCurrentIndex(win.train_tab)
    panel = win.tab_widget(win.train_tab)
    label = panel.runs_panel.problem_label
    assert label.isVisibleTo(panel) and f"skipped {bad.run_id}" in label.text()
    assert rows(panel) == ["good"]
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    train_once(panel, qtbot, epochs=1)
    assert "Done" in panel.status.text() and sorted(rows(panel)) == ["Shapes CNN #2", "good"]


def test_the_title_marks_trained_weights_until_they_are_exported(panel, window, qtbot, tmp_path):
    assert "not saved" not in window.windowTitle()
    train_once(panel, qtbot, epochs=1)
    assert "trained weights not saved" in window.windowTitle()
    window.export_actions.export(tmp_path / "model.pt")
    qtbot.waitUntil(lambda: "not saved" not in window.windowTitle(), timeout=30000)


def test_only_n_training_images(panel, window, qtbot):
    panel.form.train_images.setValue(100)
    train_once(panel, qtbot, epochs=1)
    (run,) = panel.runs.runs()
    assert "100 of 900 training images" in run.dataset
    assert panel.runs.detail(run.id).config.train_images == 100


def test_the_runs_table_sorts_by_value_and_filters_by_text(panel, window, qtbot):
    from convviz.ui.runs.table_model import BEST, PARAMS

    lineage = panel.runs.lineage
    design = load_template("default")
    record(design, TrainConfig(epochs=1, batch_size=32, lr=1e-5), "slow learner", lineage)
    record(design, TrainConfig(epochs=2, batch_size=32), "quick learner", lineage)
    panel.runs.runsChanged.emit()
    table = panel.runs_panel.table
    table.sortByColumn(BEST, Qt.SortOrder.DescendingOrder)
    assert rows(panel) == ["quick learner", "slow learner"]
    table.sortByColumn(PARAMS, Qt.SortOrder.AscendingOrder)
    panel.runs_panel.search.setText("slow")
    assert rows(panel) == ["slow learner"]
    panel.runs_panel.scope.setCurrentIndex(1)   # all runs: the same here
    assert rows(panel) == ["slow learner"]


def test_runs_export_writes_the_checkpoint_file_export_writes(panel, window, qtbot, tmp_path):
    from convviz.cli import main
    from convviz.export import load_checkpoint

    train_once(panel, qtbot, epochs=1)
    (run,) = panel.runs.runs()
    window.export_actions.export(tmp_path / "app.pt")
    qtbot.waitUntil(lambda: (tmp_path / "app.pt").exists(), timeout=30000)
    # The best epoch's weights told apart from the last ones (one epoch: they are the same).
    folder = panel.runs.store.folder(run.id)
    folder.write_weights("best", {k: torch.zeros_like(v) for k, v in folder.read_weights("last").items()})
    assert main(["runs", "export", str(run.number), "--to", str(tmp_path / "cli.pt")]) == 0   # the default
    app, cli = load_checkpoint(tmp_path / "app.pt"), load_checkpoint(tmp_path / "cli.pt")
    from convviz.design import dumps

    assert dumps(app.design) == dumps(cli.design) and app.classes == cli.classes
    assert app.state_dict.keys() == cli.state_dict.keys()
    assert all(torch.equal(app.state_dict[k], cli.state_dict[k]) for k in app.state_dict)
    assert (app.preprocessing.mean, app.preprocessing.std) == (cli.preprocessing.mean, cli.preprocessing.std)
    assert app.training["config"] == cli.training["config"] and app.trained and cli.trained
    for key in ("reason", "epochs_completed", "best_epoch", "best_val_acc", "dataset"):
        assert app.training["results"][key] == pytest.approx(cli.training["results"][key]), key


def test_a_design_edited_after_its_run_finds_its_runs_when_reopened(panel, window, qtbot, tmp_path):
    train_once(panel, qtbot, epochs=1)
    window.editing.select_node("conv3")
    window.inspector.editors["out_channels"].spin.setValue(48)   # an edit after the run, then saved
    window.files._save_to(tmp_path / "mine.json")
    window.files.open_template("lenet5")
    assert rows(panel) == []
    window.files.open_path(tmp_path / "mine.json")
    assert rows(panel) == ["Shapes CNN #1"]


def test_f2_renames_the_run_and_delete_deletes_it_in_the_runs_table(panel, window, qtbot, monkeypatch):
    """The window's F2 (rename a layer) and Delete (delete layers) do not take these keys from the table."""
    from PySide6.QtWidgets import QAbstractItemView, QMessageBox

    recorder = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "old name", panel.runs.lineage)
    panel.runs.runsChanged.emit()
    panel.lower_tabs.setCurrentWidget(panel.runs_panel)
    table = panel.runs_panel.table
    panel.runs_panel.select_run(recorder.run_id)
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5000)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    assert table.state() == QAbstractItemView.State.EditingState
    from PySide6.QtWidgets import QLineEdit

    editor = table.viewport().findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "new name")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(panel) == ["new name"], timeout=5000)   # the delegate commits queued
    assert rows(panel) == ["new name"] and window.document.design.node_ids[1] == "conv1"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert rows(panel) == [] and "conv1" in window.document.design


def _reopen_read_only(panel) -> None:
    """The index is rewritten by a newer convviz (a higher schema): the app's store reopens it read-only."""
    import sqlite3

    panel.runs.shutdown()
    panel.runs._closed = False
    with sqlite3.connect(Path(os.environ["CONVVIZ_RUNS"]) / "runs.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    panel.runs.runsChanged.emit()


def test_a_read_only_store_offers_no_edits_and_a_refused_one_is_shown(panel, window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from convviz.ui.runs.table_model import STAR

    rec = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "x", panel.runs.lineage)
    _reopen_read_only(panel)
    runs_panel = panel.runs_panel
    assert panel.runs.store.read_only and not panel.runs.editable
    assert "newer convviz" in runs_panel.problem_label.text()
    runs_panel.select_run(rec.run_id)
    name = runs_panel._proxy_index(rec.run_id)
    assert not (runs_panel.proxy.flags(name) & Qt.ItemFlag.ItemIsEditable)
    runs_panel.table.clicked.emit(runs_panel._proxy_index(rec.run_id, STAR))
    assert not runs_panel.delete_button.isEnabled() and not runs_panel.delete_action.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    runs_panel.delete_selected()
    runs_panel._annotate_current()
    # A change the store refuses anyway (another process made it read-only meanwhile) is shown, not raised.
    assert not panel.runs.star(rec.run_id, True) and not panel.runs.rename(rec.run_id, "y")
    panel.runs.delete([rec.run_id])
    assert panel.runs.undo_stack.count() == 0
    assert runs_panel.problem_label.text().startswith("⚠ cannot change the runs: the runs index")
    assert [r.name for r in panel.runs.runs()] == ["x"] and not panel.runs.runs()[0].starred


def test_a_delete_the_store_refuses_leaves_nothing_to_undo(panel, window, qtbot, monkeypatch):
    from convviz.runs import RunStore, RunStoreError

    rec = record(load_template("default"), TrainConfig(epochs=1, batch_size=32), "x", panel.runs.lineage)
    panel.runs.runsChanged.emit()

    def full(self, run_ids):
        raise RunStoreError("database or disk is full")

    monkeypatch.setattr(RunStore, "delete", full)
    panel.runs.delete([rec.run_id])
    assert panel.runs.undo_stack.count() == 0 and not panel.runs.undo_stack.canUndo()
    assert "database or disk is full" in panel.runs_panel.problem_label.text()
    assert rows(panel) == ["x"]
