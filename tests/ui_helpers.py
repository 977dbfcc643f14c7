"""Driving the canvas like a user: mouse drags between ports, palette drops, key presses."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from convviz.ui.canvas import LAYER_MIME


def view_point(window, scene_point: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_point)


def _mouse(widget, kind, pos: QPoint, button, buttons) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def mouse_drag(window, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """Press at ``start``, move in steps, release at ``end`` (scene coordinates)."""
    viewport = window.view.viewport()
    a, b = view_point(window, start), view_point(window, end)
    left = Qt.MouseButton.LeftButton
    _mouse(viewport, QMouseEvent.Type.MouseButtonPress, a, left, left)
    for i in range(1, steps + 1):
        p = QPoint(a.x() + (b.x() - a.x()) * i // steps, a.y() + (b.y() - a.y()) * i // steps)
        _mouse(viewport, QMouseEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    _mouse(viewport, QMouseEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def click(window, scene_point: QPointF) -> None:
    mouse_drag(window, scene_point, scene_point, steps=1)


def palette_mime(window, type_name: str) -> QMimeData:
    """What dragging ``type_name`` out of the palette carries (taken from the palette's own model)."""
    index = window.palette_panel.proxy.mapToSource(window.palette_panel.index_of(type_name))
    return window.palette_panel.model.mimeData([index])


def drop_layer(window, type_name: str, scene_point: QPointF) -> None:
    """Drag a layer from the palette and drop it at ``scene_point`` (enter, move, drop)."""
    viewport = window.view.viewport()
    data = palette_mime(window, type_name)
    pos = QPointF(view_point(window, scene_point))
    actions = Qt.DropAction.CopyAction
    for event in (QDragEnterEvent(pos.toPoint(), actions, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier),
                  QDragMoveEvent(pos.toPoint(), actions, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier),
                  QDropEvent(pos, actions, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)):
        QApplication.sendEvent(viewport, event)
    QApplication.processEvents()


def edge_midpoint(window, target: str, index: int = 0) -> QPointF:
    edge = window.scene.edges[(target, index)]
    return edge.path().pointAtPercent(0.5)


def footer(window, node_id: str) -> str:
    text = window.scene.nodes[node_id].text
    return f"{text.line1} | {text.line1_right} | {text.line2}"
