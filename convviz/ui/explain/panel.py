"""The Explain tab: the image on the left, the views on the right (feature maps, filters,
receptive field, sliding window, class activation), which weights they run on above them.

Built on first view (``MainWindow.add_lazy_tab``): importing this module loads pyqtgraph and torch.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...atomic import atomic_write
from ...explain import keep_freed_memory
from ...i18n import tr
from ..document import Document
from ..file_dialogs import ask_save_path
from ..shortcuts import key_sequences
from ..steady_geometry import LayoutBarrier, unwrapped
from ..theme import ERROR, WARNING, muted_text
from .base import ExplainView
from .cam_view import ClassActivationView
from .controller import ExplainController
from .features_view import FeatureMapsView
from .field_view import ReceptiveFieldView
from .filters_view import FiltersView
from .image_input import ImageInputPanel
from .window_view import SlidingWindowView

#: Names of the views (``--view explain-<name>`` for screenshots), in tab order.
VIEWS = {"features": FeatureMapsView, "filters": FiltersView, "field": ReceptiveFieldView,
         "window": SlidingWindowView, "cam": ClassActivationView}

class ExplainPanel(QWidget):
    #: The user chose a node here (a combo, a click): the canvas selects it too.
    nodeActivated = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        # Capturing every activation re-faults freed pages on each image unless glibc keeps them:
        # a process-wide setting, made here (the tab's first showing), not at start-up.
        keep_freed_memory()
        self.controller = ExplainController(document, self)
        self.image_input = ImageInputPanel(self.controller)
        self.weights_label = QLabel()
        self.weights_label.setTextFormat(Qt.TextFormat.RichText)
        self.export_button = QPushButton(tr("Export view as PNG…"))
        self.export_button.setToolTip(tr("Save the view shown as a picture"))
        self.export_button.clicked.connect(self.export_view)
        header = QHBoxLayout()
        header.addWidget(self.weights_label, 1)
        header.addWidget(self.export_button)

        self.views: dict[str, ExplainView] = {name: cls(self.controller) for name, cls in VIEWS.items()}
        self.tabs = QTabWidget()
        for view in self.views.values():
            self.tabs.addTab(LayoutBarrier(view), tr(view.title))
        self.problem = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.tabs)
        self.stack.addWidget(self.problem)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(header)
        right_layout.addWidget(self.stack, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.image_input)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([250, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        # Ctrl+V here pastes an image; the canvas's Ctrl+V (layers) is limited to the canvas.
        self.paste_action = QAction(tr("Paste image"), self)
        self.paste_action.setShortcuts(key_sequences("paste"))
        self.paste_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_action.triggered.connect(self.image_input.paste)
        self.addAction(self.paste_action)

        self.controller.networkChanged.connect(self._on_network_changed)
        self.controller.keyChanged.connect(self._describe_weights)
        self.controller.selectionChanged.connect(self._on_selection_changed)
        self._on_network_changed()

    # --- what the rest of the window calls ---------------------------------------------------------
    def follow_node(self, node_id: str | None) -> None:
        """The canvas selection changed: every view that can show ``node_id`` shows it."""
        if node_id is not None:
            self.controller.select(node_id)

    def load_image(self, path: Path) -> None:
        self.image_input.load(path, path.name)

    def show_view(self, name: str) -> ExplainView:
        view = self.views[name]
        self.tabs.setCurrentWidget(view.parentWidget())  # its LayoutBarrier
        return view

    def shutdown(self) -> None:
        self.controller.shutdown()

    # --- state -------------------------------------------------------------------------------------
    def _on_network_changed(self) -> None:
        c = self.controller
        if c.built is None:
            waiting = c.problem is None
            self.problem.setText(tr("Building the model…") if waiting else c.problem)
            self.problem.setStyleSheet(f"color: {(muted_text() if waiting else ERROR).name()}; font-size: 15px")
            self.stack.setCurrentWidget(self.problem)
            self.weights_label.setText("")
            return
        self.stack.setCurrentWidget(self.tabs)
        self._describe_weights()

    def _describe_weights(self, *_) -> None:
        """The header names the model and weights the views run on, or says they are being remade."""
        built = self.controller.built
        if built is None:
            return
        name = html.escape(built.network.design.name or tr("the design"))
        if not self.controller.is_current(built.key):
            changed = built.key.changed(self.controller.key)
            self.weights_label.setText(f"<b>{name}</b>: " + html.escape(
                tr("updating the model for the new weights…") if changed == "weights" else
                tr("updating the model for the edited design…")))
            return
        colour = muted_text() if built.trained else WARNING
        self.weights_label.setText(html.escape(tr("{design} with {weights}")).format(
            design=f"<b>{name}</b>", weights=f"<span style='color:{colour.name()}'><b>{html.escape(built.label)}</b></span>")
            + ("" if built.trained else html.escape(tr(" — train it to see what it learns"))))

    def _on_selection_changed(self) -> None:
        if self.controller.node_id is not None:
            self.nodeActivated.emit(self.controller.node_id)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.controller.set_active(True)

    def hideEvent(self, event) -> None:
        self.controller.set_active(False)
        super().hideEvent(event)

    def current_view(self) -> ExplainView:
        return unwrapped(self.tabs.currentWidget())

    # --- export ------------------------------------------------------------------------------------
    def export_view(self) -> None:
        view = self.current_view()
        name = next(n for n, v in self.views.items() if v is view)
        target = ask_save_path(self, tr("Export the view as PNG"), f"explain_{name}.png", "PNG (*.png)", ".png")
        if target is None:
            return
        try:
            save_png(view, target)
        except OSError as exc:
            view.message.problem(tr("{path}: cannot write ({reason})").format(path=target, reason=exc.strerror or exc))
            return
        view.message.note(tr("Saved {path}").format(path=target))


def save_png(widget: QWidget, path: Path) -> None:
    """The widget as it looks on screen, written atomically."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    with atomic_write(path, "wb") as handle:
        handle.write(bytes(buffer.data()))
