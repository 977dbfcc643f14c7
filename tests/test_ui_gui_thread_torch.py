"""The GUI thread never runs torch. A thread that has run a parallel torch op keeps an OpenMP team of
helper threads for as long as it lives (the GUI thread: the whole session), and with more teams than
cores libgomp stops letting them spin between ops: every later training step and forward pass in
the process ran 1.4× slower on two cores (see ``convviz/ui/tasks.py``). The Train tab's preview was
drawn with torch on the GUI thread.

torch's profiler records the ops of the thread that started it only: the GUI thread here."""

from torch.profiler import ProfilerActivity, profile


def test_opening_a_model_and_the_train_and_explain_tabs_run_no_torch_op_on_the_gui_thread(window, qtbot, tmp_path):
    from convviz.design import load_template
    from convviz.export import Checkpoint, Preprocessing, save_checkpoint
    from convviz.model import build_model

    design = load_template("default")
    save_checkpoint(Checkpoint(design, build_model(design).state_dict(), Preprocessing([0.5], [0.25])),
                    tmp_path / "model.pt")
    with profile(activities=[ProfilerActivity.CPU]) as recorded:
        assert window.files.open_path(tmp_path / "model.pt") and window.files.settle(60)
        assert window.document.weights is not None
        window.tabs.setCurrentIndex(window.train_tab)
        panel = window.tab_widget(window.train_tab)
        qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
        qtbot.waitUntil(lambda: not panel.tasks.busy, timeout=30000)
        assert panel.preview.image is not None and panel.preview.image.shape[0] > 0  # the preview is in
        panel.form.seed.setValue(panel.form.seed.value() + 1)  # a new augmentation preview
        qtbot.waitUntil(lambda: not panel.tasks.busy, timeout=30000)
        explain = window.show_explain()
        explain.image_input.load_sample("scene_garden")
        assert explain.controller.settle(60)
        for view in ("features", "filters", "field", "window", "cam"):
            explain.show_view(view)
            assert explain.controller.settle(60)
        explain.image_input.sample_from_dataset()
        assert explain.controller.settle(60) and explain.controller.capture is not None
    ops = sorted({event.name for event in recorded.events()})
    assert ops == [], f"torch ran on the GUI thread: {ops}"


def test_a_training_run_shown_live_runs_no_torch_op_on_the_gui_thread(window, qtbot, monkeypatch):
    from convviz.data import load_dataset
    from convviz.ui.train import panel as train_panel

    monkeypatch.setattr(train_panel, "load_dataset_for", lambda spec, shape, val_fraction, seed: load_dataset(
        spec, shape, val_fraction=0.25, seed=seed, synthetic_size=800))
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
    panel.form.epochs.setValue(2)
    with profile(activities=[ProfilerActivity.CPU]) as recorded:
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.run is None, timeout=120000)
        qtbot.waitUntil(lambda: not panel.tasks.busy, timeout=30000)
    assert "Done" in panel.status.text() and panel.confusion.image.image is not None
    ops = sorted({event.name for event in recorded.events()})
    assert ops == [], f"torch ran on the GUI thread: {ops}"


def test_comparing_replaying_and_reopening_runs_run_no_torch_op_on_the_gui_thread(window, qtbot, monkeypatch):
    """After two runs: the comparison of both, the trade-off, the replay scrubbed end to start, the
    gradient flow, and a run opened with its weights."""
    from convviz.data import load_dataset
    from convviz.ui.app import show_train_view
    from convviz.ui.train import panel as train_panel

    monkeypatch.setattr(train_panel, "load_dataset_for", lambda spec, shape, val_fraction, seed: load_dataset(
        spec, shape, val_fraction=0.25, seed=seed, synthetic_size=400))
    window.resize(1600, 1000)
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
    panel.form.epochs.setValue(1)
    for _ in range(2):
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.run is None, timeout=120000)
    qtbot.waitUntil(lambda: not panel.tasks.busy, timeout=30000)
    first, second = panel.runs.runs()[:2]
    with profile(activities=[ProfilerActivity.CPU]) as recorded:
        for run in (first, second):
            window.runs.set_ticked(run.id, True)
        panel.results.update_overlays()
        for view in ("compare", "replay", "gradients"):
            show_train_view(window, view)
            qtbot.wait(20)
        panel.lower_tabs.setCurrentWidget(panel.compare)
        qtbot.wait(20)
        slider = panel.replay.slider
        for value in range(slider.maximum(), -1, -1):
            slider.setValue(value)
        qtbot.wait(20)
        window.document.undo_stack.setClean()
        assert window.files.open_run(first.id) and window.files.settle(60)
        qtbot.waitUntil(lambda: not panel.tasks.busy, timeout=30000)
    assert slider.maximum() > 1 and panel.compare.differences and window.document.weights is not None
    ops = sorted({event.name for event in recorded.events()})
    assert ops == [], f"torch ran on the GUI thread: {ops}"
