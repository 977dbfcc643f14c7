"""Gradient flow: per layer (rows, the first at the top) and over the run (columns, in epochs), the
gradient's norm or the update-to-weight ratio on a log colour scale, live and in the replay.

In a deep plain stack the first rows stay dark (their gradients vanish: 10⁻⁶ beside 10⁻¹ at the
classifier) while the same depth with residual shortcuts is lit from top to bottom."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout

from ...i18n import tr
from .shown import DrawnWhenShown
from ..plots import palette_colors, themed_plot

GRAD_NORM, UPDATE_RATIO = 0, 1
FLOOR = 1e-12
#: The colour scale's log₁₀ range per metric, the same for every run (so two runs compare by eye); the
#: top grows for a run above it, and what lies below the bottom is black: a gradient that vanished.
LEVELS = {GRAD_NORM: (-8.0, 1.0), UPDATE_RATIO: (-8.0, 0.0)}


class GradientFlowView(DrawnWhenShown):
    def __init__(self) -> None:
        super().__init__()
        self.metric_choice = QComboBox()  # not "metric": that would shadow QWidget::metric()
        self.metric_choice.addItems([tr("gradient norm ‖∇w‖"), tr("update ÷ weight ‖Δw‖ / ‖w‖")])
        self.metric_choice.setToolTip(tr("Per layer: how large its gradient is, or how much one step changes its weights "
                                  "relative to their size (about 1e-3 is healthy; far below, the layer barely learns)"))
        self.caption = QLabel(wordWrap=True)
        self.plot = themed_plot(bottom=tr("epoch"))
        item = self.plot.getPlotItem()
        item.showGrid(x=False, y=False)
        item.invertY(True)
        item.setMenuEnabled(False)
        self.image = pg.ImageItem()
        item.addItem(self.image)
        _, ink = palette_colors()
        self.bar = pg.ColorBarItem(values=(-6, 0), colorMap=pg.colormap.get("inferno"), label=tr("log₁₀"),
                                   interactive=False, width=14, pen=ink)
        self.bar.setImageItem(self.image, insert_in=item)
        self.bar.axis.setTextPen(ink)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#4C78A8", width=2))
        self.cursor.hide()
        item.addItem(self.cursor)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Per layer:")))
        row.addWidget(self.metric_choice)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.layers: tuple[str, ...] = ()
        self.x = np.zeros(0)
        self.values = np.zeros((0, 0, 2), dtype=np.float32)   # T × L × (norm, ratio)
        self._dirty = False
        self.metric_choice.currentIndexChanged.connect(lambda _: self.redraw())
        self.clear(tr("no run yet: train to see each layer's gradients"))

    def set_history(self, layers, x, grad_norm: np.ndarray, update_ratio: np.ndarray, run: str = "") -> None:
        """``run``: the stored run's name (its caption names it); "" for the run training now."""
        self.run = run
        self.layers = tuple(layers)
        self.x = np.asarray(x, dtype=np.float64)
        self.values = np.stack([grad_norm, update_ratio], axis=2) if len(self.x) else \
            np.zeros((0, len(self.layers), 2), dtype=np.float32)
        self.redraw()

    def start(self, layers) -> None:
        self.set_history(layers, [], np.zeros((0, len(layers))), np.zeros((0, len(layers))))

    def append(self, xs: list[float], gradients: list[np.ndarray]) -> None:
        rows = [g for g in gradients if g is not None and len(g) == len(self.layers)]
        if not rows:
            return
        self.x = np.concatenate([self.x, np.asarray(xs[-len(rows):], dtype=np.float64)])
        self.values = np.concatenate([self.values, np.stack(rows).astype(np.float32)])
        self.redraw()

    def clear(self, message: str) -> None:
        self.run = ""
        self.layers, self.x = (), np.zeros(0)
        self.values = np.zeros((0, 0, 2), dtype=np.float32)
        self.image.clear()
        self.cursor.hide()
        self.caption.setText(message)

    def set_cursor(self, x: float | None) -> None:
        if x is None:
            self.cursor.hide()
        else:
            self.cursor.setValue(x)
            self.cursor.show()

    @property
    def shown(self) -> np.ndarray:
        """The log₁₀ values on screen, L × T (first layer first)."""
        values = self.values[:, :, self.metric_choice.currentIndex()] if len(self.x) else np.zeros((len(self.layers), 0))
        return np.log10(np.maximum(values, FLOOR)).T.astype(np.float32) if len(self.x) else values

    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        count = len(self.layers)
        item.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(self.layers)], []])
        if not len(self.x) or not count:
            self.image.clear()
            if count:
                self.caption.setText(tr("waiting for the first measured step…"))
            return
        shown = np.ascontiguousarray(self.shown)
        finite = shown[np.isfinite(shown)]
        low, high = LEVELS[self.metric_choice.currentIndex()]
        if finite.size:
            high = max(high, float(np.ceil(finite.max())))
        self.image.setImage(shown, levels=(low, high), autoLevels=False)
        self.bar.setLevels((low, high))
        x0 = float(self.x[0])
        width = max(float(self.x[-1]) - x0, 1e-6)
        step = width / max(len(self.x) - 1, 1)
        self.image.setRect(x0 - step / 2, 0, width + step, count)
        item.setYRange(0, count, padding=0)
        item.setXRange(x0, x0 + width, padding=0.01)
        latest = self.values[-1, :, self.metric_choice.currentIndex()]
        first, last = float(latest[0]), float(latest[-1])
        metric = tr("gradient norm") if self.metric_choice.currentIndex() == GRAD_NORM else tr("update ratio")
        ratio = last / first if first > 0 else float("inf")
        text = tr("{run} at its end: {metric} {first} at {a} (first layer), {last} at {b} (last): {ratio}× apart.") \
            if self.run else tr("Now: {metric} {first} at {a} (first layer), {last} at {b} (last): {ratio}× apart.")
        self.caption.setText(text.format(run=self.run, metric=metric, first=f"{first:.2g}", a=self.layers[0],
                                         last=f"{last:.2g}", b=self.layers[-1], ratio=f"{ratio:.3g}"))
