"""Class activation maps: Grad-CAM of the top predicted classes over the input (opacity
adjustable), the class probabilities as bars, and occlusion sensitivity on demand (patch, stride,
progress, cancel)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
)

from ...explain import (ClassMaps, OcclusionMap, batch_for, cam_nodes, default_cam_node, default_patch, grad_cam,
                        occlusion_map, position_count, seconds_per_image)
from ...explain.hooks import Activations
from ...i18n import N_, ntr, tr
from ..document import ResultKey
from .base import ExplainView, MessageLabel
from .controller import Capture
from .plots import MapGrid, MapPlot, palette_colors, show_array

#: Bars shown at most (the most probable classes).
BARS = 10


@dataclass(frozen=True)
class CamResult:
    activations: Activations
    maps: ClassMaps
    #: (id, every node Grad-CAM can use) — the layer combo's choices.
    default: str
    choices: list[str]
    #: The capture's key.
    key: ResultKey = ResultKey(-1, -1, -1)
    #: One image's share of a batched forward pass: what the occlusion estimate is made from.
    seconds_per_image: float = 0.0


@dataclass(frozen=True)
class Occlusion:
    """An occlusion map with the key of the capture it was computed on."""

    map: OcclusionMap
    key: ResultKey


def make_cams(capture: Capture, node_id: str | None, top_k: int) -> CamResult:
    """Worker: Grad-CAM of the ``top_k`` classes at ``node_id`` (None: chosen automatically), and
    the time of one image in a batched forward pass (for the occlusion estimate)."""
    network = capture.network
    maps = grad_cam(network, capture.image, node_id=node_id, top_k=top_k)
    return CamResult(capture.activations, maps, default_cam_node(network), cam_nodes(network), capture.key,
                     seconds_per_image(network, capture.image))


def make_occlusion(capture: Capture, patch: int, stride: int, batch_size: int, *, progress, should_stop) -> Occlusion:
    """Worker: the occlusion map of the capture's image, in batches that each take about a quarter second."""
    result = occlusion_map(capture.network, capture.image, patch=patch, stride=stride, batch_size=batch_size,
                           progress=progress, should_stop=should_stop)
    return Occlusion(result, capture.key)


def duration(seconds: float) -> str:
    """"about 40 s", "about 3 min" (estimates are rounded: their precision is not better)."""
    if seconds < 1:
        return tr("under a second")
    if seconds < 90:
        return tr("about {n} s").format(n=max(1, round(seconds)))
    if seconds < 5400:
        return tr("about {n} min").format(n=round(seconds / 60))
    return tr("about {n} h").format(n=round(seconds / 3600, 1))


class Progress(QObject):
    """Carries a worker's (done, total) to the GUI thread (queued: the receiver lives there)."""

    changed = Signal(int, int)


class ClassActivationView(ExplainView):
    title = N_("Class activation")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: CamResult | None = None
        self.layer = QComboBox()
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer.setToolTip(tr("The feature map Grad-CAM weighs (automatic: the last conv map before the classifier)"))
        self.layer.activated.connect(lambda _: self.invalidate())
        self.top_k = QSpinBox(minimum=1, maximum=5, value=3)
        self.top_k.setToolTip(tr("How many of the most probable classes to explain"))
        self.top_k.valueChanged.connect(lambda _: self.invalidate())
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=55)
        self.opacity.setFixedWidth(140)
        self.opacity.valueChanged.connect(self._on_opacity)
        controls = QHBoxLayout()
        for label, widget in ((tr("Layer"), self.layer), (tr("Classes"), self.top_k), (tr("Opacity"), self.opacity)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.message = MessageLabel()
        self.cams = MapGrid()
        self.heat_items: list[pg.ImageItem] = []
        self.bars = pg.PlotWidget()
        self.bars.setMenuEnabled(False)
        self.bars.setMouseEnabled(False, False)
        self.bars.hideButtons()
        self.bars.invertY(True)
        self.bars.setLabel("bottom", tr("probability (%)"))
        self.bars.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars.setMinimumWidth(220)
        self.bar_item: pg.BarGraphItem | None = None
        self._style_bars()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.cams)
        top.addWidget(self.bars)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)

        self.patch = QSpinBox(minimum=1, maximum=4096, value=4)
        self.patch.setToolTip(tr("Side of the grey square hiding part of the image, in input pixels"))
        self.stride = QSpinBox(minimum=1, maximum=4096, value=2)
        self.stride.setToolTip(tr("How far the square moves between positions"))
        for spin in (self.patch, self.stride):
            spin.valueChanged.connect(lambda _: self._show_estimate())
        self.occlude_button = QPushButton(tr("Compute"))
        self.occlude_button.clicked.connect(self.start_occlusion)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_occlusion)
        self.estimate = QLabel()
        self.estimate.setToolTip(tr("Occluded copies of the image to run, and the time they take on this machine "
                                    "(measured on this model)"))
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.occlusion_plot = MapPlot()
        self.occlusion_heat = pg.ImageItem()
        self.occlusion_plot.box.addItem(self.occlusion_heat)
        self.occlusion_message = MessageLabel()
        self.occlusion_message.note(tr(OCCLUSION_HINT))
        row = QHBoxLayout()
        for label, widget in ((tr("Patch"), self.patch), (tr("Stride"), self.stride)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.estimate)
        row.addWidget(self.occlude_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        box = QGroupBox(tr("Occlusion sensitivity"))
        box_layout = QVBoxLayout(box)
        box_layout.addLayout(row)
        box_layout.addWidget(self.occlusion_message)
        box_layout.addWidget(self.occlusion_plot, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self._stop: threading.Event | None = None
        self._started = 0.0
        self.occlusion: Occlusion | None = None
        #: The input size the patch and stride were chosen for (they follow a new size).
        self._defaults_for: tuple[int, int] | None = None
        #: (model key, seconds per occluded copy) of the last occlusion that finished: later estimates use it.
        self._measured_rate: tuple[ResultKey, float] | None = None
        self.progress_signal = Progress(self)
        self.progress_signal.changed.connect(self._on_progress)

    # --- what is current ---------------------------------------------------------------------------
    def _on_key_changed(self, key) -> None:
        super()._on_key_changed(key)
        if self._stop is not None:
            self.cancel_occlusion()  # its image or model is gone: stop spending the CPU on it
        if self.occlusion is not None and not self.is_current(self.occlusion):
            self._clear_occlusion(tr("No occlusion map for this image and model yet: Compute makes one."))

    def clear(self) -> None:
        self.result = None
        self.cams.clear_cells()
        self.heat_items = []
        if self.bar_item is not None:
            self.bars.removeItem(self.bar_item)
            self.bar_item = None
        self.bars.getAxis("left").setTicks(None)
        self.bars.setTitle("")
        self.message.note(tr("No class activation yet for the design, weights and image as they are now."))

    def _clear_occlusion(self, text: str) -> None:
        self.occlusion = None
        self.occlusion_plot.image.clear()
        self.occlusion_heat.clear()
        self.occlusion_plot.cell.hide_scale()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.occlusion_message.note(text)

    # --- Grad-CAM ----------------------------------------------------------------------------------
    def network_changed(self) -> None:
        self.layer.clear()  # refilled with the new model's layers when its maps arrive

    def selection_changed(self) -> None:
        """The layer is Grad-CAM's own choice (automatic, or picked here)."""

    def refresh(self) -> None:
        capture = self.capture
        if capture is None:
            self.message.note(tr("Load an image to see which classes the network sees, and where."))
            return
        node_id = self.layer.currentData()
        self.controller.run(make_cams, capture, node_id, self.top_k.value(), channel="cam",
                            on_done=self._on_result, on_error=self._on_error)
        size = tuple(capture.image.display.shape[:2])
        if size != self._defaults_for and self._stop is None:  # defaults that fit this input
            self._defaults_for = size
            patch, stride = default_patch(*size)
            self.patch.setValue(patch)
            self.stride.setValue(stride)
        self._show_estimate()

    def _on_error(self, message: str) -> None:
        self.clear()
        self.message.problem(message)

    def _on_result(self, result: CamResult) -> None:
        capture = self.capture
        if capture is None or not self.is_current(result):
            return
        self.result = result
        self.shown(result.key)
        self._fill_layers(result)
        maps = result.maps
        self.cams.clear_cells()
        self.heat_items = []
        display = capture.image.display
        for i, (p, heat) in enumerate(zip(maps.predictions, maps.maps)):
            empty = not heat.any()
            title = f"{i + 1}. {p.name} — {p.probability:.1%}" + (tr(" (map 0: no evidence here)") if empty else "")
            cell = self.cams.add_cell(0, i, title)
            show_array(cell.image, display, (0.0, 1.0), "gray")
            overlay = pg.ImageItem()
            show_array(overlay, heat, (0.0, 1.0), "inferno")
            overlay.setOpacity(self.opacity.value() / 100)
            cell.box.addItem(overlay)
            self.heat_items.append(overlay)
        self.cams.shared_scale(0, len(maps.maps)).show_scale(
            "inferno", (0.0, 1.0), tr("Grad-CAM ÷ its maximum"))
        self._show_bars(result)
        self._show_estimate()
        trained = self.controller.built.trained if self.controller.built else False
        self.message.note(tr("Grad-CAM at {node}: where the evidence for each class lies in that layer.").format(
            node=maps.node_id) if trained else tr(
            "Grad-CAM at {node}: where the evidence for each class lies in that layer — with random initial "
            "weights the classes mean nothing yet.").format(node=maps.node_id))

    def _fill_layers(self, result: CamResult) -> None:
        chosen = self.layer.currentData()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItem(tr("auto: {node}").format(node=result.default), None)
        for node_id in result.choices:
            self.layer.addItem(node_id, node_id)
        index = self.layer.findData(chosen) if chosen is not None else 0
        self.layer.setCurrentIndex(max(0, index))
        self.layer.blockSignals(False)

    def _show_bars(self, result: CamResult) -> None:
        probs = result.maps.probabilities
        names = self.capture.network.class_names
        order = np.argsort(-probs, kind="stable")[:BARS]
        if self.bar_item is not None:
            self.bars.removeItem(self.bar_item)
        _, text = palette_colors(self)
        percent = 100 * probs[order]
        self.bar_item = pg.BarGraphItem(x0=0, y=np.arange(len(order)), height=0.7, width=percent,
                                        brush=pg.mkBrush("#4C78A8"), pen=pg.mkPen(None))
        self.bars.addItem(self.bar_item)
        self.bars.getAxis("left").setTicks([[(i, names[k] if k < len(names) else tr("class {k}").format(k=k))
                                             for i, k in enumerate(order)]])
        self.bars.setXRange(0, max(1e-3, float(percent.max())) * 1.1, padding=0)
        self.bars.setYRange(-0.5, len(order) - 0.5, padding=0)
        self.bars.setTitle(tr("top {shown} of {count} classes").format(shown=len(order), count=len(probs))
                           if len(probs) > BARS else tr("class probabilities"),
                           color=text.name())

    def _style_bars(self) -> None:
        background, text = palette_colors(self)
        self.bars.setBackground(background)
        for axis in ("left", "bottom"):
            self.bars.getAxis(axis).setPen(text)
            self.bars.getAxis(axis).setTextPen(text)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "bars"):  # not during __init__
            self._style_bars()
        super().changeEvent(event)

    def _on_opacity(self, value: int) -> None:
        for item in (*self.heat_items, self.occlusion_heat):
            item.setOpacity(value / 100)

    def showcase(self) -> None:
        self.start_occlusion()

    # --- occlusion ---------------------------------------------------------------------------------
    def occlusion_plan(self) -> tuple[int, int, float | None] | None:
        """(occluded copies, batch size, estimated seconds or None) for the settings shown, or None
        without an image."""
        capture = self.capture
        if capture is None:
            return None
        height, width = capture.image.display.shape[:2]
        count = position_count(height, width, self.patch.value(), self.stride.value())
        result = self.live_result
        per_image = result.seconds_per_image if result is not None else 0.0
        measured = self._measured_rate
        if measured is not None and measured[0] == capture.key.with_input(None):
            per_image = measured[1]  # what the last occlusion on this model really took per copy
        seconds = count * per_image if per_image > 0 else None
        return count, batch_for(per_image), seconds

    def _show_estimate(self) -> None:
        plan = self.occlusion_plan()
        if plan is None:
            self.estimate.clear()
            return
        count, _, seconds = plan
        text = ntr("{n} position", "{n} positions", count).format(n=f"{count:,}")
        self.estimate.setText(text + (f" · {duration(seconds)}" if seconds is not None else ""))

    def start_occlusion(self) -> None:
        capture = self.capture
        plan = self.occlusion_plan()
        if capture is None or plan is None:
            return
        self.cancel_occlusion()
        count, batch, seconds = plan
        stop = threading.Event()
        self._stop, self._started = stop, time.monotonic()
        self.occlude_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setMaximum(count)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {count:,}" + (" · " + tr("{time} left").format(time=duration(seconds))
                                                    if seconds is not None else ""))
        self.occlusion_message.note(tr("Occluding: {n} copies of the image, {b} at a time…").format(
            n=f"{count:,}", b=batch))
        self.controller.run(make_occlusion, capture, self.patch.value(), self.stride.value(), batch,
                            progress=self.progress_signal.changed.emit, should_stop=stop.is_set, channel="occlusion",
                            on_done=self._on_occlusion, on_error=self._on_occlusion_error)

    def cancel_occlusion(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _finish_occlusion(self) -> None:
        self._stop = None
        self.occlude_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total: int) -> None:
        if self._stop is None or self._stop.is_set():
            return
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        elapsed = time.monotonic() - self._started
        left = elapsed / done * (total - done) if done else None
        self.progress.setFormat(f"{done:,} / {total:,}" + (" · " + tr("{time} left").format(time=duration(left))
                                                          if left is not None else ""))

    def _on_occlusion(self, result: Occlusion) -> None:
        self._finish_occlusion()
        capture = self.capture
        if capture is None or not self.is_current(result):
            return
        self.occlusion = result
        occlusion = result.map
        took = time.monotonic() - self._started
        self._measured_rate = (result.key.with_input(None), took / max(1, occlusion.drops.size))
        self._show_estimate()
        self.progress.setFormat(tr("done in {t}").format(t=duration(took)))
        show_array(self.occlusion_plot.image, capture.image.display, (0.0, 1.0), "gray")
        show_array(self.occlusion_heat, occlusion.heatmap, occlusion.levels, "coolwarm")
        self.occlusion_heat.setOpacity(self.opacity.value() / 100)
        low, high = occlusion.levels
        self.occlusion_plot.cell.show_scale("coolwarm", (100 * low, 100 * high), tr("drop, points"))
        self.occlusion_plot.box.autoRange(padding=0.02)
        low, high = 100 * float(occlusion.drops.min()), 100 * float(occlusion.drops.max())
        self.occlusion_message.note(tr(
            "{name} ({probability} on the whole image): a {patch} patch at {count} positions changes it by "
            "{low} … {high} percentage points. Red: hiding the patch lowers it; blue: raises it.").format(
            name=occlusion.target.name, probability=f"{occlusion.target.probability:.1%}",
            patch=f"{occlusion.patch[0]}×{occlusion.patch[1]}", count=occlusion.drops.size, low=f"{-high:+.2g}",
            high=f"{-low:+.2g}"))

    def _on_occlusion_error(self, message: str) -> None:
        stopped = self._stop is not None and self._stop.is_set()
        self._finish_occlusion()
        self.progress.setValue(0)
        self.progress.setFormat("")
        if stopped:
            self.occlusion_message.note(tr("Occlusion stopped."))
        else:
            self.occlusion_message.problem(message)


OCCLUSION_HINT = N_("Hide one patch at a time behind grey and watch the top class's probability.")
