"""Settle every pending layout before the window paints, so an edit costs one paint of the window.

An edit changes texts all over the window (the totals, the summary, the status bar, the Undo action's
name); each change posts a layout request, which Qt delivers *after* the paint already queued for
the canvas: the window painted once with the old geometry, then again when the layouts had moved
things (two or three backing-store flushes per edit on ResNet-18). Delivering the pending layout
requests just before the window's update request lets that one paint show the settled layout."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject


class LayoutsBeforePaint(QObject):
    """Installed on a top-level window as an event filter."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            # Two passes: the layouts of the changed widgets, then those of the parents they asked.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        return False
