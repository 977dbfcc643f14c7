"""Class activation maps: Grad-CAM of the top predicted classes over the input (opacity
adjustable), the class probabilities as bars, and occlusion sensitivity on demand (patch, stride,
progress, cancel)."""

from __future__ import annotations

import threading
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

from ...explain import ClassMaps, OcclusionMap, cam_nodes, default_cam_node, grad_cam, occlusion_map
from ...explain.hooks import Activations
from .base import ExplainView, MessageLabel
from .controller import Capture
from .plots import MapGrid, MapPlot, palette_colors, show_array

#: Bars shown at most (the most probable classes).
BARS = 10
AUTO = "auto"


@dataclass(frozen=True)
class CamResult:
    activations: Activations
    maps: ClassMaps
    #: (id, every node Grad-CAM can use) — the layer combo's choices.
    default: str
    choices: list[str]


def make_cams(capture: Capture, node_id: str | None, top_k: int) -> CamResult:
    """Worker: Grad-CAM of the ``top_k`` classes at ``node_id`` (None: chosen automatically)."""
    network = capture.network
    maps = grad_cam(network, capture.image, node_id=node_id, top_k=top_k)
    return CamResult(capture.activations, maps, default_cam_node(network), cam_nodes(network))


class Progress(QObject):
    """Carries a worker's (done, total) to the GUI thread (queued: the receiver lives there)."""

    changed = Signal(int, int)


class ClassActivationView(ExplainView):
    title = "Class activation"

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: CamResult | None = None
        self.layer = QComboBox()
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer.setToolTip("The feature map Grad-CAM weighs (automatic: the last conv map before the classifier)")
        self.layer.activated.connect(lambda _: self.invalidate())
        self.top_k = QSpinBox(minimum=1, maximum=5, value=3)
        self.top_k.setToolTip("How many of the most probable classes to explain")
        self.top_k.valueChanged.connect(lambda _: self.invalidate())
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=55)
        self.opacity.setFixedWidth(140)
        self.opacity.valueChanged.connect(self._on_opacity)
        controls = QHBoxLayout()
        for label, widget in (("Layer", self.layer), ("Classes", self.top_k), ("Opacity", self.opacity)):
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
        self.bars.setLabel("bottom", "probability (%)")
        self.bars.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars.setMinimumWidth(280)
        self.bar_item: pg.BarGraphItem | None = None
        self._style_bars()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.cams)
        top.addWidget(self.bars)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)

        self.patch = QSpinBox(minimum=1, maximum=512, value=8)
        self.patch.setToolTip("Side of the grey square hiding part of the image, in input pixels")
        self.stride = QSpinBox(minimum=1, maximum=512, value=4)
        self.stride.setToolTip("How far the square moves between positions")
        self.occlude_button = QPushButton("Compute")
        self.occlude_button.clicked.connect(self.start_occlusion)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_occlusion)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.occlusion_plot = MapPlot()
        self.occlusion_heat = pg.ImageItem()
        self.occlusion_plot.box.addItem(self.occlusion_heat)
        self.occlusion_message = MessageLabel()
        self.occlusion_message.note("Hide one patch at a time behind grey and watch the top class's probability.")
        row = QHBoxLayout()
        for label, widget in (("Patch", self.patch), ("Stride", self.stride)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.occlude_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        box = QGroupBox("Occlusion sensitivity")
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
        self._occlusion_for: Activations | None = None
        self.occlusion: OcclusionMap | None = None
        self.progress_signal = Progress(self)
        self.progress_signal.changed.connect(self._on_progress)
        controller.captureChanged.connect(self.cancel_occlusion)

    # --- Grad-CAM ----------------------------------------------------------------------------------
    def network_changed(self) -> None:
        self.layer.clear()  # refilled with the new model's layers when its maps arrive

    def selection_changed(self) -> None:
        """The layer is Grad-CAM's own choice (automatic, or picked here)."""

    def refresh(self) -> None:
        capture = self.controller.capture
        if capture is None:
            self.message.note("Load an image to see which classes the network sees, and where.")
            return
        node_id = self.layer.currentData()
        self.controller.run(make_cams, capture, node_id, self.top_k.value(), channel="cam",
                            on_done=self._on_result, on_error=self._on_error)
        size = min(capture.image.display.shape[:2])
        if self.occlusion is None and self._stop is None:  # defaults that fit this input
            self.patch.setValue(max(1, size // 8))
            self.stride.setValue(max(1, size // 16))

    def _on_error(self, message: str) -> None:
        self.message.problem(message)
        self.cams.clear_cells()
        self.heat_items = []
        if self.bar_item is not None:
            self.bars.removeItem(self.bar_item)
            self.bar_item = None

    def _on_result(self, result: CamResult) -> None:
        capture = self.controller.capture
        if capture is None or result.activations is not capture.activations:
            return
        self.result = result
        self._fill_layers(result)
        maps = result.maps
        self.cams.clear_cells()
        self.heat_items = []
        display = capture.image.display
        for i, (p, heat) in enumerate(zip(maps.predictions, maps.maps)):
            cell = self.cams.add_cell(0, i, f"{i + 1}. {p.name} — {p.probability:.1%}")
            show_array(cell.image, display, (0.0, 1.0), "gray")
            overlay = pg.ImageItem()
            show_array(overlay, heat, (0.0, 1.0), "inferno")
            overlay.setOpacity(self.opacity.value() / 100)
            cell.box.addItem(overlay)
            self.heat_items.append(overlay)
        self._show_bars(result)
        trained = self.controller.built.trained if self.controller.built else False
        self.message.note(f"Grad-CAM at {maps.node_id}: where the evidence for each class lies in that layer"
                          + ("" if trained else " — with random initial weights the classes mean nothing yet")
                          + ".")

    def _fill_layers(self, result: CamResult) -> None:
        chosen = self.layer.currentData()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItem(f"{AUTO}: {result.default}", None)
        for node_id in result.choices:
            self.layer.addItem(node_id, node_id)
        index = self.layer.findData(chosen) if chosen is not None else 0
        self.layer.setCurrentIndex(max(0, index))
        self.layer.blockSignals(False)

    def _show_bars(self, result: CamResult) -> None:
        probs = result.maps.probabilities
        names = self.controller.capture.network.class_names
        order = np.argsort(-probs, kind="stable")[:BARS]
        if self.bar_item is not None:
            self.bars.removeItem(self.bar_item)
        _, text = palette_colors(self)
        percent = 100 * probs[order]
        self.bar_item = pg.BarGraphItem(x0=0, y=np.arange(len(order)), height=0.7, width=percent,
                                        brush=pg.mkBrush("#4C78A8"), pen=pg.mkPen(None))
        self.bars.addItem(self.bar_item)
        self.bars.getAxis("left").setTicks([[(i, names[k]) for i, k in enumerate(order)]])
        self.bars.setXRange(0, max(1e-3, float(percent.max())) * 1.1, padding=0)
        self.bars.setYRange(-0.5, len(order) - 0.5, padding=0)
        self.bars.setTitle(f"top {len(order)} of {len(probs)} classes" if len(probs) > BARS else "class probabilities",
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
    def start_occlusion(self) -> None:
        capture = self.controller.capture
        if capture is None:
            return
        self.cancel_occlusion()
        stop = threading.Event()
        self._stop, self._occlusion_for = stop, capture.activations
        self.occlude_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.occlusion_message.note("Occluding…")
        self.controller.run(occlusion_map, capture.network, capture.image, patch=self.patch.value(),
                            stride=self.stride.value(), progress=self.progress_signal.changed.emit,
                            should_stop=stop.is_set, channel="occlusion",
                            on_done=self._on_occlusion, on_error=self._on_occlusion_error)

    def cancel_occlusion(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _finish_occlusion(self) -> None:
        self._stop = None
        self.occlude_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total: int) -> None:
        if self._stop is not None and not self._stop.is_set():
            self.progress.setMaximum(total)
            self.progress.setValue(done)

    def _on_occlusion(self, result: OcclusionMap) -> None:
        self._finish_occlusion()
        capture = self.controller.capture
        if capture is None or self._occlusion_for is not capture.activations:
            return
        self.occlusion = result
        show_array(self.occlusion_plot.image, capture.image.display, (0.0, 1.0), "gray")
        show_array(self.occlusion_heat, result.heatmap, result.levels, "coolwarm")
        self.occlusion_heat.setOpacity(self.opacity.value() / 100)
        self.occlusion_plot.box.autoRange(padding=0.02)
        low, high = 100 * float(result.drops.min()), 100 * float(result.drops.max())
        self.occlusion_message.note(
            f"{result.target.name} ({result.target.probability:.1%} on the whole image): a {result.patch[0]}×"
            f"{result.patch[1]} patch at {result.drops.size} positions changes it by {-high:+.2g} … {-low:+.2g} "
            "percentage points. Red: hiding the patch lowers it; blue: raises it.")

    def _on_occlusion_error(self, message: str) -> None:
        stopped = self._stop is not None and self._stop.is_set()
        self._finish_occlusion()
        self.progress.setValue(0)
        if stopped:
            self.occlusion_message.note("Occlusion stopped.")
        else:
            self.occlusion_message.problem(message)
