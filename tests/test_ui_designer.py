"""The designer, driven through its real widgets: drops, port drags, the inspector, undo, files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from convviz.design import dumps, load_design, load_template, loads, save_design
from convviz.ui.file_controller import FileController
from convviz.ui.main_window import MainWindow
from ui_helpers import click, drop_layer, edge_midpoint, footer, mouse_drag


def scene_pos(window, node_id):
    return window.scene.nodes[node_id].pos()


def test_window_opens_on_the_default_design(window):
    assert window.document.design.name == "Shapes CNN"
    assert set(window.scene.nodes) == set(window.document.design.node_ids)
    assert footer(window, "conv1").startswith("16×32×32 | RF 3 | 144 params")
    assert window.summary.model.rowCount() == len(window.document.design)
    assert "24.1 k params" in window.totals_label.text()
    assert window.windowTitle().startswith("Shapes CNN")


def test_drop_a_palette_layer_on_empty_canvas(window):
    before = len(window.document.design)
    drop_layer(window, "Dropout", QPointF(900, 200))
    design = window.document.design
    assert len(design) == before + 1
    node = design.node("drop1")
    assert node.type == "Dropout" and node.inputs == [] and node.pos == pytest.approx((900, 200), abs=2)
    assert window.scene.nodes["drop1"].text.status == "error"  # not connected yet: flagged, with the fix


def test_drop_on_an_edge_inserts_the_layer_there(window):
    drop_layer(window, "Dropout", edge_midpoint(window, "fc"))
    design = window.document.design
    assert design.node("fc").inputs == ["drop1"] and design.node("drop1").inputs == ["flatten"]
    assert window.document.analysis.ok


def test_connect_by_dragging_between_ports(window):
    drop_layer(window, "ReLU", QPointF(1100, 100))
    start = window.scene.nodes["conv1"].output_port_pos()
    end = window.scene.nodes["relu4"].input_port_pos(0)
    mouse_drag(window, start, end)
    assert window.document.design.node("relu4").inputs == ["conv1"]
    assert window.editing.undo_action.text() == "&Undo Connect conv1 → relu4"
    assert footer(window, "relu4").startswith("16×32×32")


def test_drag_an_edge_end_away_disconnects(window):
    port = window.scene.nodes["bn1"].input_port_pos(0)
    mouse_drag(window, port, QPointF(port.x() + 400, port.y() - 300))
    assert window.document.design.node("bn1").inputs == []
    assert window.scene.nodes["bn1"].text.status == "error"
    assert window.scene.nodes["relu1"].text.status == "blocked"  # greyed, not red


def test_concat_takes_inputs_in_the_order_of_its_ports(window):
    window.files.open_design(load_template("conv5x5_vs_bottleneck"), None)
    concat = window.scene.nodes["compare"]
    assert concat.input_slots(concat.text) == 3  # two inputs and a free slot
    mouse_drag(window, window.scene.nodes["input"].output_port_pos(), concat.input_port_pos(0))
    assert window.document.design.node("compare").inputs == ["input", "direct_5x5", "bottleneck_5x5"]
    assert window.document.analysis.nodes["compare"].output_shape == (192 + 64, 28, 28)


def _split_design():
    from convviz.design import Design, InputSpec

    design = Design("halves", InputSpec(8, 6, 6))
    design.add_node("Input", "input", pos=(0, 0))
    design.add_node("Split", "split", ["input"], pos=(0, 150))
    design.add_node("Conv2d", "branch", ["split:1"], {"out_channels": 4, "kernel_size": 1}, pos=(160, 300))
    design.add_node("Concat", "cat", ["split:0", "branch"], pos=(0, 450))
    return design


def test_a_split_has_a_numbered_port_per_output_and_wires_by_port(window, qtbot):
    window.files.open_design(_split_design(), None)
    split = window.scene.nodes["split"]
    assert split.text.outputs == 2 and split.text.line1 == "2 × 4×6×6"
    assert split.output_port_pos(0).x() < split.output_port_pos(1).x()
    edge = window.scene.edges[("branch", 0)]
    assert edge.ref == "split:1" and edge.path().pointAtPercent(0) == split.output_port_pos(1)
    # Drag output 0 onto the branch: it now reads the first half.
    mouse_drag(window, split.output_port_pos(0), window.scene.nodes["branch"].input_port_pos(0))
    assert window.document.design.node("branch").inputs == ["split:0"]
    assert window.editing.undo_action.text() == "&Undo Connect split:0 → branch"
    assert window.scene.edges[("branch", 0)].ref == "split:0"
    issues = [i.message for _, i in window.document.analysis.issues()]
    assert "Output split:1 of 'split' is unused." in issues
    window.document.undo_stack.undo()
    assert window.scene.edges[("branch", 0)].path().pointAtPercent(0) == split.output_port_pos(1)
    # Fewer chunks: the edge reading output 1 is reported where it is, with the outputs that exist.
    window.editing.select_node("split")
    window.inspector.editors["chunks"].spin.setValue(1)
    assert "'branch' reads output 1 of 'split', which has 1 output (split:0)." in window.document.analysis.first_error()
    qtbot.waitUntil(lambda: window.scene.nodes["split"].text.outputs == 1)  # the card redraws with the next frame


def test_inspector_edit_updates_downstream_footers_and_summary(window):
    window.editing.select_node("conv2")
    assert window.inspector.node_id == "conv2"
    editor = window.inspector.editors["out_channels"]
    editor.spin.setValue(48)
    assert window.document.design.node("conv2").params["out_channels"] == 48
    assert footer(window, "bn2").startswith("48×16×16")
    assert footer(window, "pool2").startswith("48×8×8")
    assert "27.6 k params" in footer(window, "conv3")  # 3·3·48·64
    row = [r for r in window.summary.model.rows if r.id == "conv3"][0]
    assert row.params == 3 * 3 * 48 * 64
    math = window.inspector.math.text().replace("\u200b", "")  # zero-width spaces let long lines wrap
    assert "params = (3·3·48)·64 = 27,648" not in math  # conv2 is shown, not conv3
    assert "params = (3·3·16)·48 = 6,912 (no bias)" in math


def test_parameter_steps_merge_into_one_undo(window):
    window.editing.select_node("conv1")
    spin = window.inspector.editors["out_channels"].spin
    for value in (17, 18, 19, 20):
        spin.setValue(value)
    stack = window.document.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Change conv1.out_channels"
    stack.undo()
    assert "out_channels" in window.document.design.node("conv1").params
    assert window.document.design.node("conv1").params["out_channels"] == 16


def test_pair_and_padding_editors(window):
    window.editing.select_node("conv1")
    kernel = window.inspector.editors["kernel_size"]
    kernel.link.setChecked(False)
    kernel.w.setValue(5)
    assert window.document.design.node("conv1").params["kernel_size"] == (3, 5)
    padding = window.inspector.editors["padding"]
    padding.mode.setCurrentText("same")
    assert window.document.design.node("conv1").params["padding"] == "same"
    assert window.document.analysis.nodes["conv1"].output_shape == (16, 32, 32)


def test_rename_from_the_inspector(window):
    window.editing.select_node("conv1")
    window.inspector.id_edit.setText("stem")
    window.inspector.id_edit.editingFinished.emit()
    design = window.document.design
    assert "stem" in design and design.node("bn1").inputs == ["stem"]
    assert "stem" in window.scene.nodes and window.inspector.node_id == "stem"
    window.inspector.id_edit.setText("class")
    window.inspector.id_edit.editingFinished.emit()
    assert "keyword" in window.inspector.id_error.text() and "stem" in design


def test_a_window_opened_on_a_file_saves_back_to_it(qtbot, tmp_path):
    from convviz.ui.commands import SetParamCommand

    path = tmp_path / "given.json"
    save_design(load_template("lenet5"), path)
    win = MainWindow(load_design(path), recovery_dir=tmp_path / "recovery", persistent=False, path=path)
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    assert win.document.path == path and win.windowTitle().startswith("given.json")
    assert win.document.undo_stack.count() == 0 and not win.document.is_modified
    win.document.push(SetParamCommand(win.document, "c1", "out_channels", 8))
    assert win.files.save() and load_design(path).node("c1").params["out_channels"] == 8


def test_class_names_edit_in_the_overview_and_undo(window):
    window.editing.select_node(None)
    edit = window.inspector.classes_edit
    original = list(window.document.design.classes)
    assert edit.text().startswith(original[0]) and edit.cursorPosition() == 0  # the first names in view
    assert f"9: {original[9]}" in edit.toolTip()
    edit.setText("cat, dog ,, bird")
    edit.editingFinished.emit()
    assert window.document.design.classes == ["cat", "dog", "bird"]
    assert window.document.undo_stack.undoText() != ""
    window.document.undo_stack.undo()
    assert window.document.design.classes == original
    edit = window.inspector.classes_edit  # the overview is shown afresh for the undone edit
    assert edit.text() == ", ".join(original) and edit.cursorPosition() == 0


def test_every_kind_of_edit_undoes_back_to_the_saved_design(window, tmp_path):
    path = tmp_path / "saved.json"
    window.document.save(path)
    saved = load_design(path)
    drop_layer(window, "ReLU", QPointF(1100, 100))                                  # add
    mouse_drag(window, window.scene.nodes["conv1"].output_port_pos(),
               window.scene.nodes["relu4"].input_port_pos(0))                       # connect
    port = window.scene.nodes["bn2"].input_port_pos(0)
    mouse_drag(window, port, QPointF(port.x() + 300, port.y() + 10))                # disconnect
    window.editing.select_node("conv3")
    window.inspector.editors["kernel_size"].h.setValue(5)                           # parameter
    window.inspector.id_edit.setText("last_conv")
    window.inspector.id_edit.editingFinished.emit()                                 # rename
    item = window.scene.nodes["fc"]
    mouse_drag(window, item.pos() + QPointF(0, 10), item.pos() + QPointF(150, 40))  # move
    window.scene.select_nodes(["pool1"])
    window.editing.delete_action.trigger()                                                  # delete
    window.scene.select_nodes(["flatten", "fc"])
    window.editing.copy_action.trigger()
    window.editing.paste_action.trigger()                                                   # paste
    window.editing.layout_action.trigger()                                                  # auto-layout
    fix = window.document.analysis.nodes["bn2"].errors[0].fix                       # (bn2 lost its input)
    assert fix is None  # nothing to suggest for a missing edge; fixes are tested below
    window.scene.select_nodes(["relu4"])
    window.editing.delete_action.trigger()
    stack = window.document.undo_stack
    assert window.isWindowModified() and stack.count() >= 9
    assert window.document.design != saved
    while stack.canUndo():
        stack.undo()
    assert window.document.design == saved
    assert not window.isWindowModified()
    while stack.canRedo():
        stack.redo()
    assert window.document.design != saved and "last_conv" in window.document.design


def test_move_is_one_command_on_release(window):
    item = window.scene.nodes["fc"]
    start = item.pos()
    mouse_drag(window, start + QPointF(0, 10), start + QPointF(200, 10), steps=10)
    stack = window.document.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Move 'fc'"
    assert window.document.design.node("fc").pos == pytest.approx((start.x() + 200, start.y()), abs=1)
    stack.undo()
    assert item.pos() == start


def test_copy_paste_gives_fresh_ids_and_keeps_inner_edges(window):
    window.scene.select_nodes(["conv2", "bn2", "relu2"])
    window.editing.copy_action.trigger()
    window.editing.paste_action.trigger()
    design = window.document.design
    assert {"conv4", "bn4", "relu4"} <= set(design.node_ids)
    assert design.node("bn4").inputs == ["conv4"] and design.node("relu4").inputs == ["bn4"]
    assert design.node("conv4").inputs == ["pool1"]  # outside source kept: a parallel branch
    assert window.scene.selected_node_ids() == ["conv4", "bn4", "relu4"]
    window.editing.duplicate_action.trigger()
    assert "conv5" in design and design.node("bn5").inputs == ["conv5"]


def test_delete_removes_edges_and_undo_restores_their_order(window):
    window.files.open_design(load_template("inception_3a"), None)
    design = window.document.design
    window.scene.select_nodes(["b2_relu"])
    window.editing.delete_action.trigger()
    assert "b2_relu" not in design and design.node("concat").inputs == ["b1_relu", "b3_relu", "b4_relu"]
    assert ("concat", 3) not in window.scene.edges
    window.document.undo_stack.undo()
    assert design.node("concat").inputs == ["b1_relu", "b2_relu", "b3_relu", "b4_relu"]


def test_fix_it_applies_the_suggestion_in_one_undoable_step(window):
    window.scene.select_nodes(["flatten"])
    window.editing.delete_action.trigger()
    mouse_drag(window, window.scene.nodes["gap"].output_port_pos(), window.scene.nodes["fc"].input_port_pos(0))
    issue = window.document.analysis.nodes["fc"].errors[0]  # Linear on a 64×1×1 map: the classic mistake
    assert issue.fix.label == "Insert Flatten before 'fc'"
    assert window.scene.nodes["fc"].text.status == "error" and "insert" in window.scene.nodes["fc"].toolTip().lower()
    assert window.issues.tree.topLevelItemCount() == 1
    window.issues.tree.setCurrentItem(window.issues.tree.topLevelItem(0))
    assert window.issues.fix_button.isEnabled()
    window.issues.fix_button.click()
    assert window.document.analysis.ok
    assert window.document.design.node("fc").inputs == ["flatten1"]
    assert window.document.undo_stack.undoText() == "Insert Flatten before 'fc'"
    window.document.undo_stack.undo()
    assert window.document.analysis.nodes["fc"].errors and "flatten1" not in window.document.design


def test_inspector_fix_button(window):
    from PySide6.QtWidgets import QPushButton

    window.editing.select_node("conv3")
    window.inspector.editors["kernel_size"].h.setValue(11)  # 11×11 on an 8×8 map padded to 10×10
    assert "padded input is only 10×10" in window.document.analysis.nodes["conv3"].errors[0].message
    fix_buttons = [b for b in window.inspector.findChildren(QPushButton) if b.text().startswith("Fix:")]
    assert [b.text() for b in fix_buttons] == ["Fix: Set padding to 5 (keeps 8×8)"]  # measured, not promised
    fix_buttons[0].click()
    assert window.document.analysis.ok
    assert window.document.analysis.nodes["conv3"].output_shape == (64, 8, 8)


def test_fix_labels_in_the_app_say_what_the_fix_gives(window, qtbot):
    from PySide6.QtWidgets import QPushButton

    from convviz.ui.commands import SetParamCommand

    window.editing.select_node("conv1")
    window.document.push(SetParamCommand(window.document, "conv1", "stride", 2))
    window.document.push(SetParamCommand(window.document, "conv1", "kernel_size", 40))
    buttons = [b.text() for b in window.inspector.findChildren(QPushButton) if b.text().startswith("Fix:")]
    assert buttons == ["Fix: Set padding to 19 (gives 16×16)"]  # it promised "keeps 32×32"
    item = window.issues.tree.topLevelItem(0)
    qtbot.waitUntil(lambda: item.text(3) == "Set padding to 19 (gives 16×16)", timeout=5000)


def test_an_inserted_layer_gets_a_card_of_its_own(window):
    """The fix inserting a Flatten put it half-way between its neighbours, on top of both cards."""
    window.scene.select_nodes(["flatten"])
    window.editing.delete_action.trigger()
    mouse_drag(window, window.scene.nodes["gap"].output_port_pos(), window.scene.nodes["fc"].input_port_pos(0))
    window.document.apply_fix(window.document.analysis.nodes["fc"].errors[0].fix)
    cards = [item.sceneBoundingRect() for item in window.scene.nodes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(cards) for b in cards[i + 1:])
    new = window.scene.nodes["flatten1"].pos()
    assert window.scene.nodes["gap"].pos().y() < new.y() < window.scene.nodes["fc"].pos().y()
    window.document.undo_stack.undo()
    assert "flatten1" not in window.document.design


def test_save_and_open_round_trip(window, tmp_path):
    window.files.open_design(load_template("resnet18"), None)
    window.editing.select_node("conv1")
    window.inspector.editors["out_channels"].spin.setValue(32)
    path = tmp_path / "mine.json"
    assert window.files._save_to(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("mine.json")
    saved = window.document.design.copy()
    window.files.open_design(load_template("lenet5"), None)
    assert window.files.open_path(path)
    assert window.document.design == saved and window.document.path == path
    assert window.scene.nodes["conv1"].text.line1 == "32×112×112"


def test_opening_a_corrupt_file_changes_nothing(window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    before = window.document.design.copy()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 8, "width": 8}, '
                   '"nodes": [{"id": "c", "type": "Conv2d", "params": {"out_channels": "x", "kernel_size": 3}}]}')
    assert not window.files.open_path(bad)
    assert shown == ["bad.json: node 'c' (Conv2d), field 'params.out_channels': expected an integer, got 'x'"]
    assert window.document.design == before


def test_templates_menu_opens_each_template_unsaved(window):
    from convviz.design import TEMPLATES

    actions = window.files.templates_menu.actions()
    assert [a.data() for a in actions] == list(TEMPLATES)
    for action in actions:
        action.trigger()
        design = load_template(action.data())
        assert window.document.design.name == design.name
        assert action.text() == design.name  # its title ("5×5 conv vs 1×1 bottleneck"), not its file's stem
        assert window.document.path is None and window.document.undo_stack.count() == 0
    assert "5×5 conv vs 1×1 bottleneck" in [a.text() for a in actions]


def test_new_asks_before_dropping_changes(window, monkeypatch):
    window.editing.select_node("conv1")
    window.inspector.editors["out_channels"].spin.setValue(8)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.files.new_action.trigger()
    assert window.document.design.name == "Shapes CNN"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.files.new_action.trigger()
    assert window.document.design.node_ids == ["input"]


def test_palette_filter_and_double_click_append(window):
    panel = window.palette_panel
    panel.filter.setText("pool")
    visible = {panel.proxy.index(c, 0, panel.proxy.index(r, 0)).data()
               for r in range(panel.proxy.rowCount()) for c in range(panel.proxy.rowCount(panel.proxy.index(r, 0)))}
    assert visible == {"MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"}
    window.editing.select_node("relu3")
    panel.appendRequested.emit("Dropout2d")
    design = window.document.design
    assert design.node("drop1").inputs == ["relu3"] and design.node("gap").inputs == ["drop1"]
    assert window.scene.selected_node_ids() == ["drop1"]


def test_every_layer_name_in_the_palette_shows_whole(window):
    window.resize(1280, 800)
    tree = window.palette_panel.tree
    metrics, proxy = tree.fontMetrics(), tree.model()
    cut = []
    for r in range(proxy.rowCount()):
        family = proxy.index(r, 0)
        for c in range(proxy.rowCount(family)):
            index = proxy.index(c, 0, family)
            needed = tree.iconSize().width() + metrics.horizontalAdvance(index.data())
            if tree.visualRect(index).width() < needed + metrics.averageCharWidth():
                cut.append(index.data())
    assert cut == []


def test_shading_by_share_of_macs(window):
    window.viewing.set_shade_mode("macs")
    shades = {nid: item.text.shade for nid, item in window.scene.nodes.items()}
    assert shades["conv2"] > shades["conv1"] > shades["relu1"] == 0
    window.viewing.set_shade_mode("family")
    assert window.scene.nodes["conv2"].text.shade is None


def test_summary_click_selects_the_node(window):
    row = [r.id for r in window.summary.model.rows].index("pool2")
    window.summary.table.clicked.emit(window.summary.model.index(row, 0))
    assert window.scene.selected_node_ids() == ["pool2"] and window.inspector.node_id == "pool2"


def test_copy_summary_as_text_and_csv(window, qtbot):
    from PySide6.QtGui import QGuiApplication
    window.summary.copy_text()
    assert "Total params: 24,058" in QGuiApplication.clipboard().text()
    window.summary.copy_csv()
    assert QGuiApplication.clipboard().text().splitlines()[0].startswith("id,type,output_shape,params")


def test_device_probe_reports_torch_device(window, qtbot):
    window.start_device_probe()
    qtbot.waitUntil(lambda: "CPU" in window.device_label.text() or "CUDA" in window.device_label.text(),
                    timeout=30000)


def test_recovery_after_a_simulated_crash(qtbot, tmp_path, monkeypatch):
    """A real crash: a child process edits, autosaves and dies; the next window offers the work back."""
    recovery = tmp_path / "recovery"
    script = textwrap.dedent(f"""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from convviz.ui.main_window import MainWindow
        window = MainWindow(recovery_dir=__import__("pathlib").Path({str(recovery)!r}))
        window.editing.select_node("conv1")
        window.inspector.editors["out_channels"].spin.setValue(40)
        window.files.autosave()
        os._exit(3)  # no clean-up: the process dies with unsaved work
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert len(list(recovery.glob("*.json"))) == 1

    offered = []
    monkeypatch.setattr(FileController, "ask_to_recover", lambda self, work: offered.append(work) or True)
    window = MainWindow(recovery_dir=recovery)
    qtbot.addWidget(window)
    assert window.files.offer_recovery()
    assert offered and offered[0].design.node("conv1").params["out_channels"] == 40
    assert window.document.design.node("conv1").params["out_channels"] == 40
    assert window.isWindowModified()
    window.document.undo_stack.setClean()
    window.close()
    assert list(recovery.glob("*.json")) == []  # clean exit: nothing left to recover


def test_a_window_destroyed_with_unsaved_edits_raises_nothing_and_keeps_their_recovery(tmp_path):
    """Destroying the window (the interpreter's exit, without a close) destroys its undo stack, which
    reports itself clean as it goes: that is not a save, so the recovery file stays, and nothing
    touches the half-destroyed stack (an exception in the event loop's last moments)."""
    recovery = tmp_path / "recovery"
    script = textwrap.dedent(f"""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from convviz.ui.main_window import MainWindow
        window = MainWindow(recovery_dir=__import__("pathlib").Path({str(recovery)!r}), persistent=False)
        window.editing.select_node("conv1")
        window.inspector.editors["out_channels"].spin.setValue(40)
        window.files.autosave()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(list(recovery.glob("*.json"))) == 1


def test_recovery_is_not_offered_for_a_running_window(window, tmp_path):
    window.editing.select_node("conv1")
    window.inspector.editors["out_channels"].spin.setValue(12)
    window.files.autosave()
    other = MainWindow(recovery_dir=tmp_path / "recovery")
    try:
        assert other.files.recovery.orphans() == []
    finally:
        other.close()


def test_screenshot_command_renders_the_window(tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(out), "inception_3a"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)


def test_many_signal_emits_do_not_leak_true(qtbot):
    """PySide6 6.12.0 on Python 3.11 lost a reference to True per emit and aborted after a few hundred."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        changed = Signal(bool)

    emitter = Emitter()
    received = []
    emitter.changed.connect(received.append)
    before = sys.getrefcount(True)
    for _ in range(20000):
        emitter.changed.emit(True)
    assert len(received) == 20000
    received.clear()
    assert abs(sys.getrefcount(True) - before) < 1000


def test_an_exception_in_a_slot_is_caught_by_the_guard(qt_event_loop_exceptions):
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal()

    emitter = Emitter()

    def broken():
        raise RuntimeError("a bug")

    emitter.fired.connect(broken)
    emitter.fired.emit()
    assert len(qt_event_loop_exceptions) == 1 and "a bug" in qt_event_loop_exceptions[0]
    qt_event_loop_exceptions.clear()


def test_the_app_opens_a_trained_checkpoint(tmp_path):
    from convviz.export import Checkpoint, Preprocessing, save_checkpoint
    from convviz.model import build_model

    design = load_template("default")
    path = tmp_path / "trained.pt"
    save_checkpoint(Checkpoint(design, build_model(design).state_dict(), Preprocessing([0.5], [0.2])), path)
    out = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(out), str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.exists()


def test_the_app_refuses_a_bad_checkpoint_in_one_line(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip")
    result = subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(tmp_path / "x.png"), str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_a_refused_edit_is_reported_and_not_kept_on_the_undo_stack(window):
    from convviz.ui.commands import RenameNodeCommand

    stack = window.document.undo_stack
    assert not window.document.push(RenameNodeCommand(window.document, "conv1", "conv2"))  # conv2 is taken
    assert stack.count() == 0 and not window.isWindowModified()
    assert "already taken" in window.statusBar().currentMessage()
    assert "conv1" in window.document.design


def test_drag_an_input_to_another_slot_of_its_concat_reorders(window):
    window.files.open_design(load_template("inception_3a"), None)
    concat = window.scene.nodes["concat"]
    mouse_drag(window, concat.input_port_pos(0), concat.input_port_pos(2))
    assert window.document.design.node("concat").inputs == ["b2_relu", "b3_relu", "b1_relu", "b4_relu"]
    assert window.document.undo_stack.undoText() == "Reorder the inputs of concat"
    assert window.document.analysis.nodes["concat"].output_shape == (256, 28, 28)


def test_a_refused_reconnect_leaves_the_edge_alone(window):
    port = window.scene.nodes["bn1"].input_port_pos(0)
    mouse_drag(window, port, window.scene.nodes["input"].pos())
    assert window.document.design.node("bn1").inputs == ["conv1"]
    assert window.document.undo_stack.count() == 0
    assert "takes no inputs" in window.statusBar().currentMessage()


def test_the_result_key_changes_with_every_edit_weights_and_replacement_but_not_a_move(window):
    from convviz.ui.commands import SetParamCommand

    doc = window.document
    before, start = doc.key, window.scene.nodes["fc"].pos()
    mouse_drag(window, start + QPointF(0, 10), start + QPointF(200, 10), steps=10)
    assert doc.design.node("fc").pos == pytest.approx((start.x() + 200, start.y()), abs=1)
    assert doc.key == before  # a move changes no number: every result stays current
    keys = [doc.key]
    seen = []
    doc.keyChanged.connect(seen.append)
    doc.push(SetParamCommand(doc, "conv1", "out_channels", 8))
    keys.append(doc.key)
    doc.set_weights({})
    keys.append(doc.key)
    doc.replace(load_template("lenet5"), None)
    keys.append(doc.key)
    assert len(set(keys)) == 4 and seen == keys[1:]
    assert keys[1].weights == keys[0].weights and keys[2].design == keys[1].design
    assert keys[0].with_input(3) != keys[0] and keys[0].with_input(3).input == 3


def edge_paths(window) -> dict:
    return {key: [(round(e.path().elementAt(i).x, 1), round(e.path().elementAt(i).y, 1))
                  for i in range(e.path().elementCount())] for key, e in window.scene.edges.items()}


def test_wires_route_the_same_after_a_layout_and_after_reopening(window, tmp_path):
    """Cards moved one by one routed their wires around cards not yet moved: after an auto-layout
    some wires differed from the same file reopened."""
    for name, shift in (("resnet18", 300), ("resnet18", -500), ("inception_3a", 400), ("default", 250)):
        window.files.open_template(name)
        design = window.document.design
        design.set_positions({n.id: (n.pos[0] + (shift if i % 3 == 0 else 0), n.pos[1] * 0.5)
                              for i, n in enumerate(design)})
        window.editing.auto_layout()
        laid_out = edge_paths(window)
        path = tmp_path / f"{name}.json"
        window.document.save(path)
        window.files.open_path(path)
        assert edge_paths(window) == laid_out, name


def test_file_dialogs_start_in_the_folder_last_used_then_the_documents_folder(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from convviz.ui.file_dialogs import documents_folder

    starts = []
    chosen = tmp_path / "work" / "net.json"
    chosen.parent.mkdir()
    save_design(load_template("lenet5"), chosen)
    monkeypatch.chdir(tmp_path)  # where the app was started from must not matter

    def answer(parent, title, start, *rest):
        starts.append(start)
        return str(chosen), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    window.files.open_dialog()
    assert starts[0] == str(documents_folder())
    window.files.open_dialog()
    assert starts[1] == str(chosen)  # this file's folder (the document's own file)
    window.document.replace(load_template("default"), None)
    window.files.open_dialog()
    assert starts[2] == str(chosen.parent)  # remembered (QSettings), not the process's folder or home
    window.document.replace(load_template("default"), None)
    saved = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, start, *rest: (
        saved.append(start), (str(tmp_path / "work" / "copy.json"), ""))[1])
    window.files.save_as()
    assert saved == [str(chosen.parent / "Shapes CNN.json")]


def test_the_chosen_datas_classes_flag_a_final_layer_of_the_wrong_width(window, qtbot):
    doc = window.document
    doc.data_classes = ["bird", "cat", "dog"]  # what the training panel sets when a 3-class folder loads
    issues = window.issues.tree
    assert issues.topLevelItemCount() == 1 and "the data has 3 classes" in issues.topLevelItem(0).text(2)
    qtbot.waitUntil(lambda: issues.topLevelItem(0).text(3) == "Set out_features of 'fc' to 3 (gives 3 features)",
                    timeout=5000)
    issues.setCurrentItem(issues.topLevelItem(0))
    window.issues.fix_button.click()
    assert doc.analysis.nodes["fc"].output_shape == (3,) and not doc.analysis.issues()


def test_an_edit_hands_on_the_records_of_the_nodes_it_did_not_change(window):
    """The document re-analyses incrementally: a view can skip every node whose record ``is`` the
    one it showed; undo gives the numbers back."""
    from convviz.analysis import analyze
    from convviz.ui.commands import SetParamCommand

    doc = window.document
    before = doc.analysis
    doc.push(SetParamCommand(doc, "conv2", "out_channels", 48))
    after = doc.analysis
    assert [nid for nid in after.order if after.nodes[nid] is not before.nodes[nid]] == ["conv2", "bn2", "relu2",
                                                                                      "pool2", "conv3"]
    assert after.nodes == analyze(doc.design).nodes and after.params == analyze(doc.design).params
    doc.undo_stack.undo()
    assert doc.analysis.nodes == before.nodes and doc.analysis.params == before.params


def test_a_lazy_tab_says_once_that_it_was_built(window, qtbot):
    """run_app freezes the heap then (torch's objects stay out of every later collection)."""
    with qtbot.waitSignal(window.lazyTabBuilt, timeout=60_000) as built:
        window.tab_widget(window.explain_tab)
    assert built.args == [window.explain_tab]
    again = []
    window.lazyTabBuilt.connect(again.append)
    window.tab_widget(window.explain_tab)
    assert again == []


def test_freeze_heap_exempts_what_exists_from_later_collections():
    """In a process of its own: freezing (and unfreezing) this one would change when its later
    collections fall due, and so the pauses other tests measure."""
    import subprocess
    import sys

    script = ("import gc\n"
              "from convviz.ui.heap import freeze_heap\n"
              "survivor = [[]]\n"
              "assert any(o is survivor for o in gc.get_objects())\n"
              "freeze_heap()\n"
              "assert gc.get_freeze_count() > 0 and not any(o is survivor for o in gc.get_objects())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_heads_are_made_weighted_and_undone_in_the_inspector(window, qtbot):
    from PySide6.QtWidgets import QPushButton

    from convviz.design import Head

    design = window.document.design
    design_copy = design.copy()
    before = design_copy.node_ids.index("conv3")  # a branch off the second block, before the main path goes on
    design_copy.add_node("AdaptiveAvgPool2d", "aux_pool", ["relu2"], {"output_size": 1}, pos=(400, 400), index=before)
    design_copy.add_node("Flatten", "aux_flatten", ["aux_pool"], pos=(400, 520), index=before + 1)
    design_copy.add_node("Linear", "aux_fc", ["aux_flatten"], {"out_features": 10}, pos=(400, 640), index=before + 2)
    window.files.open_design(design_copy, None)
    assert "The output of 'aux_fc' is unused" in window.document.analysis.issues()[0][1].message

    def button(text):
        return next(b for b in window.inspector.findChildren(QPushButton) if b.text() == text)

    window.editing.select_node("aux_fc")
    button("Make it an auxiliary head").click()
    qtbot.waitUntil(lambda: window.inspector.head_weight is not None)
    assert window.document.design.heads == [Head("fc"), Head("aux_fc", 0.3)]
    assert not window.document.analysis.issues() and window.document.analysis.heads == ("fc", "aux_fc")
    assert window.scene.nodes["aux_fc"].text.params.startswith("aux head ×0.3")
    assert window.scene.nodes["fc"].text.params.startswith("main head")
    window.inspector.head_weight.setValue(0.5)
    assert window.document.design.heads[1] == Head("aux_fc", 0.5)
    button("Make it the main head").click()
    qtbot.waitUntil(lambda: window.inspector.head_weight is None)
    assert window.document.design.heads == [Head("aux_fc"), Head("fc", 0.5)]
    assert window.document.analysis.output == "aux_fc"
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert window.document.design.heads == [Head("fc"), Head("aux_fc", 0.3)]
    qtbot.waitUntil(lambda: window.inspector.head_weight is not None)
    assert window.inspector.head_weight.value() == 0.3
    button("Not a head").click()
    assert window.document.design.heads == []


def test_deleting_the_main_head_says_the_heads_are_cleared(window):
    from convviz.design import Head

    design = load_template("googlenet_aux")
    design.add_node("Softmax", "probs", ["fc"], {"dim": 1})
    design.set_heads([Head("probs"), *design.heads[1:]])
    window.files.open_design(design, None)
    window.editing.select_node("probs")
    window.editing.delete_selection()  # the Linear before it gives the same scores: it takes the main head
    assert [h.node for h in window.document.design.heads] == ["fc", "aux1_fc2", "aux2_fc2"]
    window.editing.select_node("fc")
    window.editing.delete_selection()  # was: aux1_fc2 made the main head without a word
    assert window.document.design.heads == [] and window.document.analysis.output != "aux1_fc2"
    assert "'fc' was the main output head" in window.statusBar().currentMessage()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert window.document.design.heads[0] == Head("probs")


def test_the_summary_table_shows_every_output_of_a_split(window):
    from PySide6.QtCore import Qt

    from convviz.design import Design, InputSpec

    design = Design("uneven", InputSpec(3, 16, 16))
    design.add_node("Input", "input")
    design.add_node("Split", "sp", ["input"], {"sizes": [1, 2]})
    design.add_node("Concat", "cat", ["sp:1", "sp:0"])
    window.files.open_design(design, None)
    model = window.summary.model
    row = [r.id for r in model.rows].index("sp")
    assert model.data(model.index(row, 2), Qt.ItemDataRole.DisplayRole) == "1 + 2 ×16×16"  # was "1×16×16"
    assert window.scene.nodes["sp"].text.line1 == "1 + 2 ×16×16"


def test_loss_weight_steps_are_one_undo_step(window, qtbot):
    """Each step of the head's weight spin box was an undo step of its own."""
    from PySide6.QtWidgets import QPushButton

    from convviz.design import Head

    design = window.document.design.copy()
    design.add_node("AdaptiveAvgPool2d", "aux_pool", ["relu2"], {"output_size": 1})
    design.add_node("Flatten", "aux_flatten", ["aux_pool"])
    design.add_node("Linear", "aux_fc", ["aux_flatten"], {"out_features": 10})
    design.set_heads([Head("fc"), Head("aux_fc", 0.3)])
    window.files.open_design(design, None)
    window.editing.select_node("aux_fc")
    qtbot.waitUntil(lambda: window.inspector.head_weight is not None)
    stack = window.document.undo_stack
    before = stack.count()
    for _ in range(4):
        window.inspector.head_weight.stepUp()
    assert window.document.design.heads[1] == Head("aux_fc", pytest.approx(0.5))
    assert stack.count() == before + 1
    stack.undo()
    assert window.document.design.heads[1] == Head("aux_fc", 0.3)
    window.editing.select_node("aux_fc")
    qtbot.waitUntil(lambda: window.inspector.head_weight is not None)
    window.inspector.head_weight.stepUp()
    window.inspector.head_weight.stepDown()  # back where it started: no step at all
    assert stack.count() == before
    assert next(b for b in window.inspector.findChildren(QPushButton) if b.text() == "Not a head")


def _shows_every_node(window) -> bool:
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    return all(visible.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())


def test_a_fitted_design_stays_fitted_when_the_window_shrinks_until_the_user_zooms(window, qtbot):
    window.resize(1600, 1000)
    qtbot.wait(20)
    window.view.fit_all()
    assert window.view.fitted and _shows_every_node(window)
    window.resize(1100, 700)  # smaller than the window it was fitted in
    qtbot.waitUntil(lambda: window.view.viewport().width() < 700)
    assert window.view.fitted and _shows_every_node(window)
    window.view.zoom_by(3)  # the user's own zoom is kept through a resize
    zoom = window.view.zoom
    assert not window.view.fitted
    window.resize(1300, 800)
    qtbot.wait(20)
    assert window.view.zoom == zoom


def test_scrolling_the_canvas_ends_the_fit(window, qtbot):
    window.view.fit_all()
    assert window.view.fitted
    window.view.verticalScrollBar().triggerAction(window.view.verticalScrollBar().SliderAction.SliderSingleStepAdd)
    assert not window.view.fitted
