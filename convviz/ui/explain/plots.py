"""pyqtgraph pieces shared by the views: a map on screen (one ImageItem in an aspect-locked box),
clickable, row 0 at the top, on the Qt palette's background.

Arrays are row-major (``pg.setConfigOptions(imageAxisOrder='row-major')``): pixel (row, col)
covers [col, col + 1] × [row, row + 1] in the box's coordinates, so a ``Box`` of the explain core
is drawn as ``QRectF(left, top, width, height)``.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen, QTextOption
from PySide6.QtWidgets import QGraphicsRectItem

from ...explain.colormaps import lut, rgba
from ...explain.fields import Box
from ..plots import palette_colors  # also sets pyqtgraph up (row-major images)

COLORMAPS = ("viridis", "inferno", "gray", "coolwarm")


def show_array(item: pg.ImageItem, array: np.ndarray, levels: tuple[float, float], cmap: str | None,
               picture: np.ndarray | None = None) -> None:
    """A map (H, W) through ``cmap``, or colours (H, W, 3) in ``levels``; NaN shows as transparent.
    A map is coloured in numpy (``explain.colormaps.rgba``: 1–2 ms for resnet18's conv1 mosaic,
    903×903; ``picture``: already coloured so, in a worker) and handed over as RGBA, which pyqtgraph
    paints as it is; its own lookup in the paint took 5 ms of the GUI thread for the same picture."""
    item.setLookupTable(None)
    if cmap and array.ndim == 2:
        _SHOWN[item] = (array, levels, cmap)
        item.setImage(rgba(array, levels, cmap) if picture is None else picture, levels=None, autoLevels=False)
    else:
        _SHOWN.pop(item, None)
        item.setImage(array, levels=levels, autoLevels=False)


def recolour(item: pg.ImageItem, cmap: str) -> bool:
    """The map ``item`` shows, through another colour map; False when it shows no map."""
    shown = _SHOWN.get(item)
    if shown is None or item.image is None:
        return False
    values, levels, _ = shown
    _SHOWN[item] = (values, levels, cmap)
    item.setImage(rgba(values, levels, cmap), levels=None, autoLevels=False)
    return True


def shown_map(item: pg.ImageItem) -> tuple[np.ndarray, tuple[float, float], str] | None:
    """(values, levels, colour map) of the map ``item`` shows, or None (for tests and exports)."""
    return _SHOWN.get(item) if item.image is not None else None


#: What each ImageItem that shows a map was given (values, levels, colour map).
_SHOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def show_map(item: pg.ImageItem, plane: np.ndarray, cmap: str) -> tuple[float, float]:
    """One map on its own range (a constant map shows as the low colour); returns the levels used."""
    low, high = float(np.nanmin(plane)), float(np.nanmax(plane))
    levels = (low, high if high > low else low + 1.0)
    show_array(item, np.ascontiguousarray(plane, dtype=np.float32), levels, cmap)
    return levels


def box_rect(box: Box) -> QRectF:
    return QRectF(box.left, box.top, box.width, box.height)


def outline(color: QColor | str, width: float = 2.0, dashed: bool = False) -> QGraphicsRectItem:
    """An unfilled rectangle in pixel coordinates whose line stays ``width`` screen pixels thick."""
    item = QGraphicsRectItem()
    pen = QPen(QColor(color), width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    item.setPen(pen)
    item.setZValue(10)
    return item


@functools.cache
def colour_map(name: str) -> pg.ColorMap:
    """One of the explain core's colour maps (its lookup table) as a pyqtgraph ColorMap, for bars."""
    table = lut(name)
    return pg.ColorMap(np.linspace(0.0, 1.0, len(table)), table)


class ScaleBar(pg.ColorBarItem):
    """A colour bar that only shows what a map's colours mean (the map sets its own levels):
    not interactive, styled in the palette's text colour."""

    def __init__(self, text: QColor) -> None:
        super().__init__(values=(0.0, 1.0), width=12, interactive=False, colorMapMenu=False)
        self.setMenuEnabled(False)
        #: (colour map, label, ticks) as last shown: each new image sets only what changed (setting the
        #: same colour map and label again re-laid out the bar's axis, 2 ms of every capture's paint).
        self._shown: tuple = (None, None, None)
        self.style(text)

    def style(self, text: QColor) -> None:
        self.text_colour = text
        self._shown = (self._shown[0], None, self._shown[2])  # the label's colour is new
        for side in ("left", "right", "top", "bottom"):
            self.getAxis(side).setPen(text)
            self.getAxis(side).setTextPen(text)

    def show_scale(self, cmap: str, levels: tuple[float, float], label: str = "",
                   ticks: list[tuple[float, str]] | None = None) -> None:
        """``cmap`` from ``levels[0]`` to ``levels[1]``, with values on its axis (or ``ticks``,
        (value, text) pairs, where the colours do not stand for the data's own values)."""
        self.setVisible(True)
        shown_cmap, shown_label, shown_ticks = self._shown
        if cmap != shown_cmap:
            self.setColorMap(colour_map(cmap))
        low, high = levels
        levels = (low, high if high > low else low + 1.0)
        if tuple(self.values) != levels:
            self.setLevels(levels)
        if ticks != shown_ticks:
            self.axis.setTicks(None if ticks is None else [ticks])
        if label != shown_label:
            left = self.getAxis("left")
            left.setLabel(label, color=self.text_colour.name())
            left.showLabel(bool(label))
        self._shown = (cmap, label, None if ticks is None else list(ticks))


class TitleItem(pg.LabelItem):
    """A map's title that wraps to the map's width instead of widening its column (three Grad-CAM
    panels with long class names would otherwise push each other out of shape), as tall as the
    tallest title of its row (``peers``), so that a title wrapped to two lines leaves its map the
    size of its neighbours'."""

    MIN_WIDTH = 40.0

    def __init__(self, text: str = "", peers: list[TitleItem] | None = None, **options) -> None:
        self.natural_height = 0.0
        self.peers = peers if peers is not None else []
        self.peers.append(self)
        super().__init__(text, **options)
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.item.document().setDefaultTextOption(option)

    def resizeEvent(self, event) -> None:
        width = max(self.MIN_WIDTH, self.width())
        if self.item.textWidth() != width:
            self.item.setTextWidth(width)
            if self.itemRect().height() != self.natural_height:  # wrapped to more (or fewer) lines
                self.updateMin()
        super().resizeEvent(event)

    def updateMin(self) -> None:
        bounds = self.itemRect()
        self.natural_height = bounds.height()
        height = max(peer.natural_height for peer in self.peers)
        for peer in self.peers:
            peer._fit(height, peer is self)

    def _fit(self, height: float, changed: bool) -> None:
        if not changed and self.minimumHeight() == height:
            return
        self.setMinimumWidth(self.MIN_WIDTH)
        self.setMinimumHeight(height)
        self._sizeHint = {Qt.SizeHint.MinimumSize: (self.MIN_WIDTH, height),
                          Qt.SizeHint.PreferredSize: (self.itemRect().width(), height),
                          Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
        self.updateGeometry()


class MapCell:
    """A title, an aspect-locked box (row 0 at the top) and an ImageItem, with a colour bar beside
    it once ``show_scale`` is called, in a layout widget."""

    def __init__(self, widget: pg.GraphicsLayoutWidget, row: int, col: int, title: str = "",
                 row_titles: list[TitleItem] | None = None) -> None:
        _, text = palette_colors(widget)
        self.layout: pg.GraphicsLayout = widget.addLayout(row=row, col=col)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.title = TitleItem(title, row_titles, color=text)
        self.layout.addItem(self.title, row=0, col=0, colspan=2)
        self.box: pg.ViewBox = self.layout.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem()
        self.box.addItem(self.image)
        self.bar: ScaleBar | None = None
        self._text = text

    def set_title(self, text: str) -> None:
        if text != self.title.text:  # the same title again would lay its text out again
            self.title.setText(text)

    def show_scale(self, cmap: str, levels: tuple[float, float], label: str = "",
                   ticks: list[tuple[float, str]] | None = None) -> None:
        """The colour bar beside the map (``ScaleBar.show_scale``)."""
        if self.bar is None:
            self.bar = ScaleBar(self._text)
            self.layout.addItem(self.bar, row=1, col=1)
        self.bar.show_scale(cmap, levels, label, ticks)

    def hide_scale(self) -> None:
        if self.bar is not None:
            self.bar.setVisible(False)

    @property
    def scale_levels(self) -> tuple[float, float] | None:
        """(low, high) of the colour bar shown, or None (tests read it)."""
        return tuple(self.bar.values) if self.bar is not None and self.bar.isVisible() else None

    def style_scale(self, text: QColor) -> None:
        self._text = text
        if self.bar is not None:
            self.bar.style(text)

    def pixel_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(row, col) of the pixel under a scene position, or None outside the image."""
        if self.image.image is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.image.mapFromScene(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        height, width = self.image.image.shape[:2]
        return (row, col) if 0 <= row < height and 0 <= col < width else None

    def scene_point(self, row: float, col: float) -> QPointF:
        """Scene position of the centre of pixel (row, col) (tests click through it)."""
        return self.image.mapToScene(QPointF(col + 0.5, row + 0.5))


class MapGrid(pg.GraphicsLayoutWidget):
    """Several maps in one widget (one QGraphicsView, however many maps); a click on a map's pixel
    is reported as (cell index, row, col)."""

    pixelClicked = Signal(int, int, int)
    pixelHovered = Signal(int, int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cells: list[MapCell] = []
        self._row_titles: dict[int, list[TitleItem]] = {}  # a row's titles share one height
        self.shared_bar: ScaleBar | None = None
        self.ci.setContentsMargins(4, 4, 4, 4)
        self._apply_palette()
        self.scene().sigMouseClicked.connect(self._on_click)
        self.scene().sigMouseMoved.connect(self._on_move)

    def add_cell(self, row: int, col: int, title: str = "") -> MapCell:
        """A map at (row, col); the columns share the width equally, whatever their titles and bars."""
        cell = MapCell(self, row, col, title, self._row_titles.setdefault(row, []))
        self.ci.layout.setColumnStretchFactor(col, 1)
        cell.layout.setPreferredWidth(1)
        self.cells.append(cell)
        return cell

    def clear_cells(self) -> None:
        self.clear()
        self.cells = []
        self._row_titles = {}
        self.shared_bar = None

    def shared_scale(self, row: int, col: int) -> ScaleBar:
        """One colour bar for several maps drawn alike (Grad-CAM's panels), in its own column, so the
        maps keep one size."""
        if self.shared_bar is None:
            self.shared_bar = ScaleBar(palette_colors(self)[1])
            self.ci.addItem(self.shared_bar, row=row, col=col)
        return self.shared_bar

    def viewport_point(self, cell: int, row: float, col: float):
        """Viewport coordinates of pixel (row, col) of ``cells[cell]`` (tests click there)."""
        return self.mapFromScene(self.cells[cell].scene_point(row, col))

    def _hit(self, scene_pos: QPointF) -> tuple[int, int, int] | None:
        for index, cell in enumerate(self.cells):
            pixel = cell.pixel_at(scene_pos)
            if pixel is not None:
                return (index, *pixel)
        return None

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.scenePos())
        if hit is not None:
            self.pixelClicked.emit(*hit)

    def _on_move(self, scene_pos: QPointF) -> None:
        hit = self._hit(scene_pos)
        if hit is not None:
            self.pixelHovered.emit(*hit)

    def _apply_palette(self) -> None:
        background, text = palette_colors(self)
        self.setBackground(background)
        for cell in self.cells:
            cell.title.setAttr("color", text.name())
            cell.title.setText(cell.title.text)
            cell.style_scale(text)
        if getattr(self, "shared_bar", None) is not None:
            self.shared_bar.style(text)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "cells"):  # not during __init__
            self._apply_palette()
        super().changeEvent(event)


class MapPlot(MapGrid):
    """One map: the common case."""

    def __init__(self, title: str = "", parent=None) -> None:
        super().__init__(parent)
        self.cell = self.add_cell(0, 0, title)
        self.image = self.cell.image
        self.box = self.cell.box
