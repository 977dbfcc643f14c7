"""The node-editor canvas: scene (items in step with the design), view (zoom, pan), items."""

from .edge_item import EdgeItem
from .node_item import NodeItem
from .scene import LAYER_MIME, SHADE_MODES, DesignScene
from .view import DesignView

__all__ = ["DesignScene", "DesignView", "EdgeItem", "LAYER_MIME", "NodeItem", "SHADE_MODES"]
