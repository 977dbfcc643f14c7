"""The Explain tab, driven through its real widgets: images in, views equal to the core's arrays,
clicks that pick the right channel and unit, weights labels, responsiveness."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog

from convviz.design import InputSpec, load_template, save_design
from convviz.explain import effective_field, feature_mosaic, filter_mosaic, grad_cam, occlusion_map, unit_field
from convviz.explain.colormaps import rgba
from convviz.ui.commands import RenameNodeCommand, SetInputSpecCommand, SetParamCommand
from convviz.ui.explain.controller import ExplainController
from convviz.ui.explain import features_view as features_module
from convviz.ui.explain.features_view import SCALES
from convviz.ui.explain.plots import shown_map


@pytest.fixture
def explain(window):
    """The Explain tab of the default design ("Shapes CNN", 1×32×32), shown."""
    panel = window.show_explain()
    assert settle(panel)
    return panel


def settle(panel, timeout: float = 60) -> bool:
    return panel.controller.settle(timeout)


def loaded(panel, sample: str = "shape_plus"):
    panel.image_input.load_sample(sample)
    assert settle(panel)
    assert panel.controller.capture is not None, panel.image_input.message.text()
    return panel.controller.capture


def click(grid, cell: int, row: int, col: int) -> None:
    """A real left click on pixel (row, col) of one map of a pyqtgraph grid."""
    from PySide6.QtTest import QTest

    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     grid.viewport_point(cell, row, col))
    QApplication.processEvents()


def write_png(path, size=(64, 48), colour=(200, 40, 40)):
    Image.new("RGB", size, colour).save(path)
    return path


def drop(widget, path) -> bool:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(widget, QDropEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))
    return True


def map_values(item):
    """(values, levels, colour map) of the map an ImageItem shows, after checking that its pixels are
    those values through that colour map."""
    shown = shown_map(item)
    assert shown is not None, "the item shows no map"
    values, levels, cmap = shown
    np.testing.assert_array_equal(item.image, rgba(values, levels, cmap))
    return shown


# --- images in -----------------------------------------------------------------------------------

def test_the_tab_is_built_on_first_view(window):
    assert window.explain_panel is None
    window.tabs.setCurrentIndex(window.explain_tab)
    assert window.explain_panel is not None and window.tab_widget(window.explain_tab) is window.explain_panel
    assert window.tabs.currentWidget().content is window.explain_panel  # behind its layout barrier
    assert not window.palette_dock.isVisible()  # the designer's palette gives the views its room
    window.tabs.setCurrentIndex(0)
    assert window.palette_dock.isVisible()


def test_load_an_image_by_path_shows_what_the_model_gets(explain, tmp_path):
    path = write_png(tmp_path / "red.png")
    explain.load_image(path)
    assert settle(explain)
    capture = explain.controller.capture
    assert capture.name == "red.png" and capture.image.tensor.shape == (1, 1, 32, 32)
    caption = explain.image_input.caption.text()
    for words in ("source 64×48 RGB", "centre-cropped to 48×48", "resized to 32×32", "converted to grey"):
        assert words in caption
    assert not explain.image_input.preview.pixmap().isNull()


def test_drop_an_image_anywhere_on_the_window(explain, window, tmp_path):
    path = write_png(tmp_path / "dropped.png")
    assert drop(explain.views["features"].mosaic_plot.viewport(), path)  # propagates up to the window
    assert settle(explain)
    assert explain.controller.capture.name == "dropped.png"


def test_drops_on_the_design_tab_open_designs_not_images(window, tmp_path, qtbot):
    image = write_png(tmp_path / "x.png")
    assert not drop(window.view.viewport(), image)  # the Explain tab is not shown
    design_path = tmp_path / "lenet.json"
    save_design(load_template("lenet5"), design_path)
    assert drop(window.view.viewport(), design_path)
    # Opened just after the drop ends (never inside it).
    qtbot.waitUntil(lambda: window.document.design.name == load_template("lenet5").name, timeout=5000)


def test_paste_an_image_with_ctrl_v_in_the_tab(explain, window, qtbot):
    from PySide6.QtTest import QTest

    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[5:15, 10:20] = 255
    QGuiApplication.clipboard().setImage(QImage(pixels.data, 30, 20, 90, QImage.Format.Format_RGB888).copy())
    nodes_before = len(window.document.design)
    target = explain.views["features"].scale
    target.setFocus()
    QTest.keyClick(target, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert settle(explain)
    capture = explain.controller.capture
    assert capture is not None and capture.name == "the pasted image"
    assert capture.image.source_size == (30, 20)
    assert len(window.document.design) == nodes_before  # the canvas's paste did not fire


def test_pick_a_bundled_sample_from_the_list(explain):
    from PySide6.QtTest import QTest

    samples = explain.image_input.samples
    item = next(samples.item(i) for i in range(samples.count())
                if samples.item(i).data(Qt.ItemDataRole.UserRole) == "shape_disk")
    samples.scrollToItem(item)
    QTest.mouseClick(samples.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     samples.visualItemRect(item).center())
    assert settle(explain)
    assert explain.controller.capture.name == "shape_disk"


def test_a_sample_from_the_training_data(explain, window):
    button = explain.image_input.dataset_button
    assert not button.isEnabled()
    picture = np.full((28, 28), 200, np.uint8)
    window.document.sample_images = lambda n: [(picture, "seven")][:n]
    assert button.isEnabled()
    button.click()
    assert settle(explain)
    assert explain.controller.capture.name == "a dataset image (class seven)"


def test_a_bad_image_file_is_a_message_not_an_exception(explain, tmp_path):
    capture = loaded(explain)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a picture")
    explain.load_image(bad)
    assert settle(explain)
    message = explain.image_input.message
    assert message.is_problem and "broken.png" in message.text() and "not an image" in message.text()
    assert explain.controller.capture is capture  # the views keep the last good image
    assert explain.controller.current_capture is capture  # a file that could not be read leaves it current
    assert explain.views["features"].is_current(explain.views["features"].result)



def test_loading_is_said_only_of_an_image_that_takes_a_while(explain, qtbot, monkeypatch):
    """A quick capture shows no "Loading …" (a flicker, whose paint slowed the capture); a slow one does,
    and the note goes when the image is there."""
    from convviz.ui.explain import controller as controller_module

    notes: list[str] = []
    message = explain.image_input.message
    original_note = message.note
    monkeypatch.setattr(message, "note", lambda text: (notes.append(text), original_note(text)))
    loaded(explain, "shape_disk")
    qtbot.wait(400)  # past the delay: nothing may be said late either
    assert not any(text.startswith("Loading") for text in notes) and message.text() == ""

    capture_image = controller_module.capture_image

    def slow(*args):
        time.sleep(0.8)
        return capture_image(*args)

    monkeypatch.setattr(controller_module, "capture_image", slow)
    explain.image_input.load_sample("shape_plus")
    qtbot.waitUntil(lambda: message.text() == "Loading shape_plus…", timeout=5000)
    assert settle(explain) and explain.controller.capture.name == "shape_plus"
    assert message.text() == ""


# --- feature maps --------------------------------------------------------------------------------

def test_mosaic_on_screen_is_the_cores_mosaic_of_the_selected_node(explain, window):
    capture = loaded(explain)
    window.editing.select_node("conv2")  # the canvas selection drives the views
    assert settle(explain)
    view = explain.views["features"]
    assert view.nodes.current == "conv2"
    for scale, cmap in (("per channel", "viridis"), ("shared", "inferno")):
        view.scale.setCurrentText(scale)
        view.cmap.setCurrentText(cmap)
        assert settle(explain)
        expected = feature_mosaic(capture.activations["conv2"], scale=SCALES[scale])
        values, levels, shown_cmap = map_values(view.mosaic_plot.image)
        np.testing.assert_array_equal(values, expected.image)  # NaN gaps (drawn see-through) included
        assert tuple(levels) == pytest.approx(expected.levels) and shown_cmap == cmap


def test_clicking_a_mosaic_pixel_picks_that_channel_and_unit(explain, window):
    capture = loaded(explain)
    window.editing.select_node("relu2")
    assert settle(explain)
    view = explain.views["features"]
    mosaic = view.result.mosaic
    top, left = mosaic.origin(5)
    click(view.mosaic_plot, 0, top + 3, left + 4)
    assert settle(explain)
    assert explain.controller.channel == 5 and explain.controller.unit == (3, 4)
    np.testing.assert_array_equal(map_values(view.channel_plot.image)[0], capture.activations["relu2"][5])
    stats = view.result.stats
    assert f"max {stats.max[5]:.4g}" in view.stats_label.text()
    assert view.table.currentIndex().row() == 5 or view.table.selectionModel().isRowSelected(5)
    assert view.strip is not None and view.strip.channel == 5
    # the strip shows channel 5 of every map that has one; clicking a tile there shows that layer
    index = view.strip.node_ids.index("conv3")
    top, left = view.strip.mosaic.origin(index)
    click(view.strip_plot, 0, top + 2, left + 2)
    assert settle(explain)
    assert view.nodes.current == "conv3" and window.scene.selected_node_ids() == ["conv3"]


def test_strip_labels_name_each_tile_and_are_kept_while_the_tiles_stay(explain, window):
    loaded(explain)
    view = explain.views["features"]
    explain.controller.select(channel=1)
    assert settle(explain) and view.strip is not None and view.strip.channel == 1
    labels = list(view.strip_labels)
    assert [label.textItem.toPlainText() for label in labels] == view.strip.node_ids
    assert [(label.pos().y(), label.pos().x()) for label in labels] == \
        [view.strip.mosaic.origin(i) for i in range(len(labels))]
    explain.controller.select(channel=2)
    assert settle(explain) and view.strip.channel == 2
    assert view.strip_labels == labels  # same tiles: the same items, not 70 new ones
    window.editing.select_node("relu2")
    explain.controller.select(channel=10)  # a channel fewer layers have: other tiles, new labels
    assert settle(explain) and view.strip.channel == 10
    assert [label.textItem.toPlainText() for label in view.strip_labels] == view.strip.node_ids
    assert all(label.scene() is None for label in labels if label not in view.strip_labels)


# --- filters -------------------------------------------------------------------------------------

def test_filters_follow_new_weights(explain, window):
    loaded(explain)
    view = explain.show_view("filters")
    assert settle(explain)
    assert view.nodes.current == "conv1"
    first = map_values(view.plot.image)[0].copy()
    state = {k: v.clone() for k, v in explain.controller.network.model.state_dict().items()}
    state["conv1.weight"] = torch.linspace(-1, 1, state["conv1.weight"].numel()).reshape(state["conv1.weight"].shape)
    window.document.set_weights(state)  # what the training panel does after an epoch
    assert settle(explain)
    module = explain.controller.network.model.get_submodule("conv1")
    expected = filter_mosaic(module).mosaic
    np.testing.assert_array_equal(map_values(view.plot.image)[0], expected.image)
    assert not np.array_equal(first, expected.image, equal_nan=True)


# --- receptive field -----------------------------------------------------------------------------

def field_of_clicked_unit(explain, window, node_id: str, row: int, col: int):
    """Load a sample, select ``node_id`` and click its unit (row, col) in the field view."""
    capture = loaded(explain)
    window.editing.select_node(node_id)
    view = explain.show_view("field")
    assert settle(explain)
    click(view.grid, 0, row, col)
    assert settle(explain)
    return capture, view


def test_receptive_field_rectangle_is_unit_fields_box(explain, window):
    capture, view = field_of_clicked_unit(explain, window, "relu2", 5, 7)
    expected = unit_field(capture.network, "relu2", 5, 7, 0)
    box = expected.input_box
    assert view.input_marks.whole.rect() == view.input_marks.whole.rect().__class__(box.left, box.top, box.width,
                                                                                      box.height)
    for node_id, marks in view.upstream_marks.items():
        b = expected.boxes[node_id]
        assert (marks.whole.rect().left(), marks.whole.rect().top(), marks.whole.rect().width()) == \
            (b.left, b.top, b.width)
    heat = effective_field(capture.network, capture.image, "relu2", 5, 7, 0)
    np.testing.assert_allclose(map_values(view.effective_cell.image)[0], heat)
    assert f"{box.height}×{box.width}" in view.numbers.text()


def test_a_field_reaching_into_the_padding_is_drawn_outside_the_image(explain, window):
    capture, view = field_of_clicked_unit(explain, window, "conv3", 0, 0)
    box = unit_field(capture.network, "conv3", 0, 0, 0).input_box
    assert box.top < 0 and box.left < 0
    whole, inside = view.input_marks.whole.rect(), view.input_marks.inside.rect()
    assert (whole.left(), whole.top()) == (box.left, box.top)
    assert (inside.left(), inside.top(), inside.right(), inside.bottom()) == (0, 0, box.right + 1, box.bottom + 1)
    assert view.input_marks.whole.pen().style() == Qt.PenStyle.DashLine
    assert "padding" in view.numbers.text()


# --- sliding window ------------------------------------------------------------------------------

def test_the_window_shows_the_layers_real_output(explain, window):
    capture = loaded(explain)
    window.editing.select_node("conv2")
    view = explain.show_view("window")
    assert settle(explain)
    view.out_channel.setValue(3)
    assert settle(explain)
    for _ in range(37):
        view.step_button.click()
    frame = view.canvas.frame
    assert frame.index == 37 and frame.out_channel == 3
    y, x = frame.out_pos
    layer_output = float(capture.activations["conv2"][3, y, x])
    view.canvas.repaint()
    from convviz.ui.explain.window_painter import fmt

    assert frame.output == layer_output and frame.value == pytest.approx(layer_output, rel=1e-5, abs=1e-6)
    assert view.painter.written == fmt(layer_output, view.painter._digits)
    view.scrub.setValue(0)
    assert view.canvas.frame.index == 0 and bool(view.canvas.frame.in_padding.any())  # the corner reads padding


def test_a_max_pool_window_writes_the_maximum(explain, window):
    capture = loaded(explain, "shape_cross")
    window.editing.select_node("pool1")
    view = explain.show_view("window")
    assert settle(explain)
    view.showcase()
    frame = view.canvas.frame
    y, x = frame.out_pos
    assert frame.value == frame.output == float(capture.activations["pool1"][0, y, x])
    assert frame.argmax is not None


def test_play_and_export_a_gif(explain, window, tmp_path, monkeypatch, qtbot):
    loaded(explain)
    window.editing.select_node("conv1")
    view = explain.show_view("window")
    assert settle(explain)
    view.speed.setCurrentIndex(view.speed.count() - 1)
    view.play_button.setChecked(True)
    qtbot.waitUntil(lambda: view.scrub.value() >= 3, timeout=3000)
    view.play_button.setChecked(False)
    start = len(view.result.animation) - 6
    view.scrub.setValue(start)
    target = tmp_path / "slide.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "GIF (*.gif)"))
    view.export_animation(gif=True)
    assert settle(explain)
    from convviz.ui.explain.window_view import EXPORT_FRAMES

    with Image.open(target) as gif:
        assert gif.n_frames == 6 < EXPORT_FRAMES
        assert gif.size == (view.canvas.width(), view.canvas.height())
    view.scrub.setValue(len(view.result.animation) - 2)
    folder = tmp_path / "frames"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    view.export_animation(gif=False)
    assert settle(explain)
    assert sorted(f.name for f in folder.iterdir()) == ["conv1_window_0000.png", "conv1_window_0001.png"]


# --- class activation maps -----------------------------------------------------------------------

def test_grad_cam_overlays_probabilities_and_opacity(explain):
    capture = loaded(explain)
    view = explain.show_view("cam")
    assert settle(explain)
    expected = grad_cam(capture.network, capture.image, top_k=3)
    assert [c.title.text for c in view.cams.cells] == [f"{i + 1}. {p.name} — {p.probability:.1%}"
                                                      for i, p in enumerate(expected.predictions)]
    for item, heat in zip(view.heat_items, expected.maps):
        np.testing.assert_allclose(map_values(item)[0], heat, atol=1e-6)
    widths = view.bar_item.opts["width"]
    np.testing.assert_allclose(widths[:3], [100 * p.probability for p in expected.predictions], rtol=1e-5)
    view.opacity.setValue(20)
    assert all(item.opacity() == pytest.approx(0.2) for item in view.heat_items)
    view.top_k.setValue(1)
    assert settle(explain)
    assert len(view.cams.cells) == 1 and view.heat_items[0].opacity() == pytest.approx(0.2)


def test_occlusion_runs_on_demand(explain):
    capture = loaded(explain)
    view = explain.show_view("cam")
    assert settle(explain)
    view.patch.setValue(8)
    view.stride.setValue(8)
    view.occlude_button.click()
    assert settle(explain)
    expected = occlusion_map(capture.network, capture.image, patch=8, stride=8)
    np.testing.assert_allclose(map_values(view.occlusion_heat)[0], expected.heatmap, atol=1e-6)
    assert view.progress.value() == view.progress.maximum() == 16


def test_occlusion_can_be_cancelled(explain, window, qtbot):
    window.document.push(SetInputSpecCommand(window.document, InputSpec(1, 160, 160)))  # 25,600 positions to try
    loaded(explain)
    view = explain.show_view("cam")
    assert settle(explain)
    view.patch.setValue(1)
    view.stride.setValue(1)
    view.occlude_button.click()
    qtbot.waitUntil(lambda: view.progress.value() > 0, timeout=10000)
    assert view.cancel_button.isEnabled()
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.occlude_button.isEnabled(), timeout=10000)
    assert view.occlusion is None and view.occlusion_message.text() == "Occlusion stopped."
    assert view.progress.value() < view.progress.maximum()


# --- the network behind the views ----------------------------------------------------------------

def test_weights_label_tracks_training_and_edits(explain, window):
    label = explain.weights_label
    assert "random initial weights" in label.text()
    state = {k: v.clone() for k, v in explain.controller.network.model.state_dict().items()}
    window.document.set_weights(state)
    assert settle(explain)
    assert "trained weights" in label.text() and "except" not in label.text()
    window.document.push(SetParamCommand(window.document, "conv2", "out_channels", 24))
    assert explain.controller.busy  # debounced: the rebuild waits for the edits to pause
    assert settle(explain)
    assert "trained weights — except conv2, bn2, conv3 (changed since training)" in label.text()
    kept = explain.controller.network.model.get_submodule("conv1").weight
    assert torch.equal(kept, state["conv1.weight"])


def test_a_new_images_mosaic_is_made_in_its_captures_job(explain, window, monkeypatch):
    """The shown view's first picture of a new image comes with the capture: no second job."""
    loaded(explain)
    view = explain.show_view("features")
    assert settle(explain)
    view.cmap.setCurrentText("inferno")
    jobs = []
    monkeypatch.setattr(explain.controller, "run", lambda fn, *args, **kwargs: (
        jobs.append(fn.__name__), ExplainController.run(explain.controller, fn, *args, **kwargs))[1])
    capture = loaded(explain, "scene_garden")
    assert "make_feature_maps" not in jobs and "capture_image" in jobs
    assert view.result is capture.prepared["features"] and view.result.node_id == "conv1"
    values, levels, cmap = map_values(view.mosaic_plot.image)
    assert cmap == "inferno" and view.result.cmap == "inferno"
    np.testing.assert_array_equal(values, feature_mosaic(capture.activations["conv1"]).image)
    explain.show_view("filters")  # not shown: nothing is made for it in the next capture
    assert settle(explain)
    assert "features" not in loaded(explain, "shape_plus").prepared


def test_the_input_preview_is_made_in_the_captures_job(explain, monkeypatch):
    """The picture of what the model sees comes with the capture: the GUI thread only shows it."""
    from convviz.ui.explain import image_input

    threads = []
    made = image_input.array_to_qimage
    monkeypatch.setattr(image_input, "array_to_qimage",
                        lambda display: (threads.append(threading.get_ident()), made(display))[1])
    capture = loaded(explain, "scene_garden")
    assert threads and threading.main_thread().ident not in threads
    assert capture.prepared["preview"].size().toTuple() == capture.image.display.shape[1::-1]
    assert not explain.image_input.preview.pixmap().isNull()


def test_an_edit_redraws_on_the_new_model_only(explain, window, monkeypatch):
    loaded(explain)
    window.editing.select_node("conv2")
    assert settle(explain)
    view = explain.views["features"]
    drawn = []
    made = features_module.make_feature_maps  # in the view's own job or in the capture's (a follow-up)
    monkeypatch.setattr(features_module, "make_feature_maps",
                        lambda capture, *args, **kwargs: (drawn.append(capture), made(capture, *args, **kwargs))[1])
    window.document.push(RenameNodeCommand(window.document, "conv3", "conv_last"))
    window.document.push(SetParamCommand(window.document, "conv2", "out_channels", 24))
    assert settle(explain)
    capture = explain.controller.capture
    assert "conv_last" in capture.activations and capture.network is explain.controller.network
    assert view.result.activations is capture.activations and view.result.mosaic.count == 24
    assert [d is capture for d in drawn] == [True]  # once, on the new model's activations only
    assert not view.message.is_problem, view.message.text()


def test_random_weights_stay_put_across_edits(explain, window):
    before = explain.controller.network.model.get_submodule("conv1").weight.clone()
    window.document.push(SetParamCommand(window.document, "conv3", "out_channels", 40))
    assert settle(explain)
    network = explain.controller.network
    assert torch.equal(network.model.get_submodule("conv1").weight, before)
    assert network.analysis.nodes["conv3"].output_shape[0] == 40


def test_a_design_with_errors_shows_its_first_error(explain, window):
    loaded(explain)
    window.document.push(SetParamCommand(window.document, "conv1", "kernel_size", 40))  # larger than the padded input
    assert settle(explain)
    assert explain.stack.currentWidget() is explain.problem
    assert window.document.analysis.first_error() in explain.problem.text()
    window.document.undo_stack.undo()
    assert settle(explain)
    assert explain.stack.currentWidget() is explain.tabs and explain.controller.capture is not None


def test_plots_follow_the_palette(explain):
    plot = explain.views["features"].mosaic_plot
    dark = QPalette(explain.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e0e0e0"))
    explain.setPalette(dark)
    QApplication.processEvents()
    assert plot.backgroundBrush().color() == QColor("#1e1e1e")


def test_export_the_view_as_png(explain, tmp_path, monkeypatch):
    loaded(explain)
    target = tmp_path / "features"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG (*.png)"))
    explain.export_view()
    written = tmp_path / "features.png"
    image = QImage(str(written))
    view = explain.views["features"]
    assert not image.isNull() and (image.width(), image.height()) == (view.width(), view.height())
    assert "Saved" in view.message.text()


def test_the_window_stays_responsive_while_resnet18_runs(window, qtbot, monkeypatch):
    """Behaviour, not a duration (timing is bench/explain_latency.py's): building resnet18 and
    capturing every activation of an image run off the GUI thread, and while each runs the GUI
    thread's event loop keeps turning. Each piece of work waits, in its worker, until a 10 ms probe
    timer on the GUI thread has ticked three more times: were it run on the GUI thread, no tick could
    come, the wait would give up and the test fails."""
    import threading

    from convviz.ui.explain import controller as module

    ticks = [0]
    seen: dict[str, tuple[bool, bool]] = {}

    def observed(name, work):
        def run(*args, **kwargs):
            start = ticks[0]
            deadline = time.monotonic() + 30
            while ticks[0] < start + 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            result = work(*args, **kwargs)
            seen[name] = (threading.current_thread() is not threading.main_thread(), ticks[0] >= start + 3)
            return result
        return run

    monkeypatch.setattr(module, "build_network", observed("build", module.build_network))
    monkeypatch.setattr(module, "capture_image", observed("capture", module.capture_image))
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    probe.start()
    panel = window.show_explain()
    window.files.open_design(load_template("resnet18"), None)
    panel.image_input.load_sample("scene_garden")
    assert settle(panel, 120)
    probe.stop()
    capture = panel.controller.capture
    assert capture is not None and len(capture.activations) == len(capture.network.analysis.order)
    assert panel.views["features"].result.node_id == "conv1"
    assert seen == {"build": (True, True), "capture": (True, True)}  # off the GUI thread, the loop turning


# --- nothing stale -------------------------------------------------------------------------------

def visit_every_view(panel):
    for name in VIEW_NAMES:
        panel.show_view(name)
        assert settle(panel)


VIEW_NAMES = ("features", "filters", "field", "window", "cam")


def assert_only_current_results(panel):
    for name in VIEW_NAMES:
        view = panel.views[name]
        assert view.result is None or view.is_current(view.result), name
        assert view.shown_key is None or view.is_current(view.shown_key), name
    cam = panel.views["cam"]
    assert cam.occlusion is None or cam.is_current(cam.occlusion)


def test_a_template_opened_after_occlusion_shows_nothing_of_the_old_design(explain, window):
    """Occlusion on the default design, then a template, then an image: the class activation tab
    showed the old map and "square (94.0 %)" (the old design's class) until asked again."""
    loaded(explain)
    view = explain.show_view("cam")
    assert settle(explain)
    view.occlude_button.click()
    assert settle(explain) and view.occlusion is not None
    old_classes = set(window.document.design.classes)
    window.files.open_template("lenet5")
    explain.image_input.load_sample("shape_disk")
    assert settle(explain)
    assert view.occlusion is None and view.occlusion_heat.image is None and view.occlusion_plot.image.image is None
    assert not any(name in view.occlusion_message.text() for name in old_classes)
    assert "No occlusion map" in view.occlusion_message.text()
    assert_only_current_results(explain)
    shown = [cell.title.text for cell in view.cams.cells]
    assert shown and all(title.split(". ", 1)[1].split(" — ")[0] in window.document.design.classes for title in shown)


@pytest.mark.parametrize("change", ["image", "weights", "edit", "template", "error"])
def test_every_view_shows_only_results_of_the_current_design_weights_and_image(explain, window, change):
    loaded(explain)
    visit_every_view(explain)
    explain.views["cam"].occlude_button.click()
    assert settle(explain)
    before = explain.controller.key
    if change == "image":
        explain.image_input.load_sample("shape_disk")
    elif change == "weights":
        window.document.set_weights({k: v.clone() for k, v in explain.controller.network.model.state_dict().items()})
    elif change == "edit":
        window.document.push(SetParamCommand(window.document, "conv1", "out_channels", 12))
    elif change == "template":
        window.files.open_template("lenet5")
    else:
        window.document.push(SetParamCommand(window.document, "conv1", "kernel_size", 40))
    assert settle(explain)
    assert explain.controller.key != before
    assert_only_current_results(explain)  # the tab shown, and every tab not yet shown again
    visit_every_view(explain)
    assert_only_current_results(explain)
    if change != "error":
        assert all(explain.views[n].result is not None for n in VIEW_NAMES)


def test_an_out_of_date_picture_says_so_and_ignores_clicks(explain, window):
    loaded(explain)
    window.editing.select_node("relu2")
    assert settle(explain)
    view = explain.views["features"]
    top, left = view.result.mosaic.origin(5)
    window.document.push(SetParamCommand(window.document, "conv3", "out_channels", 40))  # the rebuild waits 150 ms
    assert "Updating for the edited design" in view.message.text()
    click(view.mosaic_plot, 0, top + 3, left + 4)
    assert explain.controller.channel != 5  # the old picture is not a channel chooser any more
    assert settle(explain)
    assert view.is_current(view.result) and "Updating" not in view.message.text()


# --- every view explains itself ------------------------------------------------------------------

def test_every_heatmap_has_a_colour_bar_with_its_values(explain, window):
    capture = loaded(explain)
    window.editing.select_node("conv2")
    assert settle(explain)
    features = explain.views["features"]
    features.scale.setCurrentText("shared")
    assert settle(explain)
    assert features.mosaic_plot.cell.scale_levels == pytest.approx(features.result.mosaic.levels)
    plane = capture.activations["conv2"][explain.controller.channel]
    assert features.channel_plot.cell.scale_levels == pytest.approx((plane.min(), plane.max()))
    features.scale.setCurrentText("per channel")
    assert settle(explain)
    assert [t for _, t in features.mosaic_plot.cell.bar.axis._tickLevels[0]] == ["min", "max"]
    filters = explain.show_view("filters")
    assert settle(explain)
    assert filters.plot.cell.scale_levels == (0.0, 1.0)
    assert [t for _, t in filters.plot.cell.bar.axis._tickLevels[0]] == ["−max|w|", "0", "+max|w|"]
    field = explain.show_view("field")
    assert settle(explain)
    assert field.effective_cell.scale_levels == pytest.approx((0.0, field.result.peak))
    assert field.unit_cell.scale_levels is not None
    cam = explain.show_view("cam")
    assert settle(explain)
    assert cam.cams.shared_bar is not None and cam.cams.shared_bar.isVisible()
    cam.occlude_button.click()
    assert settle(explain)
    low, high = cam.occlusion.map.levels
    assert cam.occlusion_plot.cell.scale_levels == pytest.approx((100 * low, 100 * high))


def test_the_grad_cam_panels_share_one_size(explain, qtbot):
    loaded(explain)
    view = explain.show_view("cam")
    explain.resize(1400, 900)
    assert settle(explain)

    def sizes():
        return {(round(c.box.width()), round(c.box.height())) for c in view.cams.cells}

    # The grid lays out in the event loop's next turns (later ones on a busy machine): wait for it to settle.
    qtbot.waitUntil(lambda: len(sizes()) == 1, timeout=3000)
    assert len(view.cams.cells) == 3 and len(sizes()) == 1, sizes()
    # A class name that wraps onto a second line (another font, a longer name) keeps the maps alike: its
    # row's titles share one height (was: that map 14 pixels shorter).
    before = sizes()
    view.cams.cells[1].set_title("2. a class name long enough to wrap onto a second line or three — 10.9%")
    qtbot.wait(100)
    qtbot.waitUntil(lambda: len(sizes()) == 1, timeout=3000)
    assert sizes() != before  # the maps gave the wrapped title its room, all three alike


def test_a_unit_relu_zeroed_says_so(explain, window):
    capture = loaded(explain)
    relu = capture.activations["relu1"]
    y, x = map(int, np.argwhere(relu[0] == 0)[len(np.argwhere(relu[0] == 0)) // 2])
    view = explain.show_view("field")
    view.nodes.choose("relu1")
    view.channel.setValue(0)
    explain.controller.select("relu1", unit=(y, x))
    assert settle(explain)
    assert view.result.field.unit == (y, x) and view.result.peak == 0
    assert "This unit is 0 for this image: its gradient is 0 everywhere" in view.message.text()
    assert view.message.is_problem and "0 everywhere" in view.effective_cell.title.text
    explain.controller.select("relu1", unit=tuple(map(int, np.argwhere(relu[0] > 0)[0])))
    assert settle(explain)
    assert view.result.peak > 0 and "This unit is 0" not in view.message.text()


def test_a_run_in_progress_is_named_in_the_weights_label(explain, window):
    state = {k: v.clone() for k, v in explain.controller.network.model.state_dict().items()}
    window.document.set_weights(state, None, {"epochs_completed": 3, "in_progress": True})
    assert settle(explain)
    assert "weights from epoch 3 of the run in progress" in explain.weights_label.text()
    window.document.set_weights(state, None, {"epochs_completed": 5})
    assert settle(explain)
    assert "trained weights" in explain.weights_label.text() and "in progress" not in explain.weights_label.text()


# --- occlusion that finishes ---------------------------------------------------------------------

def test_occlusion_defaults_follow_the_input_size_with_an_estimate(explain, window):
    loaded(explain)
    view = explain.show_view("cam")
    assert settle(explain)
    assert (view.patch.value(), view.stride.value()) == (4, 2)
    count, batch, seconds = view.occlusion_plan()
    assert count == 15 * 15 and batch >= 1 and seconds is not None and seconds > 0
    assert "225 positions" in view.estimate.text()
    window.document.push(SetInputSpecCommand(window.document, InputSpec(1, 224, 224)))
    assert settle(explain)
    assert (view.patch.value(), view.stride.value()) == (28, 14)
    assert view.occlusion_plan()[0] == 15 * 15
    view.occlude_button.click()
    assert "225" in view.progress.format()
    assert settle(explain)
    assert view.occlusion.map.patch == (28, 28) and view.occlusion.map.stride == 14


# --- start-up and screenshots --------------------------------------------------------------------

def test_startup_imports_neither_torch_nor_pyqtgraph():
    script = ("import sys\n"
              "from PySide6.QtWidgets import QApplication\n"
              "app = QApplication([])\n"
              "from convviz.ui.main_window import MainWindow\n"
              "w = MainWindow(persistent=False)\n"
              "w.show(); app.processEvents()\n"
              "print(sorted(m for m in ('torch', 'pyqtgraph') if m in sys.modules))\n"
              "w.document.undo_stack.setClean(); w.close()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_screenshot_of_an_explain_view(tmp_path):
    out = tmp_path / "window.png"
    result = subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(out), "default",
                             "--view", "explain-window", "--image", "shape_cross"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    missing = subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(tmp_path / "x.png"), "default",
                              "--view", "explain-cam", "--image", "no_such_picture"],
                             capture_output=True, text=True, timeout=180)
    assert missing.returncode == 1 and "no_such_picture" in missing.stderr and "Traceback" not in missing.stderr


def test_the_designer_docks_keep_their_sizes_after_a_visit_to_explain(window, qtbot):
    window.resize(1280, 800)
    qtbot.wait(50)
    before = {d.objectName(): (d.width(), d.height()) for d in (window.palette_dock, window.inspector_dock,
                                                               window.summary_dock)}
    window.tabs.setCurrentIndex(window.explain_tab)
    qtbot.wait(50)
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.view))
    qtbot.wait(50)
    after = {d.objectName(): (d.width(), d.height()) for d in (window.palette_dock, window.inspector_dock,
                                                              window.summary_dock)}
    assert after == before


def test_going_from_tab_to_tab_never_widens_a_1280_window(window, qtbot):
    """Explain → Train showed the designer's docks beside the Train page for a moment: 1307 px."""
    window.resize(1280, 800)
    qtbot.wait(50)
    design = window.tabs.indexOf(window.view)
    visible = lambda: {d.objectName() for d in (window.palette_dock, window.summary_dock, window.issues_dock,  # noqa: E731
                                                window.inspector_dock) if d.isVisible()}
    on_design = visible()
    for index, docks in ((window.explain_tab, {"inspector"}), (window.train_tab, set()),
                         (window.explain_tab, {"inspector"}), (design, on_design), (window.train_tab, set()),
                         (design, on_design)):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)
        assert window.width() == 1280, window.tabs.tabText(index)
        assert visible() == docks, window.tabs.tabText(index)


def test_an_auxiliary_heads_nodes_show_their_maps(window):
    """tests/data/design_v2.json on a 3×16×16 input: selecting the auxiliary classifier showed "KeyError: 'aux_fc'"."""
    from sample_designs import aux_heads_design

    design = aux_heads_design()
    panel = window.show_explain()
    window.files.open_design(design, None)
    capture = loaded(panel)
    view = panel.views["features"]
    for node_id in ("aux_gap", "aux_fc", "fc"):
        window.editing.select_node(node_id)
        assert settle(panel)
        assert view.result is not None and view.result.node_id == node_id, view.message.text()
        assert not view.message.is_problem, view.message.text()
        np.testing.assert_array_equal(map_values(view.mosaic_plot.image)[0], feature_mosaic(capture.activations[node_id]).image)


def test_the_channel_statistics_fit_their_columns_in_a_1280_window(explain, window, qtbot):
    """Beside the mosaic at 1280×800 the table is narrow: the values get the room, not the channel number."""
    window.resize(1280, 800)
    loaded(explain, "scene_garden")
    view = explain.show_view("features")
    assert settle(explain)
    qtbot.waitUntil(lambda: view.stats_model.rowCount() > 0)
    QApplication.processEvents()
    table, model = view.table, view.stats_model
    header, metrics = table.horizontalHeader(), table.fontMetrics()
    for column in range(model.columnCount()):
        texts = [model.data(model.index(row, column)) for row in range(model.rowCount())]
        texts.append(model.headerData(column, Qt.Orientation.Horizontal))
        widest = max(metrics.horizontalAdvance(text) for text in texts)
        assert header.sectionSize(column) >= widest + 6, (column, header.sectionSize(column), widest)
    assert model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    full = model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    assert float(full) == pytest.approx(float(view.result.stats.max[0]), rel=1e-6)
