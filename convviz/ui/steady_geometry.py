"""Widgets that change on every edit without re-laying out the window.

Qt re-lays out every level above a widget whose size hint may have changed (``updateGeometry``, which
``QLabel.setText`` and a renamed toolbar action call every time): a new total re-laid out the status
bar or the summary dock, then the main window with all its docks, on every edit, and the window
painted twice. A widget whose minimum and maximum sizes are equal asks nothing above it, and a
widget that lays out its own children asks only when its own size changes.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QToolBar, QToolButton, QWidget

from ..i18n import tr

#: Room is given back when the text needs less than this share of the width it has.
SHRINK_BELOW = 0.75


class SteadyLabel(QLabel):
    """A one-line label for figures that change on every edit: it keeps a fixed size that fits its
    text, grows at once when a text needs more, and gives room back only when it needs much less (a
    digit more or fewer does not shake the status bar).

    Plain text only, not selectable: a rich or selectable label lays its text out as a document when
    it paints, which asks for a second paint of it (and of the window) after every new text."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._fit(anew=True)

    def setText(self, text: str) -> None:
        if text == self.text():
            return
        super().setText(text)
        self._fit()

    def needed(self) -> QSize:
        """The size the text needs, whatever room the label has (its size hint never falls below
        its minimum size: QLabel's own measure, without that)."""
        flags = int(self.alignment().value) | Qt.TextFlag.TextExpandTabs.value
        metrics = self.fontMetrics()
        text = metrics.boundingRect(QRect(0, 0, 2000, 2000), flags, self.text()).size()
        if not self.text():  # (as QLabel: an empty label is a character wide)
            text = QSize(metrics.averageCharWidth(), metrics.height())
        margins = self.contentsMargins()
        extra = 2 * self.margin()
        return QSize(text.width() + extra + margins.left() + margins.right(),
                     text.height() + extra + margins.top() + margins.bottom())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit(anew=True)

    def _fit(self, anew: bool = False) -> None:
        """Keep the fixed size it has while the text fits it; ``anew``: size it to the text (a new font)."""
        needed, room = self.needed(), self.maximumSize()
        if (not anew and needed.height() == room.height()
                and SHRINK_BELOW * room.width() <= needed.width() <= room.width()):
            return  # fits in the room it has: nothing above it moves
        self.setFixedSize(needed)


class SteadyToolButton(QToolButton):
    """A toolbar's button for ``action`` that is not the action's own: its icon, short name, enabled
    state and, when hovered, its tool tip. QToolBar re-lays itself out, and the main window with every
    dock, whenever one of its actions changes: Undo is renamed after each edit ("&Undo Set
    kernel_size") and greyed out when an edit cancels the last, which cost each edit a layout and a
    second paint of the window. A widget's own state changes move nothing. The menu keeps the action."""

    def __init__(self, action: QAction, toolbar: QToolBar) -> None:
        super().__init__(toolbar)
        self.action = action
        self.setIcon(action.icon())
        self.setText(action.iconText())
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolButtonStyle(toolbar.toolButtonStyle())
        self.setIconSize(toolbar.iconSize())
        toolbar.toolButtonStyleChanged.connect(self.setToolButtonStyle)
        toolbar.iconSizeChanged.connect(self.setIconSize)
        self.setEnabled(action.isEnabled())
        action.enabledChanged.connect(self.setEnabled)
        self.clicked.connect(action.trigger)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            self.setToolTip(self.action.toolTip())
        return super().event(event)


class FigureRows(QWidget):
    """(name, value) rows, the values word-wrapped: the design's totals in the inspector.

    Laid out here, not by a QFormLayout: each new value asked the form for room, and the form, the
    inspector's page and its scroll area re-laid out on every edit, measuring each changed value
    three or four times (a tenth of a ResNet-18 edit's frame, and a second paint). Here a new value
    is measured once at the width it has, and the page is asked for room only when the rows' height
    changes. The values are plain labels, not selectable (a selectable label lays its text out as a
    document, five times the cost): the context menu's Copy copies every row as text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.values: dict[str, QLabel] = {}
        self._names: list[QLabel] = []
        self._heights: dict[int, int] = {}  # width → the rows' height, for the values shown
        self._measured: dict[QLabel, tuple[tuple[str, int], int]] = {}  # value → ((text, width), row height)
        self._laid_out: tuple[int, int] | None = None  # (width, height) the labels were placed for
        copy = QAction(tr("&Copy"), self)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self.text()))
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def show_rows(self, rows: list[tuple[str, str]]) -> None:
        if [name for name, _ in rows] != list(self.values):  # other rows (the memory rows come and go)
            for label in [*self._names, *self.values.values()]:
                label.hide()
                label.deleteLater()
            self._names, self.values, self._measured = [], {}, {}
            for name, _ in rows:
                title = QLabel(f"<b>{html.escape(name)}</b>", self)
                value = QLabel(self, wordWrap=True, textFormat=Qt.TextFormat.PlainText)
                self._names.append(title)
                self.values[name] = value
                title.show()
                value.show()
            self._changed()
        for name, text in rows:
            if self.values[name].text() != text:
                self.values[name].setText(text)
                self._changed()

    def text(self) -> str:
        """What it shows, one "name: value" line per row (for copies and tests)."""
        return "\n".join(f"{name}: {label.text()}" for name, label in self.values.items())

    # --- geometry ------------------------------------------------------------------------------
    def _spacing(self) -> tuple[int, int]:
        style = self.style()
        across = style.pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing)
        down = style.pixelMetric(QStyle.PixelMetric.PM_LayoutVerticalSpacing)
        return across if across >= 0 else 6, down if down >= 0 else 6  # (what a QFormLayout takes)

    def _name_width(self) -> int:
        return max((label.sizeHint().width() for label in self._names), default=0)

    def _row_heights(self, width: int) -> list[int]:
        """Each row's height at ``width``; a value is measured again only when its text or width changed."""
        value_width = max(1, width - self._name_width() - self._spacing()[0])
        heights = []
        for title, value in zip(self._names, self.values.values()):
            key = (value.text(), value_width)
            measured = self._measured.get(value)
            if measured is None or measured[0] != key:
                measured = self._measured[value] = (key, max(title.sizeHint().height(),
                                                             value.heightForWidth(value_width)))
            heights.append(measured[1])
        return heights

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            rows = self._row_heights(width)
            height = self._heights[width] = sum(rows) + self._spacing()[1] * max(0, len(rows) - 1)
        return height

    def sizeHint(self) -> QSize:
        width = self._name_width() + self._spacing()[0] + max(
            (value.sizeHint().width() for value in self.values.values()), default=0)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        width = self._name_width() + self._spacing()[0] + max(
            (value.minimumSizeHint().width() for value in self.values.values()), default=0)
        return QSize(width, self.heightForWidth(width))

    def _changed(self) -> None:
        self._heights.clear()
        self._laid_out = None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # a value's new text (its label asks its parent)
            self._settle()
            return True
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._measured.clear()
            self._changed()
            self.updateGeometry()
        return super().event(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._settle()

    def _settle(self) -> None:
        """Place the labels for the width the rows have; ask for room only if their height changed."""
        width = self.width()
        if self._laid_out == (width, self.height()):
            return
        if self.heightForWidth(width) != self.height():
            self.updateGeometry()  # the page gives the new height; resizeEvent places them then
        self._laid_out = (width, self.height())
        across, down = self._spacing()
        name_width = self._name_width()
        y = 0
        for height, title, value in zip(self._row_heights(width), self._names, self.values.values()):
            title.setGeometry(0, y, name_width, title.sizeHint().height())
            value.setGeometry(name_width + across, y, max(1, width - name_width - across), height)
            y += height + down


class LayoutBarrier(QWidget):
    """A page that holds one widget and sets its geometry itself, with no layout: a size hint that
    changes inside (a new caption, a message, a plot's title) re-lays out the content only, instead
    of every level up to the window. It matters most under a ``QTabWidget``, which repaints itself
    whole on every layout request that reaches it (a new image in the Explain tab repainted the
    window three times). Only a change of the content's minimum size is passed up, so the window
    never becomes smaller than its content allows."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.content = content
        content.setParent(self)
        self.setSizePolicy(content.sizePolicy())
        self.setFocusProxy(content)
        self._minimum = self._content_minimum()

    def _content_minimum(self) -> QSize:
        return self.content.minimumSizeHint().expandedTo(self.content.minimumSize())

    def sizeHint(self) -> QSize:
        return self.content.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._minimum

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # the content's size hint changed
            minimum = self._content_minimum()
            if minimum != self._minimum:
                self._minimum = minimum
                self.updateGeometry()
            return True
        return super().event(event)

    def resizeEvent(self, event) -> None:
        self.content.setGeometry(self.rect())
        super().resizeEvent(event)


def unwrapped(widget: QWidget | None) -> QWidget | None:
    """The widget a ``LayoutBarrier`` holds (any other widget: itself)."""
    return widget.content if isinstance(widget, LayoutBarrier) else widget
