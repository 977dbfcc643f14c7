"""The Train tab's data: loaded when the tab needs it, never redrawn for a design that needs the same
images, and for another design only once the tab (or Explain) asks."""

from __future__ import annotations

import pytest

from convviz.design import load_template
from convviz.ui.train import panel as train_panel


@pytest.fixture
def loads(monkeypatch):
    """Every dataset load the panel starts: (shape as requested, native shape loaded)."""
    from convviz.data import load_dataset

    seen = []

    def counted(spec, shape, val_fraction, seed):
        seen.append((tuple(shape), None))  # counted when it starts, not when it ends
        data = load_dataset(spec, shape, val_fraction=val_fraction, seed=seed, synthetic_size=600)
        seen[seen.index((tuple(shape), None))] = (tuple(shape), tuple(data.train.images.shape[1:]))
        return data

    monkeypatch.setattr(train_panel, "load_dataset_for", counted)
    return seen


def shown_panel(window, qtbot):
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    return panel


def test_a_design_opened_while_the_tab_is_hidden_loads_nothing_until_it_is_shown(window, qtbot, loads):
    panel = shown_panel(window, qtbot)
    assert loads == [((1, 32, 32), (1, 32, 32))]
    window.tabs.setCurrentIndex(0)
    window.files.open_design(load_template("resnet18"), None)
    qtbot.wait(600)  # past the panel's reload delay
    assert len(loads) == 1 and panel.dataset is None  # out of date, and nothing read or drawn
    window.tabs.setCurrentIndex(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    assert loads[1:] == [((3, 224, 224), (3, 64, 64))]  # drawn small, fitted to 224×224 per batch
    assert panel.dataset.shape == (3, 224, 224) and "fitted to 3×224×224" in panel.data_info.text()
    assert panel.start_button.isEnabled()


def test_a_design_that_needs_the_same_images_is_not_reloaded(window, qtbot, loads):
    window.files.open_design(load_template("alexnet"), None)
    panel = shown_panel(window, qtbot)
    assert len(loads) == 1
    first = panel.dataset
    window.files.open_design(load_template("vgg11"), None)  # 3×224×224 too
    qtbot.wait(600)
    assert len(loads) == 1 and panel.dataset is not None and panel.dataset.train is first.train
    from convviz.design import InputSpec
    from convviz.ui.commands import SetInputSpecCommand

    window.document.push(SetInputSpecCommand(window.document, InputSpec(3, 192, 192)))
    qtbot.waitUntil(lambda: panel.dataset is not None and panel.dataset.shape == (3, 192, 192), timeout=5000)
    assert len(loads) == 1 and panel.dataset.train is first.train


def test_explain_samples_the_current_designs_data_even_before_the_tab_reloads(window, qtbot, loads):
    shown_panel(window, qtbot)
    window.tabs.setCurrentIndex(0)
    window.files.open_design(load_template("resnet18"), None)
    qtbot.wait(600)
    source = window.document.sample_images
    assert source is not None
    samples = source(2)  # Explain calls it in a worker thread; it loads what it needs there
    assert len(samples) == 2 and samples[0][0].shape == (224, 224, 3)


def test_a_run_waiting_for_data_loads_it_while_the_tab_is_hidden(window, qtbot, loads):
    panel = shown_panel(window, qtbot)
    window.tabs.setCurrentIndex(0)
    window.files.open_design(load_template("resnet18"), None)
    panel.reload_dataset(needed=True)  # what a run started from elsewhere asks for
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=30000)
    assert window.tabs.currentIndex() == 0 and panel.dataset.shape == (3, 224, 224)
    assert [shape for shape, _ in loads] == [(1, 32, 32), (3, 224, 224)]


def test_the_preview_grid_is_bytes_shown_as_they_are(qtbot):
    """uint8 RGBA with transparent gaps (a float grid cost three float copies each time it was drawn)."""
    import numpy as np
    import pyqtgraph as pg

    from convviz.ui.train.panel import image_grid

    rgb = np.random.default_rng(0).integers(0, 256, (2, 3, 5, 4), dtype=np.uint8)
    grey = np.random.default_rng(1).integers(0, 256, (2, 1, 5, 4), dtype=np.uint8)
    grid = image_grid([rgb, rgb], blank_rows=(1,))
    assert grid.dtype == np.uint8 and grid.shape == (2 * 5 + 2, 2 * 4 + 2, 4)
    assert np.array_equal(grid[:5, 6:10, :3], rgb[1].transpose(1, 2, 0)) and (grid[:5, :4, 3] == 255).all()
    assert (grid[5:7, :, 3] == 0).all() and (grid[:, 4:6, 3] == 0).all() and (grid[7:, :, 3] == 0).all()
    assert np.array_equal(image_grid([grey])[:, :4, 0], grey[0, 0]) and np.array_equal(
        image_grid([grey])[:, :4, 2], grey[0, 0])
    item = pg.ImageItem()
    item.setImage(grid, autoLevels=False)
    item.render()
    shown = item.qimage.pixelColor(1, 2)  # (x, y): row 2, column 1 of the first image
    assert (shown.red(), shown.green(), shown.blue(), shown.alpha()) == (*rgb[0, :, 2, 1].tolist(), 255)
