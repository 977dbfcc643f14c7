"""The hostile corpus (``hostile_files.py``, written by the tests) through every reader and entry point:
the CLI's commands, File ▸ Open, drops, the command-line start, checkpoint and image loading.

Each file must end in the project's one line (``convviz: error: …``, one message where the user
looks) or, for the few legitimate ones, simply work — never a traceback, a hang (a watchdog ends
the run with every thread's stack after two minutes) or a blow-up. The run's counts are printed
at the end of the test session (``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import faulthandler
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

import hostile_files
from convviz.cli import main as cli_main
from hostile_files import Hostile

WATCHDOG_S = 120


@contextmanager
def watchdog(what: str):
    """No input may hang: past ``WATCHDOG_S`` the process prints every thread's stack and exits."""
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def tally(entry: str, outcome: str) -> None:
    hostile_files.TALLY[(entry, outcome)] += 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, list[Hostile]]:
    root = tmp_path_factory.mktemp("hostile")
    return {
        "design": hostile_files.design_files(root / "designs"),
        "image": hostile_files.image_files(root / "images"),
        "checkpoint": hostile_files.checkpoint_files(root / "checkpoints"),
        "mnist": hostile_files.mnist_folders(root / "mnist"),
        "cifar": hostile_files.cifar_archives(root / "cifar"),
        "folder": hostile_files.image_folders(root / "folders"),
    }


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message.strip() and "Traceback" not in message


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    with watchdog(" ".join(map(str, argv))):
        rc = cli_main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def check_cli(entry: Hostile, rc: int, err: str, command: str, works: bool | None) -> None:
    """``works``: the command must succeed (True), must fail (False) or may do either (None); a failure
    is exit status 1 with one ``convviz: error:`` line, never a traceback."""
    if rc == 0:
        assert works is not False, f"{entry.name}: {command} accepted it"
        tally(command, "accepted")
        return
    assert works is not True, f"{entry.name}: refused by {command}: {err}"
    assert rc == 1, f"{entry.name}: {command} exited {rc}: {err}"
    lines = [line for line in err.splitlines() if line.startswith("convviz: error: ")]
    assert len(lines) == 1 and one_line(lines[0]) and "Traceback" not in err, f"{entry.name}: {command}: {err!r}"
    assert len(lines[0]) < 600, f"{entry.name}: {command}: a message of {len(lines[0])} characters"
    tally(command, "one-line errors")


def test_convviz_summary_on_every_hostile_design(corpus, capsys):
    for entry in corpus["design"]:
        rc, out, err = cli(capsys, "summary", entry.path)
        memory = entry.name.endswith("(a memory warning)")
        if memory:
            assert "The largest part is the output of 'conv1' (16×8192×8192): 4 GiB per image" in out, out[-800:]
        # a readable design with errors fails too, in one line naming the first error
        check_cli(entry, rc, err, "convviz summary", True if memory else None if entry.accepted else False)


def test_convviz_explain_on_every_hostile_image_and_checkpoint(corpus, capsys, tmp_path):
    for entry in corpus["image"]:
        out_dir = tmp_path / "out"
        rc, out, err = cli(capsys, "explain", "default", entry.path, "--out", out_dir)
        if rc == 0:  # what it wrote is strict JSON: no NaN from a NaN image
            report = json.loads((out_dir / "predictions.json").read_text(), parse_constant=pytest.fail)
            assert all(p["probability"] is not None for p in report["predictions"]), entry.name
        check_cli(entry, rc, err, "convviz explain IMAGE", entry.accepted)
    image = hostile_files.TEMPLATE.parent.parent / "samples" / "shape_circle.png"
    for entry in corpus["checkpoint"]:
        rc, out, err = cli(capsys, "explain", entry.path, image, "--out", tmp_path / "ck")
        check_cli(entry, rc, err, "convviz explain CHECKPOINT", entry.accepted)


def test_convviz_export_on_every_hostile_checkpoint(corpus, capsys, tmp_path):
    for entry in corpus["checkpoint"]:
        rc, out, err = cli(capsys, "export", entry.path, "--to", tmp_path / "model.py", "--no-weights")
        check_cli(entry, rc, err, "convviz export", entry.accepted)


def test_convviz_train_on_every_hostile_dataset(corpus, capsys, tmp_path, one_torch_thread):
    two_classes = tmp_path / "two.json"
    two_classes.write_text(hostile_files.TEMPLATE.read_text().replace('"out_features": 10', '"out_features": 2'))
    cases = [(e, f"mnist:{e.path}", "default") for e in corpus["mnist"]] \
        + [(e, f"cifar10:{e.path}", "default") for e in corpus["cifar"]] \
        + [(e, f"folder:{e.path}", two_classes) for e in corpus["folder"]]
    for entry, data, design in cases:
        rc, out, err = cli(capsys, "train", design, "--data", data, "--epochs", "1", "--batch-size", "4")
        if entry.accepted:
            assert "skipped 1 unreadable file: " in err and "cut.jpg" in err, err
        check_cli(entry, rc, err, "convviz train --data", entry.accepted)


def test_loading_every_hostile_checkpoint_and_image_directly(corpus):
    from convviz.data.images import ImageError, prepare_image
    from convviz.export import CheckpointError, load_checkpoint

    for entry in corpus["checkpoint"]:
        with watchdog(entry.name):
            try:
                load_checkpoint(entry.path)
                assert entry.accepted is not False, f"{entry.name}: accepted"
                tally("load_checkpoint", "accepted")
            except CheckpointError as exc:
                assert one_line(str(exc)), (entry.name, str(exc))
                tally("load_checkpoint", "one-line errors")
    for entry in corpus["image"]:
        with watchdog(entry.name):
            try:
                prepared = prepare_image(entry.path, (1, 32, 32))
                assert entry.accepted, f"{entry.name}: accepted"
                assert bool(prepared.tensor.isfinite().all()), entry.name
                tally("prepare_image", "accepted")
            except ImageError as exc:
                assert not entry.accepted, (entry.name, str(exc))
                assert one_line(str(exc)), (entry.name, str(exc))
                tally("prepare_image", "one-line errors")


def test_file_open_on_every_hostile_design_and_checkpoint(window, corpus):
    before = window.document.design
    for entry in corpus["design"] + corpus["checkpoint"]:
        errors: list[str] = []
        with watchdog(entry.name):
            opened = window.files.open_path(entry.path, on_error=errors.append)  # a model: read in the background
            assert window.files.settle(60), entry.name
        opened = opened and not errors
        if opened:
            assert entry.accepted is not False and not errors, (entry.name, errors)
            tally("File ▸ Open", "accepted")
            window.document.undo_stack.setClean()
            window.files.open_design(before.copy(), None)
            continue
        assert entry.accepted is not True and len(errors) == 1 and one_line(errors[0]), (entry.name, errors)
        tally("File ▸ Open", "one-line errors")


def test_drops_of_hostile_designs_and_images(window, corpus, qtbot, monkeypatch):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent
    from PySide6.QtWidgets import QMessageBox

    from convviz.ui.drops import is_image_file

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: warnings.append(text))

    def mime_of(path: Path) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        return mime

    def drop(path: Path) -> None:
        mime = mime_of(path)  # the event does not own it: it must outlive the call
        event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        window.dropEvent(event)

    designs = [e for e in corpus["design"] if e.accepted is False and e.path.suffix == ".json"][:12]
    for entry in designs:
        before = len(warnings)
        with watchdog(entry.name):
            drop(entry.path)
            qtbot.waitUntil(lambda: len(warnings) > before, timeout=20000)
        assert len(warnings) == before + 1 and one_line(warnings[-1]), (entry.name, warnings[before:])
        tally("drop on the window", "one-line errors")
    panel = window.show_explain()
    failures: list[str] = []
    panel.controller.imageFailed.connect(failures.append)
    assert panel.controller.settle(120)
    for entry in corpus["image"]:
        before = len(failures)
        if not is_image_file(entry.path):  # a .dds: the drop is refused (the cursor says so), nothing read
            assert not window._accepts_drop(mime_of(entry.path)), entry.name
            tally("drop on the window", "drops refused")
            continue
        with watchdog(entry.name):
            drop(entry.path)
            qtbot.wait(1)
            assert panel.controller.settle(60), entry.name
        if entry.accepted:
            assert len(failures) == before and panel.controller.capture is not None, (entry.name, failures[before:])
            tally("drop on the window", "accepted")
        else:
            assert len(failures) == before + 1 and one_line(failures[-1]), (entry.name, failures[before:])
            tally("drop on the window", "one-line errors")


@pytest.mark.parametrize("which", ["design: 5,000-digit out_channels", "design: FIFO", "design: nested 100,000 deep",
                                   "checkpoint: mean NaN"])
def test_the_command_line_start_refuses_in_one_line(corpus, tmp_path, which):
    entries = [e for kind in ("design", "checkpoint") for e in corpus[kind] if e.name == which]
    if not entries:
        pytest.skip(f"{which}: not on this system")
    result = subprocess.run([sys.executable, "-m", "convviz", str(entries[0].path), "--screenshot",
                             str(tmp_path / "shot.png")], capture_output=True, text=True, timeout=WATCHDOG_S)
    errors = [line for line in result.stderr.splitlines() if line.startswith("convviz: error: ")]
    assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "shot.png").exists()
    tally("convviz FILE (start-up)", "one-line errors")
