"""The main window: palette | canvas | inspector, summary and issues below, the Train and Explain
tabs, menus and toolbar. It builds the window and wires the controllers that do the work: files
(``FileController``), editing (``EditController``), the canvas's view (``ViewController``), export
and import (``ExportActions``), Help (``HelpMenu``) and the language (``LanguageMenu``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSizePolicy, QTabWidget, QToolBar, QWidget

from ..analysis.report import network_field_text
from ..analysis.text import compact
from ..design import Design
from ..design.templates import template_design
from ..i18n import ntr, tr
from .actions import ActionMaker
from .canvas import DesignScene, DesignView
from . import import_gate
from .canvas_layout import CanvasLayout
from .device_probe import DeviceProbe
from .document import Document
from .drops import dropped_file, is_design_file, is_image_file
from .edit_controller import EditController
from .export_actions import ExportActions
from .file_controller import FileController
from .gc_guard import collect_on_gui_thread, hold_collections_while
from .help_menu import HelpMenu
from .inspector import InspectorPanel
from .issues_panel import IssuesPanel
from .language import LanguageMenu
from .layout_settling import LayoutsBeforePaint
from .palette import PalettePanel
from .recovery import RecoveryStore, default_recovery_dir
from .runs.controller import RunsController
from .runs.location import runs_folder
from .settings import app_settings
from .steady_geometry import LayoutBarrier, SteadyLabel, SteadyToolButton, unwrapped
from .summary_panel import SummaryPanel
from .view_controller import ViewController


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
        self._layouts_before_paint = LayoutsBeforePaint(self)
        self.installEventFilter(self._layouts_before_paint)  # one paint per edit, with the layouts settled
        self.canvas_layout = CanvasLayout()
        self.document = Document(self.canvas_layout.laid_out(design or template_design("default")), path,
                                 parent=self)
        self.scene = DesignScene(self.document, self)
        self.view = DesignView(self.scene)
        self.canvas_layout.view = self.view
        self.palette_panel = PalettePanel()
        self.inspector = InspectorPanel(self.document)
        self.summary = SummaryPanel(self.document)
        self.issues = IssuesPanel(self.document)
        #: The run store's side in the app (opened on first use): runs, lineage, overlays, deletions.
        self.runs = RunsController(self.document, runs_folder(runs_dir), self)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.view, tr("Design"))
        self._lazy_tabs: dict[int, object] = {}
        self.tabs.currentChanged.connect(self._on_tab_changed)
        #: Called when the window closes (after the user agreed): stop training runs, background work.
        self.shutdown_hooks: list = []
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
        self._build_controllers(RecoveryStore(recovery_dir or default_recovery_dir()))
        self._build_menus_and_toolbar()
        self._build_status_bar()

        self.scene.selectionChanged.connect(self._on_canvas_selection)
        self.scene.problem.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.summary.nodeActivated.connect(self.editing.select_node)
        self.issues.nodeActivated.connect(self.editing.select_node)
        self.issues.countChanged.connect(self._on_issue_count)
        self.inspector.renamed.connect(lambda new: self.editing.select_node(new))
        self.palette_panel.appendRequested.connect(self.editing.append_layer)
        self.document.undo_stack.cleanChanged.connect(self._update_title)
        self.document.fileChanged.connect(self._update_title)
        self.document.weightsChanged.connect(self._update_title)
        self.document.designChanged.connect(self._on_design_changed)
        self.document.analysisChanged.connect(self._update_totals)
        self.document.designReplaced.connect(self._on_design_replaced)

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

    def _build_controllers(self, recovery: RecoveryStore) -> None:
        status = self.statusBar()
        #: Makes every menu action; Help lists the ones with keys.
        self.action_maker = ActionMaker(self, self.view)
        self.files = FileController(self.document, self, status, self.action_maker, self.canvas_layout, recovery,
                                    self.runs, self._show_stored_run, self.persistent)
        #: What the Train tab asks before a design is dropped (a run training): ``FileController.discard_guards``.
        self.discard_guards = self.files.discard_guards
        self.quit_action = self.action_maker.action(tr("&Quit"), self.close, "quit")
        self.viewing = ViewController(self.scene, self.view, self, self.action_maker)
        self.editing = EditController(self.document, self.scene, self.view, self, status, self.action_maker,
                                      self.canvas_layout, self._focus_rename, self.viewing.fit_action)
        self.export_actions = ExportActions(self.document, self.files, self)

    def _build_menus_and_toolbar(self) -> None:
        files, editing, viewing = self.files, self.editing, self.viewing
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("&File"))
        files.build_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.export_actions.build_menus(file_menu, before=self.quit_action)
        file_menu.insertSeparator(self.quit_action)
        self.file_menu = file_menu

        editing.build_menu(bar.addMenu(tr("&Edit")))

        view = bar.addMenu(tr("&View"))
        self.tab_actions = [self.action_maker.action(label, lambda _=False, i=index: self.show_tab(i), name)
                            for label, index, name in ((tr("&Design"), self.tabs.indexOf(self.view), "show_design"),
                                                       (tr("&Train"), self.train_tab, "show_train"),
                                                       (tr("E&xplain"), self.explain_tab, "show_explain"))]
        view.addActions(self.tab_actions)
        view.addSeparator()
        view.addActions([viewing.fit_action, editing.layout_action, viewing.zoom_in_action, viewing.zoom_out_action,
                         viewing.zoom_reset_action])
        shade = view.addMenu(tr("&Colour Layers"))
        shade.addActions(list(viewing.shade_actions.values()))
        view.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.summary_dock, self.issues_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.language_menu = LanguageMenu(self, persistent=self.persistent)
        view.addMenu(self.language_menu)

        self.help_menu = HelpMenu(self, self.action_maker)
        bar.addMenu(self.help_menu)

        tools = QToolBar(tr("Main"), self)
        tools.setObjectName("main_toolbar")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tools.addActions([files.new_action, files.open_action, files.save_action])
        tools.addSeparator()
        for action in (editing.undo_action, editing.redo_action):
            tools.addWidget(SteadyToolButton(action, tools))
        tools.addSeparator()
        tools.addActions([viewing.fit_action, editing.layout_action])
        tools.addSeparator()
        tools.addWidget(QLabel(" " + tr("Colour:") + " "))
        tools.addWidget(viewing.shade_combo)
        self.addToolBar(tools)
        self.toolbar = tools

    def _build_status_bar(self) -> None:
        self.totals_label = SteadyLabel(alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
        if change.kind == "rename":  # an undone rename changes the selected node's id under the views
            self._on_canvas_selection()

    def _on_design_replaced(self) -> None:
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
            self.tabs.insertTab(index, LayoutBarrier(widget), title)
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            self.lazyTabBuilt.emit(index)
        return unwrapped(self.tabs.widget(index))

    def _on_tab_changed(self, index: int) -> None:
        """The designer's docks belong to the Design tab; Train and Explain get the whole window."""
        if index in self._lazy_tabs:
            self.tab_widget(index)
        self._size_by_current_tab(None)  # while docks come and go no page may push the window wider
        self._show_designer_docks(index)
        self._size_by_current_tab(index)

    def _size_by_current_tab(self, index: int | None) -> None:
        """A tab widget is as large as its largest page: the Explain panel's minimum width would
        squeeze the designer's docks for good once it has been built. Hidden pages ignore their
        size hints, so the window's layout follows the page that is shown (None: no page)."""
        for i in range(self.tabs.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.tabs.widget(i).setSizePolicy(policy, policy)

    def _show_designer_docks(self, index: int) -> None:
        """The palette, summary and issues serve the canvas: other tabs get their room while shown.
        The inspector stays beside Explain (it explains the selected layer there too), not beside Train.
        Docks leave before any comes back: Explain → Train showed the designer's docks beside the
        Train page for a moment, and the window grew past the screen (1307 px at 1280)."""
        if index == self.tabs.indexOf(self.view):
            for dock in self._docks_hidden_by_tab:
                dock.show()
            if self._docks_hidden_by_tab:
                self.summary_dock.raise_()
                # Docks shown again come back at default sizes, and the inspector was squeezed beside
                # Explain: the layout the user left on the Design tab is restored as it was.
                self.restoreState(self._designer_layout)
            self._docks_hidden_by_tab = []
            return
        kept = [self.inspector_dock] if index == self.explain_tab else []
        leaving = [d for d in (self.palette_dock, self.summary_dock, self.issues_dock, self.inspector_dock)
                   if d not in kept and not d.isHidden()]  # the window may not be shown yet
        if leaving and not self._docks_hidden_by_tab:
            self._designer_layout = self.saveState()  # the Design tab's, not another tab's
        for dock in leaving:
            dock.hide()
        returning = [d for d in self._docks_hidden_by_tab if d in kept]
        for dock in returning:
            dock.show()
        self._docks_hidden_by_tab = [d for d in self._docks_hidden_by_tab if d not in returning] + leaving

    def _build_explain_panel(self) -> QWidget:
        from .explain.panel import ExplainPanel  # pyqtgraph and torch: only when the tab is first shown

        panel = ExplainPanel(self.document)
        panel.nodeActivated.connect(self._on_explain_node)
        ids = self.scene.selected_node_ids()
        panel.follow_node(ids[0] if len(ids) == 1 else None)
        self.explain_panel = panel
        self.shutdown_hooks.append(panel.shutdown)
        return panel

    def show_tab(self, index: int) -> None:
        """View ▸ Design / Train / Explain (Ctrl+1…3): that tab, built on first use."""
        self.tabs.setCurrentIndex(index)

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
            QTimer.singleShot(0, lambda: self.files.confirm_discard() and self.files.open_path(path))
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

    def _focus_rename(self) -> None:
        """Edit ▸ Rename: the inspector's name field, on the Design tab."""
        if self.inspector.node_id is not None:
            self.tabs.setCurrentIndex(self.tabs.indexOf(self.view))
            self.inspector_dock.show()
            self.inspector_dock.raise_()
            self.inspector.id_edit.setFocus()
            self.inspector.id_edit.selectAll()

    # --- what the Train tab asks of the window -------------------------------------------------------
    def open_run(self, run_id: str) -> bool:
        """The Runs panel's double-click: ``FileController.open_run``."""
        return self.files.open_run(run_id)

    def _show_stored_run(self, run_id: str) -> None:
        self.tab_widget(self.train_tab).show_stored_run(run_id)

    # --- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_discard():
            event.ignore()
            return
        if self.persistent:
            self._show_designer_docks(self.tabs.indexOf(self.view))  # the saved layout is the designer's
            settings = app_settings()
            settings.setValue("window/geometry", self.saveGeometry())
            settings.setValue("window/state", self.saveState())
        self._shut_down()
        self.files.close()
        event.accept()

    def _shut_down(self) -> None:
        """Closing the window, or quitting the app with it open: each hook (stop training, drop
        pending explain work) runs once; then the runs deleted in this session go for good."""
        hooks, self.shutdown_hooks = self.shutdown_hooks, []
        for hook in hooks:
            hook()
        self.runs.shutdown()

    def show_fitted(self) -> None:
        """Show the window; maximised where its size does not fit the screen's free area (1600×1000 on a
        1366×768 laptop hid the inspector past the screen's edge)."""
        room = self.screen().availableGeometry()
        if self.width() > room.width() or self.height() > room.height():
            self.setGeometry(room)  # (where no window manager maximises it)
            self.showMaximized()
        else:
            self.show()

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
