"""What every Explain view shares: recompute only while shown, a node chooser that follows the
user's selection, a one-line message for what cannot be shown."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from ...explain import Network
from ..theme import ERROR, muted_text
from .controller import ExplainController


class NodeCombo(QComboBox):
    """The nodes of the network that a view can show (``accepts(network, node_id)``), in order."""

    chosen = Signal(str)

    def __init__(self, accepts: Callable[[Network, str], bool], parent=None) -> None:
        super().__init__(parent)
        self.accepts = accepts
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(14)
        self.activated.connect(lambda index: self.chosen.emit(self.itemData(index)))

    def fill(self, network: Network | None) -> None:
        current = self.current
        ids = [] if network is None else [n for n in network.analysis.order if self.accepts(network, n)]
        self.blockSignals(True)
        self.clear()
        for node_id in ids:
            self.addItem(f"{node_id}  ({network.design.node(node_id).type})", node_id)
        self.setCurrentIndex(ids.index(current) if current in ids else -1)  # none yet: the view picks
        self.blockSignals(False)

    @property
    def current(self) -> str | None:
        return self.currentData()

    def node_ids(self) -> list[str]:
        return [self.itemData(i) for i in range(self.count())]

    def choose(self, node_id: str | None) -> bool:
        """Show ``node_id`` if this view can; True when it is now the current one."""
        index = self.findData(node_id) if node_id is not None else -1
        if index >= 0:
            self.setCurrentIndex(index)
        return index >= 0


class MessageLabel(QLabel):
    """A line under a view's controls: an explanation in muted text, or a problem in red."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.is_problem = self._styled = False

    def note(self, text: str) -> None:
        self._show(text, False)

    def problem(self, text: str) -> None:
        self._show(text, True)

    def _show(self, text: str, problem: bool) -> None:
        """Only what changed: restyling and relaying out a label on every result costs the GUI
        thread time the workers' threads are waiting for."""
        if problem != self.is_problem or not self._styled:
            self.is_problem, self._styled = problem, True
            palette = self.palette()
            palette.setColor(QPalette.ColorRole.WindowText, ERROR if problem else muted_text())
            self.setPalette(palette)
        if text != self.text():
            self.setText(text)


def first_node(network: Network, ids: list[str]) -> str | None:
    return ids[0] if ids else None


class ExplainView(QWidget):
    """A view of the Explain tab. Subclasses implement ``refresh`` (start the work for what is
    chosen now); it runs when the view is shown after a change, or at once while it is shown."""

    title = ""

    def __init__(self, controller: ExplainController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.nodes: NodeCombo | None = None
        self._fallback = first_node
        self._dirty = True
        controller.networkChanged.connect(self._on_network_changed)
        controller.captureChanged.connect(self.invalidate)
        controller.selectionChanged.connect(self.selection_changed)

    # --- what subclasses provide -------------------------------------------------------------------
    def refresh(self) -> None:
        raise NotImplementedError

    def showcase(self) -> None:
        """Put the view in a state worth a picture, once its results are in (``--screenshot``)."""

    def network_changed(self) -> None:
        """The model was rebuilt: refill the node list (a refresh follows when shown)."""
        if self.nodes is not None:
            self.nodes.fill(self.controller.network)

    def selection_changed(self) -> None:
        """The user chose another node, channel or unit elsewhere."""
        self.follow_selected_node()

    # --- the node shown ----------------------------------------------------------------------------
    def node_combo(self, accepts: Callable[[Network, str], bool],
                   fallback: Callable[[Network, list[str]], str | None] = first_node) -> NodeCombo:
        """The view's layer chooser: follows the node chosen anywhere, and tells the others when
        the user picks one here; ``fallback`` picks one when nothing chosen fits this view."""
        self.nodes = NodeCombo(accepts)
        self._fallback = fallback
        self.nodes.chosen.connect(self._on_node_chosen)
        return self.nodes

    def current_node(self) -> str | None:
        """The node chosen by the user if this view can show it, else the one shown, else the fallback's."""
        if not self.nodes.choose(self.controller.node_id) and self.nodes.current is None:
            self.nodes.choose(self._fallback(self.controller.network, self.nodes.node_ids()))
        return self.nodes.current

    def follow_selected_node(self) -> bool:
        """Show the node chosen elsewhere if this view can; True when that changed the view."""
        node_id = self.controller.node_id
        if node_id is not None and node_id != self.nodes.current and self.nodes.choose(node_id):
            self.invalidate()
            return True
        return False

    def _on_node_chosen(self, node_id: str) -> None:
        self.controller.select(node_id)
        self.invalidate()

    # --- plumbing ----------------------------------------------------------------------------------
    def invalidate(self) -> None:
        self._dirty = True
        if self.isVisible():
            self._refresh_now()

    def _refresh_now(self) -> None:
        if self.controller.capturing:  # captureChanged follows
            return
        self._dirty = False
        self.refresh()

    def _on_network_changed(self) -> None:
        self.network_changed()
        self.invalidate()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._refresh_now()
