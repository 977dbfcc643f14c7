"""Views that draw only while shown: a redraw asked for while hidden waits for the next show."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class DrawnWhenShown(QWidget):
    """A live run updates hidden tabs all along; painting them would cost the GUI thread for nothing.
    Subclasses draw in ``_draw``; callers ask with ``redraw``."""

    _dirty = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.redraw()

    def redraw(self) -> None:
        """Draw now if shown; else when next shown."""
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        self._draw()

    def _draw(self) -> None:
        raise NotImplementedError
