"""The canvas scene: node and edge items kept in step with the document, and the gestures that edit it.

Gestures become undo commands: drag from an output port to a node to connect; drag an input
port's edge away to disconnect (or onto another node to reconnect); move cards (one command on
release); drop a palette layer on empty space to add it, or on an edge to insert it there.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from ...design import Change, Node, layer_spec
from ...design.edits import InsertBefore
from ...design.ports import node_of, output_ref, port_of
from ...i18n import tr
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
        self._press_rects: dict[str, QRectF] | None = None
        self._shade_total = None
        self._dirty: set[str] = set()     # cards whose own text an edit touched, redrawn with the next analysis
        self._shown = None                # the analysis the cards show
        document.designChanged.connect(self._on_design_changed)
        document.analysisChanged.connect(self._on_analysis_changed)
        document.designReplaced.connect(self.rebuild)
        self.rebuild()

    # --- keeping in step with the document ---------------------------------------------------
    # Work follows the edit, not the design's size: an edit creates, removes or re-wires only the items
    # of the nodes it touched, reroutes only the edges whose band a card entered, left or moved in, and
    # rewrites only the cards whose numbers (``Document.changed_nodes``) or own text changed; a change
    # of numbers alone moves no edge.
    def rebuild(self) -> None:
        for item in list(self.nodes.values()):
            self.removeItem(item)
        for edge in list(self.edges.values()):
            self.removeItem(edge)
        self.nodes.clear()
        self.edges.clear()
        self._dirty = set()
        self._sync(None)
        self._refresh_cards(None)
        self._shown = self.document.analysis

    def _on_design_changed(self, change: Change) -> None:
        if change.kind == "position":
            self._place(change.node_ids)
            return
        if change.kind == "meta":  # the Input card shows the number of classes
            self._dirty.update(n.id for n in self.document.design.input_nodes())
            return
        if change.kind == "rename":
            old, new = change.node_ids
            item = self.nodes.pop(old, None)
            if item is not None:
                item.node_id = new
                self.nodes[new] = item
                for index in [i for (target, i) in self.edges if target == old]:
                    self.edges[(new, index)] = self.edges.pop((old, index))
            self._dirty.add(new)
            return
        self._dirty.update(change.node_ids)  # their own text (parameters, inputs) may have changed
        if change.kind != "params":
            self._sync(change.node_ids or None)

    def _on_analysis_changed(self, analysis) -> None:
        changed = self.document.changed_nodes
        if analysis is self._shown and not self._dirty:
            return  # already shown (a new design: ``rebuild`` drew it)
        ids, self._dirty = (None if changed is None else self._dirty | changed), set()
        self._shown = analysis
        self._refresh_cards(ids)

    def _sync(self, node_ids) -> None:
        """Items and edges for ``node_ids`` (None: every node) as the design has them now."""
        design = self.document.design
        ids = list(dict.fromkeys([*self.nodes, *design.node_ids])) if node_ids is None else list(node_ids)
        vacated: list[QRectF] = []
        rewire = set(ids)
        made: set[str] = set()
        for nid in ids:
            node, item = design.get(nid), self.nodes.get(nid)
            if item is not None and (node is None or item.type_name != node.type):
                vacated.append(item.sceneBoundingRect())
                rewire.update(self._remove_node_item(item))
                item = None
            if node is None:
                continue
            if item is None:
                item = NodeItem(node.id, node.type)
                self.nodes[node.id] = item
                self.addItem(item)
                made.add(node.id)
                if node.pos is not None:
                    item.setPos(QPointF(*node.pos))
                vacated.append(item.sceneBoundingRect())
            elif node.pos is not None and (item.pos().x(), item.pos().y()) != tuple(node.pos):
                vacated.append(item.sceneBoundingRect())
                item.setPos(QPointF(*node.pos))
                vacated.append(item.sceneBoundingRect())
        if made and node_ids is not None:  # a node that reads a new card's id (a dangling input it now meets)
            rewire.update(n.id for n in design if any(node_of(src) in made for src in n.inputs))
        fresh = [edge for nid in rewire for edge in self._sync_inputs(nid)]
        for edge in fresh:
            edge.update_path()
        if node_ids is not None:
            self._reroute(vacated, skip=set(fresh))

    def _remove_node_item(self, item: NodeItem) -> set[str]:
        """Take a card and its edges off the scene; returns the consumers that lost an input edge."""
        consumers = set()
        for edge in list(item.edges):
            if edge.target is not item:
                consumers.add(edge.target.node_id)
            self._remove_edge(edge)
        self.nodes.pop(item.node_id, None)
        self.removeItem(item)
        return consumers

    def _remove_edge(self, edge: EdgeItem) -> None:
        if self.edges.get(edge.key) is edge:
            del self.edges[edge.key]
        edge.detach()
        self.removeItem(edge)

    def _sync_inputs(self, node_id: str) -> list[EdgeItem]:
        """The edges into ``node_id`` as its inputs are now; returns the edges it made."""
        node, item = self.document.design.get(node_id), self.nodes.get(node_id)
        if node is None or item is None:
            return []
        # an input names a node's output: "conv1", or "split1:0" for one of a Split's outputs
        wanted = {i: src for i, src in enumerate(node.inputs) if node_of(src) in self.nodes}
        for edge in [e for e in item.edges if e.target is item]:
            if wanted.get(edge.index) != edge.ref or self.nodes[node_of(edge.ref)] is not edge.source:
                self._remove_edge(edge)
        made = []
        for index, src in wanted.items():
            if (node_id, index) not in self.edges:
                edge = EdgeItem(self.nodes[node_of(src)], item, index, port_of(src))
                self.edges[(node_id, index)] = edge
                self.addItem(edge)
                made.append(edge)
        return made

    def _place(self, node_ids) -> None:
        """Cards moved by an edit (a drag's release, undo, auto-layout): their edges and the edges near them."""
        design = self.document.design
        vacated = []
        for nid in node_ids:
            item, node = self.nodes.get(nid), design.get(nid)
            if item is None or node is None or node.pos is None:
                continue
            before = self._press_rects.get(nid) if self._press_rects else None
            vacated.append(before if before is not None else item.sceneBoundingRect())
            item.setPos(QPointF(*node.pos))  # moves its own edges (NodeItem.itemChange)
            vacated.append(item.sceneBoundingRect())
        self._reroute(vacated)

    def _reroute(self, changed: list[QRectF], skip: set | None = None) -> None:
        """Route again every edge whose ports or band of cards changed (cards moved one by one route
        their own edges around cards that had not moved yet): the routes follow the final positions."""
        done = skip or set()
        if len(changed) > REROUTE_ALL:  # a layout: every edge (cheaper than testing each against each card)
            for edge in self.edges.values():
                if edge not in done:
                    edge.update_path()
            return
        if not changed:
            return
        for edge in self.edges.values():
            if edge in done:
                continue
            band = edge.band().united(edge.sceneBoundingRect())
            if any(band.intersects(rect) for rect in changed):
                edge.update_path()

    def _refresh_cards(self, node_ids) -> None:
        """Card texts of ``node_ids`` (None: all); in a shading mode, every card's shade when the totals moved."""
        design, analysis = self.document.design, self.document.analysis
        total = {"macs": analysis.macs, "params": analysis.params}.get(self.shade_mode)

        def shade_of(result) -> float | None:
            if total is None or result is None:
                return None
            share = getattr(result, self.shade_mode) / total if total else 0.0
            return min(1.0, share * 4) ** 0.6  # a small share stays visible; ≥ 25 % saturates

        ids = self.nodes if node_ids is None else [nid for nid in node_ids if nid in self.nodes]
        for nid in ids:
            node = design.get(nid)
            if node is not None:
                result = analysis.nodes.get(nid)
                self.nodes[nid].set_text(card_text(node, design, result, shade_of(result)))
        if node_ids is not None and total is not None and total != self._shade_total:
            for nid, item in self.nodes.items():  # everyone's share moved: only the colour is redone
                shade = shade_of(analysis.nodes.get(nid))
                if item.text is not None and item.text.shade != shade:
                    item.set_text(replace(item.text, shade=shade))
        self._shade_total = total

    def set_shade_mode(self, mode: str) -> None:
        assert mode in SHADE_MODES
        self.shade_mode = mode
        self._refresh_cards(None)

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
            # Where the cards were when the drag began: edges that went around them reroute.
            self._press_rects = {nid: self.nodes[nid].boundingRect().translated(*before[nid]) for nid in moved_after}
            try:
                self.document.push(MoveNodesCommand(self.document, moved_before, moved_after))
            finally:
                self._press_rects = None

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
                                                        tr("Reorder the inputs of {node}").format(node=old_target)))
                return
            refusal = self._refusal(source, target) if target is not None else None
            if refusal:
                self.problem.emit(refusal)  # the edge stays where it was
                return
            disconnect = tr("Disconnect {source} → {target}").format(source=source, target=old_target)
            stack.beginMacro(tr("Reconnect {source}").format(source=source) if target else disconnect)
            inputs.pop(old_index)
            self.document.push(SetInputsCommand(self.document, old_target, inputs, disconnect))
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
            return tr("{node} is the Input: it takes no inputs.").format(node=target.id)
        if node_of(source) == target.id:
            return tr("A layer cannot take its own output.")
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
            SetInputsCommand(self.document, target.id, inputs,
                             tr("Connect {source} → {target}").format(source=source, target=target.id)))

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
                self.document, tr("Insert {type} before '{node}'").format(type=type_name, node=target),
                [InsertBefore(target, type_name, None, index, new_id)]))
        else:
            node = Node(new_id, type_name, [], layer_spec(type_name).initial_params(), (pos.x(), pos.y()))
            self.document.push(AddNodesCommand(self.document, [node]))
        self.select_nodes([new_id])
        return new_id

