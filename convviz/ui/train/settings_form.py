"""The training settings: data source, optimiser, schedule, device, precision, augmentation.

Reads and writes ``convviz.train.TrainConfig`` (plain data, no torch), remembered between sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...train.config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, ConfigError, DataSpec, TrainConfig
from ...i18n import N_, tr
from ..file_dialogs import ask_folder
from ..settings import app_settings

#: Data sources in the combo: (label, DataSpec kind, downloadable); labels translated where shown.
SOURCES = (
    (N_("Built-in shapes (no download)"), "synthetic", False),
    (N_("MNIST digits"), "mnist", True),
    ("Fashion-MNIST", "fashion", True),
    ("CIFAR-10", "cifar10", True),
    (N_("Image folder (one sub-folder per class)"), "folder", False),
)
SCHEDULE_LABELS = {"constant": N_("constant"), "step": N_("step decay"), "cosine": N_("cosine"),
                   "onecycle": N_("one-cycle")}
AMP_LABELS = {"off": N_("off (float32)"), "bf16": "bfloat16 (CUDA)", "fp16": "float16 (CUDA)"}
DEVICE_LABELS = {"auto": N_("automatic"), "cpu": "CPU", "cuda": "CUDA", "mps": "MPS (Apple)"}


def _combo() -> QComboBox:
    """A combo box as narrow as the column allows (its long entries show in full when it opens)."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


def _double(minimum: float, maximum: float, step: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=minimum, maximum=maximum, singleStep=step, decimals=decimals)
    spin.setKeyboardTracking(False)
    return spin


class AugmentForm(QGroupBox):
    """One control per augmentation; 0 / unchecked switches it off."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__(tr("Augmentation (training images only)"))
        self.rotation = _double(0, 180, 5, 0)
        self.shear = _double(0, 45, 5, 0)
        self.elastic = _double(0, 10, 0.5, 1)
        self.crop = QSpinBox(minimum=0, maximum=32, keyboardTracking=False)
        self.color = _double(0, 1, 0.05, 2)
        self.mirror = QCheckBox(tr("mirror left–right"))
        form = QFormLayout(self)
        for label, widget, tip in (
                (tr("Rotation ±°"), self.rotation, tr("Rotate each image by a random angle up to this")),
                (tr("Shear ±°"), self.shear, tr("Slant each image by a random shear up to this")),
                (tr("Elastic warp"), self.elastic, tr("Local warping: how far pixels may move (pixels)")),
                (tr("Crop padding"), self.crop, tr("Pad by this many pixels, then crop back at a random place")),
                (tr("Colour shift"), self.color, tr("Random brightness/contrast (and colour) changes, 0…1")),
                ("", self.mirror, tr("Flip half of the images left–right"))):
            widget.setToolTip(tip)
            form.addRow(label, widget)
        for spin in (self.rotation, self.shear, self.elastic, self.crop, self.color):
            spin.valueChanged.connect(lambda _: self.changed.emit())
        self.mirror.toggled.connect(lambda _: self.changed.emit())

    def config(self) -> AugmentConfig:
        return AugmentConfig(rotation=self.rotation.value(), shear=self.shear.value(), elastic=self.elastic.value(),
                             mirror=self.mirror.isChecked(), crop_padding=self.crop.value(),
                             color_shift=self.color.value())

    def set_config(self, config: AugmentConfig) -> None:
        for widget, value in ((self.rotation, config.rotation), (self.shear, config.shear),
                              (self.elastic, config.elastic), (self.crop, config.crop_padding),
                              (self.color, config.color_shift)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.mirror.blockSignals(True)
        self.mirror.setChecked(config.mirror)
        self.mirror.blockSignals(False)


class TrainSettingsForm(QWidget):
    #: Anything changed; ``data_changed`` when the dataset itself must be reloaded.
    changed = Signal()
    data_changed = Signal()
    download_requested = Signal(str, str)  # kind, folder

    def __init__(self) -> None:
        super().__init__()
        self.source = _combo()
        for label, kind, _ in SOURCES:
            self.source.addItem(tr(label), kind)
        self.folder = QLineEdit(placeholderText=tr("folder with the dataset's files"))
        self.browse = QPushButton(tr("Browse…"))
        self.download = QPushButton(tr("Download"))
        self.download.setToolTip(tr("Fetch the dataset's files into the folder (needs the internet)"))
        # The buttons under the field, not beside it: the column stays narrow and nothing is cut off.
        folder_buttons = QHBoxLayout()
        folder_buttons.setContentsMargins(0, 0, 0, 0)
        folder_buttons.addWidget(self.browse)
        folder_buttons.addWidget(self.download)
        folder_buttons.addStretch(1)
        self.val_fraction = _double(0.01, 0.9, 0.05, 2)
        self.val_fraction.setToolTip(tr("Held out for validation when the dataset has no test set of its own"))

        self.epochs = QSpinBox(minimum=1, maximum=10000, keyboardTracking=False)
        self.batch_size = QSpinBox(minimum=1, maximum=65536, keyboardTracking=False)
        self.optimizer = _combo()
        self.optimizer.addItems([o.upper() if o == "sgd" else {"adam": "Adam", "adamw": "AdamW"}[o] for o in OPTIMIZERS])
        self.lr = QLineEdit()
        self.lr.setToolTip(tr("Learning rate, e.g. 0.003 or 3e-3"))
        self.momentum = _double(0, 0.999, 0.05, 3)
        self.weight_decay = QLineEdit()
        self.schedule = _combo()
        self.schedule.addItems([tr(SCHEDULE_LABELS[s]) for s in SCHEDULES])
        self.device = _combo()
        self.device.addItems([tr(DEVICE_LABELS[d]) for d in DEVICES])
        self.device.setToolTip(tr("Automatic: a CUDA GPU if there is one, else Apple's MPS, else the CPU"))
        self.amp = _combo()
        self.amp.addItems([tr(AMP_LABELS[a]) for a in AMP_MODES])
        self.compile = QCheckBox(tr("torch.compile the model"))
        self.compile.setToolTip(tr("Compile the model with torch.compile: a slower start, faster steps"))
        self.seed = QSpinBox(minimum=0, maximum=2 ** 31 - 1, keyboardTracking=False)
        self.seed.setToolTip(tr("Seeds the initial weights, the data order, augmentation and dropout: the same seed "
                                "gives the same run"))
        self.train_images = QSpinBox(minimum=0, maximum=10_000_000, singleStep=100, keyboardTracking=False)
        self.train_images.setSpecialValueText(tr("all"))
        self.train_images.setToolTip(tr("Use only this many training images (classes balanced, drawn with the seed): "
                                        "a small set overfits on purpose, so dropout, batch norm, weight decay and "
                                        "augmentation make a visible difference. 0: all of them"))
        self.normalize = QCheckBox(tr("normalise inputs"))
        self.normalize.setToolTip(tr("Subtract the training images' mean and divide by their std, per channel"))
        self.continue_training = QCheckBox(tr("start from the trained weights"))
        self.continue_training.setToolTip(tr("Start from the design's trained weights where the layers still fit "
                                             "(else: fresh weights from the seed)"))
        self.augment = AugmentForm()
        self.error = QLabel(wordWrap=True)
        self.error.setStyleSheet("color: #D62728")
        self.error.hide()

        data_box = QGroupBox(tr("Data"))
        data = QFormLayout(data_box)
        data.addRow(tr("Source"), self.source)
        data.addRow(tr("Folder"), self.folder)
        data.addRow("", folder_buttons)
        data.addRow(tr("Validation share"), self.val_fraction)
        data.addRow(tr("Training images"), self.train_images)
        run_box = QGroupBox(tr("Training"))
        run = QFormLayout(run_box)
        for label, widget in ((tr("Epochs"), self.epochs), (tr("Batch size"), self.batch_size),
                              (tr("Optimizer"), self.optimizer), (tr("Learning rate"), self.lr),
                              (tr("Momentum (SGD)"), self.momentum), (tr("Weight decay"), self.weight_decay),
                              (tr("Schedule"), self.schedule), (tr("Device"), self.device),
                              (tr("Mixed precision"), self.amp), (tr("Seed"), self.seed)):
            run.addRow(label, widget)
        run.addRow(self.compile)
        run.addRow(self.normalize)
        run.addRow(self.continue_training)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data_box)
        layout.addWidget(run_box)
        layout.addWidget(self.augment)
        layout.addWidget(self.error)
        layout.addStretch(1)

        self._loading = False
        self.set_config(remembered_config())
        self.source.currentIndexChanged.connect(self._on_source)
        self.folder.editingFinished.connect(self.data_changed.emit)
        self.val_fraction.valueChanged.connect(lambda _: self.data_changed.emit())
        self.seed.valueChanged.connect(lambda _: self.data_changed.emit())   # the seed draws the validation split
        self.browse.clicked.connect(self._on_browse)
        self.download.clicked.connect(lambda: self.download_requested.emit(self.source.currentData(),
                                                                           self.folder.text()))
        for signal in (self.epochs.valueChanged, self.batch_size.valueChanged, self.optimizer.currentIndexChanged,
                       self.lr.editingFinished, self.momentum.valueChanged, self.weight_decay.editingFinished,
                       self.schedule.currentIndexChanged, self.device.currentIndexChanged,
                       self.amp.currentIndexChanged, self.compile.toggled, self.seed.valueChanged,
                       self.normalize.toggled, self.augment.changed, self.train_images.valueChanged):
            signal.connect(self._on_changed)
        self._on_source()

    def _on_source(self, *_) -> None:
        kind = self.source.currentData()
        needs_folder = kind != "synthetic"
        for widget in (self.folder, self.browse):
            widget.setEnabled(needs_folder)
        self.download.setEnabled(any(k == kind and d for _, k, d in SOURCES))
        self.data_changed.emit()
        self._on_changed()

    def _on_browse(self) -> None:
        folder = ask_folder(self, tr("Dataset folder"), "data", self.folder.text() or None)
        if folder is not None:
            self.folder.setText(str(folder))
            self.data_changed.emit()

    def _on_changed(self, *_) -> None:
        if self._loading:
            return
        try:
            config = self.config()
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.error.hide()
        app_settings().setValue("train/config", json.dumps(config.to_dict()))
        self.changed.emit()

    def data_spec(self) -> DataSpec:
        kind = self.source.currentData()
        return DataSpec.parse(kind if kind == "synthetic" else f"{kind}:{self.folder.text().strip()}")

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig; ConfigError names the setting that cannot be used."""
        try:
            lr = float(self.lr.text())
            weight_decay = float(self.weight_decay.text() or 0)
        except ValueError:
            raise ConfigError(tr("the learning rate and weight decay must be numbers, such as 0.003 or 1e-4")) from None
        return TrainConfig(
            data=self.data_spec(), epochs=self.epochs.value(), batch_size=self.batch_size.value(),
            optimizer=OPTIMIZERS[self.optimizer.currentIndex()], lr=lr, momentum=self.momentum.value(),
            weight_decay=weight_decay, schedule=SCHEDULES[self.schedule.currentIndex()],
            device=DEVICES[self.device.currentIndex()], amp=AMP_MODES[self.amp.currentIndex()],
            compile=self.compile.isChecked(),
            seed=self.seed.value(), val_fraction=self.val_fraction.value(), normalize=self.normalize.isChecked(),
            augment=self.augment.config(), train_images=self.train_images.value())

    def set_start(self, config: TrainConfig) -> None:
        """Take from ``config`` only what decides a run's start and its data order: the data, the number of
        training images, the validation share and the seed (train again from a run's start: the other
        settings stay as the user set them, so that the comparison shows their change alone)."""
        with self._loading_values():
            self._show_start(config)

    def set_config(self, config: TrainConfig, remember: bool = False) -> None:
        """Show ``config``; ``remember`` also makes it the settings the next session starts with."""
        with self._loading_values():
            self._show_start(config)
            self.epochs.setValue(config.epochs)
            self.batch_size.setValue(config.batch_size)
            self.optimizer.setCurrentIndex(OPTIMIZERS.index(config.optimizer))
            self.lr.setText(f"{config.lr:g}")
            self.momentum.setValue(config.momentum)
            self.weight_decay.setText(f"{config.weight_decay:g}")
            self.schedule.setCurrentIndex(SCHEDULES.index(config.schedule))
            self.device.setCurrentIndex(DEVICES.index(config.device))
            self.amp.setCurrentIndex(AMP_MODES.index(config.amp))
            self.compile.setChecked(config.compile)
            self.normalize.setChecked(config.normalize)
            self.continue_training.setChecked(True)
            self.augment.set_config(config.augment)
        if remember:
            self._on_changed()

    def _show_start(self, config: TrainConfig) -> None:
        """The data, the validation share, the seed and the number of training images of ``config``."""
        index = next((i for i, (_, kind, _) in enumerate(SOURCES) if kind == config.data.kind), 0)
        self.source.setCurrentIndex(index)
        self.folder.setText(config.data.path)
        self.val_fraction.setValue(config.val_fraction)
        self.seed.setValue(config.seed)
        self.train_images.setValue(config.train_images)

    @contextmanager
    def _loading_values(self) -> Iterator[None]:
        """The widgets signal each value set: none of them is the user's change."""
        self._loading = True
        self.blockSignals(True)
        try:
            yield
        finally:
            self.blockSignals(False)
            self._loading = False


def remembered_config() -> TrainConfig:
    """Last session's settings, or the defaults (which train ``default`` on the shapes in seconds)."""
    text = app_settings().value("train/config")
    if text:
        try:
            return TrainConfig.from_dict(json.loads(text))
        except (ValueError, TypeError):
            pass
    return TrainConfig()
