"""An edit's new figures re-lay out nothing above them: labels that keep their room, a toolbar button
that is not renamed, the inspector's totals laid out by themselves (no timings: bench/gui_latency.py)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QStatusBar, QVBoxLayout, QWidget

from convviz.analysis.text import compact, grouped
from convviz.design import load_template
from convviz.ui.commands import SetParamCommand
from convviz.ui.steady_geometry import SHRINK_BELOW, FigureRows, SteadyLabel, SteadyToolButton


class LayoutRequests(QObject):
    """Counts the layout requests each watched widget is sent."""

    def __init__(self, watched: dict[str, QObject]) -> None:
        super().__init__()
        self.watched = watched
        self.counts = dict.fromkeys(watched, 0)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.LayoutRequest:
            for name, widget in self.watched.items():
                if obj is widget:
                    self.counts[name] += 1
        return False


def test_an_edit_re_lays_out_none_of_the_window_above_its_panels(window, qtbot):
    window.resize(1600, 1000)
    window.files.open_design(load_template("resnet18"), None)
    qtbot.wait(300)
    doc = window.document

    def edit(kernel: int) -> None:
        doc.undo_stack.push(SetParamCommand(doc, "conv1", "kernel_size", kernel))
        qtbot.wait(120)

    for kernel in (5, 7):  # the labels find the room their figures need
        edit(kernel)
    watched = {"window": window, "status bar": window.findChild(QStatusBar), "toolbar": window.toolbar,
               "summary dock": window.summary_dock, "inspector page": window.inspector.viewport()}
    requests = LayoutRequests(watched)
    QApplication.instance().installEventFilter(requests)
    try:
        for kernel in (5, 7, 5, 7):
            edit(kernel)
    finally:
        QApplication.instance().removeEventFilter(requests)
    assert requests.counts == dict.fromkeys(watched, 0)
    # ... and every figure is current.
    analysis = doc.analysis
    assert compact(analysis.params) in window.totals_label.text()
    assert grouped(analysis.macs) in window.summary.totals.text()
    assert f"MACs: {grouped(analysis.macs)}" in window.inspector.totals.text()


def test_a_steady_label_keeps_its_room_until_a_text_needs_more_or_much_less(qtbot):
    parent = QWidget()
    row = QHBoxLayout(parent)
    label = SteadyLabel("1,000,000 params")
    row.addWidget(label)
    qtbot.addWidget(parent)
    parent.show()
    room = label.maximumSize()
    assert label.minimumSize() == room == label.needed()  # fixed: asks nothing above it for room

    label.setText("1,000,001 params")  # as wide or a little narrower: the same room
    assert label.maximumSize() == label.minimumSize() == room and label.text() == "1,000,001 params"
    label.setText("12,000,000,000 params")  # wider: grows at once
    grown = label.maximumWidth()
    assert grown == label.minimumWidth() == label.needed().width() > room.width()
    qtbot.waitUntil(lambda: label.width() == grown)
    label.setText("11,000,000,000 params")
    assert label.maximumWidth() == grown
    label.setText("1 param")  # much narrower: gives the room back
    assert label.needed().width() < SHRINK_BELOW * grown
    assert label.maximumWidth() == label.minimumWidth() == label.needed().width()
    for text in ("11.7 M params · 1.81 G MACs · RF 435", "파라미터 11,689,512개 · 수용 영역 435", "a\tb", ""):
        label.setText(text)  # measured as a free QLabel would ask for it
        assert label.needed() == QLabel(text, textFormat=Qt.TextFormat.PlainText).sizeHint(), text


def test_the_totals_rows_are_laid_out_to_their_wrapped_heights_and_ask_for_room_when_those_change(qtbot):
    page = QWidget()
    column = QVBoxLayout(page)
    rows = FigureRows()
    column.addWidget(rows)
    column.addStretch(1)
    qtbot.addWidget(page)
    page.resize(260, 400)
    page.show()
    rows.show_rows([("Parameters", "11,689,512"), ("Receptive field", "435 (one unit of the last feature map)")])
    qtbot.waitUntil(lambda: rows.height() > 0 and rows.values["Parameters"].x() > 0)
    params, field = rows.values["Parameters"], rows.values["Receptive field"]

    def laid_out() -> None:
        for value in rows.values.values():
            assert value.height() >= value.heightForWidth(value.width())  # no line cut off
        assert params.geometry().bottom() < field.geometry().top()  # rows do not overlap
        assert field.geometry().right() <= rows.width()
        assert rows.height() == rows.heightForWidth(rows.width())

    laid_out()
    height = rows.height()
    rows.show_rows([("Parameters", "11,689,513"), ("Receptive field", "435 (one unit of the last feature map)")])
    qtbot.wait(50)
    assert rows.height() == height and params.text() == "11,689,513"
    long = "435 (one unit of the last feature map, seen through every layer before it, twice over)"
    rows.show_rows([("Parameters", "11,689,513"), ("Receptive field", long)])
    qtbot.waitUntil(lambda: rows.height() > height)  # a line more: the page gave it room
    laid_out()
    assert rows.text() == f"Parameters: 11,689,513\nReceptive field: {long}"
    (copy,) = rows.actions()  # the context menu's Copy: every row as text (the values are not selectable)
    copy.trigger()
    assert QApplication.clipboard().text() == rows.text()
    rows.show_rows([("MACs", "1,814,073,344")])  # other rows: the old labels go at once
    qtbot.waitUntil(lambda: rows.height() == rows.heightForWidth(rows.width()) and rows.values["MACs"].x() > 0)
    assert [label for label in rows.findChildren(QLabel) if label.isVisible()] == [
        label for label in rows.findChildren(QLabel) if label.text() in ("<b>MACs</b>", "1,814,073,344")]


def test_the_toolbar_undo_button_follows_its_action_without_being_it(window, qtbot):
    doc = window.document
    undo = window.editing.undo_action
    button = next(b for b in window.toolbar.findChildren(SteadyToolButton) if b.action is undo)
    assert not button.isEnabled() and button.text() == undo.iconText()
    conv = next(n.id for n in doc.design if n.type == "Conv2d")
    before = doc.design.node(conv).resolved_params()["out_channels"]
    doc.undo_stack.push(SetParamCommand(doc, conv, "out_channels", before + 3))
    assert button.isEnabled()
    assert "out_channels" in undo.text() and button.text() == undo.iconText()  # the menu's name, not the button's
    QApplication.sendEvent(button, QHelpEvent(QEvent.Type.ToolTip, QPoint(2, 2), button.mapToGlobal(QPoint(2, 2))))
    assert button.toolTip() == undo.toolTip() != ""  # hovered: the step it would undo
    button.click()
    assert doc.design.node(conv).resolved_params()["out_channels"] == before and not button.isEnabled()


def test_the_first_window_fits_a_screen_smaller_than_its_size(qtbot, tmp_path):
    """The app opens at 1600×1000, or maximised on a smaller screen (offscreen's is 800×800): a window
    wider than its screen hid the inspector past the edge."""
    from convviz.design import load_template
    from convviz.ui.main_window import MainWindow

    window = MainWindow(load_template("default"), recovery_dir=tmp_path / "recovery", persistent=False)
    qtbot.addWidget(window, before_close_func=lambda w: w.document.undo_stack.setClean())
    room = window.screen().availableGeometry()
    assert window.width() > room.width()  # (the premise: the default does not fit here)
    window.show_fitted()
    qtbot.waitExposed(window)
    assert window.width() <= room.width() and window.height() <= room.height() and window.isMaximized()
