"""Filters: a conv node's weights as one mosaic (zero at the middle of the colour map), the first
layer in colour when it reads 3 channels, deeper ones one input channel at a time. Follows
training: each new set of weights rebuilds the model and this view redraws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout

from ...explain import FilterMosaic, Network, filter_mosaic
from ...i18n import N_, ntr, tr
from ..document import ResultKey
from .base import ExplainView, MessageLabel
from .plots import MapPlot, colour_map, outline, recolour, show_array

COLOUR = N_("colour (RGB)")


@dataclass(frozen=True)
class Filters:
    network: Network
    node_id: str
    shown: FilterMosaic
    #: (C_out, C_in / groups, kh, kw): the values under the pointer.
    weights: np.ndarray
    #: The model's key (filters depend on no image).
    key: ResultKey = ResultKey(-1, -1, None)


def make_filters(network: Network, node_id: str, input_channel: int | None,
                 key: ResultKey = ResultKey(-1, -1, None)) -> Filters:
    """Worker: the mosaic of one conv node's filters."""
    module = network.model.get_submodule(node_id)
    return Filters(network, node_id, filter_mosaic(module, input_channel), module.weight.detach().numpy(), key)


def is_conv(network: Network, node_id: str) -> bool:
    return network.design.node(node_id).type == "Conv2d"


class FiltersView(ExplainView):
    title = N_("Filters")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: Filters | None = None
        self.node_combo(is_conv)
        self.input_channel = QComboBox()
        self.input_channel.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.input_channel.setToolTip(tr("Each filter has one kernel per input channel (of its group): choose which"))
        self.input_channel.activated.connect(lambda _: self.invalidate())
        self.cmap = QComboBox()
        self.cmap.addItems(["coolwarm", "gray"])
        self.cmap.setToolTip(tr("Zero weights are the middle colour; each filter is scaled by its largest |weight|"))
        self.cmap.currentTextChanged.connect(self._on_cmap)
        controls = QHBoxLayout()
        for label, widget in ((tr("Layer"), self.nodes), (tr("Input channel"), self.input_channel),
                              (tr("Colours"), self.cmap)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.message = MessageLabel()
        self.plot = MapPlot()
        self.plot.pixelClicked.connect(self._on_click)
        self.plot.pixelHovered.connect(self._on_hover)
        self.mark = outline("#ff8c00")
        self.plot.box.addItem(self.mark)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.plot, 1)

    def selection_changed(self) -> None:
        if not self.follow_selected_node() and self.live_result is not None:
            self._mark(self.controller.channel)

    @property
    def chosen_input_channel(self) -> int | None:
        data = self.input_channel.currentData()
        return None if data is None or data < 0 else int(data)

    def refresh(self) -> None:
        network = self.network
        if network is None:
            return
        node_id = self.current_node()
        if node_id is None:
            self.clear()
            self.message.note(tr("This network has no Conv2d layer: there are no filters to show."))
            return
        self._fill_input_channels(network, node_id)
        self.controller.run(make_filters, network, node_id, self.chosen_input_channel, self.controller.built.key,
                            channel="filters", on_done=self._on_result, on_error=self.message.problem)

    def clear(self) -> None:
        self.result = None
        self.plot.image.clear()
        self.plot.cell.set_title("")
        self.plot.cell.hide_scale()
        self.mark.setVisible(False)
        self.message.note(tr("No filters yet for the design and weights as they are now."))

    def _fill_input_channels(self, network: Network, node_id: str) -> None:
        """The selector's choices for this node: colour (3 inputs per group) and each input channel."""
        module = network.model.get_submodule(node_id)
        per_group = module.in_channels // module.groups
        wanted = [(tr(COLOUR), -1)] if per_group == 3 else []
        wanted += [(str(i), i) for i in range(per_group)]
        if [self.input_channel.itemData(i) for i in range(self.input_channel.count())] == [w[1] for w in wanted]:
            return
        self.input_channel.clear()
        for text, data in wanted:
            self.input_channel.addItem(text, data)

    def _on_result(self, result: Filters) -> None:
        if not self.is_current(result) or result.node_id != self.nodes.current:
            return
        first = self.result is None or self.result.shown.mosaic.image.shape != result.shown.mosaic.image.shape
        self.result = result
        self.shown(result.key)
        m = result.shown.mosaic
        show_array(self.plot.image, m.image, m.levels, self.cmap.currentText())
        self.cmap.setEnabled(not result.shown.colour)
        if result.shown.colour:
            self.plot.cell.hide_scale()  # colour tiles: R, G, B are the three input channels, not a colour map
        else:
            self.plot.cell.show_scale(self.cmap.currentText(), (0.0, 1.0), tr("each filter: ± its largest |weight|"),
                                      [(0.0, "−max|w|"), (0.5, "0"), (1.0, "+max|w|")])
        if first:
            self.plot.box.autoRange(padding=0.01)
        f = result.shown
        kh, kw = m.tile
        if f.colour:
            what = tr("in colour: input channels 0, 1, 2 as red, green, blue")
        elif f.groups > 1:
            what = tr("input channel {c} of {count} in each group of {groups}").format(
                c=f.input_channel, count=f.in_per_group, groups=f.groups)
        else:
            what = tr("input channel {c} of {count}").format(c=f.input_channel, count=f.in_per_group)
        self.plot.cell.set_title(ntr("{node}: {count} filter {size}, {what}", "{node}: {count} filters {size}, {what}",
                                     f.out_channels).format(node=result.node_id, count=f.out_channels,
                                                            size=f"{kh}×{kw}", what=what))
        self.message.note(tr("Each filter scaled by its largest |weight|: zero is the middle colour. Click a filter to "
                             "choose its output channel in the other views."))
        self._mark(self.controller.channel)

    def _mark(self, channel: int) -> None:
        m = self.result.shown.mosaic
        self.mark.setVisible(channel < m.count)
        if channel < m.count:
            top, left = m.origin(channel)
            self.mark.setRect(left - 0.5, top - 0.5, m.tile[1] + 1, m.tile[0] + 1)

    def _on_click(self, cell: int, row: int, col: int) -> None:
        result = self.live_result
        hit = result.shown.mosaic.locate(row, col) if result else None
        if hit is not None:
            self.controller.select(channel=hit[0])

    def _on_hover(self, cell: int, row: int, col: int) -> None:
        result = self.live_result
        hit = result.shown.mosaic.locate(row, col) if result else None
        if hit is None:
            return
        out, ky, kx = hit
        f = self.result.shown
        if f.colour:
            values = ", ".join(f"{v:.3g}" for v in self.result.weights[out, :, ky, kx])
            self.plot.setToolTip(tr("filter {out}, ({y}, {x}): R, G, B weights {values}").format(
                out=out, y=ky, x=kx, values=values))
        else:
            value = self.result.weights[out, f.input_channel, ky, kx]
            self.plot.setToolTip(tr("filter {out} reads input channel {c}: weight ({y}, {x}) = {value}").format(
                out=out, c=f.node_input_channel(out), y=ky, x=kx, value=f"{value:.4g}"))

    def _on_cmap(self, name: str) -> None:
        if recolour(self.plot.image, name):
            if self.plot.cell.bar is not None:
                self.plot.cell.bar.setColorMap(colour_map(name))
