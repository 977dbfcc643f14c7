"""What a run shows while it goes: loss/accuracy/learning-rate curves (with other runs overlaid), the
first conv layer's filters, and after each epoch the confusion matrix and per-class accuracy.

Curves are pyqtgraph PlotDataItems fed with growing arrays (downsampled and clipped to the view,
so a long run stays cheap to draw); images are one ImageItem each with explicit levels. A view
that has no result for the open design says so (``clear``) instead of showing an old one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...i18n import tr
from ..confusion_matrix import ClassNamesAxis, ConfusionMatrixView, short_name
from ..plots import image_view, palette_colors, themed_plot

TRAIN_COLOR = QColor("#4C78A8")
VAL_COLOR = QColor("#F58518")
GAP_COLOR = QColor(245, 133, 24, 45)
SMOOTHING = 0.9  # exponential moving average of the per-step loss
LIVE_WIDTH, OVERLAY_WIDTH = 2.5, 1.5


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


@dataclass(frozen=True, eq=False)
class Overlay:
    """Another run's curves on the plots: ``curves`` is a ``convviz.runs.RunCurves``."""

    run_id: str
    label: str
    color: QColor
    curves: object

    def __eq__(self, other: object) -> bool:   # the same drawing: same run, label, colour and curves object
        return (isinstance(other, Overlay) and (self.run_id, self.label) == (other.run_id, other.label)
                and QColor(self.color) == QColor(other.color) and self.curves is other.curves)

    __hash__ = None  # type: ignore[assignment]


def smoothed(values: np.ndarray, factor: float = SMOOTHING) -> np.ndarray:
    """The live curves' exponential moving average, for stored runs too."""
    out = np.empty(len(values), dtype=np.float64)
    level = None
    for i, value in enumerate(values):
        level = value if level is None else factor * level + (1 - factor) * value
        out[i] = level
    return out


class CurvesView(QWidget):
    """Loss and accuracy (training per step, smoothed; validation per epoch), the learning rate, the gap
    between training and validation accuracy, and other runs overlaid in their colours."""

    def __init__(self) -> None:
        super().__init__()
        self.loss_plot = themed_plot(tr("Loss"), bottom=tr("epoch"))
        self.acc_plot = themed_plot(tr("Accuracy (%)"), bottom=tr("epoch"))
        self.lr_plot = themed_plot(tr("Learning rate"), bottom=tr("epoch"))
        background, ink = palette_colors()
        # Legends on a veil of the background: their names stay readable over the curves (at 1280×800
        # the plots are small and the legend, growing with each overlaid run, covers some of them).
        veil = QColor(background)
        veil.setAlpha(200)
        self.loss_legend = self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="8pt", brush=pg.mkBrush(veil))
        self.acc_legend = self.acc_plot.addLegend(offset=(-10, -10), labelTextSize="8pt", brush=pg.mkBrush(veil))
        self.acc_plot.setYRange(0, 100)
        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(70)
        self.train_loss_raw = self._curve(self.loss_plot, faint, width=1.0)
        self.train_loss = self._curve(self.loss_plot, TRAIN_COLOR, tr("training (smoothed)"))
        self.val_loss = self._curve(self.loss_plot, VAL_COLOR, tr("validation"), symbol="o")
        self.train_acc = self._curve(self.acc_plot, TRAIN_COLOR, tr("training (smoothed)"))
        self.val_acc = self._curve(self.acc_plot, VAL_COLOR, tr("validation"), symbol="o")
        self.epoch_train_acc = self._curve(self.acc_plot, TRAIN_COLOR, width=1.0, symbol="t", style=Qt.PenStyle.DotLine)
        self.gap = pg.FillBetweenItem(self.epoch_train_acc.item, self.val_acc.item, brush=GAP_COLOR)
        self.acc_plot.addItem(self.gap)
        # The legend draws PlotDataItems: a stand-in with the gap's fill names it.
        self._gap_sample = pg.PlotDataItem([], [], pen=None, fillLevel=0, fillBrush=GAP_COLOR)
        self.acc_legend.addItem(self._gap_sample, tr("gap (training − validation)"))
        self.lr = self._curve(self.lr_plot, QColor("#54A24B"))
        for series in (self.train_loss, self.val_loss, self.train_acc, self.val_acc, self.lr):
            series.item.setZValue(10)   # the live run above the overlays
        # The best epoch: a dashed line, its numbers in the plot's top-left corner, where accuracy
        # curves do not go (a label on the line ran into the legend, which grows with every overlaid
        # run; the title had no room for them at 1280×800). In the view box's own pixels, not data.
        self.best_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(VAL_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self.best_line.hide()
        self.acc_plot.addItem(self.best_line)
        self.best_text = pg.TextItem("", color=ink, anchor=(0, 0), fill=pg.mkBrush(veil))
        self.best_text.setParentItem(self.acc_plot.getPlotItem().getViewBox())
        self.best_text.setPos(4, 2)
        self.best_text.setZValue(20)
        self.best_text.hide()
        self.placeholder = pg.TextItem("", color=ink, anchor=(0.5, 0.5))
        self.acc_plot.addItem(self.placeholder, ignoreBounds=True)
        self._placeholder_text = ""
        # The replay's position, on every plot (the gradient view shows the same x).
        self.cursors = {plot: pg.InfiniteLine(angle=90, pen=pg.mkPen("#4C78A8", width=1.5))
                        for plot in (self.loss_plot, self.acc_plot, self.lr_plot)}
        for plot, cursor in self.cursors.items():
            cursor.hide()
            cursor.setZValue(20)
            plot.addItem(cursor, ignoreBounds=True)
        self.log_scale = QCheckBox(tr("log scale (loss, learning rate)"))
        self.log_scale.toggled.connect(self._on_log_scale)
        row = QHBoxLayout()
        row.addWidget(self.loss_plot)
        row.addWidget(self.acc_plot)
        self.lr_plot.setMaximumHeight(150)
        self.lr_plot.setMinimumHeight(110)   # lower, its y labels overlap (1280×800)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row, 3)
        layout.addWidget(self.lr_plot, 1)
        layout.addWidget(self.log_scale)
        self._smooth_loss = self._smooth_acc = None
        self._loss_top: float | None = None
        self._epochs = 0
        self._overlay_items: dict[str, list] = {}
        self._overlays: dict[str, Overlay] = {}
        self._overlay_epochs = 0
        self._shown_right = 0
        self._markers = {plot: pg.ScatterPlotItem(size=5, pen=None) for plot in (self.loss_plot, self.acc_plot)}
        for plot, markers in self._markers.items():
            markers.setZValue(2)
            plot.addItem(markers)

    @staticmethod
    def _curve(plot, color, name=None, width=LIVE_WIDTH, symbol=None, style=Qt.PenStyle.SolidLine) -> Series:
        item = plot.plot([], [], pen=pg.mkPen(color, width=width, style=style), name=name, symbol=symbol,
                         symbolBrush=color, symbolPen=None, symbolSize=7)
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        return Series(item)

    # --- the live run -----------------------------------------------------------------------------
    def reset(self) -> None:
        for series in (self.train_loss_raw, self.train_loss, self.val_loss, self.train_acc, self.val_acc,
                       self.epoch_train_acc, self.lr):
            series.clear()
        self._smooth_loss = self._smooth_acc = None
        self._show_best(None)
        self.set_cursor(None)
        self.set_placeholder("")

    def clear(self, message: str) -> None:
        """No result for the open design: empty plots (overlays stay) and ``message`` where the curves were."""
        self.reset()
        self.set_placeholder(message)

    def set_placeholder(self, text: str) -> None:
        """``text`` over the accuracy plot while it has no curve of its own; hidden while other runs are
        overlaid (it would sit on their curves), back when they go."""
        self._placeholder_text = text
        self.placeholder.setText(text)
        self.placeholder.setVisible(bool(text) and not self._overlays)
        if text:
            x = max(self._epochs, self._overlay_epochs, 1) / 2
            self.placeholder.setPos(x, 50)

    def set_cursor(self, x: float | None) -> None:
        """A vertical line at ``x`` (epochs) on every plot: the replay's position (None: no line)."""
        for cursor in self.cursors.values():
            if x is None:
                cursor.hide()
            else:
                cursor.setValue(x)
                cursor.show()

    def set_epochs(self, epochs: int, max_lr: float | None = None) -> None:
        """Fixed ranges for the run: an axis whose range changes redraws all its text, so the plots do not
        rescale at every step (x: the epochs; y: loss grows its range only when a value leaves it)."""
        self._epochs = epochs
        self._set_x_range()
        self._loss_top = None
        self._fit_loss_range(max(self._overlay_loss_max(), 0.0))
        if max_lr:
            self.lr_plot.setYRange(0, max(max_lr, self._overlay_lr_max()) * 1.05, padding=0)

    def _set_x_range(self) -> None:
        right = max(self._epochs, self._overlay_epochs, 1)
        self._shown_right = right
        for plot in (self.loss_plot, self.acc_plot, self.lr_plot):
            plot.setXRange(0, right, padding=0.02)
            plot.enableAutoRange(x=False)

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
        if self.log_scale.isChecked() or not np.isfinite(value) or value <= 0:
            return
        if self._loss_top is None or value > self._loss_top:
            self._loss_top = value * 1.25
            self.loss_plot.setYRange(0, self._loss_top, padding=0)

    def add_epoch(self, record) -> None:
        self._fit_loss_range(record.val_loss)
        self.val_loss.add(record.epoch, record.val_loss)
        self.val_acc.add(record.epoch, 100 * record.val_acc)
        self.epoch_train_acc.add(record.epoch, 100 * record.train_acc)
        if record.best_epoch:
            self._show_best(record.best_epoch, record.best_val_acc)

    def _show_best(self, epoch: int | None, accuracy: float = 0.0) -> None:
        """Mark the best validation accuracy's epoch (None: no epoch yet)."""
        self.best_line.setVisible(epoch is not None)
        self.best_text.setVisible(epoch is not None)
        if epoch is not None:
            self.best_line.setValue(epoch)
            self.best_text.setText(tr("best: epoch {epoch}, {acc} %").format(epoch=epoch, acc=f"{100 * accuracy:.1f}"))

    def show_curves(self, curves, epochs: int) -> None:
        """A stored run as the current result (a run opened from the store, the last run of this design)."""
        self.reset()
        self._epochs = epochs
        self._set_x_range()
        if len(curves.step_x):
            self._loss_top = None
            self._fit_loss_range(float(np.nanmax(curves.step_loss)))
            self.train_loss_raw.extend(list(curves.step_x), list(curves.step_loss))
            loss, acc = smoothed(curves.step_loss), smoothed(curves.step_acc)
            self._smooth_loss, self._smooth_acc = float(loss[-1]), float(acc[-1])
            self.train_loss.extend(list(curves.step_x), list(loss))
            self.train_acc.extend(list(curves.step_x), list(100 * acc))
            self.lr.extend(list(curves.step_x), list(curves.step_lr))
            self.lr_plot.setYRange(0, max(float(curves.step_lr.max()), self._overlay_lr_max()) * 1.05, padding=0)
        if len(curves.epoch):
            self._fit_loss_range(float(np.nanmax(curves.val_loss)))
            self.val_loss.extend(list(curves.epoch), list(curves.val_loss))
            self.val_acc.extend(list(curves.epoch), list(100 * curves.val_acc))
            self.epoch_train_acc.extend(list(curves.epoch), list(100 * curves.train_acc))
            best = int(np.argmax(curves.val_acc))
            self._show_best(int(curves.epoch[best]), float(curves.val_acc[best]))

    # --- overlays ---------------------------------------------------------------------------------
    def set_overlays(self, overlays: list[Overlay]) -> None:
        """Draw these runs (and no others) under the live curves, each in its colour, named in the legends."""
        wanted = {o.run_id: o for o in overlays}
        for run_id in [r for r, shown in self._overlays.items() if wanted.get(r) != shown]:
            self._remove_overlay(run_id)   # unticked, or its colour or its curves changed
        for overlay in overlays:
            if overlay.run_id not in self._overlay_items:
                self._add_overlay(overlay)
                self._overlays[overlay.run_id] = overlay
        self._redraw_markers()
        self._overlay_epochs = max((float(o.curves.epoch[-1]) if len(o.curves.epoch) else
                                    float(o.curves.step_x[-1]) if len(o.curves.step_x) else 0.0 for o in overlays),
                                   default=0)
        self._overlay_epochs = int(np.ceil(self._overlay_epochs))
        if self._overlay_epochs > self._shown_right or not overlays:
            self._set_x_range()
        self._fit_loss_range(self._overlay_loss_max())
        self.set_placeholder(self._placeholder_text)

    def _add_overlay(self, overlay: Overlay) -> None:
        """Light items (PlotCurveItems, decimated once): ten overlays draw in a few tens of milliseconds."""
        c = overlay.curves
        color = QColor(overlay.color)
        faint = QColor(color)
        faint.setAlpha(170)
        dashed = pg.mkPen(faint, width=OVERLAY_WIDTH, style=Qt.PenStyle.DashLine)
        solid = pg.mkPen(color, width=OVERLAY_WIDTH)
        items = []

        def add(plot, x, y, pen):
            x, y = _decimated(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
            item = pg.PlotCurveItem(x, y, pen=pen)
            item.setZValue(1)
            plot.addItem(item)
            items.append((plot, item))
            return item

        named = {}
        if len(c.step_x):
            named[self.loss_plot] = add(self.loss_plot, c.step_x, smoothed(c.step_loss), dashed)
            named[self.acc_plot] = add(self.acc_plot, c.step_x, 100 * smoothed(c.step_acc), dashed)
            add(self.lr_plot, c.step_x, c.step_lr, solid)
        if len(c.epoch):
            named[self.loss_plot] = add(self.loss_plot, c.epoch, c.val_loss, solid)
            named[self.acc_plot] = add(self.acc_plot, c.epoch, 100 * c.val_acc, solid)
        for legend, plot in ((self.loss_legend, self.loss_plot), (self.acc_legend, self.acc_plot)):
            if plot in named:   # the validation curve names the run (the training one before its first epoch)
                legend.addItem(named[plot], overlay.label)
        self._overlay_items[overlay.run_id] = items

    def _redraw_markers(self) -> None:
        """The overlays' epoch markers: one scatter item per plot for all of them."""
        for plot, key in ((self.loss_plot, "val_loss"), (self.acc_plot, "val_acc")):
            xs, ys, brushes = [], [], []
            for overlay in self._overlays.values():
                c = overlay.curves
                values = getattr(c, key) * (100 if key == "val_acc" else 1)
                xs += list(c.epoch)
                ys += list(values)
                brushes += [pg.mkBrush(overlay.color)] * len(c.epoch)
            self._markers[plot].setData(x=xs, y=ys, brush=brushes)

    def _remove_overlay(self, run_id: str) -> None:
        self._overlays.pop(run_id, None)
        for plot, item in self._overlay_items.pop(run_id, []):
            for legend in (self.loss_legend, self.acc_legend):
                legend.removeItem(item)
            plot.removeItem(item)

    @property
    def overlay_ids(self) -> list[str]:
        return list(self._overlay_items)

    def _overlay_loss_max(self) -> float:
        values = [float(np.nanmax(item.yData)) for plot, item in
                  (pair for items in self._overlay_items.values() for pair in items)
                  if plot is self.loss_plot and item.yData is not None and len(item.yData)]
        return max(values, default=0.0)

    def _overlay_lr_max(self) -> float:
        values = [float(np.nanmax(item.yData)) for plot, item in
                  (pair for items in self._overlay_items.values() for pair in items)
                  if plot is self.lr_plot and item.yData is not None and len(item.yData)]
        return max(values, default=0.0)

    def _on_log_scale(self, on: bool) -> None:
        for plot in (self.loss_plot, self.lr_plot):
            plot.setLogMode(y=on)
            plot.enableAutoRange(y=on)  # a log axis follows the data; linear ones keep their fixed ranges
        if not on:
            self._loss_top = None
            self._fit_loss_range(max(max(self.train_loss_raw.y, default=1.0), self._overlay_loss_max()))


#: An overlaid curve keeps at most this many points (a long run reports tens of thousands).
OVERLAY_POINTS = 2000


def _decimated(x: np.ndarray, y: np.ndarray, limit: int = OVERLAY_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th point (and the last), so at most ``limit`` remain; smoothed curves lose nothing visible."""
    if len(x) <= limit:
        return x, y
    keep = np.unique(np.r_[np.arange(0, len(x), int(np.ceil(len(x) / limit))), len(x) - 1])
    return x[keep], y[keep]


def _ema(previous: float | None, value: float) -> float:
    return value if previous is None else SMOOTHING * previous + (1 - SMOOTHING) * value


def title_label(text: str, lines: int = 2) -> QLabel:
    """A wrapped title that always has room for ``lines`` lines: a new step or epoch in it that moved
    it between one line and two resized the plot below, whose axes then drew themselves anew (ten
    plot resizes in a three-epoch run)."""
    label = QLabel(text, wordWrap=True)
    label.setMinimumHeight(lines * label.fontMetrics().lineSpacing() + 2)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


class FiltersView(QWidget):
    """The first conv layer's filters, as the run changes them (zero is mid-grey)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = title_label(tr("<b>Filters</b>"))
        self.widget, self.view, self.image = image_view()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.widget, 1)

    def show_weights(self, node_id: str, weights: np.ndarray, groups: int = 1, caption: str = "") -> None:
        from ...explain.filters import weight_mosaic  # torch: not needed to build the tab

        shown = weight_mosaic(weights, groups)
        self.image.setImage(shown.mosaic.image, levels=(0.0, 1.0), autoLevels=False)
        what = tr("in colour (R, G, B input channels)") if shown.colour else tr("input channel 0")
        self.title.setText(tr("<b>Filters of {node}</b> — {n} filters, {what}. {caption}").format(
            node=node_id, n=shown.out_channels, what=what, caption=caption))

    def clear(self, message: str) -> None:
        self.image.clear()
        self.title.setText(tr("<b>Filters</b> — {message}").format(message=message))


class ConfusionView(QWidget):
    """After each epoch: the confusion matrix (rows: true class) and the accuracy of each class."""

    def __init__(self) -> None:
        super().__init__()
        self.title = title_label(tr("<b>Confusion matrix</b> (after the first epoch)"))
        self.matrix_view = ConfusionMatrixView()
        self.image = self.matrix_view.image
        self.bars_plot = themed_plot(tr("Per-class validation accuracy (%)"))
        _, ink = palette_colors()
        self.names_axis = ClassNamesAxis("left", pen=ink, textPen=ink)
        self.bars_plot.getPlotItem().setAxisItems({"left": self.names_axis})
        self.bars_plot.setXRange(0, 100, padding=0)
        self.bars_plot.getPlotItem().invertY(True)  # the first class on top, as in the confusion matrix
        self.bars: pg.BarGraphItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.matrix_view, 3)
        layout.addWidget(self.bars_plot, 2)

    def show_epoch(self, record, classes: list[str]) -> None:
        self.show_result(record.epoch, record.confusion, record.per_class_acc, classes)

    def show_result(self, epoch: int, confusion: np.ndarray, per_class: np.ndarray, classes: list[str]) -> None:
        self.matrix_view.show_matrix(confusion, classes)
        worst = _most_confused(confusion, classes)
        self.title.setText(tr("<b>Confusion matrix</b>, epoch {epoch}").format(epoch=epoch)
                           + (tr(" — most confused: {worst}").format(worst=worst) if worst else ""))
        accuracy = np.nan_to_num(100 * np.asarray(per_class, dtype=np.float64), nan=0.0)
        if self.bars is not None:
            self.bars_plot.removeItem(self.bars)
        # Horizontal bars: class names read along the left axis, however many and however long.
        rows = np.arange(len(accuracy))
        self.bars = pg.BarGraphItem(x0=0, y=rows, height=0.7, width=accuracy, brush=TRAIN_COLOR)
        self.bars_plot.addItem(self.bars)
        self.names_axis.set_names([(int(i), short_name(name, 16)) for i, name in zip(rows, classes)])
        self.bars_plot.setYRange(-0.6, len(accuracy) - 0.4, padding=0)

    def clear(self, message: str) -> None:
        self.matrix_view.clear()
        if self.bars is not None:
            self.bars_plot.removeItem(self.bars)
            self.bars = None
        self.names_axis.set_names([])
        self.title.setText(tr("<b>Confusion matrix</b> — {message}").format(message=message))


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    matrix = np.asarray(confusion, dtype=np.float64)
    totals = matrix.sum(1)
    return np.divide(np.diag(matrix), totals, out=np.full(len(matrix), np.nan), where=totals > 0)


def _most_confused(confusion: np.ndarray, classes: list[str]) -> str:
    off = np.array(confusion, copy=True)
    np.fill_diagonal(off, 0)
    if off.size == 0 or off.max() <= 0:
        return ""
    true, predicted = np.unravel_index(int(off.argmax()), off.shape)
    return tr("{true} taken for {predicted} ({n}×)").format(true=classes[true], predicted=classes[predicted],
                                                           n=int(off[true, predicted]))
