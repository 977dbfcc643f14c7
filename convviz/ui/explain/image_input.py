"""Choosing the image to explain — a file, the clipboard, a bundled sample, a sample of the
training data — and showing it as the model receives it, with what was done to it."""

from __future__ import annotations


import html

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...data.images import PreparedImage, SampleImage, sample_images
from ...i18n import tr
from ..drops import IMAGE_SUFFIXES, dropped_file, existing_file
from ..file_dialogs import ask_open_path
from .base import MessageLabel
from .controller import Capture, ExplainController

def image_filter() -> str:
    """The Open dialog's file types."""
    return tr("Images ({patterns});;All files (*)").format(patterns=" ".join("*" + s for s in sorted(IMAGE_SUFFIXES)))

PREVIEW_SIZE = 200
#: "Loading …" is said only of an image that takes longer than this: a note shown and gone within a
#: capture's 50 ms is a flicker, and its layout and paint took the cores the capture was running on.
LOADING_NOTE_MS = 300
THUMBNAIL_SIZE = 48


def qimage_to_array(image: QImage) -> np.ndarray:
    """An H×W×4 uint8 RGBA copy of a QImage (what the clipboard gives)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    rows = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes()).reshape(height, -1)
    return rows[:, :width * 4].reshape(height, width, 4).copy()


def array_to_qimage(display: np.ndarray) -> QImage:
    """A prepared image's display array ((H, W) or (H, W, 3) in [0, 1]) as a QImage."""
    pixels = np.ascontiguousarray((np.clip(display, 0, 1) * 255).round().astype(np.uint8))
    height, width = pixels.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if pixels.ndim == 2 else QImage.Format.Format_RGB888
    return QImage(pixels.data, width, height, pixels.strides[0], fmt).copy()


def preview_image(capture: Capture) -> QImage:
    """What the model sees, as a picture: made in the capture's job (a QImage may be made in any
    thread), so the GUI thread goes straight to the feature maps the user waits for."""
    return array_to_qimage(capture.image.display)


def mime_image(mime: QMimeData) -> tuple[object, str] | None:
    """(source, name) of the image a clipboard or drag carries: pixels, or one local file."""
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            return qimage_to_array(image), tr("the pasted image")
    path = dropped_file(mime)
    if path is None and mime.hasText():
        path = existing_file(mime.text())
    return (path, path.name) if path is not None else None


def describe_preparation(image: PreparedImage, mean: list[float], std: list[float]) -> list[str]:
    """What was done to the image, in the order it was done, one short line each."""
    width, height = image.source_size
    left, top, right, bottom = image.crop_box
    out_h, out_w = image.display.shape[:2]
    channels = 1 if image.display.ndim == 2 else 3
    mode = image.source_mode
    lines = [tr("source {size} {mode}").format(size=f"{width}×{height}", mode=mode).rstrip()]
    if mode in ("LA", "RGBA"):
        lines.append(tr("transparency shown on white"))
    if mode == "I":
        lines.append(tr("16-bit values scaled to 0…1"))
    if (right - left, bottom - top) != (width, height):
        lines.append(tr("centre-cropped to {size}").format(size=f"{right - left}×{bottom - top}"))
    if (right - left, bottom - top) != (out_w, out_h):
        lines.append(tr("resized to {size}").format(size=f"{out_w}×{out_h}"))
    if channels == 1 and mode in ("RGB", "RGBA"):
        lines.append(tr("converted to grey (luma)"))
    elif channels == 3 and mode not in ("RGB", "RGBA"):
        lines.append(tr("grey repeated on 3 channels"))
    if mean or std:
        lines.append(tr("normalised: mean {mean}, std {std}").format(
            mean=", ".join(f"{m:.3g}" for m in mean) or "0", std=", ".join(f"{s:.3g}" for s in std) or "1"))
    else:
        lines.append(tr("not normalised (values 0…1)"))
    return lines


class ImageInputPanel(QWidget):
    """Left column of the Explain tab."""

    def __init__(self, controller: ExplainController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        document = controller.document
        self.open_button = QPushButton(tr("Open…"))
        self.open_button.setToolTip(tr("Open an image file (or drop one anywhere on the window)"))
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button = QPushButton(tr("Paste"))
        self.paste_button.setToolTip(tr("Paste an image or an image file from the clipboard (Ctrl+V)"))
        self.paste_button.clicked.connect(self.paste)
        self.dataset_button = QPushButton(tr("From dataset"))
        self.dataset_button.setToolTip(tr("A random image of the training data"))
        self.dataset_button.clicked.connect(self.sample_from_dataset)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.paste_button, self.dataset_button):
            buttons.addWidget(button)

        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.preview.setText(tr("Drop an image here,\nopen or paste one,\nor pick a sample below."))
        self.preview.setStyleSheet("QLabel { border: 1px dashed palette(mid); }")
        self.caption = QLabel(wordWrap=True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = MessageLabel()

        self.samples = QListWidget()
        self.samples.setViewMode(QListWidget.ViewMode.IconMode)
        self.samples.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.samples.setGridSize(QSize(THUMBNAIL_SIZE + 40, THUMBNAIL_SIZE + 30))
        self.samples.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.samples.setMovement(QListWidget.Movement.Static)
        self.samples.setWordWrap(True)
        self.samples.itemClicked.connect(self._on_sample_clicked)
        self.sample_list: list[SampleImage] = sample_images()
        for sample in self.sample_list:
            pixmap = QPixmap()
            pixmap.loadFromData(sample.path.read_bytes())
            item = QListWidgetItem(QIcon(pixmap), sample.title)
            item.setData(Qt.ItemDataRole.UserRole, sample.name)
            item.setToolTip(sample.name)
            self.samples.addItem(item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.preview)
        layout.addWidget(self.caption)
        layout.addWidget(self.message)
        layout.addWidget(QLabel("<b>" + html.escape(tr("Samples")) + "</b>"))
        layout.addWidget(self.samples, 1)

        self._loading: str | None = None
        self._loading_note = QTimer(self, singleShot=True, interval=LOADING_NOTE_MS)
        self._loading_note.timeout.connect(self._note_loading)
        controller.captureChanged.connect(self._on_capture)
        controller.follow_ups.append(lambda: ("preview", preview_image))
        controller.imageFailed.connect(self._on_failed)
        document.sampleImagesChanged.connect(self._update_dataset_button)
        self._update_dataset_button()

    # --- sources -----------------------------------------------------------------------------------
    def load(self, source, name: str) -> None:
        self._loading = name
        self._loading_note.start()
        self.controller.load(source, name)

    def _note_loading(self) -> None:  # the timer runs only while an image is loading
        self.message.note(tr("Loading {name}…").format(name=self._loading))

    def _loaded(self) -> None:
        self._loading = None
        self._loading_note.stop()

    def _on_failed(self, message: str) -> None:
        self._loaded()
        self.message.problem(message)

    def open_dialog(self) -> None:
        path = ask_open_path(self, tr("Open an image"), image_filter(), "images")
        if path is not None:
            self.load(path, path.name)

    def paste(self) -> None:
        found = mime_image(QGuiApplication.clipboard().mimeData())
        if found is None:
            self.message.problem(tr("The clipboard holds no image (copy an image or an image file first)."))
            return
        self.load(*found)

    def load_sample(self, name: str) -> None:
        sample = next((s for s in self.sample_list if s.name == name), None)
        if sample is None:
            self.message.problem(tr("No bundled sample named {name}").format(name=repr(name)))
            return
        self.load(sample.path, sample.name)

    def load_spec(self, spec: str | None) -> str | None:
        """``--image``: a file, a bundled sample's name, or None for a sample with the design's
        number of channels (grey shapes for 1, colour scenes for 3). Returns a problem, or None."""
        path = existing_file(spec)
        if path is not None:
            self.load(path, path.name)
            return None
        name = spec or ("scene_garden" if self.controller.document.design.input.channels == 3 else "shape_plus")
        if not any(s.name == name for s in self.sample_list):
            names = ", ".join(s.name for s in self.sample_list)
            return tr("{name}: no such file, and not a bundled sample ({names})").format(name=spec, names=names)
        self.load_sample(name)
        return None

    def sample_from_dataset(self) -> None:
        source = self.controller.document.sample_images
        if source is None:
            return
        self.controller.run(source, 1, channel="dataset-sample", on_done=self._on_dataset_sample,
                            on_error=self.message.problem)

    def _on_dataset_sample(self, samples) -> None:
        if not samples:
            self.message.problem(tr("The dataset gave no image."))
            return
        array, label = samples[0]
        self.load(array, tr("a dataset image (class {label})").format(label=label))

    def _on_sample_clicked(self, item: QListWidgetItem) -> None:
        self.load_sample(item.data(Qt.ItemDataRole.UserRole))

    def _update_dataset_button(self) -> None:
        has = self.controller.document.sample_images is not None
        self.dataset_button.setEnabled(has)
        self.dataset_button.setToolTip(tr("A random image of the training data") if has else
                                       tr("Choose a dataset in the training panel first"))

    # --- what the model sees -----------------------------------------------------------------------
    def _on_capture(self) -> None:
        capture: Capture | None = self.controller.capture
        if not self.controller.capturing:
            self._loaded()
        if capture is None:
            return
        image = capture.prepared.get("preview") or preview_image(capture)
        picture = QPixmap.fromImage(image)
        self.preview.setPixmap(picture.scaled(PREVIEW_SIZE, PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.FastTransformation))
        network = capture.network
        lines = describe_preparation(capture.image, network.mean, network.std)
        self.caption.setText(html.escape(tr("{image} as the model sees it ({shape}):")).format(
            image=f"<b>{html.escape(capture.name)}</b>", shape="×".join(map(str, network.design.input.shape)))
            + "<br>" + "<br>".join(html.escape(line) for line in lines))
        self.message.clear()
