"""The auto-layout fitted to the canvas: as wide as the canvas is for its height, wrapped into columns
only when the design is too deep for it; opened designs without positions (templates) get it."""

from __future__ import annotations

from ..design import Design
from ..design.edits import SetPositions, apply_edits
from ..design.layout import auto_layout
from .card import CARD_SPACING

SPACING = CARD_SPACING
DEFAULT_ASPECT = 1.6
#: The canvas's height in pixels in a 1600×1000 window, until the window is shown.
DEFAULT_VIEW_HEIGHT = 676.0


def same_positions(design: Design, layout: dict[str, tuple[float, float]]) -> bool:
    return all(node.pos is not None and abs(node.pos[0] - layout[node.id][0]) < 1
               and abs(node.pos[1] - layout[node.id][1]) < 1 for node in design)


class CanvasLayout:
    def __init__(self) -> None:
        self.view_aspect = DEFAULT_ASPECT  # until the canvas has a size
        self.view_height = DEFAULT_VIEW_HEIGHT
        #: The canvas (a ``DesignView``) once it exists: the first design is laid out before it is made.
        self.view = None

    def layout_of(self, design: Design) -> dict[str, tuple[float, float]]:
        """The auto-layout for the canvas as it is now (wrapped into columns only if too deep for it)."""
        view = self.view
        if view is not None and view.isVisible() and view.viewport().height() > 50:
            self.view_aspect = view.viewport().width() / view.viewport().height()
            self.view_height = float(view.viewport().height())
        return auto_layout(design, SPACING, self.view_aspect, self.view_height)

    def laid_out(self, design: Design) -> Design:
        """``design`` with every node placed: a design without positions (a template) gets the auto-layout."""
        if any(node.pos is None for node in design):
            design.set_positions(self.layout_of(design))
        return design

    def edits_with_tidy_layout(self, design: Design, edits: list) -> list:
        """Append a re-layout to ``edits`` when ``design`` is laid out tidily now (keeps it tidy)."""
        if not same_positions(design, self.layout_of(design)):
            return edits
        trial = design.copy()
        apply_edits(trial, edits)
        return [*edits, SetPositions(self.layout_of(trial))]
