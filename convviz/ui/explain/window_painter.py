"""Drawing one frame of a sliding window with QPainter: the input (padding, dilation gaps and
ceil-mode overhang marked), the kernel, the products and their sum (or the max / mean), and the
output being written — cells with numbers, readable at a glance.

``WindowPainter`` draws on any paint device, so the same code fills the on-screen widget and the
exported GIF/PNG frames (painted on QImages in a worker). Large maps show the part around the
window: the visible part moves only when the window would leave it, so the eye can follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen

from ...analysis.text import pair
from ...explain import WindowAnimation, WindowFrame
from ...i18n import ntr, tr
from ..theme import blend

MIN_CELL, MAX_CELL, DEFAULT_CELL = 14, 80, 36
#: Numbers are written in cells at least this large, in fonts at least this many pixels high.
TEXT_CELL, MIN_FONT = 24, 8
MARGIN, GAP, HEADER = 12, 20, 44
#: Lines of text under the kernel grids (sums per channel, bias, result), kept free of the grids.
TEXT_LINES = 10


def fmt(value: float, digits: int = 3) -> str:
    """A cell's number: short, with a real minus sign."""
    if value is None or np.isnan(value):
        return ""
    if np.isinf(value):
        return "−∞" if value < 0 else "∞"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.0e}"
    return text.replace("-", "−")


@dataclass(frozen=True)
class WindowColours:
    base: QColor
    text: QColor
    muted: QColor
    grid: QColor
    # The same in light and dark palettes (not fields: shared by every instance).
    window = QColor("#ff8c00")
    argmax = QColor("#d62728")
    positive = QColor("#d6604d")
    negative = QColor("#4393c3")
    padding = QColor("#8fb3de")

    @classmethod
    def from_palette(cls, palette: QPalette) -> WindowColours:
        base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
        return cls(base, text, blend(text, base, 0.45), blend(text, base, 0.8))

    def value(self, v: float, scale: float) -> QColor:
        """A cell tinted by its value: red positive, blue negative, stronger for larger |v|."""
        if not np.isfinite(v) or v == 0 or scale <= 0:
            return self.base
        t = min(1.0, abs(v) / scale)
        return blend(self.base, self.positive if v > 0 else self.negative, 0.12 + 0.5 * t)


class Viewport:
    """The first row or column shown of a map axis, kept still while the window stays inside it."""

    def __init__(self) -> None:
        self.start: int | None = None

    def follow(self, lo: int, hi: int, first: int, last: int, count: int) -> range:
        """Cells ``first … last`` exist; ``lo … hi`` must be visible; ``count`` fit."""
        count = max(1, count)
        if last - first + 1 <= count:
            self.start = first
        elif self.start is None or lo < self.start or hi >= self.start + count:
            centre = (lo + hi) // 2
            self.start = min(max(first, centre - count // 2), last - count + 1)
        return range(self.start, min(last + 1, self.start + count))


class WindowPainter:
    """Draws frames of one animation for one input channel (index into the frame's channels)."""

    def __init__(self, animation: WindowAnimation, source_id: str, node_id: str, colours: WindowColours,
                 cell: int = DEFAULT_CELL, input_slot: int = 0) -> None:
        self.animation = animation
        self.source_id, self.node_id = source_id, node_id
        self.colours = colours
        self.cell = cell
        self.input_slot = input_slot
        self.in_rows, self.in_cols, self.out_rows, self.out_cols = Viewport(), Viewport(), Viewport(), Viewport()
        g = animation.geometry
        self._input_scale = float(np.nanmax(np.abs(animation.input))) if animation.input.size else 1.0
        self._output_scale = float(np.nanmax(np.abs(animation.output))) if animation.output.size else 1.0
        top, left = g.padding[0], g.padding[1]
        last = [(g.output_size[a] - 1) * g.stride[a] - g.padding[a] + (g.kernel[a] - 1) * g.dilation[a]
                for a in (0, 1)]
        #: Index range of every cell drawn on the input side: the padded map and any overhang.
        self.in_extent = ((-top, max(g.input_size[0] + g.padding[2], last[0] + 1) - 1),
                          (-left, max(g.input_size[1] + g.padding[3], last[1] + 1) - 1))
        #: What the last paint wrote in the output cell (tests read it).
        self.written = ""

    @property
    def input_channel(self) -> int:
        channels = self.animation.input_channels
        return int(channels[min(self.input_slot, len(channels) - 1)])

    # --- layout ------------------------------------------------------------------------------------
    def _font(self, painter: QPainter, size: float, bold: bool = False) -> None:
        font = QFont(painter.font())
        font.setPixelSize(max(MIN_FONT, int(size)))
        font.setBold(bold)
        painter.setFont(font)

    def _cell_text(self, painter: QPainter, rect: QRectF, value: float | str, colour: QColor,
                   bold: bool = False) -> None:
        """A number centred in a cell: the font shrinks, then digits go (0.0042 → 0.004 → .004),
        until it fits; nothing is drawn rather than an overlapping smudge."""
        size, room = rect.height() * 0.32, rect.width() - 3
        for text in [value] if isinstance(value, str) else _shorter(value, self._digits):
            self._font(painter, size, bold)
            width = QFontMetricsF(painter.font()).horizontalAdvance(text)
            fitted = size * min(1.0, room / width) if width else size
            if fitted >= MIN_FONT:
                self._font(painter, fitted, bold)
                painter.setPen(colour)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
                return

    def paint(self, painter: QPainter, width: int, height: int, frame: WindowFrame) -> None:
        painter.fillRect(QRectF(0, 0, width, height), self.colours.base)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        g = self.animation.geometry
        cell = self.cell
        (kh, kw), grids = g.kernel, 2 if g.kind == "conv" else 1
        avail = width - 2 * MARGIN - 2 * GAP
        in_min = ((kw - 1) * g.dilation[1] + 2.9) * cell  # the whole window, a cell beside it, the labels
        out_min = 3.9 * cell
        # The kernel grids shrink before the maps do: to the height left under them, and the width.
        small = int(max(MIN_CELL, min(cell, (height - 2 * MARGIN - HEADER - 20 - TEXT_LINES * 20) / kh,
                                      (avail - in_min - out_min - 16 * (grids - 1)) / (grids * kw))))
        middle_w = max(grids * kw * small + (grids - 1) * 16, 230)
        room = max(in_min + out_min, avail - middle_w)
        (r0, r1), (c0, c1) = self.in_extent
        in_need, out_need = (c1 - c0 + 2) * cell, (g.output_size[1] + 1) * cell
        # The input first (it holds the window), the output at least a few cells.
        out_w = min(out_need, room - in_min, max(out_min, room * 0.4, room - in_need))
        in_w = room - out_w
        grid_h = height - MARGIN - HEADER - cell
        x0 = MARGIN
        self._paint_input(painter, frame, QRectF(x0, MARGIN, in_w, height - 2 * MARGIN), grid_h)
        x1 = x0 + in_w + GAP
        self._paint_middle(painter, frame, QRectF(x1, MARGIN, middle_w, height - 2 * MARGIN), small)
        x2 = x1 + middle_w + GAP
        self._paint_output(painter, frame, QRectF(x2, MARGIN, out_w, height - 2 * MARGIN), grid_h)

    def _header(self, painter: QPainter, area: QRectF, title: str, detail: str) -> None:
        for text, size, bold, colour, y in ((title, 14, True, self.colours.text, 0),
                                            (detail, 12, False, self.colours.muted, 19)):
            self._font(painter, size, bold)
            painter.setPen(colour)
            elided = QFontMetricsF(painter.font()).elidedText(text, Qt.TextElideMode.ElideRight, area.width())
            painter.drawText(QRectF(area.left(), area.top() + y, area.width(), 20), Qt.AlignmentFlag.AlignLeft, elided)

    # --- the input ---------------------------------------------------------------------------------
    def _paint_input(self, painter: QPainter, frame: WindowFrame, area: QRectF, grid_h: float) -> None:
        g, c, cell = self.animation.geometry, self.colours, self.cell
        channel = self.input_channel
        pad = g.padding
        pad_text = tr("padding {p}").format(p=pad[0] if len(set(pad)) == 1 else ",".join(map(str, pad)))
        if g.transposed:
            inserted = tr("{zeros} zero(s) between pixels").format(zeros=pair((g.inserted[0] - 1, g.inserted[1] - 1)))
            detail = tr("channel {c} · {inserted} · {padding} · flipped kernel, stride 1").format(
                c=channel, inserted=inserted, padding=pad_text)
        else:
            detail = (tr("channel {c}").format(c=channel) + f" · {g.input_size[0]}×{g.input_size[1]} · {pad_text} · "
                      + tr("stride {s}").format(s=pair(g.stride))
                      + (" · " + tr("dilation {d}").format(d=pair(g.dilation)) if g.dilation != (1, 1) else "")
                      + (" · " + tr("ceil mode") if g.ceil_mode else ""))
        self._header(painter, area, tr("Input: {node}").format(node=self.source_id), detail)
        (r_first, r_last), (c_first, c_last) = self.in_extent
        label_w = cell * 0.9
        rows = self.in_rows.follow(int(frame.rows.min()), int(frame.rows.max()), r_first, r_last,
                                   int((grid_h - 0.6 * cell) // cell))
        cols = self.in_cols.follow(int(frame.cols.min()), int(frame.cols.max()), c_first, c_last,
                                   int((area.width() - label_w) // cell))
        top, left = area.top() + HEADER + 0.6 * cell, area.left() + label_w
        plane = self.animation.input[channel]
        height, width = g.input_size
        taps = {(int(r), int(cc)) for r in frame.rows for cc in frame.cols}
        argmax = None if frame.argmax is None else (int(frame.rows[frame.argmax[0]]), int(frame.cols[frame.argmax[1]]))
        slot = int(np.flatnonzero(frame.input_channels == channel)[0]) if channel in frame.input_channels else None
        tap_values = {}
        if slot is not None:
            for i, r in enumerate(frame.rows):
                for j, cc in enumerate(frame.cols):
                    tap_values[(int(r), int(cc))] = float(frame.window[slot, i, j])
        self._index_labels(painter, rows, cols, top, left)
        pad_value = {"conv": "0" if g.padding_mode == "zeros" else "", "max": "−∞", "avg": "0"}[g.kind]
        holds_value = g.real(np.asarray(rows), np.asarray(cols))  # an inserted zero (transposed conv) holds none
        for i, r in enumerate(rows):
            for j, cc in enumerate(cols):
                rect = QRectF(left + j * cell, top + i * cell, cell, cell)
                real = bool(holds_value[i, j])
                padded = (-pad[0] <= r < height + pad[2]) and (-pad[1] <= cc < width + pad[3]) and not real
                label: float | str = ""  # beyond the padding: only a ceil-mode window reaches there, reading nothing
                if real:
                    label = float(plane[r, cc])
                    painter.fillRect(rect, c.value(label, self._input_scale))
                elif padded:
                    painter.fillRect(rect, blend(c.base, c.padding, 0.35))
                    painter.fillRect(rect, QBrush(blend(c.base, c.padding, 0.8), Qt.BrushStyle.BDiagPattern))
                    label = tap_values[(r, cc)] if (r, cc) in tap_values and g.kind == "conv" else pad_value
                painter.setPen(QPen(c.grid, 1, Qt.PenStyle.SolidLine if real or padded else Qt.PenStyle.DotLine))
                painter.drawRect(rect)
                if label != "" and cell >= TEXT_CELL:
                    self._cell_text(painter, rect, label, c.text if real else c.muted)
        # The window: its bounding box dashed (dilation gaps show as cells inside it without a frame).
        painter.save()
        painter.setClipRect(QRectF(left, top, len(cols) * cell, len(rows) * cell))
        box = QRectF(left + (frame.cols.min() - cols.start) * cell, top + (frame.rows.min() - rows.start) * cell,
                     (frame.cols.max() - frame.cols.min() + 1) * cell, (frame.rows.max() - frame.rows.min() + 1) * cell)
        painter.setPen(QPen(c.window, 1.5, Qt.PenStyle.DashLine))
        painter.drawRect(box)
        for r, cc in taps:
            if r in rows and cc in cols:
                width_ = 4 if (r, cc) == argmax else 3
                painter.setPen(QPen(c.argmax if (r, cc) == argmax else c.window, width_))
                painter.drawRect(QRectF(left + (cc - cols.start) * cell + 1.5, top + (r - rows.start) * cell + 1.5,
                                        cell - 3, cell - 3))
        painter.restore()

    def _index_labels(self, painter: QPainter, rows: range, cols: range, top: float, left: float) -> None:
        cell = self.cell
        painter.setPen(self.colours.muted)
        self._font(painter, min(11, cell * 0.3))
        step = 1 if cell >= 22 else 5
        for j, cc in enumerate(cols):
            if cc % step == 0:
                painter.drawText(QRectF(left + j * cell, top - 0.6 * cell, cell, 0.6 * cell),
                                 Qt.AlignmentFlag.AlignCenter, str(cc))
        for i, r in enumerate(rows):
            if r % step == 0:
                painter.drawText(QRectF(left - 0.9 * cell, top + i * cell, 0.8 * cell, cell),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(r))

    # --- the arithmetic ----------------------------------------------------------------------------
    @property
    def _digits(self) -> int:
        return 3 if self.cell >= 40 else 2

    def _small_grid(self, painter: QPainter, values: np.ndarray, x: float, y: float, cell: int, scale: float,
                    mark: tuple[int, int] | None = None, tapped: bool = True) -> float:
        """A kh×kw grid of numbers at (x, y); returns its bottom."""
        c = self.colours
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                rect = QRectF(x + j * cell, y + i * cell, cell, cell)
                v = float(values[i, j])
                painter.fillRect(rect, c.value(v, scale) if np.isfinite(v) else c.base)
                painter.setPen(QPen(c.argmax if mark == (i, j) else (c.window if tapped else c.grid),
                                    3 if mark == (i, j) else 1))
                painter.drawRect(rect)
                if cell >= TEXT_CELL and np.isfinite(v):
                    self._cell_text(painter, rect, v, c.text)
        return y + values.shape[0] * cell

    def _line(self, painter: QPainter, x: float, y: float, width: float, text: str, bold: bool = False,
              muted: bool = False) -> float:
        painter.setPen(self.colours.muted if muted else self.colours.text)
        self._font(painter, 13, bold)
        painter.drawText(QRectF(x, y, width, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        return y + 20

    def _paint_middle(self, painter: QPainter, frame: WindowFrame, area: QRectF, cell: int) -> None:
        g, x, w = self.animation.geometry, area.left(), area.width()
        kind = tr("transposed convolution") if g.transposed else \
            {"conv": tr("convolution"), "max": tr("max-pool"), "avg": tr("average-pool")}[g.kind]
        self._header(painter, area, tr("At output ({y}, {x})").format(y=frame.out_pos[0], x=frame.out_pos[1]),
                     f"{kind} {g.kernel[0]}×{g.kernel[1]}"
                     + (", " + tr("groups {g}").format(g=g.groups) if g.groups > 1 else ""))
        y = area.top() + HEADER
        channel = self.input_channel
        slot = int(np.flatnonzero(frame.input_channels == channel)[0]) if channel in frame.input_channels else 0
        if g.kind == "conv":
            y = self._line(painter, x, y, w, tr("filter {o} (flipped) × input channel {c}:").format(
                o=frame.out_channel, c=channel) if g.transposed else
                tr("filter {out} × input channel {c}:").format(out=frame.out_channel, c=channel), muted=True)
            kernel, products = frame.kernel[slot], frame.products[slot]
            side = x + g.kernel[1] * cell + 16
            self._line(painter, x, y, side - x, tr("kernel"), muted=True)
            self._line(painter, side, y, w - (side - x), tr("× input ="), muted=True)
            self._small_grid(painter, kernel, x, y + 20, cell, float(np.abs(kernel).max()) or 1.0, tapped=False)
            y = self._small_grid(painter, products, side, y + 20, cell, float(np.abs(products).max()) or 1.0) + 6
            sums = frame.channel_sums
            if len(sums) == 1:
                y = self._line(painter, x, y, w, tr("Σ products = {value}").format(value=fmt(sums[0], 4)))
            else:
                y = self._line(painter, x, y, w, ntr("Σ over {count} input channel:", "Σ over {count} input channels:",
                                                     len(sums)).format(count=len(sums)), muted=True)
                shown = _around(len(sums), slot, 5)
                for k in shown:
                    y = self._line(painter, x, y, w, "  " + tr("channel {c}").format(c=int(frame.input_channels[k]))
                                   + f": {fmt(sums[k], 4)}",
                                   bold=k == slot)
                if len(shown) < len(sums):
                    y = self._line(painter, x, y, w, "  " + ntr("… and {count} more", "… and {count} more",
                                                                len(sums) - len(shown)).format(
                        count=len(sums) - len(shown)), muted=True)
            if frame.bias:
                y = self._line(painter, x, y, w, tr("+ bias {value}").format(value=fmt(frame.bias, 4)))
            y = self._line(painter, x, y, w, f"= {fmt(frame.value, 4)}", bold=True)
        else:
            values = frame.window[0]
            y = self._line(painter, x, y, w, tr("input under the window:"), muted=True)
            scale = float(np.nanmax(np.abs(np.where(frame.inside, values, 0)))) or 1.0
            shown = np.where(frame.inside | (frame.in_padding & (g.kind == "avg")), values, np.nan)
            y = self._small_grid(painter, shown, x, y, cell, scale, mark=frame.argmax) + 6
            if g.kind == "max":
                y = self._line(painter, x, y, w, f"max = {fmt(frame.value, 4)}", bold=True)
            else:
                y = self._line(painter, x, y, w, tr("sum {total} / {count} cells").format(
                    total=fmt(frame.total, 4), count=frame.divisor))
                y = self._line(painter, x, y, w, f"= {fmt(frame.value, 4)}", bold=True)
        self._line(painter, x, y + 4, w, tr("layer output here: {value}").format(value=fmt(frame.output, 4)),
                   muted=True)

    # --- the output --------------------------------------------------------------------------------
    def _paint_output(self, painter: QPainter, frame: WindowFrame, area: QRectF, grid_h: float) -> None:
        g, c, cell = self.animation.geometry, self.colours, self.cell
        out_h, out_w = g.output_size
        self._header(painter, area, tr("Output: {node}").format(node=self.node_id),
                     tr("channel {c}").format(c=frame.out_channel) + f" · {out_h}×{out_w}")
        label_w = cell * 0.9
        oy, ox = frame.out_pos
        rows = self.out_rows.follow(oy, oy, 0, out_h - 1, int((grid_h - 0.6 * cell) // cell))
        cols = self.out_cols.follow(ox, ox, 0, out_w - 1, int((area.width() - label_w) // cell))
        top, left = area.top() + HEADER + 0.6 * cell, area.left() + label_w
        self._index_labels(painter, rows, cols, top, left)
        output = self.animation.output
        for i, r in enumerate(rows):
            for j, cc in enumerate(cols):
                rect = QRectF(left + j * cell, top + i * cell, cell, cell)
                done = r * out_w + cc <= frame.index
                value = float(output[r, cc])
                if done:
                    painter.fillRect(rect, c.value(value, self._output_scale))
                painter.setPen(QPen(c.grid, 1))
                painter.drawRect(rect)
                if done and cell >= TEXT_CELL:
                    self._cell_text(painter, rect, value, c.text, bold=(r, cc) == (oy, ox))
        if oy in rows and ox in cols:
            painter.setPen(QPen(c.window, 3))
            painter.drawRect(QRectF(left + (ox - cols.start) * cell + 1.5, top + (oy - rows.start) * cell + 1.5,
                                    cell - 3, cell - 3))
        self.written = fmt(float(output[oy, ox]), self._digits)


def _shorter(value: float, digits: int) -> list[str]:
    """``value`` written ever shorter: fewer significant digits, then without the leading zero."""
    texts = [fmt(value, d) for d in range(digits, 0, -1)]
    texts += [t.replace("0.", ".", 1) for t in texts if t.lstrip("−").startswith("0.")]
    if 0 < abs(value) < 0.005:
        texts.append("≈0")
    return list(dict.fromkeys(texts))


def _around(count: int, index: int, most: int) -> list[int]:
    """Up to ``most`` indices of ``range(count)`` around ``index`` (the shown channel stays in view)."""
    start = min(max(0, index - most // 2), max(0, count - most))
    return list(range(start, min(count, start + most)))

