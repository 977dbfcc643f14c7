"""The main window: palette | canvas | inspector, summary and issues below, menus, files, recovery."""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QStyle,
    QTabWidget,
    QToolBar,
    QWidget,
)

from ..analysis.report import network_field_text
from ..analysis.text import compact
from ..atomic import remove_stale_temporaries
from ..design import (
    FAMILIES,
    TEMPLATES,
    Design,
    DesignFileError,
    InputSpec,
    Node,
    layer_spec,
    load_design,
    load_template,
    template_title,
    types_in_family,
)
from ..design.edits import InsertAfter, SetPositions, apply_edits
from ..design.fragments import MIME_TYPE, copy_fragment, paste_fragment
from ..design.layout import auto_layout
from ..design.templates import template_design
from ..i18n import N_, ntr, tr
from ..messages import first_line
from .canvas import DesignScene, DesignView
from .card import CARD_SPACING, HEIGHT, WIDTH
from .commands import AddNodesCommand, EditsCommand, MoveNodesCommand, RemoveNodesCommand, SetInputsCommand
from . import import_gate
from .device_probe import DeviceProbe
from .document import Document
from .drops import dropped_file, is_design_file, is_image_file
from .export_actions import ExportActions
from .file_dialogs import ask_open_path, ask_save_path
from .gc_guard import collect_on_gui_thread, hold_collections_while
from .icons import layer_icon
from .inspector import InspectorPanel
from .issues_panel import IssuesPanel
from .language import LanguageMenu, plain_label
from .palette import PalettePanel
from .recovery import RecoveredWork, RecoveryStore, default_recovery_dir
from .runs.controller import RunsController
from .runs.location import runs_folder
from .settings import add_recent_file, app_settings, clear_recent_files, recent_files
from .shortcuts import key_sequences, shortcut_text
from .summary_panel import SummaryPanel

AUTOSAVE_MS = 5000
SPACING = CARD_SPACING
DEFAULT_ASPECT = 1.6
#: The canvas's height in pixels in a 1600×1000 window, until the window is shown.
DEFAULT_VIEW_HEIGHT = 676.0
#: What the mouse does, for Help ▸ Keyboard Shortcuts.
MOUSE_ROWS = [(N_("Zoom"), N_("wheel")), (N_("Pan"), N_("middle button, or Space + drag")),
              (N_("Connect"), N_("drag from a bottom port to a layer")),
              (N_("Disconnect"), N_("drag an edge's end off its port"))]


def file_filter() -> str:
    """The Open dialog's file types."""
    return tr("convviz designs and trained models (*.json *.pt);;Designs (*.json);;Trained models (*.pt);;"
              "All files (*)")


def same_positions(design: Design, layout: dict[str, tuple[float, float]]) -> bool:
    return all(node.pos is not None and abs(node.pos[0] - layout[node.id][0]) < 1
               and abs(node.pos[1] - layout[node.id][1]) < 1 for node in design)


class MainWindow(QMainWindow):
    #: A tab built on first view (its index): its imports (torch, pyqtgraph) have just loaded.
    lazyTabBuilt = Signal(int)

    def __init__(self, design: Design | None = None, recovery_dir: Path | None = None,
                 persistent: bool = True, path: Path | None = None, runs_dir: Path | None = None) -> None:
        """``path``: the file ``design`` was read from (Save writes there). ``persistent``: remember
        the window's layout and recent files in the user's settings (off for screenshots and
        benchmarks, which must leave the user's settings as they are). ``runs_dir``: the run store's
        folder (default: ``CONVVIZ_RUNS``, else the user's data folder)."""
        super().__init__()
        collect_on_gui_thread()   # before any training, recording or task thread can collect Qt objects
        self.persistent = persistent
        self.view_aspect = DEFAULT_ASPECT  # until the window has a size
        self.view_height = DEFAULT_VIEW_HEIGHT
        self.document = Document(self.laid_out(design or template_design("default")), path, parent=self)
        self.scene = DesignScene(self.document, self)
        self.view = DesignView(self.scene)
        self.palette_panel = PalettePanel()
        self.inspector = InspectorPanel(self.document)
        self.summary = SummaryPanel(self.document)
        self.issues = IssuesPanel(self.document)
        self.recovery = RecoveryStore(recovery_dir or default_recovery_dir())
        #: The run store's side in the app (opened on first use): runs, lineage, overlays, deletions.
        self.runs = RunsController(self.document, runs_folder(runs_dir), self)
        self._edits_since_autosave = 0

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.view, tr("Design"))
        self._lazy_tabs: dict[int, object] = {}
        self.tabs.currentChanged.connect(self._on_tab_changed)
        #: Called when the window closes (after the user agreed): stop training runs, background work.
        self.shutdown_hooks: list = []
        #: Asked before the design is dropped (closing, New, Open, a template): False keeps it (a run
        #: training that the user does not want stopped).
        self.discard_guards: list = []
        QCoreApplication.instance().aboutToQuit.connect(self._shut_down)
        #: The Explain tab's panel once it has been shown (None before: torch is not loaded yet).
        self.explain_panel = None
        self._docks_hidden_by_tab: list[QDockWidget] = []
        self._designer_layout = QByteArray()
        self.train_tab = self.add_lazy_tab(tr("Train"), self._make_train_panel)
        self.explain_tab = self.add_lazy_tab(tr("Explain"), self._build_explain_panel)
        self.setAcceptDrops(True)
        self.setCentralWidget(self.tabs)
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()

        self.scene.selectionChanged.connect(self._on_canvas_selection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.scene.problem.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.summary.nodeActivated.connect(self.select_node)
        self.issues.nodeActivated.connect(self.select_node)
        self.issues.countChanged.connect(self._on_issue_count)
        self.inspector.renamed.connect(lambda new: self.select_node(new))
        self.palette_panel.appendRequested.connect(self.append_layer)
        self.document.undo_stack.cleanChanged.connect(self._update_title)
        self.document.fileChanged.connect(self._update_title)
        self.document.weightsChanged.connect(self._update_title)
        self.document.designChanged.connect(self._on_design_changed)
        self.document.analysisChanged.connect(self._update_totals)
        self.document.designReplaced.connect(self._on_design_replaced)
        self.document.editRefused.connect(self._on_edit_refused)

        self.autosave_timer = QTimer(self, interval=AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.device_probe = DeviceProbe(self)
        self.device_probe.found.connect(self._on_device_found)
        #: The device training will use, once the probe has found it (None before).
        self.device: str | None = None
        self._probe_started = False

        self.resize(1600, 1000)
        if persistent:
            self._restore_window_state()
        self._update_title()
        self._update_totals(self.document.analysis)
        QTimer.singleShot(0, self.view.fit_all)

    # --- construction -----------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.palette_dock = self._dock(tr("Layers"), self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea,
                                       "palette")
        self.inspector_dock = self._dock(tr("Inspector"), self.inspector, Qt.DockWidgetArea.RightDockWidgetArea,
                                         "inspector")
        self.summary_dock = self._dock(tr("Summary"), self.summary, Qt.DockWidgetArea.BottomDockWidgetArea,
                                       "summary")
        self.issues_dock = self._dock(tr("Issues"), self.issues, Qt.DockWidgetArea.BottomDockWidgetArea, "issues")
        self.tabifyDockWidget(self.summary_dock, self.issues_dock)
        self.summary_dock.raise_()
        self.resizeDocks([self.palette_dock, self.inspector_dock], [self.palette_panel.content_width(), 360],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.summary_dock], [210], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", canvas_only: bool = False,
                icon: QStyle.StandardPixmap | None = None) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.triggered.connect(slot)
        if shortcut is not None:
            self._with_keys(action, shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{plain_label(text)} ({action.shortcut().toString()})"
                              if shortcut else tip)
        if canvas_only:  # single-key shortcuts must not fire while typing in a field
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(action)
        return action

    def _with_keys(self, action: QAction, name: str) -> None:
        """Bind the keys of ``name`` (``shortcuts.SHORTCUTS``); Help lists the action under its name as
        it reads now (Undo and Redo rename themselves after the command)."""
        action.setShortcuts(key_sequences(name))
        action.setProperty("help_label", plain_label(action.text()))
        self.shortcut_actions.append(action)

    def _build_actions(self) -> None:
        stack = self.document.undo_stack
        P = QStyle.StandardPixmap
        #: Every action with a keyboard shortcut, in menu order: Help ▸ Keyboard Shortcuts lists them.
        self.shortcut_actions: list[QAction] = []
        self.new_action = self._action(tr("&New"), self.new_design, "new", tr("Start a new design"), icon=P.SP_FileIcon)
        self.open_action = self._action(tr("&Open…"), self.open_dialog, "open", tr("Open a design file"),
                                        icon=P.SP_DialogOpenButton)
        self.save_action = self._action(tr("&Save"), self.save, "save", tr("Save the design"),
                                        icon=P.SP_DialogSaveButton)
        self.save_as_action = self._action(tr("Save &As…"), self.save_as, "save_as", tr("Save under a new name"))
        self.quit_action = self._action(tr("&Quit"), self.close, "quit")
        self.undo_action = self._undo_action(stack, redo=False)
        self._with_keys(self.undo_action, "undo")
        self.undo_action.setIcon(self.style().standardIcon(P.SP_ArrowBack))
        self.redo_action = self._undo_action(stack, redo=True)
        self.redo_action.setIcon(self.style().standardIcon(P.SP_ArrowForward))
        self._with_keys(self.redo_action, "redo")
        # The toolbar says "Undo"/"Redo" (the menu names the step): a button whose width followed each
        # edit's name would re-lay the toolbar out, and jump, on every edit.
        self.undo_action.setIconText(tr("Undo"))
        self.redo_action.setIconText(tr("Redo"))
        self.copy_action = self._action(tr("&Copy"), self.copy_selection, "copy", canvas_only=True)
        self.cut_action = self._action(tr("Cu&t"), self.cut_selection, "cut", canvas_only=True)
        self.paste_action = self._action(tr("&Paste"), self.paste, "paste", canvas_only=True)
        self.duplicate_action = self._action(tr("&Duplicate"), self.duplicate_selection, "duplicate",
                                             tr("Copy the selected layers beside them"), canvas_only=True)
        self.delete_action = self._action(tr("&Delete"), self.delete_selection, "delete",
                                          tr("Delete the selected layers and edges"), canvas_only=True)
        self.select_all_action = self._action(tr("Select &All"), self._select_all, "select_all", canvas_only=True)
        self.rename_action = self._action(tr("&Rename…"), self._focus_rename, "rename",
                                          tr("Rename the selected layer"))
        self.fit_action = self._action(tr("&Fit to View"), self.view.fit_all, "fit", tr("Show the whole design"),
                                       canvas_only=True)
        self.layout_action = self._action(tr("Auto-&Layout"), self.auto_layout, "layout",
                                          tr("Arrange top to bottom, branches side by side"), canvas_only=True)
        self.zoom_in_action = self._action(tr("Zoom &In"), lambda: self.view.zoom_by(1), "zoom_in")
        self.zoom_out_action = self._action(tr("Zoom &Out"), lambda: self.view.zoom_by(-1), "zoom_out")
        self.zoom_reset_action = self._action(tr("&Actual Size"), lambda: self.view.set_zoom(1.0), "zoom_reset")
        self.shade_group = QActionGroup(self)
        self.shade_actions = {}
        for mode, label in (("family", tr("By Layer Family")), ("macs", tr("By Share of MACs")),
                            ("params", tr("By Share of Parameters"))):
            action = QAction(label, self, checkable=True, checked=mode == "family")
            action.triggered.connect(lambda _=False, m=mode: self.set_shade_mode(m))
            self.shade_group.addAction(action)
            self.shade_actions[mode] = action

    def _undo_action(self, stack, redo: bool) -> QAction:
        """Edit ▸ Undo / Redo, named after the command they would undo or redo (in the language's word
        order: "&Undo Set padding", "패딩 설정 실행 취소(&U)")."""
        action = QAction(self)

        def name(command: str) -> None:
            if redo:
                action.setText(tr("&Redo {command}").format(command=command) if command else tr("&Redo"))
            else:
                action.setText(tr("&Undo {command}").format(command=command) if command else tr("&Undo"))

        name("")
        action.setEnabled(stack.canRedo() if redo else stack.canUndo())
        action.triggered.connect(stack.redo if redo else stack.undo)
        (stack.canRedoChanged if redo else stack.canUndoChanged).connect(action.setEnabled)
        (stack.redoTextChanged if redo else stack.undoTextChanged).connect(name)
        return action

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("&File"))
        file_menu.addActions([self.new_action, self.open_action])
        self.recent_menu = file_menu.addMenu(tr("Open &Recent"))
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.templates_menu = file_menu.addMenu(tr("&Templates"))
        for name, line in TEMPLATES.items():
            action = self.templates_menu.addAction(template_title(name))
            action.setData(name)
            action.setStatusTip(tr(line))
            action.setToolTip(tr(line))
            action.triggered.connect(lambda _=False, n=name: self.open_template(n))
        self.templates_menu.setToolTipsVisible(True)
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.export_actions = ExportActions(self)
        self.export_actions.build_menus(file_menu, before=self.quit_action)
        file_menu.insertSeparator(self.quit_action)
        self.file_menu = file_menu

        edit = bar.addMenu(tr("&Edit"))
        edit.addActions([self.undo_action, self.redo_action])
        edit.addSeparator()
        edit.addActions([self.cut_action, self.copy_action, self.paste_action, self.duplicate_action,
                         self.delete_action])
        edit.addSeparator()
        edit.addActions([self.select_all_action, self.rename_action])

        view = bar.addMenu(tr("&View"))
        view.addActions([self.fit_action, self.layout_action, self.zoom_in_action, self.zoom_out_action,
                         self.zoom_reset_action])
        shade = view.addMenu(tr("&Colour Layers"))
        shade.addActions(list(self.shade_actions.values()))
        view.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.summary_dock, self.issues_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.language_menu = LanguageMenu(self, persistent=self.persistent)
        view.addMenu(self.language_menu)

        help_menu = bar.addMenu(tr("&Help"))
        help_menu.addAction(tr("&Keyboard Shortcuts"), self._show_shortcuts)
        help_menu.addAction(tr("&About convviz"), self._show_about)

        tools = QToolBar(tr("Main"), self)
        tools.setObjectName("main_toolbar")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.addActions([self.new_action, self.open_action, self.save_action])
        tools.addSeparator()
        tools.addActions([self.undo_action, self.redo_action])
        tools.addSeparator()
        tools.addActions([self.fit_action, self.layout_action])
        tools.addSeparator()
        tools.addWidget(QLabel(" " + tr("Colour:") + " "))
        self.shade_combo = QComboBox()
        self.shade_combo.addItems([tr("layer family"), tr("share of MACs"), tr("share of parameters")])
        self.shade_combo.setToolTip(tr("Shade layers by where the computation and the weights are"))
        self.shade_combo.currentIndexChanged.connect(lambda i: self.set_shade_mode(("family", "macs", "params")[i]))
        tools.addWidget(self.shade_combo)
        self.addToolBar(tools)
        self.toolbar = tools

    def _build_status_bar(self) -> None:
        self.totals_label = QLabel()
        self.device_label = QLabel(tr("device: loading torch…"))
        self.device_label.setToolTip(tr("The device training will use (found once torch has loaded)"))
        self.statusBar().addPermanentWidget(self.totals_label)
        self.statusBar().addPermanentWidget(self.device_label)

    # --- document state ---------------------------------------------------------------------------
    def _update_title(self, *_) -> None:
        unsaved = self.document.weights is not None and not self.document.weights_saved
        mark = tr(" (trained weights not saved: File ▸ Export)") if unsaved else ""
        self.setWindowTitle(f"{self.document.display_name}[*]{mark} — convviz")
        self.setWindowModified(self.document.is_modified)
        if not self.document.is_modified:
            self.recovery.clear()

    def _update_totals(self, analysis) -> None:
        shape = "×".join(map(str, analysis.output_shape)) if analysis.output_shape else "—"
        state = "" if analysis.ok else "  ·  ⚠ " + tr("has errors")
        self.totals_label.setText(tr("{params} params · {macs} MACs · RF {field} · output {shape}").format(
            params=compact(analysis.params), macs=compact(analysis.macs), field=network_field_text(analysis),
            shape=shape) + state)

    def _on_device_found(self, text: str) -> None:
        self.device = text
        self.device_label.setText(text)

    def _on_issue_count(self, errors: int, warnings: int) -> None:
        if errors:
            label = ntr("Issues ({count} error)", "Issues ({count} errors)", errors).format(count=errors)
        elif warnings:
            label = ntr("Issues ({count} warning)", "Issues ({count} warnings)", warnings).format(count=warnings)
        else:
            label = tr("Issues")
        self.issues_dock.setWindowTitle(label)

    def _on_design_changed(self, change) -> None:
        self._edits_since_autosave += 1
        if change.kind == "rename":  # an undone rename changes the selected node's id under the views
            self._on_canvas_selection()

    def _on_design_replaced(self) -> None:
        self._edits_since_autosave = 0
        self.view.fit_all()

    # --- tabs -------------------------------------------------------------------------------------
    def add_lazy_tab(self, title: str, factory) -> int:
        """A tab whose widget is built on first view: its imports (pyqtgraph, torch) stay off start-up."""
        index = self.tabs.addTab(QWidget(), title)
        self._lazy_tabs[index] = factory
        return index

    def _make_train_panel(self) -> QWidget:
        held = import_gate.hold()  # torch's background import waits until the tab has painted
        from .train import TrainPanel

        panel = TrainPanel(self)
        import_gate.release_when_painted(panel, held)
        return panel

    def tab_widget(self, index: int) -> QWidget:
        """The real widget of tab ``index``, building it if it has not been shown yet."""
        factory = self._lazy_tabs.pop(index, None)
        if factory is not None:
            title = self.tabs.tabText(index)
            widget = factory()
            self.tabs.blockSignals(True)
            current = self.tabs.currentIndex()
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, title)
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            self.lazyTabBuilt.emit(index)
        return self.tabs.widget(index)

    def _on_tab_changed(self, index: int) -> None:
        """The designer's docks belong to the Design tab; Train and Explain get the whole window."""
        if index in self._lazy_tabs:
            self.tab_widget(index)
        self._size_by_current_tab(index)
        self._show_designer_docks(index)

    def _size_by_current_tab(self, index: int) -> None:
        """A tab widget is as large as its largest page: the Explain panel's minimum width would
        squeeze the designer's docks for good once it has been built. Hidden pages ignore their
        size hints, so the window's layout follows the page that is shown."""
        for i in range(self.tabs.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.tabs.widget(i).setSizePolicy(policy, policy)

    def _show_designer_docks(self, index: int) -> None:
        """The palette, summary and issues serve the canvas: other tabs get their room while shown.
        The inspector stays beside Explain (it explains the selected layer there too), not beside Train."""
        for dock in self._docks_hidden_by_tab:
            dock.show()
        if self._docks_hidden_by_tab:
            self.summary_dock.raise_()
            # Docks shown again come back at default sizes, and the inspector was squeezed beside
            # Explain: the layout the user left on the Design tab is restored as it was.
            self.restoreState(self._designer_layout)
        self._docks_hidden_by_tab = []
        if index == self.tabs.indexOf(self.view):
            return
        docks = [self.palette_dock, self.summary_dock, self.issues_dock]
        if index == self.train_tab:
            docks.append(self.inspector_dock)
        self._docks_hidden_by_tab = [d for d in docks if not d.isHidden()]  # the window may not be shown yet
        if self._docks_hidden_by_tab:
            self._designer_layout = self.saveState()
        for dock in self._docks_hidden_by_tab:
            dock.hide()

    def _build_explain_panel(self) -> QWidget:
        from .explain.panel import ExplainPanel  # pyqtgraph and torch: only when the tab is first shown

        panel = ExplainPanel(self.document)
        panel.nodeActivated.connect(self._on_explain_node)
        ids = self.scene.selected_node_ids()
        panel.follow_node(ids[0] if len(ids) == 1 else None)
        self.explain_panel = panel
        self.shutdown_hooks.append(panel.shutdown)
        return panel

    def show_explain(self):
        """Switch to the Explain tab (building it on first use) and return its panel."""
        self.tabs.setCurrentIndex(self.explain_tab)
        return self.tab_widget(self.explain_tab)

    def _on_explain_node(self, node_id: str) -> None:
        if node_id in self.scene.nodes and self.scene.selected_node_ids() != [node_id]:
            self.scene.select_nodes([node_id])

    # --- drops ------------------------------------------------------------------------------------
    def _accepts_drop(self, mime) -> bool:
        """A design or model anywhere; an image while the Explain tab is shown."""
        path = dropped_file(mime)
        return path is not None and (is_design_file(path) or
                                     (is_image_file(path) and self.tabs.currentIndex() == self.explain_tab))

    def dragEnterEvent(self, event) -> None:
        if self._accepts_drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not self._accepts_drop(event.mimeData()):
            event.ignore()
            return
        event.acceptProposedAction()
        path = dropped_file(event.mimeData())
        # Later, not inside the drop: a question (save changes?) or loading a model must not hold the
        # application the file came from waiting for the drag to end.
        if is_design_file(path):
            QTimer.singleShot(0, lambda: self.confirm_discard() and self.open_path(path))
        else:
            QTimer.singleShot(0, lambda: self.show_explain().load_image(path))

    # --- selection --------------------------------------------------------------------------------
    def _on_canvas_selection(self) -> None:
        ids = self.scene.selected_node_ids()
        node = ids[0] if len(ids) == 1 else None
        if node != self.inspector.node_id:
            self.inspector.show_node(node)
        self.summary.select_node(node)
        if self.explain_panel is not None:
            self.explain_panel.follow_node(node)

    def select_node(self, node_id: str) -> None:
        if node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.focus_on(self.scene.nodes[node_id].sceneBoundingRect())

    def _select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))

    def _focus_rename(self) -> None:
        if self.inspector.node_id is not None:
            self.tabs.setCurrentIndex(self.tabs.indexOf(self.view))
            self.inspector_dock.show()
            self.inspector_dock.raise_()
            self.inspector.id_edit.setFocus()
            self.inspector.id_edit.selectAll()

    def _on_context_menu(self, pos) -> None:
        """Right-click: what can be done to the layer under the cursor, or on the canvas."""
        scene_pos = self.view.mapToScene(pos)
        item = self.scene.node_at(scene_pos)
        menu = QMenu(self)
        if item is not None:
            if item.node_id not in self.scene.selected_node_ids():
                self.scene.select_nodes([item.node_id])
            result = self.document.analysis.nodes.get(item.node_id)
            for issue in result.errors + result.warnings if result else []:
                if issue.fix is not None:
                    menu.addAction(tr("Fix: {label}").format(label=self.document.fix_label(issue.fix, item.node_id)),
                                   lambda fix=issue.fix: self.document.apply_fix(fix))
            menu.addActions([self.rename_action, self.duplicate_action, self.copy_action, self.cut_action,
                             self.delete_action])
        else:
            add = menu.addMenu(tr("Add Layer"))
            for family in FAMILIES[1:]:
                sub = add.addMenu(tr(family))
                for spec in types_in_family(family):
                    sub.addAction(layer_icon(spec.type), spec.type,
                                  lambda t=spec.type: self.scene.add_layer(t, scene_pos))
            menu.addActions([self.paste_action, self.select_all_action])
            menu.addSeparator()
            menu.addActions([self.layout_action, self.fit_action])
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # --- editing ----------------------------------------------------------------------------------
    def push(self, command) -> bool:
        """Do an edit as one undoable step; a refused one shows in the status bar (``_on_edit_refused``)."""
        return self.document.push(command)

    def _on_edit_refused(self, message: str) -> None:
        self.statusBar().showMessage(tr("Not done: {reason}").format(reason=message), 8000)

    def layout_of(self, design: Design) -> dict[str, tuple[float, float]]:
        """The auto-layout for the canvas as it is now (wrapped into columns only if too deep for it)."""
        view = getattr(self, "view", None)  # not there yet while the first document is made
        if view is not None and view.isVisible() and view.viewport().height() > 50:
            self.view_aspect = self.view.viewport().width() / self.view.viewport().height()
            self.view_height = float(self.view.viewport().height())
        return auto_layout(design, SPACING, self.view_aspect, self.view_height)

    def laid_out(self, design: Design) -> Design:
        """``design`` with every node placed: a design without positions (a template) gets the auto-layout."""
        if any(node.pos is None for node in design):
            design.set_positions(self.layout_of(design))
        return design

    def edits_with_tidy_layout(self, edits: list) -> list:
        """Append a re-layout to ``edits`` when the design is laid out tidily now (keeps it tidy)."""
        design = self.document.design
        if not same_positions(design, self.layout_of(design)):
            return edits
        trial = design.copy()
        apply_edits(trial, edits)
        return [*edits, SetPositions(self.layout_of(trial))]

    def append_layer(self, type_name: str) -> None:
        """Palette double-click: put a new layer after the selected one (or after the output)."""
        design = self.document.design
        selected = self.scene.selected_node_ids()
        after = selected[-1] if selected else self.document.analysis.output
        new_id = design.new_id(type_name)
        if after is None:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            node = Node(new_id, type_name, [], layer_spec(type_name).initial_params(), (centre.x(), centre.y()))
            self.push(AddNodesCommand(self.document, [node]))
        else:
            pos = design.node(after).pos
            below = (pos[0] + 30, pos[1] + HEIGHT + 40) if pos else None
            edits = self.edits_with_tidy_layout([InsertAfter(after, type_name, None, new_id, below)])
            self.push(EditsCommand(self.document, tr("Append {type} after '{node}'").format(type=type_name, node=after),
                                   edits))
        self.select_node(new_id)

    def delete_selection(self) -> None:
        nodes = self.scene.selected_node_ids()
        edges = [e.key for e in self.scene.selected_edges() if e.source.node_id not in nodes
                 and e.target.node_id not in nodes]
        if not nodes and not edges:
            return
        stack = self.document.undo_stack
        stack.beginMacro(ntr("Delete {count} layer", "Delete {count} layers", len(nodes)).format(count=len(nodes))
                         if len(nodes) > 1 else tr("Delete '{node}'").format(node=nodes[0]) if nodes
                         else tr("Disconnect"))
        for target in dict.fromkeys(t for t, _ in edges):
            indexes = {i for t, i in edges if t == target}
            inputs = [s for i, s in enumerate(self.document.design.node(target).inputs) if i not in indexes]
            stack.push(SetInputsCommand(self.document, target, inputs,
                                        tr("Disconnect into '{node}'").format(node=target)))
        removal = RemoveNodesCommand(self.document, nodes) if nodes else None
        if removal is not None:
            stack.push(removal)
        stack.endMacro()
        if removal is not None and removal.note:
            self.statusBar().showMessage(removal.note, 10000)

    def copy_selection(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        text = copy_fragment(self.document.design, ids)
        data = QMimeData()
        data.setData(MIME_TYPE, text.encode())
        data.setText(text)
        QGuiApplication.clipboard().setMimeData(data)
        self.statusBar().showMessage(ntr("Copied {count} layer", "Copied {count} layers", len(ids)).format(
            count=len(ids)), 3000)
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        text = bytes(data.data(MIME_TYPE)).decode() if data.hasFormat(MIME_TYPE) else data.text()
        self._insert_fragment(text, duplicate=False)

    def duplicate_selection(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._insert_fragment(copy_fragment(self.document.design, ids), duplicate=True)

    def _insert_fragment(self, text: str, duplicate: bool) -> None:
        try:
            nodes = paste_fragment(self.document.design, text, offset=(WIDTH / 2 + 30, 50))
        except DesignFileError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        if not nodes:
            return
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        nodes = [n if n.pos is not None else Node(n.id, n.type, n.inputs, n.params, (centre.x(), centre.y()))
                 for n in nodes]
        if duplicate:
            name = ntr("Duplicate {count} layer", "Duplicate {count} layers", len(nodes))
        else:
            name = ntr("Paste {count} layer", "Paste {count} layers", len(nodes))
        if self.push(AddNodesCommand(self.document, nodes, name.format(count=len(nodes)))):
            self.scene.select_nodes([n.id for n in nodes])

    def auto_layout(self) -> None:
        design = self.document.design
        after = self.layout_of(design)
        if same_positions(design, after):
            self.view.fit_all()
            return
        self.push(MoveNodesCommand(self.document, {n.id: n.pos for n in design}, after, tr("Auto-layout")))
        self.view.fit_all()

    def set_shade_mode(self, mode: str) -> None:
        self.scene.set_shade_mode(mode)
        self.shade_actions[mode].setChecked(True)
        index = ("family", "macs", "params").index(mode)
        if self.shade_combo.currentIndex() != index:
            self.shade_combo.setCurrentIndex(index)

    # --- files ------------------------------------------------------------------------------------
    def open_design(self, design: Design, path: Path | None, modified: bool = False) -> None:
        self.document.replace(self.laid_out(design), path, modified)
        if path is not None:
            self._remember_file(path)

    def new_design(self) -> None:
        if not self.confirm_discard():
            return
        design = Design(tr("Untitled"), InputSpec(1, 32, 32))
        design.add_node("Input", "input", pos=(0.0, 0.0))
        self.open_design(design, None)

    def open_template(self, name: str) -> None:
        if self.confirm_discard():
            self.open_design(template_design(name), None)

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = ask_open_path(self, tr("Open design"), file_filter(), "designs", self.document.path)
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path, on_error=None) -> bool:
        """Open a design file or a trained checkpoint (.pt); a bad file shows why (``on_error``, else a
        message box) and changes nothing."""
        try:
            if path.suffix.lower() == ".pt":
                from ..export import CheckpointError, load_checkpoint  # torch: only when a model is opened

                QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # a large model takes a moment
                try:
                    checkpoint = load_checkpoint(path)
                except CheckpointError as exc:
                    raise DesignFileError(str(exc)) from None
                finally:
                    QGuiApplication.restoreOverrideCursor()
            else:
                design = load_design(path)
        except (DesignFileError, MemoryError, RecursionError) as exc:
            return self._cannot_open(path, first_line(exc), on_error)
        except Exception as exc:  # noqa: BLE001 — a reader's bug: said in one line, the design shown stays
            return self._cannot_open(path, tr("{path}: unexpected {kind}: {reason}").format(
                path=path.name, kind=type(exc).__name__, reason=first_line(exc)), on_error)
        if path.suffix.lower() != ".pt":
            self.open_design(design, path)
            return True
        # A checkpoint opens as an unsaved design (Save writes JSON) carrying its trained weights.
        self.open_design(checkpoint.design, None)
        self._remember_file(path)
        if not checkpoint.trained:
            self.statusBar().showMessage(tr("Opened {name}: its weights are initial ones, not trained").format(
                name=path.name), 8000)
            return True
        pre = checkpoint.preprocessing
        self.document.set_weights(checkpoint.state_dict, (pre.mean, pre.std) if pre.mean else None,
                                  checkpoint.training, saved=True, origin=str(path))
        self.statusBar().showMessage(tr("Opened {name} with its trained weights").format(name=path.name), 5000)
        return True

    def _cannot_open(self, path: Path, message: str, on_error) -> bool:
        if on_error is not None:
            on_error(message)
        else:
            QMessageBox.warning(self, tr("Cannot open"), message)
        return False

    def open_run(self, run_id: str) -> bool:
        """A recorded run's design with the weights it ended with, as a new unsaved document (the Runs
        panel's double-click); its results become the Train tab's current ones."""
        from ..runs import RunStoreError

        if not self.confirm_discard():
            return False
        try:
            detail = self.runs.detail(run_id)
            weights = self.runs.store.weights(run_id, "last")
        except (RunStoreError, AttributeError) as exc:
            self.statusBar().showMessage(tr("Cannot open the run: {why}").format(why=exc), 8000)
            return False
        from ..runs.export import checkpoint_training

        self.open_design(detail.design.copy(), None, modified=True)
        self.runs.adopt_lineage(detail.summary.lineage)
        training = {**checkpoint_training(detail, self.runs.curves(run_id), "last"), "run": run_id}
        self.document.set_weights(weights, (detail.mean, detail.std) if detail.mean else None, training)
        panel = self.tab_widget(self.train_tab)
        panel.show_stored_run(run_id)
        self.statusBar().showMessage(tr("Opened {run} with the weights it ended with").format(
            run=detail.summary.label), 6000)
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = self.document.path or f"{self.document.design.name or 'design'}.json"
        path = ask_save_path(self, tr("Save design"), suggested, tr("convviz designs (*.json)"), ".json", "designs")
        return path is not None and self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except OSError as exc:
            QMessageBox.warning(self, tr("Cannot save"), f"{path}: {exc.strerror or exc}")
            return False
        self._remember_file(path)
        self.statusBar().showMessage(tr("Saved {path}").format(path=path), 4000)
        return True

    def _remember_file(self, path: Path) -> None:
        if self.persistent:
            add_recent_file(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = recent_files()
        for path in files:
            action = self.recent_menu.addAction(path.name)
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.confirm_discard() and self.open_path(p))
        if not files:
            self.recent_menu.addAction(tr("(none)")).setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(tr("Clear"), clear_recent_files)

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current design (saved, or the user says so; a run in flight
        stops only if the user agrees)."""
        if not all(guard() for guard in list(self.discard_guards)):
            return False
        if not self.document.is_modified:
            return True
        answer = QMessageBox.question(
            self, tr("Unsaved changes"), tr("Save the changes to {name}?").format(name=self.document.display_name),
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # --- recovery ---------------------------------------------------------------------------------
    def autosave(self) -> None:
        if self.document.is_modified and self._edits_since_autosave:
            try:
                self.recovery.save(self.document.design, self.document.path)
                self._edits_since_autosave = 0
            except OSError as exc:
                self.statusBar().showMessage(tr("Autosave failed: {reason}").format(reason=exc.strerror or exc), 8000)

    def clean_interrupted_saves(self) -> None:
        """At start: remove what saves killed midway left beside the recent files (their temporary
        files; the recovery folder cleans its own)."""
        for path in recent_files() if self.persistent else []:
            remove_stale_temporaries(path.parent, path.name)

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest unsaved work left behind. True if it was restored."""
        orphans = self.recovery.orphans()
        if self.recovery.newer:
            count = len(self.recovery.newer)
            self.statusBar().showMessage(ntr(
                "Kept {count} recovery file written by a newer convviz in {folder} (open it with that version)",
                "Kept {count} recovery files written by a newer convviz in {folder} (open them with that version)",
                count).format(count=count, folder=self.recovery.folder), 15000)
        if not orphans:
            return False
        work = orphans[0]
        restore = self.ask_to_recover(work)
        RecoveryStore.discard_file(work.file)
        if restore:
            self.open_design(work.design, work.original_path, modified=True)
            self._edits_since_autosave = 1
            self.autosave()
        return restore

    def ask_to_recover(self, work: RecoveredWork) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(work.saved_at)) if work.saved_at else tr("an unknown time")
        name = work.original_path.name if work.original_path else work.design.name
        answer = QMessageBox.question(
            self, tr("Recover unsaved work?"),
            tr("convviz did not close properly last time. Recover the unsaved changes to “{name}” from {when}?").format(
                name=name, when=when),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        if self.persistent:
            self._show_designer_docks(self.tabs.indexOf(self.view))  # the saved layout is the designer's
            settings = app_settings()
            settings.setValue("window/geometry", self.saveGeometry())
            settings.setValue("window/state", self.saveState())
        self._shut_down()
        self.recovery.close()
        self.autosave_timer.stop()
        event.accept()

    def _shut_down(self) -> None:
        """Closing the window, or quitting the app with it open: each hook (stop training, drop
        pending explain work) runs once; then the runs deleted in this session go for good."""
        hooks, self.shutdown_hooks = self.shutdown_hooks, []
        for hook in hooks:
            hook()
        self.runs.shutdown()

    def _restore_window_state(self) -> None:
        settings = app_settings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # --- startup ----------------------------------------------------------------------------------
    def start_device_probe(self) -> None:
        if not self._probe_started:
            self._probe_started = True
            # The probe imports torch: its objects are frozen once it is in, not walked meanwhile.
            hold_collections_while(self.device_probe, self.device_probe.found)
            self.device_probe.start()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Help ▸ Keyboard Shortcuts: every action's name and the keys bound to it (read from the
        actions, so the list is what works), then what the mouse does."""
        rows = [(a.property("help_label"), shortcut_text(a.shortcuts())) for a in self.shortcut_actions]
        rows.append((tr("Paste an image (Explain tab)"), shortcut_text(key_sequences("paste"))))
        rows += [(tr(a), tr(b)) for a, b in MOUSE_ROWS]
        return rows

    def _show_shortcuts(self) -> None:
        QMessageBox.information(self, tr("Keyboard shortcuts"), "<table>" + "".join(
            f"<tr><td><b>{html.escape(a)}</b>&nbsp;&nbsp;</td><td>{html.escape(b)}</td></tr>"
            for a, b in self.shortcut_rows()) + "</table>")

    def _show_about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, tr("About convviz"), f"<b>convviz {__version__}</b><br>"
                          + html.escape(tr("Design, train and understand convolutional neural networks.")))

