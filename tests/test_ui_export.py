"""File ▸ Export and File ▸ Import in the app: real files, trained weights kept, errors shown."""

from __future__ import annotations

import textwrap

import pytest
import torch
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from convviz.design import InputSpec
from convviz.export import load_checkpoint
from convviz.model import build_model
from convviz.ui.export_actions import ImportDialog


def wait_idle(window, qtbot):
    qtbot.waitUntil(lambda: not window.export_actions.tasks.busy, timeout=60000)
    qtbot.wait(20)


def test_export_menu_writes_a_checkpoint_with_the_trained_weights(window, qtbot, tmp_path, monkeypatch):
    trained = build_model(window.document.design).state_dict()
    trained["conv1.weight"].fill_(0.25)
    window.document.set_weights(trained, ([0.5], [0.25]), {"epochs": 3})
    window.editing.select_node("conv3")
    window.inspector.editors["out_channels"].spin.setValue(32)  # conv3, bn3, fc change shape
    target = tmp_path / "model.pt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_actions.export_menu.actions()[0].trigger()
    wait_idle(window, qtbot)
    checkpoint = load_checkpoint(target)
    assert checkpoint.design == window.document.design
    assert torch.all(checkpoint.state_dict["conv1.weight"] == 0.25)
    assert checkpoint.preprocessing.mean == [0.5]
    assert checkpoint.training["epochs"] == 3 and checkpoint.training["untrained_nodes"] == ["bn3", "conv3", "fc"]
    assert "Exported model.pt (trained weights, except bn3, conv3, fc (changed since training))" in window.statusBar().currentMessage()


def test_export_source_writes_code_and_weights(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "net"), ""))
    window.export_actions.export_dialog(".py")
    wait_idle(window, qtbot)
    assert (tmp_path / "net.py").read_text().count("class ShapesCNN(nn.Module)") == 1
    assert (tmp_path / "net.pt").exists()


def test_export_of_a_broken_design_is_refused_with_the_reason(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    window.document.design.set_inputs("fc", ["gap"])
    window.export_actions.export_dialog(".pt")
    assert shown and "fc" in shown[0]


def test_import_a_module_from_a_python_file(window, qtbot, tmp_path, monkeypatch):
    source = tmp_path / "net.py"
    source.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        import torch.nn.functional as F

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3, padding=1)
                self.fc = nn.Linear(4 * 8 * 8, 3)

            def forward(self, x):
                x = F.relu(self.conv(x))
                return self.fc(torch.flatten(x, 1))
    """))
    monkeypatch.setattr(ImportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(ImportDialog, "values", lambda self: (source, "Tiny", InputSpec(1, 8, 8)))
    window.document.undo_stack.setClean()
    window.export_actions.import_dialog()
    wait_idle(window, qtbot)
    design = window.document.design
    assert [n.type for n in design] == ["Input", "Conv2d", "ReLU", "Flatten", "Linear"]
    assert window.document.weights is not None and "conv.weight" in window.document.weights
    assert window.document.analysis.ok and window.isWindowModified()


def test_import_dialog_reads_class_names_without_running_the_file(qtbot, tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os\nos.makedirs('should_not_exist')\nclass A:\n    pass\nclass B(A):\n    pass\n")
    dialog = ImportDialog(None, str(source))
    qtbot.addWidget(dialog)
    assert [dialog.class_name.itemText(i) for i in range(dialog.class_name.count())] == ["A", "B"]
    assert not (tmp_path / "should_not_exist").exists()


def test_export_a_torchrun_training_script(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    window.export_actions.training_script_dialog()
    qtbot.waitUntil(lambda: bool(shown), timeout=60000)
    assert (tmp_path / "train_shapes_cnn.py").exists() and (tmp_path / "shapes_cnn_init.pt").exists()
    assert "torchrun --nproc_per_node=N train_shapes_cnn.py" in shown[0]
    assert "only torch, numpy and Pillow" in shown[0] and "slurm_shapes_cnn.sbatch" in shown[0]
    assert (tmp_path / "convviz_runtime" / "data").is_dir()
    # No trained weights: the starting checkpoint says so, and the model's docstring names it.
    assert not load_checkpoint(tmp_path / "shapes_cnn_init.pt").trained
    assert '"shapes_cnn_init.pt"' in (tmp_path / "shapes_cnn_model.py").read_text()


def test_onnx_export_asks_the_opset_and_carries_the_normalisation(window, qtbot, tmp_path, monkeypatch):
    pytest.importorskip("onnxscript")
    import json

    import onnx

    from convviz.ui import export_actions

    window.document.set_weights(build_model(window.document.design).state_dict(), ([0.5], [0.25]), {"epochs": 1})
    target = tmp_path / "net.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    asked = []

    def answer(dialog):
        asked.append((dialog.opset.minimum(), dialog.opset.maximum(), dialog.opset.value()))
        dialog.opset.setValue(18)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(export_actions.OnnxOptionsDialog, "exec", answer)
    window.export_actions.export_dialog(".onnx")
    wait_idle(window, qtbot)
    lowest, highest, shown = asked[0]
    assert lowest <= 18 <= highest and lowest <= shown <= highest
    proto = onnx.load(target)
    assert 18 in [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["mean"]) == [0.5] and json.loads(meta["std"]) == [0.25]
    assert json.loads(meta["classes"]) == list(window.document.design.classes)
    # The choice is remembered for the next export.
    window.export_actions.export_dialog(".onnx")
    wait_idle(window, qtbot)
    assert asked[1][2] == 18


def test_cancelling_the_opset_writes_nothing(window, tmp_path, monkeypatch):
    pytest.importorskip("onnxscript")
    from convviz.ui import export_actions

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "net.onnx"), ""))
    monkeypatch.setattr(export_actions.OnnxOptionsDialog, "exec", lambda dialog: QDialog.DialogCode.Rejected)
    window.export_actions.export_dialog(".onnx")
    assert not window.export_actions.tasks.busy and not (tmp_path / "net.onnx").exists()


@pytest.mark.parametrize("frozen, words", [(False, 'pip install "convviz[onnx]"'),
                                           (True, "standalone app is built without the ONNX exporter")])
def test_without_the_onnx_exporter_the_app_says_why_and_what_to_do(window, monkeypatch, frozen, words):
    import sys

    from convviz.ui import export_actions

    monkeypatch.setattr(export_actions, "onnx_available", lambda: False)
    if frozen:
        monkeypatch.setattr(sys, "frozen", True, raising=False)
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text, *a: shown.append(text))
    window.export_actions.export_dialog(".onnx")
    assert len(shown) == 1 and words in shown[0]
    assert "convviz export model.pt --to model.onnx" in shown[0] or not frozen


def test_the_import_question_lists_design_wide_problems_apart_from_the_parts():
    """A design-level issue read "• : the imported design has errors…" among the parts without a layer."""
    from convviz.export.fx_import import ImportIssue
    from convviz.ui.export_actions import import_question

    issues = [ImportIssue("mul", "torch.mul", "only the product of two layer outputs is supported"),
              ImportIssue("", "", "the imported design has errors: fc: in_features")]
    text = import_question(issues)
    parts, _, rest = text.partition("The imported design as a whole:")
    assert "• mul: only the product" in parts and "• :" not in text
    assert "• the imported design has errors: fc: in_features" in rest
    only_general = import_question(issues[1:])
    assert "no convviz layer" not in only_general and "placeholder" not in only_general
