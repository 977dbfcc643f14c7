"""File ▸ Export and File ▸ Import: the export core behind dialogs, in a worker, with progress and errors.

Exports take the document's trained weights where they still fit the design (layers edited since
training start fresh, seeded, so two exports of one design agree) and its normalisation.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..design import InputSpec
from ..i18n import N_, ntr, tr
from ..reading import read_text
from .file_dialogs import ask_folder, ask_open_path, ask_save_path
from .settings import app_settings
from .tasks import TaskRunner
from .theme import WARNING

#: Menu text for each export format (the extension decides the format in the core; translated where shown).
EXPORT_MENU = {
    ".pt": N_("PyTorch &Checkpoint (.pt)…"),
    ".py": N_("PyTorch &Source (.py + weights)…"),
    ".pt2": N_("torch.&export Program (.pt2)…"),
    ".onnx": N_("&ONNX Model (.onnx)…"),
}


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxscript"))


def onnx_absence() -> str:
    """Why ONNX export is not offered here, and what to do instead, in the user's words."""
    if getattr(sys, "frozen", False):  # the standalone app (PyInstaller) is built without the exporter
        return tr("This standalone app is built without the ONNX exporter (onnx and onnxscript). Export a "
                  "checkpoint (.pt) here, then convert it where convviz is installed with pip:\n\n"
                  "    pip install \"convviz[onnx]\"\n    convviz export model.pt --to model.onnx")
    return tr("ONNX export needs the onnx and onnxscript packages:\n\n    pip install \"convviz[onnx]\"\n\n"
              "Restart convviz after installing them.")


#: QSettings key of the last ONNX opset chosen.
ONNX_OPSET_KEY = "export/onnxOpset"


def import_question(issues, shown: int = 20) -> str:
    """The import dialog's question: the parts of the module without a convviz layer (each a placeholder),
    and apart from them the problems of the design as a whole (an issue naming no node)."""
    parts = [issue for issue in issues if issue.node]
    general = [issue for issue in issues if not issue.node]
    text = []
    if parts:
        listing = "\n".join(f"• {issue.node}: {issue.reason}" for issue in parts[:shown])
        more = "\n" + ntr("… and {count} more", "… and {count} more", len(parts) - shown).format(
            count=len(parts) - shown) if len(parts) > shown else ""
        text.append(tr("These parts of the module have no convviz layer:\n\n{listing}{more}").format(
            listing=listing, more=more))
    if general:
        text.append(tr("The imported design as a whole:\n\n{listing}").format(
            listing="\n".join(f"• {issue.reason}" for issue in general)))
    question = tr("Import the rest, with a placeholder for each? Placeholders are errors to replace with layers "
                  "that compute the same: until then the design cannot be trained or exported.") if parts else \
        tr("Import it anyway? Until these are fixed the design cannot be trained or exported.")
    return "\n\n".join([*text, question])


class OnnxOptionsDialog(QDialog):
    """The ONNX opset to write: the exporter's default, or an older one for an older runtime."""

    def __init__(self, parent: QWidget, lowest: int, highest: int, default: int | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("ONNX export"))
        self.default = default
        self.opset = QSpinBox(minimum=lowest, maximum=highest)
        remembered = app_settings().value(ONNX_OPSET_KEY)
        start = int(remembered) if str(remembered or "").isdigit() else (default or highest)
        self.opset.setValue(min(max(start, lowest), highest))
        note = QLabel(tr("Opset {default} is the exporter's default. A runtime older than the file's opset "
                         "cannot read it: choose the newest your runtime reads.").format(default=default or highest))
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(tr("Opset version"), self.opset)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> int:
        app_settings().setValue(ONNX_OPSET_KEY, self.opset.value())
        return self.opset.value()


def export_document(path: Path, design, weights, normalization, training: dict,
                    opset: int | None = None) -> tuple[list[Path], str]:
    """Runs in a worker: the document's model (trained weights where they fit) written to ``path``."""
    from ..export import export_to
    from ..export.checkpoint import Preprocessing, fitted_weights

    state, untrained = fitted_weights(design, weights)
    info = dict(training)
    if weights:
        info["untrained_nodes"] = untrained
    pre = Preprocessing(*(normalization or ([], [])))
    paths = export_to(path, design, state, preprocessing=pre, training=info, opset=opset)
    if not weights:
        what = tr("freshly initialised weights")
    elif untrained:
        what = tr("trained weights, except {nodes} (changed since training)").format(nodes=", ".join(untrained))
    else:
        what = tr("trained weights")
    return paths, what


def export_training_script(folder: Path, design, weights, config) -> list[Path]:
    """Runs in a worker: the torchrun script, the model and its starting weights (trained where they fit)."""
    from ..export.checkpoint import fitted_weights
    from ..export.training_script import write_training_script

    state, _ = fitted_weights(design, weights, seed=config.seed)
    return write_training_script(folder, design, state, config, seed=config.seed)


def import_module_file(path: Path, class_name: str, spec: InputSpec):
    from ..export.fx_import import import_python_file

    return import_python_file(path, class_name, spec)


#: The import dialog's one warning: importing runs the file (the class is built to be traced).
RUNS_CODE_NOTE = N_("Importing runs this Python file: building the class executes its code. Import only files "
                    "you trust.")


def classes_in(path: Path) -> list[str]:
    """Class names defined at the top of a Python file, read without running it (a regular file of at
    most 16 MiB: typing the name of a pipe here must not freeze the window)."""
    try:
        tree = ast.parse(read_text(path, 16 << 20, ValueError, tr("a Python file")))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)]


class ImportDialog(QDialog):
    """Python file, class name (read from the file) and the input shape to trace with."""

    def __init__(self, parent: QWidget, start: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Import an nn.Module"))
        self.file = QLineEdit(start)
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._on_browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        self.class_name = QComboBox(editable=True)
        self.file.editingFinished.connect(self._fill_classes)
        self.shape = [QSpinBox(minimum=1, maximum=8192) for _ in range(3)]
        for spin, value in zip(self.shape, (3, 32, 32)):
            spin.setValue(value)
        shape_row = QHBoxLayout()
        for spin in self.shape:
            shape_row.addWidget(spin)
        form = QFormLayout(self)
        note = QLabel(tr(RUNS_CODE_NOTE), wordWrap=True)
        note.setStyleSheet(f"color: {WARNING.name()}")
        form.addRow(note)
        form.addRow(tr("Python file"), row)
        form.addRow(tr("Class (builds with no arguments)"), self.class_name)
        form.addRow(tr("Input C × H × W"), shape_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._fill_classes()

    def _on_browse(self) -> None:
        path = ask_open_path(self, tr("Python file with an nn.Module"), "Python (*.py)", "code",
                             self.file.text() or None)
        if path is not None:
            self.file.setText(str(path))
            self._fill_classes()

    def _fill_classes(self) -> None:
        current = self.class_name.currentText()
        self.class_name.clear()
        self.class_name.addItems(classes_in(Path(self.file.text())) if self.file.text() else [])
        if current:
            self.class_name.setCurrentText(current)

    def values(self) -> tuple[Path, str, InputSpec]:
        return Path(self.file.text()), self.class_name.currentText().strip(), InputSpec(*(s.value() for s in self.shape))


class ExportActions(QObject):
    def __init__(self, document, files, window) -> None:
        """``document``: what is exported; ``files``: the window's ``FileController`` (an import replaces
        the design as opening a file does); ``window``: the dialogs' parent, whose status bar says the result."""
        super().__init__(window)
        self.document = document
        self.files = files
        self.window = window
        self.tasks = TaskRunner(self)
        self.progress: QProgressDialog | None = None

    def build_menus(self, file_menu: QMenu, before) -> None:
        export = QMenu(tr("&Export"), file_menu)
        for suffix, label in EXPORT_MENU.items():
            label = tr(label)
            action = export.addAction(label, lambda s=suffix: self.export_dialog(s))
            if suffix == ".onnx" and not onnx_available():
                # Left enabled: choosing it explains why there is no exporter and what to do instead.
                action.setText(label.replace("…", "") + tr(" (not installed)…"))
                action.setToolTip(onnx_absence().splitlines()[0])
        export.setToolTipsVisible(True)
        export.addSeparator()
        export.addAction(tr("&Training Script for torchrun (DDP)…"), self.training_script_dialog)
        self.export_menu = export
        imports = QMenu(tr("&Import"), file_menu)
        imports.addAction(tr("nn.Module from a &Python File…"), self.import_dialog)
        file_menu.insertMenu(before, export)
        file_menu.insertMenu(before, imports)

    # --- export -------------------------------------------------------------------------------
    def export_dialog(self, suffix: str) -> None:
        document = self.document
        if suffix == ".onnx" and not onnx_available():
            QMessageBox.information(self.window, tr("ONNX export is not available"), onnx_absence())
            return
        if not document.analysis.ok:
            QMessageBox.warning(self.window, tr("Cannot export"), tr("The design has errors: {error}").format(
                error=document.analysis.first_error()))
            return
        stem = document.path.stem if document.path else (document.design.name or "model").replace(" ", "_")
        path = ask_save_path(self.window, tr("Export"), f"{stem}{suffix}", f"{suffix} (*{suffix})", suffix, "exports")
        if path is None:
            return
        opset = None
        if suffix == ".onnx":
            opset = self.ask_onnx_opset()
            if opset is None:
                return
        self.export(path, opset=opset)

    def ask_onnx_opset(self) -> int | None:
        """The opset for an ONNX export (None: cancelled)."""
        from ..export.program import onnx_opsets

        dialog = OnnxOptionsDialog(self.window, *onnx_opsets())
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        opset = dialog.chosen() if accepted else None
        dialog.deleteLater()
        return opset

    def export(self, path: Path, opset: int | None = None) -> None:
        document = self.document
        self._busy(tr("Exporting {name}…").format(name=path.name))
        key = document.key
        self.tasks.run(export_document, path, document.design.copy(), document.weights, document.normalization,
                       document.training_info, opset, on_done=lambda result: self._on_exported(result, key),
                       on_error=self._on_failed(tr("Export failed")))

    def _on_exported(self, result: tuple[list[Path], str], key=None) -> None:
        self._done()
        paths, what = result
        if any(p.suffix.lower() == ".pt" for p in paths):   # a checkpoint now holds the trained weights
            self.document.mark_weights_saved(key)
        self.window.statusBar().showMessage(tr("Exported {files} ({weights})").format(
            files=", ".join(p.name for p in paths), weights=what), 8000)

    def training_script_dialog(self) -> None:
        """A folder for the script; the Train tab's settings (data, optimiser, augmentation) go into it."""
        from .train.settings_form import remembered_config

        document = self.document
        if not document.analysis.ok:
            QMessageBox.warning(self.window, tr("Cannot export"), tr("The design has errors: {error}").format(
                error=document.analysis.first_error()))
            return
        folder = ask_folder(self.window, tr("Folder for the training script"), "exports")
        if folder is None:
            return
        self._busy(tr("Writing the training script…"))
        self.tasks.run(export_training_script, Path(folder), document.design.copy(), document.weights,
                       remembered_config(), on_done=self._on_script, on_error=self._on_failed(tr("Export failed")))

    def _on_script(self, paths: list[Path]) -> None:
        self._done()
        QMessageBox.information(
            self.window, tr("Training script written"),
            tr("Wrote {files} and convviz_runtime/ into {folder}.\n\n"
               "Train on N GPUs (or CPU processes):\n    torchrun --nproc_per_node=N {script}\n\n"
               "It uses the Train tab's data, settings and augmentation; the batch size is the global one, "
               "shared by the processes. The nodes need only torch, numpy and Pillow (requirements.txt); "
               "{slurm} and {job} start it on Slurm and on Kubernetes (Kubeflow).").format(
                files=", ".join(p.name for p in paths), folder=paths[0].parent, script=paths[-1].name,
                slurm=paths[3].name, job=paths[4].name))

    # --- import -------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        dialog = ImportDialog(self.window)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        path, class_name, spec = dialog.values()
        dialog.deleteLater()
        if not accepted:
            return
        if not self.files.confirm_discard():
            return
        self._busy(tr("Importing {name} from {file}…").format(name=class_name, file=path.name))
        self.tasks.run(import_module_file, path, class_name, spec, on_done=self._on_imported,
                       on_error=self._on_failed(tr("Import failed")))

    def _on_imported(self, result) -> None:
        self._done()
        if result.issues:
            answer = QMessageBox.question(
                self.window, tr("Some operations cannot be imported"), import_question(result.issues),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.files.open_design(result.design, None, modified=True)
        self.document.set_weights(result.state_dict, saved=True)
        notes = "".join(f"; {note}" for note in result.notes)
        self.window.statusBar().showMessage(ntr("Imported {count} layer with its weights",
                                                "Imported {count} layers with their weights",
                                                len(result.design)).format(count=len(result.design)) + notes, 12000)

    # --- progress and errors ------------------------------------------------------------------
    def _busy(self, text: str) -> None:
        self._done()  # one job's dialog at a time
        self.progress = QProgressDialog(text, None, 0, 0, self.window)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.progress.setValue(0)

    def _done(self) -> None:
        if self.progress is not None:
            self.progress.reset()
            self.progress.deleteLater()
            self.progress = None

    def _on_failed(self, title: str):
        def show(message: str) -> None:
            self._done()
            QMessageBox.warning(self.window, title, message)
        return show
