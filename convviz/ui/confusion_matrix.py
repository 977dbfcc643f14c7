"""The confusion matrix as a heatmap: the Train tab shows it after each epoch, a replay at each snapshot.

Its own module (not the Train tab's): the runs views use it too, and importing ``convviz.ui.train``
builds the whole tab, which imports the runs views.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..i18n import tr
from .plots import palette_colors, themed_plot


def short_name(name: str, limit: int = 10) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis (class names side by side on an axis)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


class VerticalLabelsAxis(pg.AxisItem):
    """A bottom axis whose tick labels stand upright (read bottom to top), so class names fit side by side.

    The axis draws the tick marks; the names are drawn here at the ticks' positions (pyqtgraph would
    drop the ones whose horizontal text overlaps)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("bottom", **kwargs)
        self._names: list[tuple[float, str]] = []
        self._longest = 0

    def set_names(self, ticks: list[tuple[float, str]]) -> None:
        from PySide6.QtGui import QFontMetrics

        metrics = QFontMetrics(self.style["tickFont"] or self.font())
        self._names = list(ticks)
        self._longest = max((metrics.horizontalAdvance(text) for _, text in ticks), default=0)
        self._line = metrics.height()
        self.setTicks([[(value, "") for value, _ in ticks], []])
        label = self.label.boundingRect().height() if self.label.isVisible() else 0
        self.setHeight(self._longest + 14 + label)

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])
        from PySide6.QtCore import QRectF

        low, high = self.range
        if not self._names or high <= low:
            return
        bounds = self.mapRectFromParent(self.geometry())
        p.setPen(self.textPen())
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        for value, text in self._names:
            if not low <= value <= high:
                continue
            x = bounds.left() + (value - low) * bounds.width() / (high - low)
            p.save()
            p.translate(x, bounds.top() + 6)
            p.rotate(-90)
            p.drawText(QRectF(-self._longest, -self._line / 2, self._longest, self._line),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()


class ConfusionMatrixView(QWidget):
    """A confusion matrix as a heatmap of row shares, the class names on both axes and a colour bar."""

    def __init__(self, name_length: int = 14) -> None:
        super().__init__()
        self.name_length = name_length
        self.plot = themed_plot(left=tr("true class"))
        item = self.plot.getPlotItem()
        _, ink = palette_colors()
        self.bottom_axis = VerticalLabelsAxis(pen=ink, textPen=ink)
        self.bottom_axis.setLabel(tr("predicted class"), color=ink.name())
        item.setAxisItems({"bottom": self.bottom_axis})
        for axis in (item.getAxis("left"), self.bottom_axis):  # class names: never "(x0.001)" on an empty matrix
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
        # Ticks at cell centres; the bottom axis gets short names (they sit side by side), the left one longer.
        step = max(1, k // 20)
        ticks = [(i + 0.5, short_name(name, self.name_length)) for i, name in enumerate(names) if i % step == 0]
        item = self.plot.getPlotItem()
        item.getAxis("left").setTicks([ticks, []])
        self.bottom_axis.set_names(ticks)
        item.setXRange(0, k, padding=0)
        item.setYRange(0, k, padding=0)
        self.plot.setToolTip(tr("Rows: the true class; columns: the predicted one. Classes: {names}").format(
            names=", ".join(f"{i}: {n}" for i, n in enumerate(names[:40]))))

    def clear(self) -> None:
        self.matrix = None
        self.image.clear()
        item = self.plot.getPlotItem()
        item.getAxis("left").setTicks([[], []])
        self.bottom_axis.set_names([])
