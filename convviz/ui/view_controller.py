"""The View menu's work on the canvas: fit, zoom, and what the layers are coloured by (the menu's
choices and the toolbar's box, kept in step)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QWidget

from ..i18n import tr
from .actions import ActionMaker
from .canvas import DesignScene, DesignView

#: The shade modes, in the order of the menu and the toolbar's box.
SHADE_MODES = ("family", "macs", "params")


class ViewController(QObject):
    def __init__(self, scene: DesignScene, view: DesignView, window: QWidget, actions: ActionMaker) -> None:
        super().__init__(window)
        self.scene = scene
        self.fit_action = actions.action(tr("&Fit to View"), view.fit_all, "fit", tr("Show the whole design"),
                                         canvas_only=True)
        self.zoom_in_action = actions.action(tr("Zoom &In"), lambda: view.zoom_by(1), "zoom_in")
        self.zoom_out_action = actions.action(tr("Zoom &Out"), lambda: view.zoom_by(-1), "zoom_out")
        self.zoom_reset_action = actions.action(tr("&Actual Size"), lambda: view.set_zoom(1.0), "zoom_reset")
        self.shade_group = QActionGroup(window)
        self.shade_actions: dict[str, QAction] = {}
        for mode, label in zip(SHADE_MODES, (tr("By Layer Family"), tr("By Share of MACs"),
                                             tr("By Share of Parameters"))):
            action = QAction(label, window, checkable=True, checked=mode == "family")
            action.triggered.connect(lambda _=False, m=mode: self.set_shade_mode(m))
            self.shade_group.addAction(action)
            self.shade_actions[mode] = action
        #: The toolbar's "Colour:" box.
        self.shade_combo = QComboBox()
        self.shade_combo.addItems([tr("layer family"), tr("share of MACs"), tr("share of parameters")])
        self.shade_combo.setToolTip(tr("Shade layers by where the computation and the weights are"))
        self.shade_combo.currentIndexChanged.connect(lambda i: self.set_shade_mode(SHADE_MODES[i]))

    def set_shade_mode(self, mode: str) -> None:
        self.scene.set_shade_mode(mode)
        self.shade_actions[mode].setChecked(True)
        index = SHADE_MODES.index(mode)
        if self.shade_combo.currentIndex() != index:
            self.shade_combo.setCurrentIndex(index)
