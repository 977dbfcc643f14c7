"""Maps are coloured in numpy (``explain.colormaps.rgba``) and handed to pyqtgraph as RGBA: the
pixels on screen must be the ones pyqtgraph's own lookup table gave, NaN gaps transparent."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from convviz.explain.colormaps import LUTS, lut, rgba
from convviz.explain.errors import ExplainError
from convviz.explain.render import colorize
from convviz.ui.explain.plots import recolour, show_array


def painted(item: pg.ImageItem, width: int, height: int) -> np.ndarray:
    """The item painted 1:1 on a transparent picture, as (H, W, 4) RGBA."""
    picture = QImage(width, height, QImage.Format.Format_RGBA8888)
    picture.fill(0)
    painter = QPainter(picture)
    item.paint(painter)
    painter.end()
    rows = np.frombuffer(picture.constBits(), np.uint8).reshape(height, picture.bytesPerLine() // 4, 4)
    return rows[:, :width].copy()  # while the picture lives


def pyqtgraph_lookup(qapp, values: np.ndarray, levels, name: str) -> np.ndarray:
    item = pg.ImageItem()
    item.setLookupTable(lut(name))
    item.setImage(values, levels=levels, autoLevels=False)
    return painted(item, values.shape[1], values.shape[0])


@pytest.mark.parametrize("name", sorted(LUTS))
def test_numpy_colours_are_pyqtgraphs(qapp, name):
    rng = np.random.default_rng(3)
    values = rng.normal(0.2, 1.0, (37, 53)).astype(np.float32)
    values[5] = np.linspace(-1.0, 1.5, 53)  # every part of the table, both ends clipped
    levels = (-0.7, 1.1)
    ours = rgba(values, levels, name)
    assert ours.shape == (37, 53, 4) and ours.dtype == np.uint8
    assert np.array_equal(ours, pyqtgraph_lookup(qapp, values, levels, name))


def test_nan_is_transparent_and_shown_pixels_are_the_colours(qapp):
    values = np.tile(np.linspace(0.0, 1.0, 40, dtype=np.float32), (30, 1))
    values[:, 10:13] = np.nan  # a mosaic's gap
    item = pg.ImageItem()
    show_array(item, values, (0.0, 1.0), "viridis")
    shown = painted(item, 40, 30)
    assert (shown[:, 10:13, 3] == 0).all() and (shown[:, :10, 3] == 255).all()
    assert np.array_equal(shown, rgba(values, (0.0, 1.0), "viridis"))
    assert np.array_equal(colorize(values, (0.0, 1.0), "viridis")[:, :10], shown[:, :10, :3])  # files: the same


def test_recolour_uses_the_values_not_the_old_colours(qapp):
    values = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    item = pg.ImageItem()
    show_array(item, values, (0.0, 1.0), "gray")
    assert recolour(item, "inferno")
    assert np.array_equal(painted(item, 8, 8), rgba(values, (0.0, 1.0), "inferno"))
    show_array(item, np.zeros((8, 8, 3), np.float32), (0.0, 1.0), None)  # colours, not a map
    assert not recolour(item, "viridis")


def test_constant_map_and_unknown_colour_map():
    flat = np.full((4, 4), 2.0, np.float32)
    assert (rgba(flat, (2.0, 2.0), "viridis")[..., :3] == lut("viridis")[0]).all()
    with pytest.raises(ExplainError):
        rgba(flat, (0.0, 1.0), "jet")


def test_the_colour_bar_follows_every_change_and_only_sets_what_changed(qapp, monkeypatch):
    """Each new image sets only what changed on the bar (the same colour map and label again re-laid
    out its axis); what did change must still show."""
    from PySide6.QtGui import QColor

    from convviz.ui.explain.plots import ScaleBar, colour_map

    bar = ScaleBar(QColor("black"))
    set_maps = []
    original = ScaleBar.setColorMap
    monkeypatch.setattr(ScaleBar, "setColorMap", lambda self, cmap: (set_maps.append(cmap), original(self, cmap)))
    bar.show_scale("viridis", (0.0, 2.0), "activation")
    bar.show_scale("viridis", (0.5, 3.0), "activation")  # a new image: new levels only
    assert len(set_maps) == 1 and tuple(bar.values) == (0.5, 3.0)
    bar.show_scale("gray", (1.0, 1.0), "weight", ticks=[(1.0, "one")])
    assert len(set_maps) == 2 and tuple(bar.values) == (1.0, 2.0)  # a flat map still spans one unit
    assert bar.getAxis("left").labelText == "weight"
    assert np.array_equal(bar.colorMap().getLookupTable(nPts=8), colour_map("gray").getLookupTable(nPts=8))
    assert bar.axis._tickLevels == [[(1.0, "one")]]
    bar.show_scale("gray", (1.0, 2.0), "")
    assert not bar.getAxis("left").label.isVisible() and bar.axis._tickLevels is None
