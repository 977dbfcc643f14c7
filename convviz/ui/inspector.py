"""The inspector: the selected node's id, parameters (proper editors, catalog limits), its problems
with one-click fixes, and "The math" — every number of the node with its derivation."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..analysis import Fix, NodeAnalysis
from ..analysis.memory import explain_memory, training_memory
from ..analysis.report import network_field_text
from ..analysis.text import grouped, size_in_bytes
from ..i18n import N_, tr
from ..design import Change, InputSpec, id_problem, layer_spec
from ..design.heads import head_of, with_auxiliary, with_main, with_weight, without
from .commands import RenameNodeCommand, SetClassesCommand, SetHeadsCommand, SetInputSpecCommand, SetParamCommand
from .document import Document
from .icons import layer_icon
from .param_editors import ParamEditor, make_editor, show_int
from .steady_geometry import FigureRows
from .theme import ERROR, WARNING

_NOTHING = object()

#: How derivations are grouped under "The math" (titles translated where shown).
MATH_SECTIONS = (
    (N_("Output size"), ("shape", "H_out", "W_out", "C_out", "features", "stride")),
    (N_("Parameters"), ("params",)),
    (N_("Cost"), ("MACs",)),
    (N_("Receptive field"), ("RF",)),
    (N_("Memory"), ("activation",)),
    (N_("Notes"), ("note",)),
)


class InspectorPanel(QScrollArea):
    #: The user renamed the selected node (the selection follows).
    renamed = Signal(str)

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        document.designChanged.connect(self._on_design_changed)
        document.analysisChanged.connect(self._on_analysis_changed)
        document.designReplaced.connect(lambda: self.show_node(None))
        self.show_node(None)

    # --- building ---------------------------------------------------------------------------------
    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id if node_id in self.document.design else None
        # Widgets of the previous page are gone with it: forget them.
        self.editors: dict[str, ParamEditor] = {}
        self.head_weight: QDoubleSpinBox | None = None
        self.head_kind = self._head_kind(node_id) if node_id in self.document.design else "none"
        self.input_spins: dict[str, QSpinBox] = {}
        self.classes_edit = None
        self.problems: QVBoxLayout | None = None
        self._shown = _NOTHING  # what "The math" and the problems show: none yet on a new page
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.layout_.setAlignment(Qt.AlignmentFlag.AlignTop)
        if self.node_id is None:
            self._build_design_overview()
        else:
            self._build_node(self.node_id)
        self.setWidget(body)

    def _build_design_overview(self) -> None:
        design = self.document.design
        title = QLabel(f"<h3>{html.escape(design.name)}</h3>" + html.escape(tr(
            "Select a layer to edit it. Drag layers from the palette; drag from a layer's bottom port to "
            "another's top port to connect them.")))
        title.setWordWrap(True)
        self.layout_.addWidget(title)
        self._add_input_editors()
        self.totals = FigureRows()
        self.layout_.addWidget(self.totals)
        self._refresh_math()

    def _build_node(self, node_id: str) -> None:
        node = self.document.design.node(node_id)
        spec = layer_spec(node.type)
        header = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(layer_icon(node.type).pixmap(32, 32))
        header.addWidget(icon)
        title = QLabel(f"<b style='font-size:14pt'>{node.type}</b><br>{html.escape(tr(spec.summary))}", wordWrap=True)
        header.addWidget(title, 1)
        self.layout_.addLayout(header)
        if spec.formula:
            formula = QLabel(f"<i>{html.escape(spec.formula)}</i>", wordWrap=True)
            self.layout_.addWidget(formula)

        self.problems = QVBoxLayout()
        self.layout_.addLayout(self.problems)

        form_box = QGroupBox(tr("Layer"))
        form = QFormLayout(form_box)
        self.id_edit = QLineEdit(node.id)
        self.id_edit.setToolTip("<p>" + html.escape(tr("The node id: the submodule's name in PyTorch (model.<id>), a "
                                                       "Python identifier.")) + "</p>")  # rich: "<id>" is no tag
        self.id_edit.editingFinished.connect(self._on_id_edited)
        self.id_error = QLabel(wordWrap=True)
        self.id_error.setStyleSheet(f"color: {ERROR.name()}")
        self.id_error.hide()
        form.addRow(tr("Id"), self.id_edit)
        form.addRow("", self.id_error)
        if node.type == "Input":
            self._add_input_editors(form)
        for param in spec.params:
            editor = make_editor(param)
            editor.setToolTip(f"<b>{param.name}</b>: {html.escape(tr(param.doc))}"
                              + ("" if param.required else "<br>" + html.escape(
                                  tr("PyTorch's default: {value}").format(value=repr(param.default)))))
            editor.committed.connect(lambda value, name=param.name: self._on_param(name, value))
            self.editors[param.name] = editor
            label = QLabel(param.name)
            label.setToolTip(editor.toolTip())
            form.addRow(label, editor)
        self.layout_.addWidget(form_box)
        self._add_head_box(node_id)

        math_box = QGroupBox(tr("The math"))
        math_layout = QVBoxLayout(math_box)
        self.math = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        math_layout.addWidget(self.math)
        self.layout_.addWidget(math_box)
        self._refresh_values()
        self._refresh_math()

    def _add_head_box(self, node_id: str) -> None:
        """Output heads: the main head and auxiliary ones with their loss weights (GoogLeNet's classifiers).
        Offered on a head, and on a layer that ends a branch of its own (a sink) giving a vector of scores."""
        design, analysis = self.document.design, self.document.analysis
        head = head_of(design, node_id)
        result = analysis.nodes.get(node_id)
        is_sink = node_id in design.sinks() and node_id != analysis.output
        scores = result is not None and result.output_shape is not None and len(result.output_shape) == 1
        if head is None and not (is_sink and scores):
            return
        box = QGroupBox(tr("Output head"))
        form = QFormLayout(box)
        if head is None:
            note = QLabel(tr("This layer's output is not used. Make it an auxiliary head: training adds its loss, "
                             "times a weight, to the main one's (inference uses the main head only)."), wordWrap=True)
            form.addRow(note)
            add = QPushButton(tr("Make it an auxiliary head"))
            add.clicked.connect(lambda: self._set_heads(with_auxiliary(design, node_id, analysis.output),
                                                        tr("Make {node} an auxiliary head").format(node=node_id)))
            form.addRow(add)
        elif design.heads and design.heads[0].node == node_id:
            form.addRow(QLabel(tr("The main head: accuracy, Explain and export use it."), wordWrap=True))
        else:
            self.head_weight = QDoubleSpinBox(decimals=3, singleStep=0.05, minimum=0.0, maximum=100.0,
                                              keyboardTracking=False)
            self.head_weight.setValue(head.loss_weight)
            self.head_weight.setToolTip(tr("Training minimises the main head's loss plus each auxiliary head's "
                                           "times its weight (GoogLeNet: 0.3)."))
            self.head_weight.valueChanged.connect(  # a spin box's steps: one undo step, analysed once a frame
                lambda value: self.document.push(SetHeadsCommand(
                    self.document, with_weight(self.document.design, node_id, value),
                    tr("Change the loss weight of {node}").format(node=node_id), weight_of=node_id), live=True))
            form.addRow(tr("Loss weight"), self.head_weight)
            row = QHBoxLayout()
            main = QPushButton(tr("Make it the main head"))
            main.clicked.connect(lambda: self._set_heads(with_main(design, node_id),
                                                         tr("Make {node} the main head").format(node=node_id)))
            drop = QPushButton(tr("Not a head"))
            drop.clicked.connect(lambda: self._set_heads(without(design, node_id),
                                                         tr("Remove the head {node}").format(node=node_id)))
            row.addWidget(main)
            row.addWidget(drop)
            form.addRow(row)
        self.layout_.addWidget(box)

    def _head_kind(self, node_id: str) -> str:
        heads = self.document.design.heads
        if not any(h.node == node_id for h in heads):
            return "none"
        return "main" if heads[0].node == node_id else "auxiliary"

    def _set_heads(self, heads, text: str) -> None:
        self.document.push(SetHeadsCommand(self.document, heads, text))

    def _add_input_editors(self, form: QFormLayout | None = None) -> None:
        design = self.document.design
        if form is None:
            box = QGroupBox(tr("Input"))
            form = QFormLayout(box)
            self.layout_.addWidget(box)
        for key, label in (("channels", tr("Channels")), ("height", tr("Height")), ("width", tr("Width"))):
            spin = QSpinBox(minimum=1, maximum=8192, keyboardTracking=False)
            show_int(spin, getattr(design.input, key))
            spin.valueChanged.connect(self._on_input_shape)
            self.input_spins[key] = spin
            form.addRow(label, spin)
        self.classes_edit = QLineEdit()
        show_classes(self.classes_edit, design.classes)
        self.classes_edit.setPlaceholderText(tr("class names, comma-separated (optional)"))
        self.classes_edit.editingFinished.connect(self._on_classes)
        form.addRow(tr("Classes"), self.classes_edit)

    # --- refreshing -------------------------------------------------------------------------------
    def _on_design_changed(self, change: Change) -> None:
        if change.kind == "rename" and self.node_id == change.node_ids[0]:
            self.node_id = change.node_ids[1]
        if self.node_id is not None and self.node_id not in self.document.design:
            self.show_node(None)
            return
        if change.kind == "structure" and self.node_id is None:
            return
        if change.kind == "meta" and self.node_id is None:
            self.show_node(None)  # the overview's name and input follow an undone edit
            return
        if self.node_id is not None and self._head_kind(self.node_id) != self.head_kind:
            # Made a head, or no longer one: the page is rebuilt once the signal that changed it has returned.
            QTimer.singleShot(0, lambda: self.show_node(self.node_id))
            return
        self._refresh_values()

    def _on_analysis_changed(self, analysis) -> None:
        if self.node_id is not None and self.node_id not in self.document.design:
            return
        self._refresh_math()

    def _refresh_values(self) -> None:
        design = self.document.design
        for key, spin in self.input_spins.items():
            show_int(spin, getattr(design.input, key))
        classes = getattr(self, "classes_edit", None)
        if self.input_spins and classes is not None and not classes.hasFocus():  # undo of a class-name edit
            show_classes(classes, design.classes)
        if self.node_id is None:
            return
        node = design.node(self.node_id)
        if self.id_edit.text() != node.id:
            self.id_edit.setText(node.id)
        resolved = node.resolved_params()
        for name, editor in self.editors.items():
            editor.set_value(resolved[name])
        head = head_of(design, self.node_id)
        if self.head_weight is not None and head is not None:
            self.head_weight.blockSignals(True)  # an undo shows the weight it restored
            self.head_weight.setValue(head.loss_weight)
            self.head_weight.blockSignals(False)

    def _refresh_math(self) -> None:
        analysis = self.document.analysis
        if self.node_id is None:
            rows = [(tr("Parameters"), grouped(analysis.params)), ("MACs", grouped(analysis.macs)),
                    (tr("Activations"), tr("{size} per image").format(size=size_in_bytes(analysis.activation_bytes))),
                    (tr("Receptive field"), network_field_text(analysis)  # (none while the design has errors)
                     + (tr(" (one unit of the last feature map)") if analysis.ok else ""))]
            if analysis.ok:  # what training (Adam, float32) and the Explain tab will need
                train = training_memory(self.document.design, analysis)
                rows += [(tr("Memory to train"), tr("{fixed} + {per_image} per image").format(
                             fixed=size_in_bytes(train.fixed), per_image=size_in_bytes(train.per_image))),
                         (tr("Memory to explain"),
                          size_in_bytes(explain_memory(self.document.design, analysis).total))]
            self.totals.show_rows(rows)
            return
        result = analysis.nodes.get(self.node_id)
        if result is self._shown or result == self._shown:
            return  # an edit elsewhere: this layer's numbers are as shown
        self._shown = result
        self._refresh_problems(result)
        self.math.setText(math_html(result))

    def _refresh_problems(self, result: NodeAnalysis | None) -> None:
        if self.problems is None:
            return
        while self.problems.count():
            item = self.problems.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if result is None:
            return
        for issue in [*result.errors, *result.warnings]:
            color = ERROR if issue.severity == "error" else WARNING
            frame = QFrame()
            frame.setStyleSheet(f"QFrame {{ border: 1px solid {color.name()}; border-radius: 4px; }}"
                                "QLabel { border: none; }")
            box = QVBoxLayout(frame)
            kind = tr("Error:") if issue.severity == "error" else tr("Warning:")
            text = QLabel(f"<b style='color:{color.name()}'>{kind}</b> {html.escape(issue.message)}<br>"
                          f"{html.escape(issue.hint)}", wordWrap=True)
            box.addWidget(text)
            if issue.fix is not None:
                button = FixButton(tr("Fix: {label}").format(label=self.document.fix_label(issue.fix, result.id)))
                button.clicked.connect(lambda _=False, fix=issue.fix: self.apply_fix(fix))
                box.addWidget(button)
            self.problems.addWidget(frame)
        if result.blocked_by:
            label = QLabel(html.escape(tr("Blocked: waiting for {node}, which has an error.")).format(
                node=f"<b>{html.escape(result.blocked_by)}</b>"), wordWrap=True)
            self.problems.addWidget(label)

    # --- edits ------------------------------------------------------------------------------------
    def apply_fix(self, fix: Fix) -> None:
        self.document.apply_fix(fix)

    def _on_param(self, name: str, value) -> None:
        node = self.document.design.node(self.node_id)
        if node.resolved_params().get(name) == value and name in node.params:
            return
        # Live: a spin box held down or wheeled is analysed at most once a frame (Document.push).
        self.document.push(SetParamCommand(self.document, self.node_id, name, value), live=True)

    def _on_id_edited(self) -> None:
        new = self.id_edit.text().strip()
        if new == self.node_id:
            self.id_error.hide()
            return
        problem = id_problem(new) or (tr("{name} is already taken").format(name=repr(new))
                                      if new in self.document.design else None)
        if problem:
            self.id_error.setText(problem)
            self.id_error.show()
            return
        self.id_error.hide()
        self.document.push(RenameNodeCommand(self.document, self.node_id, new))
        self.renamed.emit(new)

    def _on_input_shape(self) -> None:
        spec = InputSpec(*(self.input_spins[k].value() for k in ("channels", "height", "width")))
        if spec != self.document.design.input:
            self.document.push(SetInputSpecCommand(self.document, spec), live=True)

    def _on_classes(self) -> None:
        classes = [c.strip() for c in self.classes_edit.text().split(",") if c.strip()]
        if classes != self.document.design.classes:
            self.document.push(SetClassesCommand(self.document, classes))


class FixButton(QPushButton):
    """A fix's button: its label (what it does and gives) wraps to the inspector's width instead of
    widening the inspector past its dock."""

    def __init__(self, text: str, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel(text, wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        self.setToolTip(text)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def text(self) -> str:
        return self.label.text()

    def sizeHint(self):
        return self.label.sizeHint().grownBy(self.layout().contentsMargins())

    def minimumSizeHint(self):
        return self.label.minimumSizeHint().grownBy(self.layout().contentsMargins())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        margins = self.layout().contentsMargins()
        return self.label.heightForWidth(width - margins.left() - margins.right()) + margins.top() + margins.bottom()


def show_classes(edit: QLineEdit, classes: list[str]) -> None:
    """The names from the first one on (not scrolled to the end), all of them in the tooltip."""
    edit.setText(", ".join(classes))
    edit.setCursorPosition(0)
    edit.setToolTip("\n".join(f"{i}: {name}" for i, name in enumerate(classes)) or tr("no class names"))


def math_html(result: NodeAnalysis | None) -> str:
    """The node's derivations, grouped, as rich text."""
    if result is None:
        return ""
    if not result.valid:
        return "<i>" + html.escape(tr("No numbers until the problem above is fixed.")) + "</i>"
    sections = []
    for title, quantities in MATH_SECTIONS:
        lines = [d.text for d in result.derivations if d.quantity in quantities]
        if quantities == ("params",) and not lines:
            lines = [tr("params = 0 (no weights)")]
        if lines:
            # A zero-width space after each "·" lets long products wrap in a narrow inspector.
            body = "<br>".join(html.escape(line).replace("·", "·\u200b") for line in lines)
            sections.append(f"<b>{html.escape(tr(title))}</b><br><span style='font-family:monospace'>{body}</span>")
    return "<br><br>".join(sections)
