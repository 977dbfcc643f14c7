"""The confusion matrix as a heatmap: the Train tab shows it after each epoch, a replay at each snapshot.

Its own module (not the Train tab's): the runs views use it too, and importing ``convviz.ui.train``
builds the whole tab, which imports the runs views.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from ..i18n import tr
from .plots import palette_colors, themed_plot


def short_name(name: str, limit: int = 10) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis (class names side by side on an axis)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


class ClassNamesAxis(pg.AxisItem):
    """An axis of class names, one per cell: on the left read across, at the bottom upright (read
    bottom to top, so names fit side by side). The axis draws the tick marks; the names are drawn
    here at the ticks' positions, and where cells are shorter than a line of text (ten classes in a
    100-pixel matrix at 1280×800) only every n-th name is, so none overlaps another."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self._names: list[tuple[float, str]] | None = None  # (None: not set yet, the axis's own numbers)
        self._longest = 0
        self._line = 0
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as ``themed_plot``'s axes

    def set_names(self, ticks: list[tuple[float, str]]) -> None:
        from PySide6.QtGui import QFontMetrics

        if list(ticks) == self._names:
            return  # (every epoch shows the same classes: no new geometry, no re-laid-out plot)
        metrics = QFontMetrics(self.style["tickFont"] or self.font())
        self._names = list(ticks)
        self._longest = max((metrics.horizontalAdvance(text) for _, text in ticks), default=0)
        self._line = metrics.height()
        self.setTicks([[(value, "") for value, _ in ticks], []])
        label = self.label.boundingRect().height() if self.label.isVisible() else 0
        if self.orientation == "bottom":
            self.setHeight(self._longest + 14 + label)
        else:
            self.setWidth(self._longest + 12 + label)
        self.picture = None  # (drawn again with the new names)
        self.update()

    def shown_names(self) -> list[tuple[float, str, float]]:
        """(value, name, position along the axis in pixels) of the names drawn: every n-th where the
        cells are too short for each to have its own line."""
        low, high = sorted(self.range)
        view = self.linkedView()
        if not self._names or high <= low or view is None:
            return []
        vertical = self.orientation in ("left", "right")

        def position(value: float) -> float:
            point = self.mapFromScene(view.mapViewToScene(pg.Point(0, value) if vertical else pg.Point(value, 0)))
            return point.y() if vertical else point.x()

        values = [value for value, _ in self._names]
        spacing = abs(position(values[1]) - position(values[0])) if len(values) > 1 else float("inf")
        step = max(1, math.ceil((self._line + 1) / spacing)) if spacing > 0 else len(values)
        return [(value, text, position(value)) for index, (value, text) in enumerate(self._names)
                if index % step == 0 and low <= value <= high]

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])
        from PySide6.QtCore import QRectF

        bounds = self.mapRectFromParent(self.geometry())
        p.setPen(self.textPen())
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        for _, text, at in self.shown_names():
            if self.orientation == "bottom":
                p.save()
                p.translate(at, bounds.top() + 6)
                p.rotate(-90)
                p.drawText(QRectF(-self._longest, -self._line / 2, self._longest, self._line),
                           int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
                p.restore()
            else:
                p.drawText(QRectF(bounds.right() - 6 - self._longest, at - self._line / 2, self._longest, self._line),
                           int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)


class ConfusionMatrixView(QWidget):
    """A confusion matrix as a heatmap of row shares, the class names on both axes and a colour bar."""

    def __init__(self, name_length: int = 14) -> None:
        super().__init__()
        self.name_length = name_length
        self.plot = themed_plot()
        item = self.plot.getPlotItem()
        _, ink = palette_colors()
        self.bottom_axis = ClassNamesAxis("bottom", pen=ink, textPen=ink)
        self.bottom_axis.setLabel(tr("predicted class"), color=ink.name())
        self.left_axis = ClassNamesAxis("left", pen=ink, textPen=ink)
        self.left_axis.setLabel(tr("true class"), color=ink.name())
        item.setAxisItems({"bottom": self.bottom_axis, "left": self.left_axis})
        for axis in (self.left_axis, self.bottom_axis):  # class names: never "(x0.001)" on an empty matrix
            axis.enableAutoSIPrefix(False)
        item.showGrid(x=False, y=False)
        item.setMenuEnabled(False)
        item.getViewBox().setMouseEnabled(x=False, y=False)
        item.invertY(True)
        self.image = pg.ImageItem()
        item.addItem(self.image)
        _, ink = palette_colors()
        self.bar = pg.ColorBarItem(values=(0, 100), colorMap=pg.colormap.get("viridis"), label=tr("% of the true class"),
                                   interactive=False, width=14, pen=ink)
        self.bar.setImageItem(self.image, insert_in=item)
        self.bar.axis.setTextPen(ink)
        self.bar.axis.setPen(ink)
        self.matrix: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_matrix(self, confusion: np.ndarray, classes: list[str]) -> None:
        matrix = np.asarray(confusion, dtype=np.float32)
        rows = matrix.sum(axis=1, keepdims=True)
        share = np.divide(100 * matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
        self.matrix = np.asarray(confusion)
        self.image.setImage(share, levels=(0.0, 100.0), autoLevels=False)
        k = len(matrix)
        names = [classes[i] if i < len(classes) else str(i) for i in range(k)]
        # Names at cell centres (the axes leave out what would overlap).
        ticks = [(i + 0.5, short_name(name, self.name_length)) for i, name in enumerate(names)]
        item = self.plot.getPlotItem()
        self.left_axis.set_names(ticks)
        self.bottom_axis.set_names(ticks)
        item.setXRange(0, k, padding=0)
        item.setYRange(0, k, padding=0)
        self.plot.setToolTip(tr("Rows: the true class; columns: the predicted one. Classes: {names}").format(
            names=", ".join(f"{i}: {n}" for i, n in enumerate(names[:40]))))

    def clear(self) -> None:
        self.matrix = None
        self.image.clear()
        self.left_axis.set_names([])
        self.bottom_axis.set_names([])
