"""Class names on the confusion matrix's axes and the per-class bars: never on top of each other."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

CLASSES = ["vertical bar", "horizontal bar", "diagonal /", "diagonal \\", "circle", "disk", "square", "triangle",
           "plus", "cross"]


@pytest.mark.parametrize("height, every_name", [(170, False), (700, True)])
def test_matrix_names_leave_out_what_would_overlap(qtbot, height, every_name):
    from convviz.ui.confusion_matrix import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    view.resize(420, height)
    view.show()
    qtbot.waitExposed(view)
    view.show_matrix(np.eye(10, dtype=np.int64) * 5, CLASSES)
    QApplication.processEvents()
    for axis in (view.left_axis, view.bottom_axis):
        shown = axis.shown_names()
        assert shown and shown[0][1] == "vertical bar"
        gaps = np.diff(sorted(at for _, _, at in shown))
        assert (gaps >= axis._line).all(), (axis.orientation, gaps, axis._line)
    names = [text for _, text, _ in view.left_axis.shown_names()]
    assert (names == CLASSES) == every_name, names


def test_per_class_bars_name_every_class_where_there_is_room(qtbot):
    from convviz.ui.train.live_views import ConfusionView

    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(420, 900)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(1, np.eye(10, dtype=np.int64) * 5, np.ones(10), CLASSES)
    QApplication.processEvents()
    assert [text for _, text, _ in view.names_axis.shown_names()] == CLASSES
    view.resize(420, 300)  # the bars get a fifth of it: too short for ten lines
    QApplication.processEvents()
    shown = view.names_axis.shown_names()
    assert 0 < len(shown) < len(CLASSES)
    assert (np.diff([at for _, _, at in shown]) >= view.names_axis._line).all()
