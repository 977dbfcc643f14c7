"""The layer palette: every catalog layer by family, filterable, dragged onto the canvas."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from ..design import FAMILIES, types_in_family
from ..i18n import tr
from .canvas import LAYER_MIME
from .icons import layer_icon

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


class LayerModel(QStandardItemModel):
    """Families as headings, layers beneath; a layer drags as its type name."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        for family in FAMILIES:
            specs = [spec for spec in types_in_family(family) if spec.in_palette]
            if not specs:
                continue  # a design has exactly one Input, made with the design; placeholders come from imports
            heading = QStandardItem(tr(family))
            heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = heading.font()
            font.setBold(True)
            heading.setFont(font)
            for spec in specs:
                item = QStandardItem(layer_icon(spec.type), spec.type)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                item.setData(spec.type, TYPE_ROLE)
                # Found by its words in English and in the user's language ("pool" and "풀링" alike).
                item.setData(" ".join(dict.fromkeys((spec.type, family, tr(family), spec.summary,
                                                     tr(spec.summary)))).lower(), SEARCH_ROLE)
                item.setToolTip(_tooltip(spec))
                heading.appendRow(item)
            self.appendRow(heading)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        data = QMimeData()
        types = [i.data(TYPE_ROLE) for i in indexes if i.data(TYPE_ROLE)]
        if types:
            data.setData(LAYER_MIME, types[0].encode())
            data.setText(types[0])
        return data


def _tooltip(spec) -> str:
    lines = [f"<b>{spec.type}</b> ({tr(spec.family)})", tr(spec.summary)]
    if spec.formula:
        lines.append(f"<i>{spec.formula}</i>")
    if spec.params:
        lines.append(tr("Parameters: {names}").format(names=", ".join(p.name for p in spec.params)))
    lines.append(tr("Takes {inputs}. Drag onto the canvas, or onto an edge to insert; double-click to append after "
                    "the selected layer.").format(inputs=spec.describe_inputs()))
    return "<p style='white-space:pre-wrap'>" + "<br>".join(lines) + "</p>"


class PalettePanel(QWidget):
    #: Double-click: append this layer type after the selected node.
    appendRequested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = LayerModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.filter = QLineEdit(placeholderText=tr("Filter layers…"), clearButtonEnabled=True)
        self.filter.textChanged.connect(self._on_filter)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setIconSize(QSize(22, 22))
        self.tree.expandAll()
        self.tree.doubleClicked.connect(self._on_double_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)

    def content_width(self) -> int:
        """The panel's width that shows every layer name whole: the widest name with its icon and
        indentation, the tree's frame and scroll bar, the margins (the dock starts at this width)."""
        metrics, tree = self.tree.fontMetrics(), self.tree
        names = [self.model.item(row).child(child).text() for row in range(self.model.rowCount())
                 for child in range(self.model.item(row).rowCount())]
        widest = max((metrics.horizontalAdvance(name) for name in names), default=0)
        row = 2 * tree.indentation() + tree.iconSize().width()  # a layer sits one level below its family
        row += widest + 3 * metrics.averageCharWidth()
        margins = self.layout().contentsMargins()
        return (row + 2 * tree.frameWidth() + tree.verticalScrollBar().sizeHint().width()
                + margins.left() + margins.right())

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.tree.expandAll()

    def _on_double_clicked(self, index) -> None:
        type_name = index.data(TYPE_ROLE)
        if type_name:
            self.appendRequested.emit(type_name)

    def index_of(self, type_name: str):
        """The proxy index showing ``type_name`` (tests drag from it)."""
        for row in range(self.proxy.rowCount()):
            family = self.proxy.index(row, 0)
            for child in range(self.proxy.rowCount(family)):
                index = self.proxy.index(child, 0, family)
                if index.data(TYPE_ROLE) == type_name:
                    return index
        return None
