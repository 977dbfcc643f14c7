"""Feature maps: every channel of the chosen node as one mosaic, one channel enlarged, that
channel through all the layers, and per-channel statistics."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...explain import ChannelStats, ChannelStrip, Mosaic, Network, channel_stats, channel_strip, feature_mosaic
from ...explain.colormaps import rgba
from ...explain.hooks import Activations
from ...i18n import N_, ntr, tr
from ..document import ResultKey
from .base import ExplainView, MessageLabel
from .controller import Capture
from .plots import COLORMAPS, MapPlot, colour_map, outline, palette_colors, recolour, show_array, show_map

#: The scale combo's choices (shown translated) → ``feature_mosaic``'s scale.
SCALES = {N_("per channel"): "tile", N_("shared"): "shared"}


@dataclass(frozen=True)
class FeatureMaps:
    activations: Activations
    node_id: str
    mosaic: Mosaic
    #: The capture's key: the design, weights and image these maps are of.
    key: ResultKey
    #: "tile" (each channel on its own range) or "shared".
    scale: str = "tile"
    #: The mosaic through colour map ``cmap`` (RGBA), coloured in the worker; None: not coloured.
    picture: np.ndarray | None = None
    cmap: str | None = None

    @functools.cached_property
    def stats(self) -> ChannelStats:
        """Made when first read (by the table, after the mosaic's first paint), not in the capture's
        job: the mosaic is what the user waits for, and the statistics took 1 ms of it."""
        return channel_stats(self.activations[self.node_id])


def make_feature_maps(capture: Capture, node_id: str, scale: str, cmap: str | None = None) -> FeatureMaps:
    """Worker: the mosaic of one node, coloured through ``cmap``."""
    mosaic = feature_mosaic(capture.activations[node_id], scale=scale)
    picture = rgba(mosaic.image, mosaic.levels, cmap) if cmap else None
    return FeatureMaps(capture.activations, node_id, mosaic, capture.key, scale, picture, cmap)


def dead_channel_note(stats: ChannelStats, channel: int) -> str:
    """Why a channel shows as one flat colour: every value is zero (a ReLU zeroed it) or the same."""
    low, high = float(stats.min[channel]), float(stats.max[channel])
    if low == high == 0.0:
        return tr("channel {c} is 0 everywhere for this image: the ReLU (or what came before) zeroed all of it, "
                  "so it carries nothing to the next layer").format(c=channel)
    if low == high:
        return tr("channel {c} is {v:.4g} everywhere for this image: a flat map").format(c=channel, v=low)
    return ""


def first_conv(network: Network, ids: list[str]) -> str | None:
    """Shown when nothing is chosen: the first convolution's maps (the first thing worth seeing)."""
    convs = [n for n in ids if network.design.node(n).type == "Conv2d"]
    return (convs or ids or [None])[0]


def channel_plane(array: np.ndarray, channel: int) -> np.ndarray:
    """What the enlarged view shows: one channel's map, or the whole vector of a vector node."""
    return array[channel] if array.ndim == 3 else array.reshape(1, -1)


class StatsModel(QAbstractTableModel):
    """Per channel: min, max, mean and the share ≤ 0. The channel column is headed "#" (its tooltip
    says "channel"): beside the mosaic at 1280×800 the table is 250 px wide, and five equal columns
    cut the numbers to "0.00…"."""

    COLUMNS = ("#", N_("min"), N_("max"), N_("mean"), "≤ 0")
    TIPS = (N_("channel"), N_("the smallest value in the channel"), N_("the largest value in the channel"),
            N_("the mean of the channel"), N_("the share of the channel's values that are ≤ 0 (what a ReLU zeroes)"))

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.stats: ChannelStats | None = None

    def set_stats(self, stats: ChannelStats | None) -> None:
        self.beginResetModel()
        self.stats = stats
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or self.stats is None else len(self.stats.min)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return tr(self.COLUMNS[section]) if section in (1, 2, 3) else self.COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return tr(self.TIPS[section])
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        s, row, column = self.stats, index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(row)
            if column == 4:
                return f"{100 * s.zero_share[row]:.0f}%"
            return f"{(s.min, s.max, s.mean)[column - 1][row]:.3g}"
        if role == Qt.ItemDataRole.ToolTipRole and column in (1, 2, 3):  # the value in full
            return f"{(s.min, s.max, s.mean)[column - 1][row]:.7g}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class FeatureMapsView(ExplainView):
    title = N_("Feature maps")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: FeatureMaps | None = None
        self.strip: ChannelStrip | None = None
        self._mosaic_shape: tuple | None = None
        self.node_combo(lambda network, node_id: True, first_conv)
        self.scale = QComboBox()
        for label, scale in SCALES.items():
            self.scale.addItem(tr(label), scale)
        self.scale.setToolTip(tr("Per channel: each map stretched to its own range (shapes show). "
                                 "Shared: one range for all (strengths compare)."))
        self.scale.currentIndexChanged.connect(lambda _: self.invalidate())
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        self.cmap.currentTextChanged.connect(self._on_cmap)
        controls = QHBoxLayout()
        for label, widget in ((tr("Layer"), self.nodes), (tr("Scale"), self.scale), (tr("Colours"), self.cmap)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.message = MessageLabel()

        self.mosaic_plot = MapPlot()
        self.mosaic_plot.pixelClicked.connect(self._on_mosaic_click)
        self.channel_plot = MapPlot()
        self.channel_plot.pixelClicked.connect(self._on_channel_click)
        self.unit_mark = outline("#ff8c00")
        self.channel_plot.box.addItem(self.unit_mark)
        self.channel_mark = outline("#ff8c00")
        self.mosaic_plot.box.addItem(self.channel_mark)
        self.stats_label = QLabel(wordWrap=True)
        self.stats_model = StatsModel(self)
        self.table = QTableView()
        self.table.setModel(self.stats_model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # The channel and the share as wide as their widest text, the values get the rest (fixed widths:
        # measuring every cell on each new image took 2 ms of the GUI thread); never narrower than the
        # widest numbers (".3g": "-0.000123"), however narrow the window.
        digits, padding = self.table.fontMetrics().horizontalAdvance, 14
        fixed = 0
        for column, widest in ((0, "9999"), (4, "100%")):
            title = header.fontMetrics().horizontalAdvance(self.stats_model.COLUMNS[column])
            width = max(digits(widest), title) + padding
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, width)
            fixed += width
        self.table.setMinimumWidth(fixed + 3 * (digits("-0.000123") + padding) + 24)  # (+ scroll bar and frame)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.clicked.connect(lambda index: self.controller.select(channel=index.row()))
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.channel_plot, 3)
        side_layout.addWidget(self.stats_label)
        side_layout.addWidget(self.table, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.mosaic_plot)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.strip_plot = MapPlot()
        self.strip_plot.setFixedHeight(130)
        self.strip_plot.pixelClicked.connect(self._on_strip_click)
        self.strip_plot.pixelHovered.connect(self._on_strip_hover)
        self.strip_mark = outline("#ff8c00")
        self.strip_plot.box.addItem(self.strip_mark)
        self.strip_labels: list[pg.TextItem] = []
        #: What the labels were made for (tile origins, names, colours).
        self._strip_layout: tuple | None = None

        controller.follow_ups.append(self._follow_up)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        layout.addWidget(self.strip_plot)

    # --- choosing ----------------------------------------------------------------------------------
    def selection_changed(self) -> None:
        if not self.follow_selected_node():  # the same node: another channel or unit
            self._show_channel()
            if self.strip is None or self.strip.channel != self.channel:
                self._request_strip()

    # --- computing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        capture = self.capture
        node_id = self.current_node() if capture is not None else None
        if capture is None or node_id is None:
            self._clear(tr("Load an image to see what every layer makes of it.") if self.network else "")
            return
        prepared = capture.prepared.get("features")
        if prepared is not None and (prepared.node_id, prepared.scale) == (node_id, self.scale.currentData()):
            self._on_result(prepared)  # made in the capture's job
            return
        self.controller.run(make_feature_maps, capture, node_id, self.scale.currentData(), self.cmap.currentText(),
                            channel="features", on_done=self._on_result, on_error=self.message.problem)

    def _follow_up(self):
        """While shown: the next image's mosaic, made in its capture's job (see ``capture_image``)."""
        if not self.isVisible() or self.controller.network is None:
            return None
        node_id = self.current_node()
        if node_id is None:
            return None
        return "features", functools.partial(make_feature_maps, node_id=node_id, scale=self.scale.currentData(),
                                             cmap=self.cmap.currentText())

    def clear(self) -> None:
        self._clear(tr("No feature maps yet for the design, weights and image as they are now."))

    def _on_result(self, result: FeatureMaps) -> None:
        capture = self.capture
        if capture is None or not self.is_current(result) or result.node_id != self.nodes.current:
            return
        first = self._mosaic_shape != result.mosaic.image.shape
        self.result, self._mosaic_shape = result, result.mosaic.image.shape
        self.shown(result.key)
        m = result.mosaic
        cmap = self.cmap.currentText()
        show_array(self.mosaic_plot.image, m.image, m.levels, cmap, result.picture if result.cmap == cmap else None)
        self._show_mosaic_scale(result)
        if first:
            self.mosaic_plot.box.autoRange(padding=0.01)
        array = capture.activations[result.node_id]
        kind = capture.network.design.node(result.node_id).type
        if array.ndim == 3:
            title = f"{result.node_id} ({kind}) · " + ntr("{count} channel", "{count} channels", m.count).format(
                count=m.count) + " · " + "×".join(map(str, array.shape[1:]))
        else:
            title = f"{result.node_id} ({kind}) · " + ntr("{count} feature", "{count} features", array.size).format(
                count=array.size)
        self.mosaic_plot.cell.set_title(title)
        # The rest after the mosaic's first paint: the mosaic is what the user waits for.
        QTimer.singleShot(0, lambda: self._show_details(result))

    def _show_mosaic_scale(self, result: FeatureMaps) -> None:
        cmap = self.cmap.currentText()
        if result.scale == "shared":
            self.mosaic_plot.cell.show_scale(cmap, result.mosaic.levels, tr("value"))
        else:
            self.mosaic_plot.cell.show_scale(cmap, (0.0, 1.0), tr("each channel: its own min … max"),
                                             [(0.0, tr("min")), (1.0, tr("max"))])

    def _show_details(self, result: FeatureMaps) -> None:
        if result is not self.result or not self.is_current(result):
            return
        self.stats_model.set_stats(result.stats)
        dead = int(((result.stats.min == 0) & (result.stats.max == 0)).sum())
        self.message.note(tr("Click a channel to enlarge it; click a unit of the enlarged map to choose it for the "
                             "receptive-field view.")
                          + (" " + ntr("{n} channel is 0 everywhere for this image (a ReLU zeroed it): its tile is "
                                       "one flat colour.",
                                       "{n} channels are 0 everywhere for this image (a ReLU zeroed them): their "
                                       "tiles are one flat colour.", dead).format(n=dead) if dead else ""))
        self._show_channel()
        self.strip = None
        self._request_strip()

    def _clear(self, text: str) -> None:
        self.result = self.strip = None
        self._mosaic_shape = None
        for plot in (self.mosaic_plot, self.channel_plot, self.strip_plot):
            plot.image.clear()
            plot.cell.set_title("")
            plot.cell.hide_scale()
        for mark in (self.unit_mark, self.channel_mark, self.strip_mark):
            mark.setVisible(False)
        self._remove_strip_labels()
        self.stats_model.set_stats(None)
        self.stats_label.clear()
        self.message.note(text)

    @property
    def channel(self) -> int:
        """The controller's channel, where this node has it (else 0)."""
        count = self.result.mosaic.count if self.result else 0
        return self.controller.channel if self.controller.channel < count else 0

    def _show_channel(self) -> None:
        result = self.live_result
        if result is None:
            return
        array = result.activations[result.node_id]
        c = self.channel
        plane = channel_plane(array, c)
        low, high = show_map(self.channel_plot.image, plane, self.cmap.currentText())
        self.channel_plot.cell.show_scale(self.cmap.currentText(), (low, high), tr("value"))
        self.channel_plot.box.autoRange(padding=0.02)
        flat = dead_channel_note(result.stats, c)
        if array.ndim == 3:
            self.channel_plot.cell.set_title(flat or tr("channel {c} of {node}").format(c=c, node=result.node_id))
            top, left = result.mosaic.origin(c)
            th, tw = result.mosaic.tile
            self.channel_mark.setRect(left - 0.5, top - 0.5, tw + 1, th + 1)
            self.channel_mark.setVisible(True)
        else:
            self.channel_plot.cell.set_title(tr("{node}: all {count} features (feature {c} marked)").format(
                node=result.node_id, count=array.size, c=c))
            self.channel_mark.setVisible(False)
        unit = self.controller.unit if array.ndim == 3 and self.controller.node_id == result.node_id else None
        if array.ndim == 1:
            unit = (0, c)
        self.unit_mark.setVisible(unit is not None)
        if unit is not None:
            self.unit_mark.setRect(unit[1], unit[0], 1, 1)
        s = result.stats
        self.stats_label.setText(html.escape(tr(
            "{channel}: min {low} · max {high} · mean {mean} · {zero} ≤ 0 (what a ReLU zeroes)")).format(
            channel="<b>" + html.escape(tr("channel {c}").format(c=c)) + "</b>", low=f"{s.min[c]:.4g}",
            high=f"{s.max[c]:.4g}", mean=f"{s.mean[c]:.4g}", zero=f"{100 * s.zero_share[c]:.0f}%"))
        self.table.selectRow(c)

    def _request_strip(self) -> None:
        result = self.live_result
        if result is None:
            return
        key = result.key
        self.controller.run(channel_strip, result.activations, self.channel, channel="strip",
                            on_done=lambda strip: self._on_strip(strip, key),
                            on_error=lambda msg: self.strip_plot.cell.set_title(msg))

    def _on_strip(self, strip: ChannelStrip, key: ResultKey | None = None) -> None:
        if self.live_result is None or strip.channel != self.channel or (key is not None and not self.is_current(key)):
            return
        self.strip = strip
        show_array(self.strip_plot.image, strip.mosaic.image, strip.mosaic.levels, self.cmap.currentText())
        self.strip_plot.cell.show_scale(self.cmap.currentText(), (0.0, 1.0), "", [(0.0, tr("min")), (1.0, tr("max"))])
        self.strip_plot.cell.set_title(ntr(
            "channel {c} through the {count} layer that has it (drag to scroll, click a layer to show it)",
            "channel {c} through the {count} layers that have it (drag to scroll, click a layer to show it)",
            len(strip.node_ids)).format(c=strip.channel, count=len(strip.node_ids)))
        self._label_strip(strip)
        node_id = self.result.node_id
        index = strip.node_ids.index(node_id) if node_id in strip.node_ids else 0
        top, left = strip.mosaic.origin(index)
        th, tw = strip.mosaic.tile
        self.strip_mark.setVisible(node_id in strip.node_ids)
        self.strip_mark.setRect(left - 0.5, top - 0.5, tw + 1, th + 1)
        # Tiles at a readable size, the shown layer in view; the rest is a drag away.
        box = self.strip_plot.box.boundingRect()
        fit = max(1, int(box.width() / max(1.0, box.height()) * th / (tw + strip.mosaic.gap)))
        first = min(max(0, index - fit // 2), max(0, len(strip.node_ids) - fit))
        start = first * (tw + strip.mosaic.gap)
        self.strip_plot.box.setRange(QRectF(start, 0, fit * (tw + strip.mosaic.gap), th), padding=0)

    def _label_strip(self, strip: ChannelStrip) -> None:
        """Name every tile. The labels are made again only when the tiles move or the palette
        changes: a new image or channel keeps them (making 70 text items stalls the window ~70 ms)."""
        base, text = palette_colors(self)
        layout = ([strip.mosaic.origin(i) for i in range(len(strip.node_ids))], strip.node_ids,
                  base.name(), text.name())
        if layout == self._strip_layout:
            return
        self._remove_strip_labels()
        font, fill = QFont(self.font()), pg.mkBrush(base.name() + "b0")  # the families too: Hangul ids render
        font.setPointSize(8)
        for origin, node_id in zip(layout[0], strip.node_ids):
            label = pg.TextItem(node_id, color=text, fill=fill)
            label.setFont(font)
            label.setPos(*reversed(origin))
            self.strip_plot.box.addItem(label)
            self.strip_labels.append(label)
        self._strip_layout = layout

    def _remove_strip_labels(self) -> None:
        for label in self.strip_labels:
            self.strip_plot.box.removeItem(label)
        self.strip_labels, self._strip_layout = [], None

    # --- clicks ------------------------------------------------------------------------------------
    def _on_mosaic_click(self, cell: int, row: int, col: int) -> None:
        result = self.live_result
        hit = result.mosaic.locate(row, col) if result else None
        if hit is None:
            return
        channel, y, x = hit
        array = result.activations[result.node_id]
        self.controller.select(result.node_id, channel=channel, unit=(y, x) if array.ndim == 3 else None)

    def _on_channel_click(self, cell: int, row: int, col: int) -> None:
        result = self.live_result
        if result is None:
            return
        array = result.activations[result.node_id]
        if array.ndim == 3:
            self.controller.select(result.node_id, unit=(row, col))
        else:
            self.controller.select(result.node_id, channel=col)

    def _on_strip_click(self, cell: int, row: int, col: int) -> None:
        hit = self.strip.locate(row, col) if self.strip and self.live_result else None
        if hit is not None:
            self.controller.select(hit[0])

    def _on_strip_hover(self, cell: int, row: int, col: int) -> None:
        hit = self.strip.locate(row, col) if self.strip and self.live_result else None
        if hit is not None:
            self.strip_plot.setToolTip(f"{hit[0]} ({hit[1]}, {hit[2]})")

    def _on_cmap(self, name: str) -> None:
        for plot in (self.mosaic_plot, self.channel_plot, self.strip_plot):
            if recolour(plot.image, name):
                if plot.cell.bar is not None:
                    plot.cell.bar.setColorMap(colour_map(name))
