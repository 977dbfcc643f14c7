"""An edit costs what it changes: only the cards, edges and summary rows it affects are redone, and
a burst of spin-box steps is analysed at most once per frame (no timings here: bench/gui_latency.py)."""

from __future__ import annotations

import pytest
from convviz.analysis import analyze
from convviz.analysis.text import grouped
from convviz.design import Design, InputSpec, Node
from convviz.ui import document as document_module
from convviz.ui.canvas import edge_item, scene as scene_module
from convviz.ui.commands import AddNodesCommand, SetInputsCommand, SetParamCommand
from convviz.ui.document import changed_nodes
from ui_helpers import footer


def residual(blocks: int) -> Design:
    """Input → stem → ``blocks`` × (conv-bn-relu-conv-bn-add-relu) → pool → flatten → fc, laid out in a column."""
    design = Design("residual", InputSpec(3, 16, 16))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "stem", ["input"], {"out_channels": 8, "kernel_size": 3, "padding": 1})
    last = "stem"
    for b in range(blocks):
        conv = {"out_channels": 8, "kernel_size": 3, "padding": 1, "bias": False}
        design.add_node("Conv2d", f"b{b}_c1", [last], conv)
        design.add_node("BatchNorm2d", f"b{b}_bn1", [f"b{b}_c1"])
        design.add_node("ReLU", f"b{b}_r1", [f"b{b}_bn1"])
        design.add_node("Conv2d", f"b{b}_c2", [f"b{b}_r1"], conv)
        design.add_node("BatchNorm2d", f"b{b}_bn2", [f"b{b}_c2"])
        design.add_node("Add", f"b{b}_add", [f"b{b}_bn2", last])
        last = design.add_node("ReLU", f"b{b}_out", [f"b{b}_add"]).id
    design.add_node("AdaptiveAvgPool2d", "gap", [last], {"output_size": 1})
    design.add_node("Flatten", "flatten", ["gap"])
    design.add_node("Linear", "fc", ["flatten"], {"out_features": 10})
    return design


@pytest.fixture
def big(window):
    window.files.open_design(residual(12), None)  # 89 nodes
    return window


def count_calls(monkeypatch, owner, name) -> list:
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_an_edit_rewrites_only_the_cards_whose_numbers_or_text_changed(big, monkeypatch):
    cards = count_calls(monkeypatch, scene_module, "card_text")
    doc = big.document
    doc.push(SetParamCommand(doc, "b6_c1", "out_channels", 12))
    redone = {args[0].id for args in cards}
    # The conv itself, the batch norm and ReLU that carry its 12 channels, the conv that reads them.
    assert redone == {"b6_c1", "b6_bn1", "b6_r1", "b6_c2"}
    assert "12 filters" in big.scene.nodes["b6_c1"].text.params
    assert footer(big, "b6_bn1").startswith("12×16×16")
    assert big.scene.nodes["b6_c2"].text.line2.startswith("864 params")  # 3·3·12·8, no bias


def test_a_card_shows_a_parameter_that_changes_no_number(window, monkeypatch):
    doc = window.document
    design = doc.design
    design.add_node("Dropout", "drop", [doc.analysis.output])
    before = doc.analysis.nodes["drop"]
    doc.push(SetParamCommand(doc, "drop", "p", 0.25))
    after = doc.analysis.nodes["drop"]
    assert doc.changed_nodes <= {"drop"}  # nothing else moved …
    assert (after.output_shape, after.params, after.macs) == (before.output_shape, before.params, before.macs)
    assert window.scene.nodes["drop"].text.params == "p = 0.25"  # … and the card says what was set


def test_changed_nodes_names_exactly_the_nodes_whose_results_differ(big):
    doc = big.document
    edits = [("b3_c2", "out_channels", 16), ("b3_c2", "out_channels", 8), ("stem", "kernel_size", 5),
             ("fc", "out_features", 3), ("b9_c1", "stride", 2)]
    for node_id, name, value in edits:
        before = analyze(doc.design)
        doc.push(SetParamCommand(doc, node_id, name, value))
        after = analyze(doc.design)
        differ = {nid for nid, r in after.nodes.items()
                  if (r.output_shape, r.params, r.macs, r.receptive_field, r.errors, r.blocked_by)
                  != ((b := before.nodes[nid]).output_shape, b.params, b.macs, b.receptive_field, b.errors,
                      b.blocked_by)}
        assert set(doc.changed_nodes) == differ, (node_id, name, value)
    assert changed_nodes(doc.analysis, doc.analysis) == frozenset()


def test_a_new_edge_reroutes_only_the_edges_near_it(big, monkeypatch):
    routed = count_calls(monkeypatch, edge_item.EdgeItem, "update_path")
    doc = big.document
    doc.push(SetParamCommand(doc, "b4_c1", "out_channels", 16))
    assert routed == []  # numbers only: no edge moves
    doc.push(SetInputsCommand(doc, "b8_add", ["b8_bn2", "b7_out", "b6_out"], "Connect"))
    assert 1 <= len(routed) < len(big.scene.edges) // 4
    assert ("b8_add", 2) in big.scene.edges


def test_adding_a_node_routes_its_edges_and_the_ones_it_now_blocks(big, monkeypatch):
    scene = big.scene
    a, b = scene.nodes["b2_out"], scene.nodes["b3_c1"]
    routed = count_calls(monkeypatch, edge_item.EdgeItem, "update_path")
    middle = (a.pos() + b.pos()) / 2
    doc = big.document
    doc.push(AddNodesCommand(doc, [Node("extra", "ReLU", ["b2_out"], {}, (middle.x(), middle.y()))]))
    edges = {edge for (edge,) in routed}
    assert scene.edges[("extra", 0)] in edges
    assert len(edges) < len(scene.edges) // 4


def test_the_summary_announces_only_the_changed_rows(big, qtbot):
    model = big.summary.model
    resets, ranges = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b, *_: ranges.append((a.row(), b.row(), a.column(), b.column())))
    doc = big.document
    doc.push(SetParamCommand(doc, "b6_c1", "out_channels", 12))
    assert resets == []
    whole_rows = {(first, last) for first, last, left, right in ranges if (left, right) == (0, model.columnCount() - 1)}
    changed = sorted(model.row_of(nid) for nid in ("b6_c1", "b6_bn1", "b6_r1", "b6_c2"))
    assert whole_rows == {(changed[0], changed[-1])}
    # The totals moved, so every row's share columns are announced too: one range, those columns only.
    assert {(left, right) for first, last, left, right in ranges if (first, last) == (0, model.rowCount() - 1)} \
        == {(4, 6)}
    row = model.rows[model.row_of("b6_c2")]
    assert row.params == 3 * 3 * 12 * 8


def test_the_summary_cells_show_the_new_numbers_of_the_changed_rows_and_shares(big):
    model = big.summary.model
    doc = big.document
    cell = lambda nid, column: model.data(model.index(model.row_of(nid), column))  # noqa: E731
    shown_before = cell("b0_c1", 4)  # read once: the model has its texts now
    doc.push(SetParamCommand(doc, "b6_c1", "out_channels", 12))
    assert (cell("b6_c2", 3), cell("b6_c1", 2)) == (grouped(3 * 3 * 12 * 8), "12×16×16")
    share = 100 * doc.analysis.nodes["b0_c1"].params / doc.analysis.params
    assert cell("b0_c1", 4) == f"{share:.1f}" != shown_before  # the totals moved: an unchanged row's share too


def test_a_card_whose_numbers_change_keeps_its_tooltip_unset(big, monkeypatch):
    """Qt tells an item of every tooltip set (two itemChange calls): set only when it differs."""
    item = big.scene.nodes["b6_bn1"]
    tips = count_calls(monkeypatch, type(item), "setToolTip")
    doc = big.document
    doc.push(SetParamCommand(doc, "b6_c1", "out_channels", 12))
    assert item.text.line1.startswith("12×")  # its numbers changed …
    assert tips == []  # … not its tooltip
    doc.push(SetParamCommand(doc, "b6_c1", "kernel_size", 99))  # an error: the conv's tooltip says it
    assert any(args[0] is big.scene.nodes["b6_c1"] for args in tips)


def test_cards_take_their_colours_from_the_palette_in_use(window, qtbot):
    from PySide6.QtGui import QColor, QGuiApplication, QPalette

    item = window.scene.nodes[window.document.analysis.output]
    before = item._look()["body"].name()
    palette = QGuiApplication.palette()
    dark = QPalette(palette)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        dark.setColor(group, QPalette.ColorRole.Base, QColor("#101010"))
        dark.setColor(group, QPalette.ColorRole.Window, QColor("#202020"))
    QGuiApplication.setPalette(dark)
    try:
        item.set_text(type(item.text)(**{**item.text.__dict__, "line2": "redrawn"}))
        assert item._look()["body"].name() != before
    finally:
        QGuiApplication.setPalette(palette)


def test_the_design_totals_rewrite_only_the_values_that_changed(window, monkeypatch):
    from PySide6.QtWidgets import QLabel

    inspector = window.inspector
    inspector.show_node(None)
    values = inspector.totals.values
    doc = window.document
    written = count_calls(monkeypatch, QLabel, "setText")
    first = doc.analysis.nodes[doc.design.node_ids[1]].id
    doc.push(SetParamCommand(doc, first, "out_channels", 11))
    assert values["Parameters"].text() == grouped(doc.analysis.params)
    assert values["MACs"].text() == grouped(doc.analysis.macs)
    rewritten = {args[0] for args in written}
    assert values["Parameters"] in rewritten and values["Receptive field"] not in rewritten  # same field
    assert "Parameters: " + grouped(doc.analysis.params) in inspector.totals.text()


def test_the_issues_list_keeps_its_selection_when_its_problems_stay(window):
    doc = window.document
    doc.design.set_inputs("fc", ["gap"])  # an error: fc after the pooling, without the flatten
    tree = window.issues.tree
    tree.setCurrentItem(tree.topLevelItem(0))
    current = tree.currentItem()
    doc.push(SetParamCommand(doc, "conv1", "out_channels", 12))
    assert tree.currentItem() is current


def test_spin_box_steps_within_a_frame_are_analysed_once_and_undone_as_one(window, qtbot, monkeypatch):
    analyses = count_calls(monkeypatch, document_module, "analyze")
    window.editing.select_node("conv2")
    spin = window.inspector.editors["out_channels"].spin
    for value in range(33, 41):  # eight steps faster than a frame, as a wheel burst gives them
        spin.setValue(value)
    assert window.document.design.node("conv2").params["out_channels"] == 40  # every step taken at once
    assert len(analyses) <= 2  # the first step at once; the rest wait for the next frame
    assert window.document.analysis.nodes["conv2"].output_shape[0] == 40  # whoever asks gets it current
    qtbot.waitUntil(lambda: footer(window, "bn2").startswith("40×"), timeout=2000)
    assert len(analyses) <= 3
    stack = window.document.undo_stack
    assert stack.count() == 1
    stack.undo()
    assert window.document.design.node("conv2").params.get("out_channels", 32) == 32
    assert footer(window, "bn2").startswith("32×")


def test_a_lone_spin_step_shows_at_once(window):
    window.editing.select_node("conv2")
    window.inspector.editors["out_channels"].spin.setValue(24)
    assert footer(window, "bn2").startswith("24×")  # not a frame later: nothing else was analysed just now


def test_the_key_moves_with_every_step_even_before_its_analysis(window, qtbot):
    doc = window.document
    window.editing.select_node("conv2")
    spin = window.inspector.editors["out_channels"].spin
    keys = []
    doc.keyChanged.connect(keys.append)
    for value in (40, 41, 42):
        spin.setValue(value)
    assert len(keys) == 3 and len(set(keys)) == 3 and keys[-1] == doc.key


def test_a_node_added_under_a_dangling_input_gets_its_edge(window):
    doc = window.document
    doc.design.set_inputs("fc", ["ghost"])  # names a node that is not there (a hand-edited file)
    assert ("fc", 0) not in window.scene.edges
    doc.push(AddNodesCommand(doc, [Node("ghost", "Flatten", ["gap"], {}, (0.0, 0.0))]))
    edge = window.scene.edges[("fc", 0)]
    assert edge.source is window.scene.nodes["ghost"] and edge.target is window.scene.nodes["fc"]


def test_zoomed_far_out_cards_that_look_alike_are_drawn_once(big, monkeypatch):
    """A card far out shows its type and output shape: one picture per look, copied to every card
    that has it (an edit that reshapes 70 cards copies pictures it has mostly drawn before)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from convviz.ui.canvas import node_item

    node_item._SPRITES.clear()
    drawn = count_calls(monkeypatch, node_item.NodeItem, "_paint_card")
    scene = big.scene
    for item in scene.nodes.values():  # straight onto the picture, not through each card's own cache
        item.setCacheMode(node_item.QGraphicsItem.CacheMode.NoCache)
    source = scene.itemsBoundingRect()

    def render() -> QImage:
        image = QImage(int(source.width() * 0.3) + 1, int(source.height() * 0.3) + 1, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        scene.render(painter, QRectF(image.rect()), source)
        painter.end()
        return image

    looks = {(item.text.title, item.text.line1, item.text.status) for item in scene.nodes.values()}
    first = render()
    assert 0 < len(drawn) <= len(looks) < len(scene.nodes)
    drawn.clear()
    assert render() == first and drawn == []  # drawn again from the pictures alone, the same
    node_item._SPRITES.clear()
    monkeypatch.setattr(node_item, "MAX_SPRITES", 5)  # pictures kept: a bounded number, the oldest forgotten
    assert render() == first and len(node_item._SPRITES) == 5 < len(looks)


def test_an_edit_paints_the_window_once_with_its_layouts_settled(window, qtbot):
    """An edit changes texts all over the window (the totals, the status bar, the Undo action's name):
    the window settles the layouts they move before it paints, and no label asks for a paint after
    it, so each edit costs one paint of the window (one backing-store flush), each panel in it once."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QStatusBar

    from convviz.design import load_template
    from convviz.ui.summary_panel import SummaryPanel

    window.resize(1600, 1000)
    window.files.open_design(load_template("resnet18"), None)
    qtbot.wait(300)
    paints = {"canvas": 0, "status bar": 0, "summary": 0, "window flushes": 0}
    canvas = window.view.viewport()

    class Count(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.UpdateRequest and watched is window:
                paints["window flushes"] += 1
            if event.type() == QEvent.Type.Paint:
                if watched is canvas:
                    paints["canvas"] += 1
                elif isinstance(watched, QStatusBar):
                    paints["status bar"] += 1
                elif isinstance(watched, SummaryPanel):
                    paints["summary"] += 1
            return False

    counter = Count()
    QApplication.instance().installEventFilter(counter)
    try:
        for kernel in (5, 7, 5, 7):
            window.document.undo_stack.push(SetParamCommand(window.document, "conv1", "kernel_size", kernel))
            qtbot.wait(150)
    finally:
        QApplication.instance().removeEventFilter(counter)
    assert paints == {"canvas": 4, "status bar": 4, "summary": 4, "window flushes": 4}
