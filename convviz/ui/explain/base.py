"""What every Explain view shares: recompute only while shown, a node chooser that follows the
user's selection, a one-line message for what cannot be shown."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from ...explain import Network
from ...i18n import N_, tr
from ..document import ResultKey
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


#: A view keeps its last picture this long after it stopped being current (marked "updating"), so a
#: result arriving soon after an edit replaces it without a blank flash; then the picture is removed.
STALE_GRACE_MS = 300

#: What the message line says while a view's picture is out of date, by what changed.
UPDATING = {"design": N_("Updating for the edited design…"), "weights": N_("Updating for the new weights…"),
            "input": N_("Updating for the new image…")}


class ExplainView(QWidget):
    """A view of the Explain tab. Subclasses implement ``refresh`` (start the work for what is
    chosen now); it runs when the view is shown after a change, or at once while it is shown.

    Results carry the ``ResultKey`` they were made with; a view draws one only while
    ``is_current`` (the controller's one comparison) holds, records it with ``shown``, and
    ``clear``s its picture once the key has moved on and no current result replaced it."""

    title = ""

    def __init__(self, controller: ExplainController, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.nodes: NodeCombo | None = None
        self.message: MessageLabel | None = None
        self._fallback = first_node
        self._dirty = True
        #: The key of the picture on screen (None: nothing drawn, or already cleared).
        self.shown_key: ResultKey | None = None
        self._stale_timer = QTimer(self, singleShot=True, interval=STALE_GRACE_MS)
        self._stale_timer.timeout.connect(self._drop_stale)
        controller.networkChanged.connect(self._on_network_changed)
        controller.captureChanged.connect(self.invalidate)
        controller.selectionChanged.connect(self.selection_changed)
        controller.keyChanged.connect(self._on_key_changed)

    # --- what subclasses provide -------------------------------------------------------------------
    def refresh(self) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Remove every result from the screen (they no longer describe the design, weights or image)."""

    def showcase(self) -> None:
        """Put the view in a state worth a picture, once its results are in (``--screenshot``)."""

    def network_changed(self) -> None:
        """The model was rebuilt: refill the node list (a refresh follows when shown)."""
        if self.nodes is not None:
            self.nodes.fill(self.controller.current_network)

    def selection_changed(self) -> None:
        """The user chose another node, channel or unit elsewhere."""
        self.follow_selected_node()

    # --- what is current ---------------------------------------------------------------------------
    @property
    def capture(self):
        """The current image through the current model, or None."""
        return self.controller.current_capture

    @property
    def network(self):
        """The current model, or None."""
        return self.controller.current_network

    def is_current(self, result) -> bool:
        """True when ``result`` (anything with a ``key``, or a key) was made from what is shown now."""
        key = result if isinstance(result, ResultKey) or result is None else getattr(result, "key", None)
        return self.controller.is_current(key)

    @property
    def live_result(self):
        """``self.result`` while it is current (clicks on an out-of-date picture do nothing)."""
        result = getattr(self, "result", None)
        return result if self.is_current(result) else None

    def shown(self, key: ResultKey) -> None:
        """A current result is on screen."""
        self.shown_key = key
        self._stale_timer.stop()

    def _on_key_changed(self, key: ResultKey) -> None:
        if self.shown_key is None or self.is_current(self.shown_key):
            return  # (the filters stay current for a new image)
        self._dirty = True
        if self.message is not None:
            self.message.note(tr(UPDATING[self.shown_key.changed(key)]))
        if self.isVisible():
            if not self._stale_timer.isActive():
                self._stale_timer.start()
        else:
            self._drop_stale()

    def _drop_stale(self) -> None:
        if self.shown_key is not None and not self.is_current(self.shown_key):
            self.shown_key = None
            self.clear()

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
        if self.controller.waiting:  # networkChanged / captureChanged follows
            return
        self._dirty = False
        self.refresh()

    def _on_network_changed(self) -> None:
        self.network_changed()
        if self.controller.built is None:
            self._drop_stale()  # no model (the design has errors): nothing new is coming to replace it
        self.invalidate()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._drop_stale()  # an out-of-date picture never greets the user
        if self._dirty:
            self._refresh_now()

    def hideEvent(self, event) -> None:
        self._drop_stale()
        super().hideEvent(event)
