"""Copy and paste: a selection of nodes as JSON, pasted back with fresh ids.

Edges inside the selection are kept (renamed with the nodes); edges from outside are kept when
their source exists where the fragment is pasted, so a duplicated branch hangs off the same
input as the original (what building an inception block wants).
"""

from __future__ import annotations

import json
from typing import Any

from .catalog import CATALOG
from .fileformat import DesignFileError, parse_json, read_node
from .graph import Design, Node
from .ids import fresh_id, id_prefix
from .ports import node_of, renamed_ref

MIME_TYPE = "application/x-convviz-nodes"
FORMAT = "convviz-nodes"


def copy_fragment(design: Design, node_ids: list[str]) -> str:
    chosen = [design.node(nid) for nid in design.node_ids if nid in set(node_ids)]
    nodes = []
    for node in chosen:
        entry: dict[str, Any] = {"id": node.id, "type": node.type, "inputs": list(node.inputs)}
        if node.params:
            entry["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in node.params.items()}
        if node.pos is not None:
            entry["pos"] = list(node.pos)
        nodes.append(entry)
    return json.dumps({"format": FORMAT, "nodes": nodes})


def paste_fragment(design: Design, text: str, offset: tuple[float, float] = (40.0, 40.0)) -> list[Node]:
    """The nodes to insert (not yet inserted): fresh ids, remapped edges, shifted positions.

    Raises DesignFileError when ``text`` is not a fragment.
    """
    try:
        data = parse_json(text)
    except DesignFileError:
        raise DesignFileError("the clipboard holds no convviz layers") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("nodes"), list):
        raise DesignFileError("the clipboard holds no convviz layers")
    originals = [read_node(raw, i) for i, raw in enumerate(data["nodes"])]
    taken = set(design.node_ids)
    renamed: dict[str, str] = {}
    for node in originals:
        if node.type == "Input" and design.input_nodes():
            continue  # a design has one Input: pasting it again would only be an error
        prefix = id_prefix(node.type) if node.type in CATALOG else "node"
        new_id = node.id if node.id not in taken else fresh_id(taken, prefix=_stem(node.id, prefix))
        taken.add(new_id)
        renamed[node.id] = new_id
    pasted = []
    for node in originals:
        if node.id not in renamed:
            continue
        inputs = [renamed_ref(src, node_of(src), renamed[node_of(src)]) if node_of(src) in renamed else src
                  for src in node.inputs]
        inputs = [src for src in inputs if node_of(src) in renamed.values() or node_of(src) in design]
        pos = None if node.pos is None else (node.pos[0] + offset[0], node.pos[1] + offset[1])
        pasted.append(Node(renamed[node.id], node.type, inputs, dict(node.params), pos))
    return pasted


def _stem(node_id: str, fallback: str) -> str:
    """"conv12" → "conv", "layer1_0_conv1" → "layer1_0_conv": fresh ids keep their family name."""
    stem = node_id.rstrip("0123456789")
    return stem or fallback
