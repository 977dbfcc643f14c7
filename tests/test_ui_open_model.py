"""Opening a trained model reads it in the background: the window stays usable, and what the user
does meanwhile (edit, open something else) is never lost or overwritten without asking."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QMessageBox

from convviz.design import load_template
from convviz.ui import file_controller


@pytest.fixture
def model_file(tmp_path):
    from convviz.export import Checkpoint, Preprocessing, save_checkpoint
    from convviz.model import build_model

    design = load_template("lenet5")
    path = tmp_path / "lenet.pt"
    save_checkpoint(Checkpoint(design, build_model(design).state_dict(), Preprocessing([0.5], [0.25]),
                               training={"epochs": 2}), path)
    return path


@pytest.fixture
def slow_reader(monkeypatch):
    """``read_checkpoint`` held until the test lets it go (``release.set()``)."""
    release = threading.Event()
    real = file_controller.read_checkpoint

    def held(path):
        assert release.wait(30), "the test never let the read go"
        return real(path)

    monkeypatch.setattr(file_controller, "read_checkpoint", held)
    return release


def test_the_window_stays_usable_while_a_model_is_read(window, model_file, slow_reader):
    before = window.document.design
    assert window.files.open_path(model_file)  # returns at once: the read has only started
    assert window.files.opening and window.document.design is before
    assert window.statusBar().currentMessage() == "Opening lenet.pt…"
    window.editing.select_node("conv1")  # the design shown still answers
    assert window.inspector.node_id == "conv1"
    slow_reader.set()
    assert window.files.settle(60) and not window.files.opening
    assert window.document.design.name == "LeNet-5" and window.document.weights is not None
    assert window.document.normalization == ([0.5], [0.25])
    assert "Opened lenet.pt with its trained weights" in window.statusBar().currentMessage()


def test_edits_made_while_reading_are_kept_unless_the_user_drops_them(window, model_file, slow_reader, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (asked.append(a[2]), QMessageBox.StandardButton.Cancel)[1])
    window.files.open_path(model_file)
    window.editing.select_node("conv1")
    window.inspector.editors["out_channels"].spin.setValue(24)  # an edit while the model is read
    slow_reader.set()
    assert window.files.settle(60)
    assert asked and window.document.design.node("conv1").params["out_channels"] == 24  # kept: the user said so
    assert window.document.design.name == "Shapes CNN"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    slow_reader.clear()
    window.files.open_path(model_file)
    window.inspector.editors["out_channels"].spin.setValue(20)
    slow_reader.set()
    assert window.files.settle(60) and window.document.design.name == "LeNet-5"


def test_a_design_opened_while_reading_wins(window, model_file, slow_reader, qtbot):
    window.files.open_path(model_file)
    window.files.open_template("resnet18")  # the user chose something else meanwhile
    assert not window.files.opening
    slow_reader.set()
    window.files.tasks.wait(30000)
    qtbot.wait(100)  # the read's result arrives, and is dropped
    assert window.document.design.name == "ResNet-18" and window.document.weights is None


def test_a_model_that_cannot_be_read_says_why_in_one_line_and_changes_nothing(window, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    before = window.document.design
    errors: list[str] = []
    assert window.files.open_path(bad, on_error=errors.append) and window.files.settle(60)
    assert len(errors) == 1 and "broken.pt" in errors[0] and "\n" not in errors[0]
    assert window.document.design is before and window.statusBar().currentMessage() == ""


def test_a_reader_bug_is_one_line_too(window, model_file, monkeypatch):
    def broken(path):
        raise KeyError("state")

    import convviz.export as export

    monkeypatch.setattr(export, "load_checkpoint", broken)
    errors: list[str] = []
    window.files.open_path(model_file, on_error=errors.append)
    assert window.files.settle(60)
    assert errors == ["lenet.pt: unexpected KeyError: 'state'"]


def test_a_model_too_large_for_the_memory_left_says_so_with_its_name(window, model_file, monkeypatch):
    import convviz.export as export

    def too_large(path):
        raise MemoryError()

    monkeypatch.setattr(export, "load_checkpoint", too_large)
    errors: list[str] = []
    window.files.open_path(model_file, on_error=errors.append)
    assert window.files.settle(60) and len(errors) == 1
    assert errors[0].startswith("lenet.pt: out of memory on the CPU (MemoryError)") and "more memory" in errors[0]
