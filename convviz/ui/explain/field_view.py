"""Receptive fields: click a unit of a feature map; its theoretical field is drawn on the input
(the part in the padding dashed, outside the image's outline) and on every map upstream that
changes it, with size, jump and start written out; beside it the effective field, the gradient
of that unit with respect to the input."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSpinBox, QVBoxLayout

from ...analysis import ReceptiveField
from ...analysis.text import number, pair
from ...design import layer_spec
from ...explain import Network, UnitField, effective_field, unit_field
from ...explain.fields import Box
from ...explain.hooks import Activations
from ...i18n import N_, ntr, tr
from ..document import ResultKey
from ..theme import muted_text
from .base import ExplainView, MessageLabel
from .controller import Capture
from .plots import MapGrid, box_rect, outline, show_array, show_map

#: Layers that move or grow the field get a map in the upstream row (BN, ReLU… keep it as it is).
GEOMETRY_FAMILIES = ("Input", "Convolution", "Pooling", "Merge")
FIELD_COLOUR = "#ff8c00"
UPSTREAM_CELL = 150


@dataclass(frozen=True)
class FieldResult:
    activations: Activations
    field: UnitField
    #: |∂ unit / ∂ input| scaled to [0, 1], the input's size.
    effective: np.ndarray
    #: The upstream maps shown (mean |activation| over channels, per map in [0, 1]), in order.
    upstream: dict[str, np.ndarray]
    #: The capture's key.
    key: ResultKey = ResultKey(-1, -1, -1)
    #: The largest |∂ unit / ∂ input| (what 1 on ``effective`` stands for); 0: no pixel moves the unit.
    peak: float = 1.0
    #: The unit's value for this image (summed over channels for "all").
    value: float = 0.0


def make_field(capture: Capture, node_id: str, y: int, x: int, channel: int | None) -> FieldResult:
    """Worker: both fields of one unit and the maps they are drawn on."""
    network = capture.network
    field = unit_field(network, node_id, y, x, channel)
    heat = effective_field(network, capture.image, node_id, y, x, channel, normalized=False)
    peak = float(heat.max())
    if peak > 0:
        heat = heat / peak
    shown = [n for n in network.analysis.order if n in field.boxes and
             (n == node_id or layer_spec(network.design.node(n).type).family in GEOMETRY_FAMILIES)]
    plane = capture.activations[node_id]
    value = float(plane[:, y, x].sum() if channel is None else plane[channel, y, x])
    return FieldResult(capture.activations, field, heat, {n: _magnitude(capture.activations[n]) for n in shown},
                       capture.key, peak, value)


def zero_gradient_note(result: FieldResult) -> str:
    """Why the effective field is empty: the unit is 0 (a ReLU zeroed it), or nothing upstream moves it."""
    if result.peak > 0:
        return ""
    if result.value == 0:
        return tr("This unit is 0 for this image: its gradient is 0 everywhere (the ReLU cuts it off), so no pixel "
                  "moves it. Pick another unit or channel, or another image.")
    return tr("No input pixel moves this unit for this image: its gradient is 0 everywhere.")


def _magnitude(array: np.ndarray) -> np.ndarray:
    m = np.abs(array).mean(axis=0)
    peak = float(m.max())
    return np.ascontiguousarray(m / peak if peak > 0 else m, dtype=np.float32)


class FieldMarks:
    """A field's rectangle on one map: all of it dashed (it may reach into the padding), the part
    inside the map solid, and the map's own outline; the box's range takes in both."""

    def __init__(self, cell, width: float = 2.0) -> None:
        self.cell = cell
        self.extent = outline(muted_text(), 1.5)
        self.whole = outline(FIELD_COLOUR, width * 0.75, dashed=True)
        self.inside = outline(FIELD_COLOUR, width)
        for item in (self.extent, self.whole, self.inside):
            cell.box.addItem(item)

    def place(self, box: Box, height: int, width: int) -> None:
        extent = QRectF(0, 0, width, height)
        self.extent.setRect(extent)
        self.extent.setVisible(True)
        self.whole.setRect(box_rect(box))
        self.whole.setVisible(True)
        clipped = box.clipped(height, width)
        self.inside.setVisible(clipped is not None)
        if clipped is not None:
            self.inside.setRect(box_rect(clipped))
        self.cell.box.setRange(rect=extent.united(box_rect(box)), padding=0.04)


def middle_node(network: Network, ids: list[str]) -> str | None:
    """Shown when nothing is chosen: a map half-way through, whose field is neither a pixel nor all."""
    return ids[len(ids) // 2] if ids else None


def is_map(network: Network, node_id: str) -> bool:
    shape = network.analysis.nodes[node_id].output_shape
    return bool(shape) and len(shape) == 3 and network.design.node(node_id).type != "Input"


def describe_field(field: UnitField, input_size: tuple[int, int]) -> str:
    """The numbers of the field, in words (rich text)."""
    box = field.input_box
    height, width = input_size
    outside = [
        ntr("{n} row above", "{n} rows above", max(0, -box.top)),
        ntr("{n} row below", "{n} rows below", max(0, box.bottom - height + 1)),
        ntr("{n} column left of", "{n} columns left of", max(0, -box.left)),
        ntr("{n} column right of", "{n} columns right of", max(0, box.right - width + 1)),
    ]
    counts = (max(0, -box.top), max(0, box.bottom - height + 1), max(0, -box.left), max(0, box.right - width + 1))
    padding = ", ".join(text.format(n=n) for text, n in zip(outside, counts) if n)
    channel = tr("all channels") if field.channel is None else tr("channel {c}").format(c=field.channel)
    sees = html.escape(tr("{unit} ({channel}) sees input rows {top}…{bottom} and columns {left}…{right}: {size} "
                          "pixels")).format(
        unit="<b>" + html.escape(tr("Unit ({y}, {x}) of {node}").format(y=field.unit[0], x=field.unit[1],
                                                                          node=field.node_id)) + "</b>",
        channel=html.escape(channel), top=box.top, bottom=box.bottom, left=box.left, right=box.right,
        size=f"<b>{box.height}×{box.width}</b>")
    lines = [sees + (html.escape(tr(", of which {padding} the image lie in the padding (dashed).").format(
        padding=padding)) if padding else ".")]
    f = field.formula
    if f is not None and f.phases == f.cover == (None, None):
        centre = tuple(s + u * j for s, u, j in zip(f.start, field.unit, f.jump))
        lines.append(html.escape(tr("From the layers' arithmetic: size {size}, jump {jump}, start {start} — unit "
                                    "(i, j) is centred at start + (i, j)·jump = {centre}.").format(
            size=pair(f.size), jump=pair(f.jump), start=pair(f.start), centre=pair(centre))))
    elif f is not None:
        lines.append(html.escape(_uneven_text(f, field)))
    if f is not None and not field.formula_exact:
        lines.append(tr("Here the rectangle differs from the layers' arithmetic: the branches' windows drift "
                        "apart along the map (their strides differ)."))
    lines.append(html.escape(tr("Right: the effective field, |∂unit/∂input| — how much each pixel actually moves "
                                "this unit.")))
    return "<br>".join(lines)


def _uneven_text(formula: ReceptiveField, field: UnitField) -> str:
    """The arithmetic where units' windows differ (fractional strides, a gate's shared window)."""
    rows, cols = formula.phases
    lines = []
    if rows is not None and cols is not None and rows.sizes == cols.sizes and len(rows.windows) > 1:
        lines.append(tr("From the layers' arithmetic: neighbouring units see {sizes} pixels in turn, repeating every "
                        "{n} units; the summary shows the widest, {size}.").format(
            sizes=", ".join(number(v) for v in rows.sizes), n=len(rows.windows), size=pair(formula.size)))
    else:
        lines.append(tr("From the layers' arithmetic (the summary shows the widest unit, {size}):").format(
            size=pair(formula.size)))
        lines += [(tr("along the rows, neighbouring units see {sizes} rows in turn, repeating every {n} units.")
                   if axis == 0 else
                   tr("along the columns, neighbouring units see {sizes} columns in turn, repeating every {n} units."))
                  .format(sizes=", ".join(number(v) for v in p.sizes), n=len(p.windows))
                  for axis, p in enumerate(formula.phases) if p is not None and len(p.windows) > 1]
    if formula.cover != (None, None):
        lines.append(tr("Every unit also sees the window of the gate it is multiplied by."))
    box = field.formula_box
    if box is not None and not field.formula_exact:
        lines.append(tr("This unit's by the arithmetic: rows {top}…{bottom}, columns {left}…{right}.").format(
            top=box.top, bottom=box.bottom, left=box.left, right=box.right))
    return " ".join(lines)


class ReceptiveFieldView(ExplainView):
    title = N_("Receptive field")

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.result: FieldResult | None = None
        self.node_combo(is_map, middle_node)
        self.channel = QSpinBox()
        self.channel.setMinimum(-1)
        self.channel.setSpecialValueText(tr("all"))
        self.channel.setToolTip(tr("The unit's channel (its field is the same for every channel unless groups or "
                                   "a Concat separate them); 'all' sums them for the effective field"))
        self.channel.valueChanged.connect(lambda _: self.invalidate())
        controls = QHBoxLayout()
        for label, widget in ((tr("Layer"), self.nodes), (tr("Channel"), self.channel)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.message = MessageLabel()
        self.grid = MapGrid()
        self.unit_cell = self.grid.add_cell(0, 0, tr("click a unit"))
        self.input_cell = self.grid.add_cell(0, 1, tr("theoretical field on the input"))
        self.effective_cell = self.grid.add_cell(0, 2, tr("effective field"))
        self.grid.pixelClicked.connect(self._on_click)
        self.unit_mark = outline(FIELD_COLOUR)
        self.unit_cell.box.addItem(self.unit_mark)
        self.input_marks = FieldMarks(self.input_cell, 2.5)
        self.effective_marks = FieldMarks(self.effective_cell, 2.5)
        self.numbers = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.upstream = MapGrid()
        self.upstream_marks: dict[str, FieldMarks] = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(UPSTREAM_CELL + 40)
        scroll.setWidget(self.upstream)
        self.upstream_title = QLabel(wordWrap=True)  # (one line of it was 612 px: the page's minimum at 1280×800)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.numbers)
        layout.addWidget(self.upstream_title)
        layout.addWidget(scroll)

    # --- choosing ----------------------------------------------------------------------------------
    def selection_changed(self) -> None:
        c = self.controller
        if not self.follow_selected_node() and c.node_id == self.nodes.current and c.unit is not None:
            self.invalidate()  # another unit of this map

    def clear(self) -> None:
        self.result = None
        for cell in (self.unit_cell, self.input_cell, self.effective_cell):
            cell.image.clear()
            cell.hide_scale()
        for item in (self.unit_mark, self.input_marks.extent, self.input_marks.whole, self.input_marks.inside,
                     self.effective_marks.extent, self.effective_marks.whole, self.effective_marks.inside):
            item.setVisible(False)
        self.upstream.clear_cells()
        self.upstream_marks = {}
        self.numbers.clear()
        self.upstream_title.clear()
        self.message.note(tr("No receptive field yet for the design, weights and image as they are now."))

    def current_unit(self, network: Network, node_id: str) -> tuple[int, int]:
        c, h, w = network.analysis.nodes[node_id].output_shape
        unit = self.controller.unit if self.controller.node_id == node_id else None
        if unit is None or not (0 <= unit[0] < h and 0 <= unit[1] < w):
            unit = (h // 2, w // 2)
        return unit

    # --- computing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        capture = self.capture
        node_id = self.current_node() if capture is not None else None
        if capture is None or node_id is None:
            self.message.note(tr("Load an image, then click a unit of a feature map.") if capture is None else
                              tr("This network has no feature map to pick a unit from."))
            return
        channels = capture.network.analysis.nodes[node_id].output_shape[0]
        self.channel.blockSignals(True)
        self.channel.setMaximum(channels - 1)
        self.channel.blockSignals(False)
        y, x = self.current_unit(capture.network, node_id)
        channel = self.channel.value() if self.channel.value() >= 0 else None
        self.controller.run(make_field, capture, node_id, y, x, channel, channel="field",
                            on_done=self._on_result, on_error=self.message.problem)

    def _on_result(self, result: FieldResult) -> None:
        capture = self.capture
        if capture is None or not self.is_current(result) or result.field.node_id != self.nodes.current:
            return
        self.result = result
        self.shown(result.key)
        field = result.field
        node_id = field.node_id
        plane = capture.activations[node_id]
        plane = plane[field.channel] if field.channel is not None else plane.mean(axis=0)
        levels = show_map(self.unit_cell.image, plane, "viridis")
        self.unit_cell.show_scale("viridis", levels, tr("value") if field.channel is not None else tr("channel mean"))
        self.unit_cell.set_title(tr("{node}: click a unit").format(node=node_id))
        self.unit_mark.setRect(field.unit[1], field.unit[0], 1, 1)
        self.unit_mark.setVisible(True)
        display = capture.image.display
        show_array(self.input_cell.image, display, (0.0, 1.0), "gray")
        show_array(self.effective_cell.image, result.effective, (0.0, 1.0), "inferno")
        self.effective_cell.show_scale("inferno", (0.0, result.peak if result.peak > 0 else 1.0),
                                       tr("|∂unit/∂input|"))
        height, width = display.shape[:2]
        for marks in (self.input_marks, self.effective_marks):
            marks.place(field.input_box, height, width)
        self.input_cell.set_title(tr("input {input}: field {field}").format(
            input=f"{width}×{height}", field=f"{field.input_box.height}×{field.input_box.width}"))
        zero = zero_gradient_note(result)
        self.effective_cell.set_title(tr("effective field: 0 everywhere") if zero else
                                      tr("effective field |∂unit/∂input|"))
        self.unit_cell.box.autoRange(padding=0.02)
        self.numbers.setText(describe_field(field, (height, width)))
        if zero:
            self.message.problem(zero)
        else:
            self.message.note(tr("Click any unit of the map on the left."))
        self._show_upstream(result)

    def _show_upstream(self, result: FieldResult) -> None:
        if list(self.upstream_marks) != list(result.upstream):
            self.upstream.clear_cells()
            self.upstream_marks = {}
            for col, node_id in enumerate(result.upstream):
                self.upstream_marks[node_id] = FieldMarks(self.upstream.add_cell(0, col, node_id))
            self.upstream.setMinimumWidth(UPSTREAM_CELL * len(result.upstream))
        for node_id, image in result.upstream.items():
            marks = self.upstream_marks[node_id]
            show_array(marks.cell.image, image, (0.0, 1.0), "viridis")
            box = result.field.boxes[node_id]
            marks.place(box, *image.shape)
            marks.cell.set_title(f"{node_id} {image.shape[0]}×{image.shape[1]}: {box.height}×{box.width}")
        count = len(result.upstream)
        self.upstream_title.setText("<b>" + html.escape(tr("The field on the maps upstream")) + "</b> " + html.escape(
            ntr("({count} layer that moves or grows it; mean |activation| over channels)",
                "({count} layers that move or grow it; mean |activation| over channels)", count).format(count=count)))

    def _on_click(self, cell: int, row: int, col: int) -> None:
        result = self.live_result
        if cell == 0 and result is not None:
            self.controller.select(result.field.node_id, unit=(row, col))

