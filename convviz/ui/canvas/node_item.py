"""A node on the canvas: a card with the layer type, its key parameters and a live footer.

The card shows what the analysis says (output shape, params, MACs, receptive field) and its
state: red with the message when the node is at fault, grey when an upstream node blocks it.
Input ports sit on the top edge (one per input for Add/Concat, numbered, plus a free slot),
output ports at the bottom (one; a Split has one per output, numbered from 0 as ``split1:k``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush, QColor, QFont, QFontMetricsF, QGuiApplication, QPainter, QPainterPath, QPen, QPixmap,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyle, QStyleOptionGraphicsItem, QWidget

from ...analysis import NodeAnalysis
from ...analysis.report import field_text
from ...analysis.text import compact
from ...analysis.text import outputs_text
from ...design import Design, Node, layer_spec
from ...design.describe import key_params_text
from ...design.ports import node_of
from ...i18n import tr
from .. import theme
from ..card import HEIGHT, WIDTH

HEADER = 22.0
PORT_RADIUS = 6.0
SLOT_SPACING = 26.0
#: Below this zoom a card shows only its type and output shape (the small print would be unreadable).
FINE_DETAIL = 0.45


@dataclass(frozen=True)
class CardText:
    """Everything a card displays; an item repaints only when this changes."""

    title: str
    node_id: str
    params: str
    line1: str
    line1_right: str
    line2: str
    status: str
    tooltip: str
    inputs: int
    max_inputs: int | None
    shade: float | None
    #: Output ports: 1, or a Split's count (its outputs are numbered).
    outputs: int = 1
    #: What the card says zoomed far out, in large print: its output shape, or one word for why it has
    #: none (a waiting card's "blocked by layer1_0_add" was cut off at both ends).
    overview: str = ""


def card_text(node: Node, design: Design, result: NodeAnalysis | None, shade: float | None) -> CardText:
    spec = layer_spec(node.type)
    status = result.status if result else "ok"
    if result is None or status == "blocked" and not result.output_shape:
        line1 = tr("blocked by {node}").format(node=result.blocked_by) if result and result.blocked_by else ""
        line1_right, line2 = "", ""
        overview = tr("blocked") if line1 else ""
    elif result.errors:
        line1, line1_right, line2 = "⚠ " + result.errors[0].message, "", ""
        overview = tr("error")
    else:
        line1 = overview = outputs_text(result.output_shape, result.output_shapes)
        line1_right = f"RF {field_text(result)}" if result.receptive_field else ""
        bits = []
        if result.params:
            bits.append(tr("{count} params").format(count=compact(result.params)))
        if result.macs:
            bits.append(f"{compact(result.macs)} MACs")
        line2 = " · ".join(bits) or tr("no weights")
    tips = [f"<b>{node.type}</b> — {tr(spec.summary)}"]
    if spec.formula:
        tips.append(f"<i>{spec.formula}</i>")
    if result is not None:
        for issue in result.errors:
            tips.append(f"<span style='color:{theme.ERROR.name()}'>"
                        + tr("<b>Error:</b> {message}").format(message=issue.message) + "</span>")
            if issue.hint:
                tips.append(tr("<b>Fix:</b> {hint}").format(hint=issue.hint))
        for issue in result.warnings:
            tips.append(tr("<b>Warning:</b> {message} {hint}").format(message=issue.message, hint=issue.hint))
        if result.blocked_by:
            tips.append(tr("Waiting for <b>{node}</b>, which has an error.").format(node=result.blocked_by))
    params = key_params_text(node, design)
    head = next((i for i, h in enumerate(design.heads) if node_of(h.node) == node.id), None)
    if head is not None:  # a design with several outputs: say which this is
        mark = tr("main head") if head == 0 else tr("aux head ×{w:g}").format(w=design.heads[head].loss_weight)
        params = f"{mark} · {params}" if params else mark
    return CardText(node.type, node.id, params, line1, line1_right, line2, status,
                    "<br>".join(tips), len(node.inputs), spec.max_inputs, shade,
                    spec.output_count(node.params) if spec.multi_output else 1, overview)


class NodeItem(QGraphicsObject):
    def __init__(self, node_id: str, type_name: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.type_name = type_name
        self.family = layer_spec(type_name).family
        self.text: CardText | None = None
        self._colors: dict | None = None
        self._bounds = self._bounding_rect(1)
        self.hovered_port: tuple[str, int] | None = None
        self.drop_target = False
        self.edges: list = []  # EdgeItems touching this node, updated when it moves
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)

    # --- content -------------------------------------------------------------------------------
    def set_text(self, text: CardText) -> None:
        if text == self.text:
            return
        geometry_changed = self.text is None or self.input_slots(self.text) != self.input_slots(text) \
            or self.text.outputs != text.outputs
        if geometry_changed:
            self.prepareGeometryChange()
        tooltip_changed = self.text is None or self.text.tooltip != text.tooltip
        self.text = text
        self._colors = None
        if geometry_changed:
            self._bounds = self._bounding_rect(text.outputs)
        if tooltip_changed:  # (Qt tells the item of every tooltip set: an itemChange call each)
            self.setToolTip(text.tooltip)
        self.update()
        if geometry_changed:
            for edge in self.edges:
                edge.update_path()

    # --- geometry ------------------------------------------------------------------------------
    @staticmethod
    def input_slots(text: CardText | None) -> int:
        """Ports on the top edge: one per input; merges get a free slot more."""
        if text is None or text.max_inputs == 0:
            return 0
        if text.max_inputs is None:
            return text.inputs + 1
        return 1

    def card_rect(self) -> QRectF:
        return QRectF(-WIDTH / 2, -HEIGHT / 2, WIDTH, HEIGHT)

    def boundingRect(self) -> QRectF:
        # Asked several times per card and frame by the scene: made when the ports change, not per call.
        return self._bounds

    def _bounding_rect(self, outputs: int) -> QRectF:
        below = PORT_RADIUS + (16 if outputs > 1 else 2)  # a Split's output numbers sit below its ports
        return self.card_rect().adjusted(-PORT_RADIUS - 2, -PORT_RADIUS - 14, PORT_RADIUS + 2, below)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.card_rect().adjusted(-PORT_RADIUS, -PORT_RADIUS, PORT_RADIUS, PORT_RADIUS), 8, 8)
        return path

    def input_port_local(self, index: int) -> QPointF:
        slots = max(self.input_slots(self.text), 1)
        span = SLOT_SPACING * (slots - 1)
        return QPointF(-span / 2 + index * SLOT_SPACING, -HEIGHT / 2)

    def output_slots(self) -> int:
        return self.text.outputs if self.text is not None else 1

    def output_port_local(self, port: int | None = None) -> QPointF:
        """Output ``port`` (None: the node's one output) on the bottom edge."""
        span = SLOT_SPACING * (self.output_slots() - 1)
        return QPointF(-span / 2 + (port or 0) * SLOT_SPACING, HEIGHT / 2)

    def input_port_pos(self, index: int) -> QPointF:
        return self.mapToScene(self.input_port_local(index))

    def output_port_pos(self, port: int | None = None) -> QPointF:
        return self.mapToScene(self.output_port_local(port))

    def port_at(self, scene_pos: QPointF, grab: float = 11.0) -> tuple[str, int] | None:
        """("in", slot) or ("out", port) when ``scene_pos`` is on a port."""
        local = self.mapFromScene(scene_pos)
        if self.text is not None and self.text.max_inputs != 0:
            for index in range(self.input_slots(self.text)):
                if _near(local, self.input_port_local(index), grab):
                    return ("in", index)
        for port in range(self.output_slots()):
            if _near(local, self.output_port_local(port), grab):
                return ("out", port)
        return None

    def slot_for_drop(self, scene_pos: QPointF) -> int:
        """Which input a connection dropped at ``scene_pos`` should become (nearest slot)."""
        slots = self.input_slots(self.text)
        if slots <= 1:
            return 0
        local = self.mapFromScene(scene_pos)
        return min(range(slots), key=lambda i: abs(self.input_port_local(i).x() - local.x()))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    # --- interaction feedback ------------------------------------------------------------------
    def hoverMoveEvent(self, event) -> None:
        port = self.port_at(event.scenePos())
        if port != self.hovered_port:
            self.hovered_port = port
            self.setCursor(Qt.CursorShape.CrossCursor if port else Qt.CursorShape.ArrowCursor)
            self.update()

    def hoverLeaveEvent(self, event) -> None:
        if self.hovered_port:
            self.hovered_port = None
            self.update()

    def set_drop_target(self, on: bool) -> None:
        if on != self.drop_target:
            self.drop_target = on
            self.update()

    # --- painting ------------------------------------------------------------------------------
    def _look(self) -> dict:
        """Colours for the current state: shared by every card of the same family, shade and state (an
        edit that rewrites 70 cards works them out a few times, not 70), redone for another palette."""
        text = self.text
        key = (self.family, text.shade, text.status, QGuiApplication.palette().cacheKey())
        look = _LOOKS.get(key)
        if look is None:
            if len(_LOOKS) > 512:  # shades are continuous: keep the table small
                _LOOKS.clear()
            look = _LOOKS[key] = self._work_out_look()
        return look

    def _work_out_look(self) -> dict:
        text = self.text
        accent = theme.family_color(self.family)
        body = theme.card_background(accent)
        if text.shade is not None:
            body = theme.blend(theme.card_background(QColor("#999999")), theme.HEAT, 0.12 + 0.78 * text.shade)
        if text.status == "error":
            body = theme.blend(body, theme.ERROR, 0.18)
        ink = QGuiApplication.palette().text().color()
        return {
            "accent": accent, "body": body, "ink": ink, "muted": theme.muted_text(),
            "rule": theme.blend(body, ink, 0.15),
            "border": {"error": theme.ERROR, "warning": theme.WARNING}.get(text.status, accent.darker(120)),
            "header": theme.ERROR if text.status == "error" else accent,
            "error_ink": theme.ERROR.lighter(140) if theme.is_dark() else theme.ERROR.darker(110),
        }

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        text = self.text
        if text is None:
            return
        if self._colors is None:
            self._colors = self._look()
        look = self._colors
        shapes = _shapes()
        selected = bool(option.state & _SELECTED)
        transform = painter.worldTransform()
        if option.levelOfDetailFromTransform(transform) < FINE_DETAIL and transform.type().value <= _SCALING:
            # Zoomed far out a card shows only its type and output shape, and many cards show the same:
            # one picture per look, drawn once and copied (an edit that reshapes 70 cards copies them).
            sprite, origin = _overview_sprite(self, look, selected, transform, painter.device().devicePixelRatioF())
            painter.setWorldTransform(_DEVICE)
            painter.drawPixmap(origin, sprite)
            painter.setWorldTransform(transform)
            return
        painter.setRenderHint(_ANTIALIASING)
        self._paint_card(painter, look, selected, shapes)
        if option.levelOfDetailFromTransform(transform) < FINE_DETAIL:  # (rotated: drawn as it is)
            self._paint_overview_text(painter, look, shapes)
            return
        self._paint_details(painter, look, shapes)

    def _paint_card(self, painter: QPainter, look: dict, selected: bool, shapes: _Shapes) -> None:
        """The body, header, border and type: what every zoom shows."""
        text = self.text
        if text.status == "blocked":
            painter.setOpacity(0.55)
        painter.fillPath(shapes.card, look["body"])
        painter.fillPath(shapes.header, look["header"])
        border = QGuiApplication.palette().highlight().color() if selected else look["border"]
        pen = QPen(border, 3.0 if selected or text.status == "error" else 1.4)
        if text.status == "blocked":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.strokePath(shapes.card, pen)

        rect = shapes.rect
        inner = shapes.inner
        painter.setFont(shapes.title_font)
        painter.setPen(_WHITE)
        painter.drawText(inner, _LEFT, text.title)

    def _paint_overview_text(self, painter: QPainter, look: dict, shapes: _Shapes) -> None:
        """Zoomed far out, small print is a blur: the type and the output shape, large, say enough."""
        text = self.text
        painter.setFont(shapes.overview_font)
        painter.setPen(look["error_ink"] if text.status == "error" else look["ink"])
        painter.drawText(shapes.overview, _CENTRE, shapes.overview_metrics.elidedText(
            text.overview, Qt.TextElideMode.ElideRight, shapes.overview.width()))

    def _paint_details(self, painter: QPainter, look: dict, shapes: _Shapes) -> None:
        text = self.text
        rect, inner = shapes.rect, shapes.inner
        title_width = shapes.title_metrics.horizontalAdvance(text.title) + 12
        painter.setFont(shapes.font)
        metrics = shapes.metrics
        painter.drawText(inner, _RIGHT,
                         metrics.elidedText(text.node_id, Qt.TextElideMode.ElideMiddle, inner.width() - title_width))

        y = rect.top() + HEADER + 2
        painter.setPen(look["muted"])
        painter.drawText(QRectF(rect.left() + 9, y, rect.width() - 18, 18), Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(text.params, Qt.TextElideMode.ElideRight, rect.width() - 18))
        y += 21
        painter.setPen(QPen(look["rule"], 1))
        painter.drawLine(QPointF(rect.left() + 8, y - 2), QPointF(rect.right() - 8, y - 2))
        if text.status == "error":
            painter.setPen(look["error_ink"])
            painter.drawText(QRectF(rect.left() + 9, y, rect.width() - 18, 36),
                             Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                             metrics.elidedText(text.line1, Qt.TextElideMode.ElideRight, 2 * (rect.width() - 24)))
        else:
            line = QRectF(rect.left() + 9, y, rect.width() - 18, 18)
            painter.setFont(shapes.bold_font)
            painter.setPen(look["ink"])
            painter.drawText(line, _LEFT, text.line1)
            painter.setFont(shapes.font)
            painter.drawText(line, _RIGHT, text.line1_right)
            painter.setPen(look["muted"])
            painter.drawText(QRectF(rect.left() + 9, y + 18, rect.width() - 18, 17),
                             Qt.AlignmentFlag.AlignVCenter, text.line2)

        self._paint_ports(painter, look["accent"], look["ink"], look["body"], shapes.small_font)
        if self.drop_target:
            painter.setPen(QPen(QGuiApplication.palette().highlight().color(), 2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), 10, 10)

    def _paint_ports(self, painter: QPainter, accent: QColor, ink: QColor, body: QColor, small: QFont) -> None:
        text = self.text
        slots = self.input_slots(text)
        painter.setFont(small)
        for index in range(slots):
            centre = self.input_port_local(index)
            free = index >= text.inputs
            hot = self.hovered_port == ("in", index)
            painter.setPen(QPen(accent.darker(130), 1.5))
            painter.setBrush(QBrush(body if free else accent) if not hot else QBrush(accent.lighter(130)))
            painter.drawEllipse(centre, PORT_RADIUS + (2 if hot else 0), PORT_RADIUS + (2 if hot else 0))
            if text.max_inputs is None:  # numbered: Concat order matters
                painter.setPen(ink)
                label = "+" if free else str(index + 1)
                painter.drawText(QRectF(centre.x() - 10, centre.y() - 21, 20, 12), Qt.AlignmentFlag.AlignCenter,
                                 label)
        for port in range(text.outputs):
            centre = self.output_port_local(port)
            hot = self.hovered_port == ("out", port)
            painter.setPen(QPen(accent.darker(130), 1.5))
            painter.setBrush(accent.lighter(130) if hot else accent)
            painter.drawEllipse(centre, PORT_RADIUS + (2 if hot else 0), PORT_RADIUS + (2 if hot else 0))
            if text.outputs > 1:  # numbered as the inputs that read them name them: split1:0, split1:1
                painter.setPen(ink)
                painter.drawText(QRectF(centre.x() - 10, centre.y() + 8, 20, 12), Qt.AlignmentFlag.AlignCenter,
                                 str(port))


class _Shapes:
    """Paths, rectangles and fonts every card shares, made once (a QApplication must exist)."""

    def __init__(self) -> None:
        rect = QRectF(-WIDTH / 2, -HEIGHT / 2, WIDTH, HEIGHT)
        self.rect = rect
        self.inner = QRectF(rect.left() + 9, rect.top(), rect.width() - 18, HEADER)  # the header's text
        self.overview = rect.adjusted(9, HEADER, -9, -4)  # the output shape, zoomed far out
        self.card = QPainterPath()
        self.card.addRoundedRect(rect, 8, 8)
        band = QPainterPath()
        band.addRect(QRectF(rect.left(), rect.top(), rect.width(), HEADER))
        self.header = self.card.intersected(band)
        base = QGuiApplication.font()
        self.font = QFont(base)
        self.font.setPixelSize(12)
        self.metrics = QFontMetricsF(self.font)
        self.title_font = QFont(base)
        self.title_font.setPixelSize(13)
        self.title_font.setBold(True)
        self.title_metrics = QFontMetricsF(self.title_font)
        self.bold_font = QFont(self.title_font)
        self.small_font = QFont(base)
        self.small_font.setPixelSize(10)
        self.overview_font = QFont(self.title_font)
        self.overview_font.setPixelSize(26)
        self.overview_metrics = QFontMetricsF(self.overview_font)


_SHAPES: _Shapes | None = None
# Flags and colours a paint uses, made once: combining PySide's enum flags costs a Python call each time.
_ANTIALIASING = QPainter.RenderHint.Antialiasing
_SELECTED = QStyle.StateFlag.State_Selected
_LEFT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
_RIGHT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
_CENTRE = Qt.AlignmentFlag.AlignCenter
_WHITE = QColor("white")
_SCALING = QTransform.TransformationType.TxScale.value
_DEVICE = QTransform()  # identity: a sprite is drawn in device pixels
#: (family, shade, status, palette) → a card's colours (``NodeItem._look``).
_LOOKS: dict[tuple, dict] = {}
#: What a zoomed-out card shows, and at which scale → its picture (``_overview_sprite``), oldest first.
_SPRITES: dict[tuple, QPixmap] = {}
MAX_SPRITES = 1024  # (a few kB each at the scales they are used)


def _overview_sprite(item: NodeItem, look: dict, selected: bool, transform: QTransform,
                     dpr: float) -> tuple[QPixmap, QPointF]:
    """The card as zoomed far out, in the device's pixels (``dpr`` of them per logical pixel), from
    ``_SPRITES`` (keyed by all it shows and the scale), and where it goes under an identity world
    transform (the bounding rectangle's corner, on a whole device pixel)."""
    text, bounds = item.text, item.boundingRect()
    scale = transform.m11() * dpr  # device pixels per item unit
    # A tuple, not QPixmapCache's string key: formatting one per card and paint was half this function.
    key = (item.family, text.status, text.shade, selected, text.title, text.overview, bounds.width(),
           bounds.height(), round(scale, 5), dpr, QGuiApplication.palette().cacheKey())
    corner = transform.map(bounds.topLeft())
    origin = QPointF(round(corner.x() * dpr) / dpr, round(corner.y() * dpr) / dpr)
    sprite = _SPRITES.get(key)
    if sprite is None:
        sprite = QPixmap(max(1, math.ceil(bounds.width() * scale) + 1), max(1, math.ceil(bounds.height() * scale) + 1))
        sprite.fill(Qt.GlobalColor.transparent)
        painter = QPainter(sprite)
        painter.setRenderHint(_ANTIALIASING)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        painter.translate(-bounds.left(), -bounds.top())
        shapes = _shapes()
        item._paint_card(painter, look, selected, shapes)
        item._paint_overview_text(painter, look, shapes)
        painter.end()
        sprite.setDevicePixelRatio(dpr)  # drawn at its logical size, every device pixel its own
        if len(_SPRITES) >= MAX_SPRITES:  # every zoom step makes new ones: forget the oldest
            del _SPRITES[next(iter(_SPRITES))]
        _SPRITES[key] = sprite
    return sprite, origin


def _shapes() -> _Shapes:
    global _SHAPES
    if _SHAPES is None:
        _SHAPES = _Shapes()
    return _SHAPES


def _near(a: QPointF, b: QPointF, radius: float) -> bool:
    return (a.x() - b.x()) ** 2 + (a.y() - b.y()) ** 2 <= radius * radius
