"""The trade-off plot: best validation accuracy against MACs (or parameters), one point per run, the
Pareto front drawn (the runs no other run beats on both). Accuracies compare only on the same
validation data: runs on different datasets ("All runs") get one front each. Ticked runs wear their
overlay colour."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout

from ...analysis.text import compact
from ...i18n import ntr, tr
from ...runs import pareto_front
from .shown import DrawnWhenShown
from ..plots import palette_colors, themed_plot

FRONT_COLOR = QColor("#D62728")
OTHER_COLOR = QColor(140, 140, 140, 190)
MAX_LABELS = 30


def _ticks(low: float, high: float) -> list[list[tuple[float, str]]]:
    """Log-scale ticks in log₁₀ coordinates: every decade ("1 M", "10 M"), and 2× and 5× when the plot
    spans less than two decades; the minor ones unlabelled."""
    major, minor = [], []
    few = high - low < 2
    for decade in range(math.floor(low), math.ceil(high) + 1):
        for factor in (1, 2, 3, 4, 5, 6, 7, 8, 9):
            x = decade + math.log10(factor)
            if not low <= x <= high:
                continue
            if factor == 1 or (few and factor in (2, 5)):
                major.append((x, compact(factor * 10 ** decade)))
            else:
                minor.append((x, ""))
    return [major, minor]


def validation_data(run) -> tuple:
    """What a run's accuracy was measured on: its data source and validation set (runs that trained on
    fewer images of the same data compare; another dataset does not)."""
    data = run.data or {}
    return (str(data.get("spec") or data.get("name") or run.dataset), data.get("val"), bool(data.get("val_is_test")),
            tuple(data.get("shape") or ()))


class TradeoffView(DrawnWhenShown):
    runClicked = Signal(str)

    def __init__(self, controller) -> None:
        super().__init__()
        self.controller = controller
        self.axis = QComboBox()
        self.axis.addItems([tr("against MACs"), tr("against parameters")])
        self.caption = QLabel(wordWrap=True)
        self.plot = themed_plot(tr("Best validation accuracy (%)"), bottom=tr("MACs per image (log scale)"))
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.25)
        item = self.plot.getPlotItem()   # x in log₁₀ of the cost, labelled with our own ticks (see _ticks)
        self.front = pg.PlotDataItem([], [], pen=pg.mkPen(FRONT_COLOR, width=1.5), connect="finite")
        self.points = pg.ScatterPlotItem(size=11, hoverable=True, tip=self._tip, hoverSize=14)
        item.addItem(self.front)
        item.addItem(self.points)
        self.labels: list[pg.TextItem] = []
        self._runs: list = []
        self._dirty = False
        self.front_ids: list[str] = []
        row = QHBoxLayout()
        row.addWidget(self.axis)
        row.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self.axis.currentIndexChanged.connect(lambda _: self.redraw())
        self.points.sigClicked.connect(self._on_clicked)

    @property
    def by_params(self) -> bool:
        return self.axis.currentIndex() == 1

    def set_runs(self, runs: list) -> None:
        self._runs = [r for r in runs if r.best_val_acc is not None and r.best_epoch]
        self.redraw()

    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setLabel(tr("parameters (log scale)") if self.by_params else
                                        tr("MACs per image (log scale)"), color=palette_colors()[1].name())
        for label in self.labels:
            item.removeItem(label)
        self.labels = []
        runs = [r for r in self._runs if (r.params if self.by_params else r.macs) > 0]
        if not runs:
            self.points.setData([])
            self.front.setData([], [])
            self.front_ids = []
            self.caption.setText(tr("No finished epoch yet: each run with one is a point here."))
            return
        costs = [float(r.params if self.by_params else r.macs) for r in runs]
        accs = [100 * float(r.best_val_acc) for r in runs]
        groups: dict[tuple, list[int]] = {}
        for i, run in enumerate(runs):
            groups.setdefault(validation_data(run), []).append(i)
        fronts = [[members[j] for j in pareto_front([(costs[i], accs[i]) for i in members])]
                  for members in groups.values()]
        self.front_ids = [runs[i].id for front in fronts for i in front]
        on_front = set(self.front_ids)
        # Shared brushes and pens (one per colour), arrays for the rest: hundreds of runs draw at once.
        brushes: dict[str, object] = {}
        ring, no_pen = pg.mkPen(FRONT_COLOR, width=2), pg.mkPen(None)

        def brush(run):
            colour = self.controller.colour(run.id) or (QColor("#4C78A8") if run.id == self.controller.live_run
                                                        else OTHER_COLOR)
            key = colour.name(QColor.NameFormat.HexArgb)
            if key not in brushes:
                brushes[key] = pg.mkBrush(colour)
            return brushes[key]

        self.points.setData(x=np.log10(costs), y=np.asarray(accs), data=[r.id for r in runs],
                            brush=[brush(r) for r in runs], pen=[ring if r.id in on_front else no_pen for r in runs],
                            symbol=["o" if r.id in on_front else "d" for r in runs])
        # One polyline per dataset, a NaN between them (the item leaves the gap unconnected).
        xs, ys = [], []
        for front in fronts:
            xs += [math.log10(costs[i]) for i in front] + [np.nan]
            ys += [accs[i] for i in front] + [np.nan]
        self.front.setData(np.asarray(xs[:-1]), np.asarray(ys[:-1]))
        low, high = min(accs), max(accs)
        pad = max(2.0, (high - low) * 0.15)
        item.setYRange(max(0.0, low - pad), min(high + pad, 102.0), padding=0)   # room above the best for its label
        left, right = math.log10(min(costs)), math.log10(max(costs))
        span = max(0.5, (right - left) * 0.15)
        item.setXRange(left - span, right + span, padding=0)
        item.getAxis("bottom").setTicks(_ticks(left - span, right + span))
        _, ink = palette_colors()
        named: set[tuple[float, float]] = set()
        for run, cost, acc in zip(runs, costs, accs):
            # Labels for the front (one per place: equal runs share it) and the ticked runs, a few dozen at most.
            if (run.id in on_front and (cost, acc) not in named) or self.controller.is_ticked(run.id):
                if len(self.labels) >= MAX_LABELS:
                    break
                named.add((cost, acc))
                label = pg.TextItem(f"#{run.number}", color=ink, anchor=(0, 0))   # below right: the top is full
                label.setPos(math.log10(cost), acc)
                item.addItem(label)
                self.labels.append(label)
        caption = ntr("{n} run; the red line is the Pareto front: no other run is both cheaper and more "
                      "accurate than the runs on it.",
                      "{n} runs; the red line is the Pareto front: no other run is both cheaper and more "
                      "accurate than the runs on it.", len(runs)).format(n=len(runs))
        if len(groups) > 1:
            caption += " " + ntr("One front per dataset ({n} dataset): accuracies compare only on the same data.",
                                 "One front per dataset ({n} datasets): accuracies compare only on the same data.",
                                 len(groups)).format(n=len(groups))
        self.caption.setText(caption)

    def _run(self, run_id: str):
        return next((r for r in self._runs if r.id == run_id), None)

    def _tip(self, x, y, data) -> str:
        run = self._run(data)
        if run is None:
            return ""
        return tr("#{number} {name}\n{acc} % best validation accuracy (epoch {epoch})\n{params} parameters · "
                  "{macs} MACs").format(number=run.number, name=run.name, acc=f"{100 * run.best_val_acc:.1f}",
                                        epoch=run.best_epoch, params=compact(run.params), macs=compact(run.macs))

    def _on_clicked(self, _item, points, *_) -> None:
        if len(points):
            self.runClicked.emit(points[0].data())
