"""Layer icons drawn in code (no image files): a family-coloured tile with a glyph of what the layer does;
and the application's own icon (``assets/app``, drawn by ``tools/make_icon.py``)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from ..design import layer_spec
from .theme import family_color

_GLYPHS = {
    "Input": "in", "Conv2d": "conv", "MaxPool2d": "max", "AvgPool2d": "avg", "AdaptiveAvgPool2d": "gap",
    "AdaptiveMaxPool2d": "gmp", "BatchNorm2d": "BN", "LocalResponseNorm": "LRN", "ReLU": "relu", "ReLU6": "relu",
    "LeakyReLU": "leaky", "GELU": "gelu", "SiLU": "silu", "Sigmoid": "sig", "Tanh": "tanh", "Softmax": "soft",
    "Dropout": "drop", "Dropout2d": "drop", "Flatten": "flat", "Linear": "fc", "Identity": "id", "Add": "+",
    "Concat": "cat", "ConvTranspose2d": "up", "GroupNorm": "GN", "LayerNorm": "LN", "InstanceNorm2d": "IN",
    "ZeroPad2d": "pad", "Upsample": "×2", "ChannelShuffle": "mix", "Multiply": "×", "Split": "split",
}

#: Activations drawn as their curve rather than a word.
_CURVES = ("ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "PReLU",
           "ELU", "Mish")


def app_icon() -> QIcon:
    """convviz's icon, for the windows and the task bar (the bundle's .ico/.icns are the same picture)."""
    image = resources.files("convviz.assets").joinpath("app", "convviz.png")
    with resources.as_file(image) as path:
        return QIcon(QPixmap(str(path)))


@lru_cache(maxsize=None)
def layer_icon(type_name: str, size: int = 32) -> QIcon:
    icon = QIcon()
    for scale in (1, 2):  # crisp on high-DPI screens
        icon.addPixmap(_draw(type_name, size, scale))
    return icon


def _draw(type_name: str, size: int, scale: int) -> QPixmap:
    pixmap = QPixmap(size * scale, size * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    color = family_color(layer_spec(type_name).family)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(1, 1, size - 2, size - 2)
    painter.setPen(QPen(color.darker(130), 1))
    painter.setBrush(color)
    painter.drawRoundedRect(rect, 6, 6)
    painter.setPen(QColor("white"))
    if type_name in _CURVES:
        painter.setPen(QPen(QColor("white"), 2))
        painter.drawPath(_curve(type_name, rect.adjusted(6, 7, -6, -7)))
    else:
        font = painter.font()
        text = _GLYPHS.get(type_name, type_name[:3])
        font.setPixelSize(max(8, int(size * (0.5 if len(text) <= 2 else 0.34))))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


def _curve(type_name: str, r: QRectF) -> QPainterPath:
    """The activation's graph, sketched."""
    import math

    def f(x: float) -> float:
        if type_name == "Sigmoid":
            return 1 / (1 + math.exp(-6 * x))
        if type_name == "Tanh":
            return (math.tanh(4 * x) + 1) / 2
        if type_name in ("LeakyReLU", "PReLU"):
            return 0.5 + (x * 0.9 if x > 0 else x * (0.15 if type_name == "LeakyReLU" else 0.45))
        if type_name == "Hardsigmoid":
            return min(max(x * 2.2 + 0.5, 0.0), 1.0)
        if type_name == "ELU":
            return 0.45 + (x * 1.0 if x > 0 else (math.exp(6 * x) - 1) * 0.3)
        if type_name in ("Hardswish", "Mish"):
            return 0.35 + x * 0.9 * min(max(x * 3 + 0.5, 0.0), 1.0) if type_name == "Hardswish" else \
                0.35 + x * 0.9 * math.tanh(math.log1p(math.exp(8 * x)))
        if type_name == "ReLU6":
            return 0.3 + min(max(x, 0), 0.45) * 1.4
        if type_name in ("GELU", "SiLU"):
            return 0.35 + x * 0.9 / (1 + math.exp(-8 * x))
        return 0.35 + max(x, 0) * 1.2

    path = QPainterPath()
    for i in range(21):
        x = -0.5 + i / 20
        point = QPointF(r.left() + (x + 0.5) * r.width(), r.bottom() - min(max(f(x), 0), 1) * r.height())
        path.moveTo(point) if i == 0 else path.lineTo(point)
    return path
