"""The sliding window of a Conv2d, ConvTranspose2d, MaxPool2d or AvgPool2d node, animated over the real input to
that node: play, pause, step, speed, scrub; input and output channel; zoom; GIF / PNG export.

The frames come from ``convviz.explain.window_animation`` (the layer's own output at each cell);
the animation is built in a worker, each frame is a few small numpy operations on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...explain import Network, WindowAnimation, window_animation
from ...explain.hooks import Activations
from ...explain.render import save_gif, save_png_sequence
from ...i18n import N_, ntr, tr
from ..document import ResultKey
from ..file_dialogs import ask_folder, ask_save_path
from .base import ExplainView, MessageLabel
from .controller import Capture
from .window_painter import DEFAULT_CELL, MAX_CELL, MIN_CELL, WindowColours, WindowPainter

WINDOW_TYPES = ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d")
SPEEDS = (1, 2, 4, 8, 15, 30)
#: An exported animation holds at most this many frames, from the current one on.
EXPORT_FRAMES = 240


@dataclass(frozen=True)
class Animation:
    activations: Activations
    node_id: str
    source_id: str
    animation: WindowAnimation
    #: The capture's key.
    key: ResultKey = ResultKey(-1, -1, -1)


def make_animation(capture: Capture, node_id: str, out_channel: int) -> Animation:
    """Worker: the animation of one output channel on the input the node received."""
    network = capture.network
    source = network.design.node(node_id).inputs[0]
    return Animation(capture.activations, node_id, source, window_animation(network, capture.activations, node_id,
                                                                            out_channel), capture.key)


def render_frames(painter: WindowPainter, indices: range, size: QSize) -> list[np.ndarray]:
    """Worker: frames painted on QImages (RGB uint8 arrays) for export."""
    pictures = []
    for index in indices:
        image = QImage(size, QImage.Format.Format_RGB888)
        qp = QPainter(image)
        painter.paint(qp, size.width(), size.height(), painter.animation.frame(index))
        qp.end()
        rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(size.height(), -1)
        pictures.append(rows[:, :size.width() * 3].reshape(size.height(), size.width(), 3).copy())
    return pictures


def slides(network: Network, node_id: str) -> bool:
    return network.design.node(node_id).type in WINDOW_TYPES


class WindowCanvas(QWidget):
    """The frame on screen; Ctrl+wheel zooms (cell size)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.painter: WindowPainter | None = None
        self.frame = None
        self.setMinimumSize(480, 360)  # narrower, the output grid is cut (Zoom −); wider pushed the inspector
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_frame(self, painter: WindowPainter | None, frame) -> None:
        self.painter, self.frame = painter, frame
        self.update()

    def zoom(self, steps: int) -> None:
        if self.painter is not None:
            self.painter.cell = max(MIN_CELL, min(MAX_CELL, self.painter.cell + 4 * steps))
            self.update()

    def paintEvent(self, event) -> None:
        qp = QPainter(self)
        if self.painter is None or self.frame is None:
            qp.fillRect(self.rect(), self.palette().base())
        else:
            self.painter.colours = WindowColours.from_palette(self.palette())
            self.painter.paint(qp, self.width(), self.height(), self.frame)
        qp.end()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1 if event.angleDelta().y() > 0 else -1)
            event.accept()
        else:
            super().wheelEvent(event)


class SlidingWindowView(ExplainView):
    title = N_("Sliding window")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: Animation | None = None
        self.painter: WindowPainter | None = None
        self.node_combo(slides)
        self.out_channel = QSpinBox()
        self.out_channel.setToolTip(tr("The output channel being written (the filter, for a conv)"))
        self.out_channel.valueChanged.connect(lambda _: self.invalidate())
        self.in_channel = QComboBox()
        self.in_channel.setToolTip(tr("The input channel shown (a conv sums over all of its group's)"))
        self.in_channel.currentIndexChanged.connect(self._on_input_channel)
        style = self.style()
        self.play_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), tr("Play"))
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play)
        self.back_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward), "")
        self.back_button.setToolTip(tr("Previous position"))
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.step_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward), "")
        self.step_button.setToolTip(tr("Next position"))
        self.step_button.clicked.connect(lambda: self.step(1))
        self.speed = QComboBox()
        self.speed.addItems([tr("{n} / s").format(n=s) for s in SPEEDS])
        self.speed.setCurrentIndex(2)
        self.speed.setToolTip(tr("Positions per second"))
        self.speed.currentIndexChanged.connect(self._on_speed)
        self.scrub = QSlider(Qt.Orientation.Horizontal)
        self.scrub.setMinimumWidth(80)
        self.scrub.valueChanged.connect(self.show_frame)
        self.position = QLabel()
        zoom_out, zoom_in = QPushButton("−"), QPushButton("+")
        for button, steps in ((zoom_out, -1), (zoom_in, 1)):
            button.setFixedWidth(28)
            button.setToolTip(tr("Cell size (or Ctrl+wheel over the picture)"))
            button.clicked.connect(lambda _=False, s=steps: self.canvas.zoom(s))
        self.gif_button = QPushButton(tr("Export GIF…"))
        self.gif_button.clicked.connect(lambda: self.export_animation(gif=True))
        self.png_button = QPushButton(tr("PNG frames…"))
        self.png_button.clicked.connect(lambda: self.export_animation(gif=False))

        top = QHBoxLayout()
        for label, widget in ((tr("Layer"), self.nodes), (tr("Output channel"), self.out_channel),
                              (tr("Input channel"), self.in_channel)):
            top.addWidget(QLabel(label))
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(QLabel(tr("Zoom")))
        top.addWidget(zoom_out)
        top.addWidget(zoom_in)
        transport = QHBoxLayout()
        for widget in (self.back_button, self.play_button, self.step_button, self.speed):
            transport.addWidget(widget)
        transport.addWidget(self.scrub, 1)
        transport.addWidget(self.position)
        transport.addWidget(self.gif_button)
        transport.addWidget(self.png_button)
        self.message = MessageLabel()
        self.canvas = WindowCanvas()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(transport)
        self.timer = QTimer(self)
        self.timer.timeout.connect(lambda: self.step(1, wrap=True))
        self._on_speed(self.speed.currentIndex())
        self._set_enabled(False)

    # --- choosing ----------------------------------------------------------------------------------
    def _on_input_channel(self, index: int) -> None:
        if self.painter is not None and index >= 0:
            self.painter.input_slot = index
            self.canvas.update()

    # --- computing ---------------------------------------------------------------------------------
    def clear(self) -> None:
        self.result = None
        self.painter = None
        self.canvas.show_frame(None, None)
        self.position.clear()
        self._set_enabled(False)
        self.message.note(tr("No animation yet for the design, weights and image as they are now."))

    def refresh(self) -> None:
        capture = self.capture
        if capture is None:
            self.message.note(tr("Load an image to watch a window slide over the real data."))
            return
        node_id = self.current_node()
        if node_id is None:
            self.message.note(tr("This network has no Conv2d, ConvTranspose2d, MaxPool2d or AvgPool2d layer."))
            self._set_enabled(False)
            return
        channels = capture.network.analysis.nodes[node_id].output_shape[0]
        self.out_channel.blockSignals(True)
        self.out_channel.setMaximum(channels - 1)
        self.out_channel.blockSignals(False)
        self.controller.run(make_animation, capture, node_id, self.out_channel.value(), channel="window",
                            on_done=self._on_result, on_error=self.message.problem)

    def _on_result(self, result: Animation) -> None:
        if not self.is_current(result) or result.node_id != self.nodes.current:
            return
        same_place = self.result is not None and self.result.node_id == result.node_id and \
            len(self.result.animation) == len(result.animation)
        self.result = result
        self.shown(result.key)
        animation = result.animation
        cell = self.painter.cell if self.painter is not None else DEFAULT_CELL
        slot = self.in_channel.currentIndex() if same_place else 0
        self.painter = WindowPainter(animation, result.source_id, result.node_id,
                                     WindowColours.from_palette(self.palette()), cell, max(0, slot))
        self.in_channel.blockSignals(True)
        self.in_channel.clear()
        self.in_channel.addItems([str(int(c)) for c in animation.input_channels])
        self.in_channel.setCurrentIndex(self.painter.input_slot)
        self.in_channel.blockSignals(False)
        index = self.scrub.value() if same_place else 0
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, len(animation) - 1)
        self.scrub.setValue(index)
        self.scrub.blockSignals(False)
        self._set_enabled(True)
        g = animation.geometry
        self.message.note(tr("{node} slides a {kernel} window over {source}'s {size} map: {count} positions. Hatched "
                             "cells are padding; dashed, the window's extent (gaps inside it: dilation).").format(
            node=result.node_id, kernel=f"{g.kernel[0]}×{g.kernel[1]}", source=result.source_id,
            size=f"{g.input_size[0]}×{g.input_size[1]}", count=len(animation)))
        self.show_frame(index)

    def _set_enabled(self, on: bool) -> None:
        for widget in (self.play_button, self.back_button, self.step_button, self.scrub, self.gif_button,
                       self.png_button):
            widget.setEnabled(on)
        if not on:
            self.play_button.setChecked(False)

    # --- playing -----------------------------------------------------------------------------------
    def show_frame(self, index: int) -> None:
        if self.result is None:
            return
        animation = self.result.animation
        frame = animation.frame(index)
        if self.scrub.value() != index:
            self.scrub.blockSignals(True)
            self.scrub.setValue(index)
            self.scrub.blockSignals(False)
        self.position.setText(f"{index + 1} / {len(animation)}  → ({frame.out_pos[0]}, {frame.out_pos[1]})")
        self.canvas.show_frame(self.painter, frame)

    def step(self, delta: int, wrap: bool = False) -> None:
        if self.result is None:
            return
        count = len(self.result.animation)
        index = self.scrub.value() + delta
        if wrap:
            index %= count
        self.show_frame(min(max(index, 0), count - 1))

    def _on_play(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setText(tr("Pause") if playing else tr("Play"))
        if playing:
            self.timer.start()
        else:
            self.timer.stop()

    def _on_speed(self, index: int) -> None:
        self.timer.setInterval(int(1000 / SPEEDS[index]))

    def showcase(self) -> None:
        """The strongest output of the first row: the window over something, the padding above it."""
        if self.result is not None:
            self.show_frame(int(np.argmax(np.abs(self.result.animation.output[0]))))

    def hideEvent(self, event) -> None:
        self.play_button.setChecked(False)  # nobody watching: stop using the CPU
        super().hideEvent(event)

    # --- export ------------------------------------------------------------------------------------
    def export_animation(self, gif: bool) -> None:
        if self.result is None:
            return
        if gif:
            path = ask_save_path(self, tr("Export the animation as GIF"), f"{self.result.node_id}_window.gif",
                                 "GIF (*.gif)", ".gif")
        else:
            path = ask_folder(self, tr("Export the frames as PNG files into a folder"))
        if not path:
            return
        start = self.scrub.value()
        frames = range(start, min(len(self.result.animation), start + EXPORT_FRAMES))
        size = self.canvas.size()
        painter = WindowPainter(self.result.animation, self.result.source_id, self.result.node_id,
                                self.painter.colours, self.painter.cell, self.painter.input_slot)
        self.message.note(ntr("Exporting {count} frame…", "Exporting {count} frames…", len(frames)).format(
            count=len(frames)))
        self.controller.run(_export, painter, frames, size, Path(path), gif, self.timer.interval(),
                            channel="window-export", on_done=self._on_exported, on_error=self.message.problem,
                            aside=True)

    def _on_exported(self, written: list[Path]) -> None:
        target = written[0] if len(written) == 1 else written[0].parent
        self.message.note(ntr("Wrote {count} file: {path}", "Wrote {count} files: {path}", len(written)).format(
            count=len(written), path=target))


def _export(painter: WindowPainter, frames: range, size: QSize, path: Path, gif: bool, interval_ms: int) -> list[Path]:
    pictures = render_frames(painter, frames, size)
    if gif:
        return [save_gif(pictures, path if path.suffix.lower() == ".gif" else path.with_suffix(".gif"),
                         duration_ms=interval_ms)]
    return save_png_sequence(pictures, path, stem=f"{painter.node_id}_window")
