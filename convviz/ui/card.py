"""The size of a layer's card on the canvas, for everything that places cards (the canvas, the
auto-layout, edits that insert a layer): one place, no Qt needed."""

from __future__ import annotations

from ..design.layout import LayoutSpacing

WIDTH = 210.0
HEIGHT = 84.0
#: The auto-layout's spacing for these cards.
CARD_SPACING = LayoutSpacing(node_width=WIDTH, node_height=HEIGHT, row_gap=36)
