"""Editors for layer parameters, one per kind: spin boxes with the catalog's limits, combos, check
boxes, an int-or-pair editor with a link toggle, "same"/"valid" padding, comma-separated numbers.

Each emits ``committed(value)`` with a value ``Design.set_param`` accepts, and ``set_value`` shows
a value without emitting (so an undo refreshing the form does not record a new edit).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ..design import ParamSpec
from ..i18n import tr

#: Where the catalog sets no bound. Wide enough for any kernel or stride; narrow enough that the
#: spin box's size hint (from its longest value) leaves the inspector room.
SPIN_LIMIT = 9999


class ParamEditor(QWidget):
    committed = Signal(object)

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


def _spin(minimum: float | None, maximum: float | None) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(int(minimum) if minimum is not None else -SPIN_LIMIT, int(maximum) if maximum is not None else SPIN_LIMIT)
    spin.setKeyboardTracking(False)  # typing "128" commits once, not 1, 12, 128
    spin.setAccelerated(True)
    spin.setMinimumWidth(56)
    return spin


#: What a QSpinBox can hold (a C int).
SPIN_MAX = 2**31 - 1


def show_int(spin: QSpinBox, value: int) -> None:
    """Show ``value`` without emitting. A value outside the box's limits (from a file) is shown as it
    is, so its error makes sense, as far as a spin box can hold it (±2³¹); beyond that the box shows
    its end and the tool tip says what the design holds."""
    shown = max(-SPIN_MAX, min(SPIN_MAX, int(value)))
    spin.blockSignals(True)
    low, high = min(spin.minimum(), shown), max(spin.maximum(), shown)
    if (low, high) != (spin.minimum(), spin.maximum()):  # (a range set, even the same, re-lays out the panel)
        spin.setRange(low, high)
    if spin.value() != shown:  # (the same value set again repaints the box: every edit elsewhere)
        spin.setValue(shown)
    tip = "" if shown == value else tr("The design holds {value}, more than this box can show; "
                                       "the Issues list has the fix").format(value=value)
    if spin.toolTip() != tip:
        spin.setToolTip(tip)
    spin.blockSignals(False)


def _row(*widgets: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for widget in widgets:
        layout.addWidget(widget)
    return layout


class IntEditor(ParamEditor):
    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.spin = _spin(spec.minimum, spec.maximum)
        self.spin.valueChanged.connect(self.committed.emit)
        self.setLayout(_row(self.spin))

    def set_value(self, value: Any) -> None:
        show_int(self.spin, value)


class FloatEditor(ParamEditor):
    """Bounded to [0, 1] (probabilities): a spin box; otherwise a text field that takes 1e-5."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        if spec.minimum == 0.0 and spec.maximum == 1.0:
            self.field = QDoubleSpinBox(decimals=3, singleStep=0.05)
            self.field.setRange(0.0, 1.0)
            self.field.setKeyboardTracking(False)
            self.field.valueChanged.connect(self.committed.emit)
        else:
            self.field = QLineEdit()
            self.field.setValidator(QDoubleValidator())
            self.field.editingFinished.connect(self._on_text)
        self.setLayout(_row(self.field))

    def _on_text(self) -> None:
        try:
            self.committed.emit(float(self.field.text()))
        except ValueError:
            pass

    def set_value(self, value: Any) -> None:
        self.field.blockSignals(True)
        if isinstance(self.field, QDoubleSpinBox):
            self.field.setValue(value)
        else:
            self.field.setText(f"{value:g}")
        self.field.blockSignals(False)


class BoolEditor(ParamEditor):
    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.box = QCheckBox()
        self.box.toggled.connect(self.committed.emit)
        self.setLayout(_row(self.box))

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class ChoiceEditor(ParamEditor):
    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.combo = QComboBox()
        self.combo.addItems(list(spec.choices))
        self.combo.currentTextChanged.connect(self.committed.emit)
        self.setLayout(_row(self.combo))

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        self.combo.setCurrentText(value)
        self.combo.blockSignals(False)


class SizeEditor(ParamEditor):
    """An int or an (h, w) pair: two spin boxes and a link; linked, both move together and it is one int."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.h = _spin(spec.minimum, spec.maximum)
        self.w = _spin(spec.minimum, spec.maximum)
        self.link = QToolButton(text="h=w", checkable=True, checked=True,
                                toolTip=tr("Linked: height and width share one value. Unlink for an (h, w) pair."))
        self.times = QLabel("×")
        self.h.valueChanged.connect(self._on_h)
        self.w.valueChanged.connect(self._emit)
        self.link.toggled.connect(self._on_link)
        row = _row(self.h, self.times, self.w, self.link)
        row.addStretch(1)
        self.setLayout(row)
        self._show_pair(False)

    def _show_pair(self, pair: bool) -> None:
        """Linked, one spin box says it all; unlinked, height × width."""
        self.times.setVisible(pair)
        self.w.setVisible(pair)

    def value(self) -> Any:
        return self.h.value() if self.link.isChecked() else (self.h.value(), self.w.value())

    def _on_h(self, value: int) -> None:
        if self.link.isChecked():
            self.w.blockSignals(True)
            self.w.setValue(value)
            self.w.blockSignals(False)
        self._emit()

    def _on_link(self, linked: bool) -> None:
        self._show_pair(not linked)
        if linked:
            self._on_h(self.h.value())
        else:
            self._emit()

    def _emit(self, *_: Any) -> None:
        self.committed.emit(self.value())

    def set_value(self, value: Any) -> None:
        pair = value if isinstance(value, tuple) else (value, value)
        for spin, number in zip((self.h, self.w), pair):
            show_int(spin, number)
        self.link.blockSignals(True)
        self.link.setChecked(not isinstance(value, tuple))
        self._show_pair(isinstance(value, tuple))
        self.link.blockSignals(False)


class ModeSizeEditor(ParamEditor):
    """A size or a word: pooling strides ("= kernel" → None) and conv padding ("same", "valid")."""

    def __init__(self, spec: ParamSpec, words: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.words = words
        self.mode = QComboBox()
        self.mode.addItems([tr("number")] + [label for label, _ in words])
        self.size = SizeEditor(spec)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.size.committed.connect(self.committed.emit)
        self.setLayout(_row(self.mode, self.size))

    def _on_mode(self, index: int) -> None:
        self.size.setEnabled(index == 0)
        self.committed.emit(self.size.value() if index == 0 else self.words[index - 1][1])

    def set_value(self, value: Any) -> None:
        self.mode.blockSignals(True)
        word = next((i for i, (_, v) in enumerate(self.words, start=1) if v == value), 0)
        self.mode.setCurrentIndex(word)
        self.size.setEnabled(word == 0)
        self.mode.blockSignals(False)
        if word == 0:
            self.size.set_value(value)


class ListEditor(ParamEditor):
    """Numbers separated by commas: ZeroPad2d's "1" or "1, 2, 0, 3", Upsample's "2" or "2, 1.5", Split's
    "58, 58"; empty where the parameter may be unset. Text that is not a value is kept, marked, not committed."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.spec = spec
        self.field = QLineEdit()
        self.field.setPlaceholderText({"pad4": tr("left, right, top, bottom"), "scale": tr("empty: use size"),
                                       "int_list": tr("empty: equal chunks")}.get(spec.kind, ""))
        self.field.editingFinished.connect(self._on_text)
        self.setLayout(_row(self.field))

    def _parse(self, text: str) -> Any:
        text = text.strip().strip("[]()")
        if not text:
            return None
        numbers = [float(part) if self.spec.kind == "scale" else int(part)
                   for part in text.replace(";", ",").split(",") if part.strip()]
        return numbers[0] if len(numbers) == 1 and self.spec.kind != "int_list" else numbers

    def _on_text(self) -> None:
        try:
            value = self.spec.coerce(self._parse(self.field.text()))
        except ValueError as exc:  # ParamTypeError is one; so is int("x")
            self.field.setStyleSheet("QLineEdit { border: 1px solid #D62728; }")
            self.field.setToolTip(str(exc))
            return
        self.field.setStyleSheet("")
        self.field.setToolTip("")
        self.committed.emit(value)

    def set_value(self, value: Any) -> None:
        self.field.blockSignals(True)
        self.field.setStyleSheet("")
        if value is None:
            self.field.setText("")
        elif isinstance(value, tuple):
            self.field.setText(", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value))
        else:
            self.field.setText(f"{value:g}" if isinstance(value, float) else str(value))
        self.field.blockSignals(False)


class TextEditor(ParamEditor):
    """Words to read, not to edit (what an import's placeholder stands for, and why)."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.label = QLabel(wordWrap=True)
        self.label.setTextInteractionFlags(self.label.textInteractionFlags() | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setLayout(_row(self.label))

    def set_value(self, value: Any) -> None:
        self.label.setText(str(value))


def make_editor(spec: ParamSpec) -> ParamEditor:
    if spec.kind == "int":
        return IntEditor(spec)
    if spec.kind == "float":
        return FloatEditor(spec)
    if spec.kind == "bool":
        return BoolEditor(spec)
    if spec.kind == "choice":
        return ChoiceEditor(spec)
    if spec.kind == "optional_size":
        return ModeSizeEditor(spec, [(tr("= kernel") if spec.name == "stride" else tr("unset"), None)])
    if spec.kind == "padding":
        return ModeSizeEditor(spec, [("same", "same"), ("valid", "valid")])
    if spec.kind in ("pad4", "scale", "int_list"):
        return ListEditor(spec)
    if spec.kind == "text":
        return TextEditor(spec)
    return SizeEditor(spec)
