"""What a run shows while it goes: loss/accuracy/learning-rate curves, the first conv layer's filters,
and after each epoch the confusion matrix and per-class accuracy.

Curves are pyqtgraph PlotDataItems fed with growing arrays (downsampled and clipped to the view,
so a long run stays cheap to draw); images are one ImageItem each with explicit levels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..plots import image_view, palette_colors, themed_plot

TRAIN_COLOR = QColor("#4C78A8")
VAL_COLOR = QColor("#F58518")
SMOOTHING = 0.9  # exponential moving average of the per-step loss


class Series:
    """A growing (x, y) series behind one curve."""

    def __init__(self, item: pg.PlotDataItem) -> None:
        self.item = item
        self.x: list[float] = []
        self.y: list[float] = []

    def add(self, x: float, y: float) -> None:
        self.extend([x], [y])

    def extend(self, xs: list[float], ys: list[float]) -> None:
        self.x.extend(xs)
        self.y.extend(ys)
        self.item.setData(self.x, self.y)

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self.item.setData([], [])


class CurvesView(QWidget):
    """Loss and accuracy (training per step, smoothed; validation per epoch) and the learning rate."""

    def __init__(self) -> None:
        super().__init__()
        self.loss_plot = themed_plot("Loss", bottom="epoch")
        self.acc_plot = themed_plot("Accuracy (%)", bottom="epoch")
        self.lr_plot = themed_plot("Learning rate", bottom="epoch")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.acc_plot.addLegend(offset=(-10, -40))
        self.acc_plot.setYRange(0, 100)
        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(70)

        def curve(plot, color, name=None, width=2.0, symbol=None):
            item = plot.plot([], [], pen=pg.mkPen(color, width=width), name=name, symbol=symbol,
                             symbolBrush=color, symbolPen=None, symbolSize=7)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            return Series(item)

        self.train_loss_raw = curve(self.loss_plot, faint, width=1.0)
        self.train_loss = curve(self.loss_plot, TRAIN_COLOR, "training (smoothed)")
        self.val_loss = curve(self.loss_plot, VAL_COLOR, "validation", symbol="o")
        self.train_acc = curve(self.acc_plot, TRAIN_COLOR, "training (smoothed)")
        self.val_acc = curve(self.acc_plot, VAL_COLOR, "validation", symbol="o")
        self.lr = curve(self.lr_plot, QColor("#54A24B"))
        _, ink = palette_colors()
        self.best_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(VAL_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                         label="best", labelOpts={"position": 0.92, "color": ink})
        self.best_line.hide()
        self.acc_plot.addItem(self.best_line)
        self.log_scale = QCheckBox("log scale (loss, learning rate)")
        self.log_scale.toggled.connect(self._on_log_scale)
        row = QHBoxLayout()
        row.addWidget(self.loss_plot)
        row.addWidget(self.acc_plot)
        self.lr_plot.setMaximumHeight(150)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row, 3)
        layout.addWidget(self.lr_plot, 1)
        layout.addWidget(self.log_scale)
        self._smooth_loss = self._smooth_acc = None
        self._loss_top: float | None = None

    def reset(self) -> None:
        for series in (self.train_loss_raw, self.train_loss, self.val_loss, self.train_acc, self.val_acc, self.lr):
            series.clear()
        self._smooth_loss = self._smooth_acc = None
        self.best_line.hide()

    def set_epochs(self, epochs: int, max_lr: float | None = None) -> None:
        """Fixed ranges for the run: an axis whose range changes redraws all its text, so the plots do not
        rescale at every step (x: the epochs; y: loss grows its range only when a value leaves it)."""
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            plot.setXRange(0, epochs, padding=0.02)
            plot.enableAutoRange(x=False)
        self._loss_top = None
        if max_lr:
            self.lr_plot.setYRange(0, max_lr * 1.05, padding=0)

    def add_steps(self, records: list) -> None:
        xs, losses, smooth_losses, smooth_accs, rates = [], [], [], [], []
        for record in records:
            self._smooth_loss = _ema(self._smooth_loss, record.loss)
            self._smooth_acc = _ema(self._smooth_acc, record.accuracy)
            xs.append(record.global_step / record.steps_per_epoch)
            losses.append(record.loss)
            smooth_losses.append(self._smooth_loss)
            smooth_accs.append(100 * self._smooth_acc)
            rates.append(record.lr)
        self._fit_loss_range(max(losses))
        self.train_loss_raw.extend(xs, losses)
        self.train_loss.extend(xs, smooth_losses)
        self.train_acc.extend(xs, smooth_accs)
        self.lr.extend(xs, rates)

    def _fit_loss_range(self, value: float) -> None:
        if self.log_scale.isChecked() or not np.isfinite(value):
            return
        if self._loss_top is None or value > self._loss_top:
            self._loss_top = value * 1.25
            self.loss_plot.setYRange(0, self._loss_top, padding=0)

    def add_epoch(self, record) -> None:
        self._fit_loss_range(record.val_loss)
        self.val_loss.add(record.epoch, record.val_loss)
        self.val_acc.add(record.epoch, 100 * record.val_acc)
        self.best_line.setValue(record.best_epoch)
        self.best_line.label.setFormat(f"best: epoch {record.best_epoch}, {100 * record.best_val_acc:.1f} %")
        self.best_line.show()

    def _on_log_scale(self, on: bool) -> None:
        for plot in (self.loss_plot, self.lr_plot):
            plot.setLogMode(y=on)
            plot.enableAutoRange(y=on)  # a log axis follows the data; linear ones keep their fixed ranges
        if not on:
            self._loss_top = None
            self._fit_loss_range(max(self.train_loss_raw.y, default=1.0))


def _ema(previous: float | None, value: float) -> float:
    return value if previous is None else SMOOTHING * previous + (1 - SMOOTHING) * value


class FiltersView(QWidget):
    """The first conv layer's filters, as the run changes them (zero is mid-grey)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("Filters", wordWrap=True)
        self.widget, self.view, self.image = image_view()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.widget, 1)

    def show_weights(self, node_id: str, weights: np.ndarray, groups: int = 1, caption: str = "") -> None:
        from ...explain.filters import weight_mosaic  # torch: not needed to build the tab

        shown = weight_mosaic(weights, groups)
        self.image.setImage(shown.mosaic.image, levels=(0.0, 1.0), autoLevels=False)
        what = "in colour (R, G, B input channels)" if shown.colour else "input channel 0"
        self.title.setText(f"<b>Filters of {node_id}</b> — {shown.out_channels} filters, {what}. {caption}")


class ConfusionView(QWidget):
    """After each epoch: the confusion matrix (rows: true class) and the accuracy of each class."""

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("<b>Confusion matrix</b> (after the first epoch)", wordWrap=True)
        self.widget, self.view, self.image = image_view()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.bars_plot = themed_plot("Per-class validation accuracy (%)")
        self.bars_plot.setXRange(0, 100, padding=0)
        self.bars_plot.getPlotItem().invertY(True)  # the first class on top, as in the confusion matrix
        self.bars: pg.BarGraphItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.widget, 3)
        layout.addWidget(self.bars_plot, 2)

    def show_epoch(self, record, classes: list[str]) -> None:
        matrix = record.confusion.astype(np.float32)
        rows = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
        self.image.setImage(share, levels=(0.0, 1.0), autoLevels=False)
        worst = _most_confused(record.confusion, classes)
        self.title.setText(f"<b>Confusion matrix</b>, epoch {record.epoch} (rows: true class, columns: predicted)"
                           + (f" — most confused: {worst}" if worst else ""))
        accuracy = np.nan_to_num(100 * record.per_class_acc, nan=0.0)
        if self.bars is not None:
            self.bars_plot.removeItem(self.bars)
        # Horizontal bars: class names read along the left axis, however many and however long.
        rows = np.arange(len(accuracy))
        self.bars = pg.BarGraphItem(x0=0, y=rows, height=0.7, width=accuracy, brush=TRAIN_COLOR)
        self.bars_plot.addItem(self.bars)
        self.bars_plot.getAxis("left").setTicks([[(int(i), _short(name, 16)) for i, name in zip(rows, classes)]])
        self.bars_plot.setYRange(-0.6, len(accuracy) - 0.4, padding=0)


def _short(name: str, limit: int = 10) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _most_confused(confusion: np.ndarray, classes: list[str]) -> str:
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    if off.max() <= 0:
        return ""
    true, predicted = np.unravel_index(int(off.argmax()), off.shape)
    return f"{classes[true]} taken for {classes[predicted]} ({int(off[true, predicted])}×)"
