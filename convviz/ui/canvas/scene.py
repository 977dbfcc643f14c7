"""The canvas scene: node and edge items kept in step with the document, and the gestures that edit it.

Gestures become undo commands: drag from an output port to a node to connect; drag an input
port's edge away to disconnect (or onto another node to reconnect); move cards (one command on
release); drop a palette layer on empty space to add it, or on an edge to insert it there.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from ...design import Change, Node, layer_spec
from ...design.edits import InsertBefore
from ...design.ports import node_of, output_ref, port_of
from ..commands import AddNodesCommand, EditsCommand, MoveNodesCommand, SetInputsCommand
from ..document import Document
from .edge_item import EdgeItem, route
from .node_item import NodeItem, card_text

LAYER_MIME = "application/x-convviz-layer"

#: Moved cards (old and new places) beyond which every edge is routed again rather than the ones near them.
REROUTE_ALL = 64
#: Colour nodes by: their family, or their share of the network's MACs or parameters.
SHADE_MODES = ("family", "macs", "params")


class DesignScene(QGraphicsScene):
    #: A user-facing problem with a gesture (e.g. connecting into an Input): shown in the status bar.
    problem = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, int], EdgeItem] = {}
        self.shade_mode = "family"
        self._wire: QGraphicsPathItem | None = None
        self._wire_from: NodeItem | None = None
        self._wire_port: int | None = None
        self._detached: tuple[str, int] | None = None
        self._drop_target: NodeItem | None = None
        self._drop_edge: EdgeItem | None = None
        self._press_positions: dict[str, tuple[float, float]] | None = None
        document.designChanged.connect(self._on_design_changed)
        document.analysisChanged.connect(self._on_analysis_changed)
        document.designReplaced.connect(self.rebuild)
        self.rebuild()

    # --- keeping in step with the document ---------------------------------------------------
    def rebuild(self) -> None:
        for item in list(self.nodes.values()):
            self.removeItem(item)
        for edge in list(self.edges.values()):
            self.removeItem(edge)
        self.nodes.clear()
        self.edges.clear()
        self._sync()
        self._refresh_cards()

    def _on_design_changed(self, change: Change) -> None:
        if change.kind == "position":
            moved = []
            for nid in change.node_ids:
                item, node = self.nodes.get(nid), self.document.design.get(nid)
                if item is not None and node is not None and node.pos is not None:
                    moved.append(item.sceneBoundingRect())
                    item.setPos(QPointF(*node.pos))
                    moved.append(item.sceneBoundingRect())
            self._reroute(moved)
            return
        if change.kind == "params":
            return  # same nodes and edges; the cards follow the analysis that comes next
        if change.kind == "rename":
            old, new = change.node_ids
            item = self.nodes.pop(old, None)
            if item is not None:
                item.node_id = new
                self.nodes[new] = item
        self._sync()

    def _on_analysis_changed(self, analysis) -> None:
        self._refresh_cards()

    def _sync(self) -> None:
        design = self.document.design
        for nid in [nid for nid in self.nodes if nid not in design]:
            item = self.nodes.pop(nid)
            self.removeItem(item)
        for node in design:
            item = self.nodes.get(node.id)
            if item is not None and item.type_name != node.type:
                self.removeItem(self.nodes.pop(node.id))
                item = None
            if item is None:
                item = NodeItem(node.id, node.type)
                self.nodes[node.id] = item
                self.addItem(item)
            if node.pos is not None:
                item.setPos(QPointF(*node.pos))
        self._sync_edges()

    def _sync_edges(self) -> None:
        design = self.document.design
        wanted = {}
        for node in design:
            for index, src in enumerate(node.inputs):
                if node_of(src) in self.nodes:
                    wanted[(node.id, index)] = src
        for key in [k for k, edge in self.edges.items() if wanted.get(k) != edge.ref
                    or self.nodes.get(k[0]) is not edge.target or self.nodes.get(edge.source.node_id) is not edge.source]:
            edge = self.edges.pop(key)
            edge.detach()
            self.removeItem(edge)
        for key, src in wanted.items():
            if key not in self.edges:
                edge = EdgeItem(self.nodes[node_of(src)], self.nodes[key[0]], key[1], port_of(src))
                self.edges[key] = edge
                self.addItem(edge)
        for edge in self.edges.values():
            edge.update_path()

    def _reroute(self, changed: list) -> None:
        """Route again every edge whose ports or band of cards changed (cards moved one by one route
        their own edges around cards that had not moved yet): the routes follow the final positions."""
        if len(changed) > REROUTE_ALL:  # a layout: every edge (cheaper than testing each against each card)
            for edge in self.edges.values():
                edge.update_path()
            return
        for edge in self.edges.values():
            band = edge.band().united(edge.sceneBoundingRect())
            if any(band.intersects(rect) for rect in changed):
                edge.update_path()

    def _refresh_cards(self) -> None:
        design, analysis = self.document.design, self.document.analysis
        total = {"macs": analysis.macs, "params": analysis.params}.get(self.shade_mode)
        for nid, item in self.nodes.items():
            node = design.get(nid)
            if node is None:
                continue
            result = analysis.nodes.get(nid)
            shade = None
            if total is not None and result is not None:
                share = getattr(result, self.shade_mode) / total if total else 0.0
                shade = min(1.0, share * 4) ** 0.6  # a small share stays visible; ≥ 25 % saturates
            item.set_text(card_text(node, design, result, shade))

    def set_shade_mode(self, mode: str) -> None:
        assert mode in SHADE_MODES
        self.shade_mode = mode
        self._refresh_cards()

    # --- selection ---------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        order = {nid: i for i, nid in enumerate(self.document.design.node_ids)}
        ids = [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]
        return sorted(ids, key=lambda nid: order.get(nid, 0))

    def selected_edges(self) -> list[EdgeItem]:
        return [item for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        self.blockSignals(True)
        self.clearSelection()
        for nid in node_ids:
            if nid in self.nodes:
                self.nodes[nid].setSelected(True)
        self.blockSignals(False)
        self.selectionChanged.emit()

    # --- gestures ------------------------------------------------------------------------------
    def node_at(self, scene_pos: QPointF, exclude: NodeItem | None = None) -> NodeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem) and item is not exclude:
                return item
        return None

    def edge_at(self, scene_pos: QPointF) -> EdgeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, EdgeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.node_at(event.scenePos())
            port = item.port_at(event.scenePos()) if item else None
            if port and port[0] == "out":
                multi = layer_spec(item.type_name).multi_output
                self._start_wire(item, event.scenePos(), port[1] if multi else None)
                event.accept()
                return
            if port and port[0] == "in":
                target = self.document.design.node(item.node_id)
                if port[1] < len(target.inputs):  # pick the edge up from this input
                    self._detached = (item.node_id, port[1])
                    ref = target.inputs[port[1]]
                    self._start_wire(self.nodes[node_of(ref)], event.scenePos(), port_of(ref))
                    self.edges[self._detached].setVisible(False)
                    event.accept()
                    return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_positions = self._item_positions()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._update_wire(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._finish_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        before, self._press_positions = self._press_positions, None
        if before is not None:
            self._record_move(before)

    def _item_positions(self) -> dict[str, tuple[float, float]]:
        return {nid: (item.pos().x(), item.pos().y()) for nid, item in self.nodes.items()}

    def _record_move(self, before: dict[str, tuple[float, float]]) -> None:
        design = self.document.design
        moved_after, moved_before = {}, {}
        for nid, item in self.nodes.items():
            now = (round(item.pos().x(), 1), round(item.pos().y(), 1))
            if nid in before and (abs(before[nid][0] - now[0]) > 0.5 or abs(before[nid][1] - now[1]) > 0.5):
                moved_after[nid] = now
                moved_before[nid] = design.node(nid).pos
        if moved_after:
            self.document.push(MoveNodesCommand(self.document, moved_before, moved_after))

    # --- wiring ---------------------------------------------------------------------------------
    def _start_wire(self, source: NodeItem, pos: QPointF, port: int | None = None) -> None:
        self._wire_from, self._wire_port = source, port
        self._wire = QGraphicsPathItem()
        pen = QPen(QColor("#3daee9"), 2.2, Qt.PenStyle.DashLine)
        self._wire.setPen(pen)
        self._wire.setZValue(5)
        self.addItem(self._wire)
        self._update_wire(pos)

    def _update_wire(self, pos: QPointF) -> None:
        target = self.node_at(pos, exclude=self._wire_from)
        self._set_drop_target(target)
        end = target.input_port_pos(target.slot_for_drop(pos)) if target and target.input_slots(target.text) else pos
        self._wire.setPath(route(self._wire_from.output_port_pos(self._wire_port), end, []))

    def _finish_wire(self, pos: QPointF) -> None:
        source = output_ref(self._wire_from.node_id, self._wire_port)
        target = self.node_at(pos, exclude=self._wire_from)
        detached, self._detached = self._detached, None
        self.removeItem(self._wire)
        self._wire, self._wire_from = None, None
        self._set_drop_target(None)
        design = self.document.design
        stack = self.document.undo_stack
        if detached is not None:
            if detached in self.edges:
                self.edges[detached].setVisible(True)
            old_target, old_index = detached
            inputs = list(design.node(old_target).inputs)
            if target is not None and target.node_id == old_target:
                # Dropped on its own node: another slot reorders the inputs (Concat order matters).
                slot = min(target.slot_for_drop(pos), len(inputs) - 1)
                if slot != old_index:
                    inputs.insert(slot, inputs.pop(old_index))
                    self.document.push(SetInputsCommand(self.document, old_target, inputs,
                                                        f"Reorder the inputs of {old_target}"))
                return
            refusal = self._refusal(source, target) if target is not None else None
            if refusal:
                self.problem.emit(refusal)  # the edge stays where it was
                return
            stack.beginMacro(f"Reconnect {source}" if target else f"Disconnect {source} → {old_target}")
            inputs.pop(old_index)
            self.document.push(SetInputsCommand(self.document, old_target, inputs,
                                                f"Disconnect {source} → {old_target}"))
            if target is not None:
                self._connect(source, target, pos)
            stack.endMacro()
            return
        if target is not None:
            self._connect(source, target, pos)

    def _refusal(self, source: str, target_item: NodeItem) -> str | None:
        """Why ``source`` cannot feed ``target_item``, or None."""
        target = self.document.design.node(target_item.node_id)
        if layer_spec(target.type).max_inputs == 0:
            return f"{target.id} is the Input: it takes no inputs."
        if node_of(source) == target.id:
            return "A layer cannot take its own output."
        return None

    def _connect(self, source: str, target_item: NodeItem, pos: QPointF) -> None:
        refusal = self._refusal(source, target_item)
        if refusal:
            self.problem.emit(refusal)
            return
        target = self.document.design.node(target_item.node_id)
        if layer_spec(target.type).max_inputs is None:
            inputs = list(target.inputs)
            inputs.insert(min(target_item.slot_for_drop(pos), len(inputs)), source)
        else:
            inputs = [source]
            if target.inputs == inputs:
                return
        self.document.push(
            SetInputsCommand(self.document, target.id, inputs, f"Connect {source} → {target.id}"))

    def _set_drop_target(self, item: NodeItem | None) -> None:
        if self._drop_target is not None and self._drop_target is not item:
            self._drop_target.set_drop_target(False)
        self._drop_target = item
        if item is not None:
            item.set_drop_target(True)

    # --- dropping layers from the palette -------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:  # files (designs, images): left to the main window
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            edge = self.edge_at(event.scenePos()) if self.node_at(event.scenePos()) is None else None
            if edge is not self._drop_edge:
                if self._drop_edge is not None:
                    self._drop_edge.set_highlighted(False)
                self._drop_edge = edge
                if edge is not None:
                    edge.set_highlighted(True)
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        if self._drop_edge is not None:
            self._drop_edge.set_highlighted(False)
            self._drop_edge = None
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        type_name = bytes(event.mimeData().data(LAYER_MIME)).decode()
        edge, self._drop_edge = self._drop_edge, None
        if edge is not None:
            edge.set_highlighted(False)
        self.add_layer(type_name, event.scenePos(), edge)
        event.acceptProposedAction()

    def add_layer(self, type_name: str, pos: QPointF, edge: EdgeItem | None = None) -> str:
        """Add a palette layer at ``pos``, or on ``edge`` (between its two nodes); returns the new id."""
        design = self.document.design
        new_id = design.new_id(type_name)
        if edge is not None:
            target, index = edge.key
            self.document.push(EditsCommand(
                self.document, f"Insert {type_name} before '{target}'",
                [InsertBefore(target, type_name, None, index, new_id)]))
        else:
            node = Node(new_id, type_name, [], layer_spec(type_name).initial_params(), (pos.x(), pos.y()))
            self.document.push(AddNodesCommand(self.document, [node]))
        self.select_nodes([new_id])
        return new_id

