"""An edge: a curve from a node's output port to an input port of another, routed around cards."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem, QWidget

from ...design.ports import output_ref
from .. import theme

LANE_MARGIN = 26.0


class EdgeItem(QGraphicsPathItem):
    def __init__(self, source, target, index: int, port: int | None = None) -> None:
        super().__init__()
        #: ``port``: which output of ``source`` (a Split's ``k``; None for a node's one output).
        self.source, self.target, self.index, self.port = source, target, index, port
        self.highlighted = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        # Drawn once per route and zoom, then copied: an edit that rewrites the cards above repaints
        # the whole view, and stroking every antialiased curve again was half of that paint.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(0)
        source.edges.append(self)
        target.edges.append(self)

    @property
    def key(self) -> tuple[str, int]:
        return (self.target.node_id, self.index)

    def detach(self) -> None:
        for node in (self.source, self.target):
            if self in node.edges:
                node.edges.remove(self)

    @property
    def ref(self) -> str:
        """The input reference this edge draws (``conv1``, ``split1:1``)."""
        return output_ref(self.source.node_id, self.port)

    def update_path(self) -> None:
        self.setPath(route(self.source.output_port_pos(self.port), self.target.input_port_pos(self.index),
                           self._obstacles()))

    def band(self) -> QRectF:
        """Where cards make this edge go around them: between its two ports. The route is a function
        of the ports and the cards in this band alone, so it is the same however the cards got there."""
        start, end = self.source.output_port_pos(), self.target.input_port_pos(self.index)
        top, bottom = sorted((start.y(), end.y()))
        return QRectF(QPointF(min(start.x(), end.x()) - 4, top + 8), QPointF(max(start.x(), end.x()) + 4, bottom - 8))

    def _obstacles(self) -> list[QRectF]:
        scene = self.scene()
        start, end = self.source.output_port_pos(self.port), self.target.input_port_pos(self.index)
        if scene is None or 0 <= end.y() - start.y() < 60:
            return []
        from .node_item import NodeItem

        return [item.sceneBoundingRect() for item in scene.items(self.band())
                if isinstance(item, NodeItem) and item is not self.source and item is not self.target]

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = widget.palette() if widget else QGuiApplication.palette()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected or self.highlighted:
            color = palette.highlight().color()
            width = 3.0
        else:
            color = theme.blend(palette.text().color(), palette.base().color(), 0.45)
            width = 1.8
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


def route(start: QPointF, end: QPointF, obstacles: list[QRectF]) -> QPainterPath:
    """A smooth curve from ``start`` down to ``end``; around ``obstacles`` through a side lane."""
    path = QPainterPath(start)
    if end.y() < start.y() + 20:  # into the next column of a wrapped layout: out below, in from above
        right = max((r.right() for r in obstacles), default=(start.x() + end.x()) / 2 - LANE_MARGIN)
        lane = right + LANE_MARGIN
        path.cubicTo(QPointF(start.x(), start.y() + 40), QPointF(lane, start.y() + 40), QPointF(lane, start.y()))
        path.lineTo(QPointF(lane, end.y()))
        path.cubicTo(QPointF(lane, end.y() - 40), QPointF(end.x(), end.y() - 40), end)
        return path
    drop = max(30.0, min(80.0, abs(end.y() - start.y()) / 2))
    if not obstacles:
        path.cubicTo(QPointF(start.x(), start.y() + drop), QPointF(end.x(), end.y() - drop), end)
        return path
    right = max(r.right() for r in obstacles) + LANE_MARGIN
    left = min(r.left() for r in obstacles) - LANE_MARGIN
    middle = (start.x() + end.x()) / 2
    lane = right if abs(right - middle) <= abs(middle - left) else left
    top, bottom = start.y() + 45, end.y() - 45
    path.cubicTo(QPointF(start.x(), start.y() + 30), QPointF(lane, start.y() + 15), QPointF(lane, top))
    path.lineTo(QPointF(lane, bottom))
    path.cubicTo(QPointF(lane, end.y() - 15), QPointF(end.x(), end.y() - 30), end)
    return path
