"""Colours: one hue per layer family, states (error, warning, blocked), readable on light and dark palettes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

FAMILY_COLORS = {
    "Input": "#6C7A89",
    "Convolution": "#4C78A8",
    "Pooling": "#2A9D8F",
    "Normalization": "#9467BD",
    "Activation": "#F58518",
    "Regularization": "#9D755D",
    "Reshape": "#8C8C8C",
    "Dense": "#C9A227",
    "Merge": "#17BECF",
}
ERROR = QColor("#D62728")
WARNING = QColor("#E69F00")
HEAT = QColor("#E4572E")


def family_color(family: str) -> QColor:
    return QColor(FAMILY_COLORS.get(family, "#888888"))


def is_dark() -> bool:
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(*(x + (y - x) * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])), 1.0)


def card_background(accent: QColor) -> QColor:
    """A card's body: the palette's base colour tinted with the family hue."""
    base = QGuiApplication.palette().color(QPalette.ColorRole.Base)
    return blend(base, accent, 0.22 if is_dark() else 0.10)


def muted_text() -> QColor:
    palette = QGuiApplication.palette()
    return blend(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base), 0.45)
