"""The replay: a slider over a run's snapshots, and at each position the first conv layer's filters,
the feature maps and Grad-CAM of the image fixed at the run's start, and the confusion matrix of the
latest epoch completed by then. Every snapshot is in memory; a position redraws a few ImageItems
(the mosaics of each position are made once and kept)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout

from ...i18n import tr
from ..confusion_matrix import ConfusionMatrixView
from ..plots import image_view
from .shown import DrawnWhenShown


class ReplayView(DrawnWhenShown):
    #: The position moved: its x (in epochs), for the curves' and the gradient view's cursors.
    positionChanged = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel(tr("<b>Replay</b>: pick a run in Runs and press Replay (the run training now "
                               "replays as it goes)"), wordWrap=True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setPageStep(4)
        self.position = QLabel()
        self.filters_title = QLabel(tr("<b>Filters</b>"))
        self.filters_widget, _, self.filters_image = image_view()
        self.map_node = QComboBox()
        self.map_node.setToolTip(tr("The layer whose feature maps are shown"))
        self.maps_widget, _, self.maps_image = image_view()
        self.cam_title = QLabel(tr("<b>Grad-CAM</b>"), wordWrap=True)
        self.cam_widget, _, self.cam_image = image_view()
        self.confusion_title = QLabel(tr("<b>Confusion matrix</b>"), wordWrap=True)
        self.confusion = ConfusionMatrixView(name_length=10)
        for widget in (self.filters_widget, self.maps_widget, self.cam_widget):
            widget.setMinimumSize(120, 110)

        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.position)
        maps_head = QHBoxLayout()
        maps_head.addWidget(QLabel(tr("<b>Feature maps</b> of")))
        maps_head.addWidget(self.map_node, 1)
        grid = QGridLayout()
        grid.addWidget(self.filters_title, 0, 0)
        grid.addWidget(self.filters_widget, 1, 0)
        grid.addLayout(maps_head, 0, 1)
        grid.addWidget(self.maps_widget, 1, 1)
        grid.addWidget(self.cam_title, 2, 0, 1, 2)
        grid.addWidget(self.cam_widget, 3, 0)
        grid.addWidget(self.confusion_title, 4, 0, 1, 2)
        grid.addWidget(self.confusion, 5, 0, 1, 2)
        grid.setRowStretch(1, 2)
        grid.setRowStretch(3, 2)
        grid.setRowStretch(5, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(slider_row)
        layout.addLayout(grid, 1)

        self.run_id: str | None = None
        self.name = ""
        self.live = False
        self.snapshots: list = []
        self.image: np.ndarray | None = None
        self.label = ""
        self.classes: list[str] = []
        self._epochs: list[int] = []
        self._confusion: list[np.ndarray] = []
        self._cache: dict[tuple, object] = {}
        self._dirty = False
        self._base: np.ndarray | None = None
        self.slider.valueChanged.connect(self._on_slider)
        self.map_node.currentIndexChanged.connect(lambda _: self.redraw())

    # --- contents ---------------------------------------------------------------------------------
    def show_replay(self, run_id: str, name: str, replay, curves, classes: list[str], *, live: bool = False) -> None:
        self.run_id, self.live = run_id, live
        self.snapshots = list(replay.snapshots)
        self.image, self.label, self.classes = replay.image, replay.label, list(classes)
        self._base = _display(self.image) if self.image is not None else None
        self._epochs = [int(e) for e in curves.epoch]
        self._confusion = list(curves.confusion)
        self._cache.clear()
        self.name = name
        self._update_title()
        self._fill_nodes()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(self.snapshots) - 1, 0))
        self.slider.setValue(len(self.snapshots) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.snapshots) > 1)
        self.redraw()

    def add_snapshot(self, snapshot) -> None:
        """A live run's new snapshot: the slider follows it unless the user moved it back."""
        at_end = self.slider.value() >= self.slider.maximum()
        self.snapshots.append(snapshot)
        if len(self.snapshots) == 1:
            self._fill_nodes()
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.snapshots) - 1)
        if at_end:
            self.slider.setValue(len(self.snapshots) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.snapshots) > 1)
        self._update_title()
        if at_end:
            self.redraw()

    def _update_title(self) -> None:
        self.title.setText(tr("<b>Replay of {name}</b>{live} — {n} snapshots; the image: a “{label}” from the "
                              "validation set").format(name=self.name, live=tr(" (training now)") if self.live else "",
                                                       n=len(self.snapshots), label=self.label))

    def finish_live(self) -> None:
        """The live run ended: its last position now has its last epoch."""
        if self.live:
            self.live = False
            self._update_title()
            self.redraw()

    def add_epoch(self, epoch: int, confusion: np.ndarray) -> None:
        self._epochs.append(epoch)
        self._confusion.append(np.asarray(confusion))

    def clear(self, message: str) -> None:
        self.run_id, self.snapshots, self.live = None, [], False
        self._cache.clear()
        for image in (self.filters_image, self.maps_image, self.cam_image):
            image.clear()
        self.confusion.clear()
        self.slider.setEnabled(False)
        self.position.setText("")
        self.title.setText(message)

    def _fill_nodes(self) -> None:
        current = self.map_node.currentText()
        nodes = list(self.snapshots[0].maps) if self.snapshots else []
        self.map_node.blockSignals(True)
        self.map_node.clear()
        self.map_node.addItems(nodes)
        if current in nodes:
            self.map_node.setCurrentText(current)
        self.map_node.blockSignals(False)

    # --- drawing ----------------------------------------------------------------------------------
    def _on_slider(self, _value: int) -> None:
        self.redraw()

    def current(self):
        index = self.slider.value()
        return self.snapshots[index] if 0 <= index < len(self.snapshots) else None

    def _draw(self) -> None:
        """Draw the current position."""
        from ...explain.filters import weight_mosaic   # torch: only once there is a replay to draw
        from ...explain.mosaic import feature_mosaic
        from ...explain.render import overlay

        snap = self.current()
        if snap is None:
            return
        epoch_text = tr("before training") if snap.global_step == 0 else tr("epoch {x} (epoch {e}, step {s})").format(
            x=f"{snap.x:.2f}", e=snap.epoch, s=snap.step)
        self.position.setText(tr("{i}/{n} · {when}").format(i=self.slider.value() + 1, n=len(self.snapshots),
                                                           when=epoch_text))
        if snap.filters is not None:
            shown = self._cached(("filters", snap.index), lambda: weight_mosaic(snap.filters))
            self.filters_image.setImage(shown.mosaic.image, levels=(0.0, 1.0), autoLevels=False)
            self.filters_title.setText(tr("<b>Filters of {node}</b>").format(node=snap.filters_node))
        node = self.map_node.currentText()
        if node in snap.maps:
            maps = self._cached(("maps", snap.index, node), lambda: feature_mosaic(snap.maps[node]))
            self.maps_image.setImage(maps.image, levels=maps.levels, autoLevels=False)
        if snap.cam is not None and self._base is not None and snap.cam.shape == self._base.shape[:2]:
            picture = self._cached(("cam", snap.index), lambda: overlay(self._base, snap.cam, alpha=0.5))
            self.cam_image.setImage(picture, levels=(0, 255), autoLevels=False)
        elif self._base is not None:
            self.cam_image.setImage(self._base, levels=(0.0, 1.0), autoLevels=False)
        self.cam_title.setText(self._prediction_text(snap))
        self._show_confusion(snap)
        self.positionChanged.emit(float(snap.x))

    def _prediction_text(self, snap) -> str:
        if snap.probabilities is None or not len(snap.probabilities):
            return tr("<b>Grad-CAM</b>")
        top = int(np.argmax(snap.probabilities))
        name = self.classes[top] if top < len(self.classes) else str(top)
        verdict = "✓" if name == self.label else "✗"
        return tr("<b>Grad-CAM</b> of “{name}”: {p} % {verdict} (true: {label})").format(
            name=name, p=f"{100 * float(snap.probabilities[top]):.0f}", verdict=verdict, label=self.label)

    def _show_confusion(self, snap) -> None:
        done = [i for i, epoch in enumerate(self._epochs) if epoch < snap.epoch or
                (epoch == snap.epoch and snap.step == 0)]
        finished_all = snap is self.snapshots[-1] and not self.live and self._epochs
        if finished_all:
            done = list(range(len(self._epochs)))
        if not done:
            self.confusion.clear()
            self.confusion_title.setText(tr("<b>Confusion matrix</b>: no epoch completed yet"))
            return
        i = done[-1]
        if self._confusion[i].size:
            self.confusion.show_matrix(self._confusion[i], self.classes)
        self.confusion_title.setText(tr("<b>Confusion matrix</b> after epoch {epoch}").format(epoch=self._epochs[i]))

    def _cached(self, key: tuple, make):
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = make()
        return value


def _display(image: np.ndarray) -> np.ndarray:
    """uint8 C×H×W → float H×W (grey) or H×W×3 in [0, 1], as overlay takes it."""
    picture = image.astype(np.float32) / 255.0
    return picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0)[..., :3]
