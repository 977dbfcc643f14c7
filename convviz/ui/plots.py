"""pyqtgraph, set up once for convviz: row-major images (as numpy and the explain core give them)
and plots that follow the Qt palette, so they read in light and dark themes.

Imported only by the panels that plot (Train, Explain), never at start-up.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QGraphicsItem

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def palette_colors(widget=None) -> tuple[QColor, QColor]:
    """(background, text) of ``widget``'s palette (the application's without one): plots follow light
    and dark themes."""
    palette = widget.palette() if widget is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)


def themed_plot(title: str = "", left: str = "", bottom: str = "") -> pg.PlotWidget:
    """A PlotWidget on the palette's base colour, with its text in the palette's text colour."""
    background, ink = palette_colors()
    widget = pg.PlotWidget(background=background)
    item = widget.getPlotItem()
    if title:
        item.setTitle(title, color=ink.name(), size="10pt")
    for side, label in (("left", left), ("bottom", bottom)):
        axis = item.getAxis(side)
        axis.setPen(ink)
        axis.setTextPen(ink)
        # Axes redraw their text on every repaint of the plot; cached, they are a pixmap copy
        # unless their range changes (what keeps a live training plot cheap to repaint).
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if label:
            axis.setLabel(label, color=ink.name())
    item.showGrid(x=True, y=True, alpha=0.15)
    return widget


def image_view(lock_aspect: bool = True) -> tuple[pg.GraphicsLayoutWidget, pg.ViewBox, pg.ImageItem]:
    """One ImageItem in a ViewBox (y down, as images are), on the palette's base colour."""
    background, _ = palette_colors()
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground(background)
    view = widget.addViewBox(lockAspect=lock_aspect, invertY=True, enableMenu=False)
    image = pg.ImageItem()
    view.addItem(image)
    return widget, view, image
