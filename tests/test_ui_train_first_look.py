"""The Train tab shows the built-in data before torch has loaded: the first look from the disk cache
(numpy alone) is what the dataset shows once torch is in, and Train pressed meanwhile waits for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from convviz.data import first_look, load_dataset
from convviz.data.shapes_cache import SYNTHETIC_SIZE
from convviz.train import DataSpec
from convviz.ui import import_gate
from convviz.ui.train import panel as train_panel


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 100, 80), (1, 224, 224)])
def test_the_first_look_is_what_the_loaded_dataset_shows(shape):
    spec = DataSpec("synthetic")
    assert first_look(spec, shape, 0.2, 7, 8, synthetic_size=510) is None  # nothing cached for this seed yet
    drawn = first_look(spec, shape, 0.2, 7, 8, sample_seed=1, synthetic_size=510, draw=True)  # the first launch's
    data = load_dataset(spec, shape, val_fraction=0.2, seed=7, synthetic_size=510)
    look = first_look(spec, shape, 0.2, 7, 8, sample_seed=1, synthetic_size=510)
    images, names = data.samples(8, seed=1)
    # The first launch's look, its few images drawn alone, is the cached set's.
    np.testing.assert_array_equal(drawn.samples, look.samples)
    assert (drawn.sample_classes, drawn.train_count, drawn.val_count) == (look.sample_classes, look.train_count,
                                                                          look.val_count)
    assert (look.train_count, look.val_count) == (len(data.train), len(data.val)) == (408, 102)
    assert look.classes == tuple(data.classes) and look.shape == data.shape == shape
    assert look.sample_classes == tuple(names)
    assert look.samples.shape == images.shape == (8, *shape)
    # The same images, fitted to the design by numpy's bilinear resize instead of torch's: within one level.
    assert np.abs(look.samples.astype(int) - images.astype(int)).max() <= 1


def test_other_sources_have_no_first_look(tmp_path):
    assert first_look(DataSpec("folder", str(tmp_path)), (3, 32, 32), 0.1, 0, 8) is None


CHILD = """
import json, os, sys, time
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'torch':
            raise ImportError('blocked by the test: ' + name)
sys.meta_path.insert(0, Blocker())
from PySide6.QtWidgets import QApplication
app = QApplication([])
from pathlib import Path
from convviz.ui.main_window import MainWindow
{loading}
window = MainWindow(recovery_dir=Path({recovery!r}))
window.show()
window.tabs.setCurrentIndex(window.train_tab)
panel = window.tab_widget(window.train_tab)
deadline = time.monotonic() + 60
while not panel.data_shown and time.monotonic() < deadline:   # drawn in a worker when nothing is cached
    app.processEvents()
    time.sleep(0.01)
image = panel.preview.image
print("RESULT " + json.dumps({{
    "shown": panel.data_shown, "info": panel.data_info.text(), "status": panel.status.text(),
    "image": None if image is None else list(image.shape), "enabled": panel.start_button.isEnabled(),
    "classes": window.document.data_classes, "torch": "torch" in sys.modules}}), flush=True)
os._exit(0)   # the data loader's worker has failed to import torch by now, or is about to
"""


def test_the_train_tab_shows_the_cached_shapes_without_torch(tmp_path):
    design_input = (1, 32, 32)  # the default design's
    load_dataset(DataSpec("synthetic"), design_input, val_fraction=0.1, seed=0)  # an earlier launch cached it
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               CONVVIZ_RUNS=str(tmp_path / "runs"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD.format(recovery=str(tmp_path / "recovery"), loading="")],
                          capture_output=True, text=True, timeout=180, env=env)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    train, val = SYNTHETIC_SIZE - SYNTHETIC_SIZE // 10, SYNTHETIC_SIZE // 10   # the default share: 0.1
    assert result["shown"] and not result["torch"]
    assert f"{train:,} training and {val:,} validation images" in result["info"]
    assert "fitted to 1×32×32" in result["info"] and "vertical bar" in result["info"]
    assert result["image"] is not None and result["image"][1] == 8 * 32 + 7 * 2   # eight samples in a row
    assert result["classes"][:2] == ["vertical bar", "horizontal bar"]
    assert result["enabled"] and "PyTorch is loading" in result["status"]


def test_on_the_first_launch_the_shapes_are_drawn_and_shown_without_torch(tmp_path):
    """Nothing cached yet: the loading worker draws the sample images with numpy and shows the first look
    before it imports torch (was: nothing shown until torch had loaded and drawn the whole set)."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               CONVVIZ_RUNS=str(tmp_path / "runs"), CONVVIZ_CACHE_DIR=str(tmp_path / "cache"),
               QT_QPA_PLATFORM="offscreen")
    # torch is blocked, and the dataset "still loading" (as torch would be) once the first look is drawn.
    loading = "import convviz.ui.train.panel as train_panel; train_panel.load_dataset_for = lambda *a: time.sleep(600)"
    done = subprocess.run([sys.executable, "-c", CHILD.format(recovery=str(tmp_path / "recovery"), loading=loading)],
                          capture_output=True, text=True, timeout=180, env=env)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-3000:]
    result = json.loads(line[len("RESULT "):])
    assert result["shown"] and not result["torch"], (result, done.stderr[-3000:])
    assert result["image"] is not None and result["image"][1] == 8 * 32 + 7 * 2


def test_train_pressed_before_the_dataset_is_in_starts_once_it_is(window, qtbot, monkeypatch):
    load_dataset(DataSpec("synthetic"), (1, 32, 32), val_fraction=0.1, seed=0)   # cached: the first look
    arrived = threading.Event()

    def slow(spec, shape, val_fraction, seed):
        arrived.wait(30)   # torch still loading
        return load_dataset(spec, shape, val_fraction=val_fraction, seed=seed, synthetic_size=200)

    monkeypatch.setattr(train_panel, "load_dataset_for", slow)
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    panel.form.epochs.setValue(1)
    qtbot.waitUntil(lambda: panel.first_look is not None)
    assert panel.dataset is None and panel.start_button.isEnabled()
    panel.start_button.click()
    assert panel.run is None and not panel.start_button.isEnabled()   # waiting, not started twice
    arrived.set()
    qtbot.waitUntil(lambda: panel.run is not None, timeout=30000)
    assert len(panel.dataset.train) == 180   # the run trains on the dataset, not on the first look
    panel.stop()
    qtbot.waitUntil(lambda: panel.run is None, timeout=60000)


def test_background_imports_of_torch_wait_while_the_gui_holds_the_gate():
    name = "torch.convviz_test_module_that_does_not_exist"
    finished = threading.Event()

    def background() -> None:
        try:
            __import__(name)
        except ImportError:
            pass
        finished.set()

    token = import_gate.hold()
    try:
        thread = threading.Thread(target=background, daemon=True)
        thread.start()
        import colorsys  # noqa: F401  (the GUI thread's own imports go on)
        assert not finished.wait(0.3)
    finally:
        import_gate.GATE.release(token)
    assert finished.wait(5)
    started = time.monotonic()
    import_gate.hold()  # a hold nobody releases ends by itself
    thread = threading.Thread(target=background, daemon=True)
    finished.clear()
    thread.start()
    assert finished.wait(import_gate.HOLD_LIMIT_S + 5) and time.monotonic() - started < import_gate.HOLD_LIMIT_S + 5
    token = import_gate.hold()   # and a new hold is released as usual
    import_gate.GATE.release(token)
    assert not import_gate.GATE.held
