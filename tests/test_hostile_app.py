"""What the app does with hostile state it finds rather than is given: recovery files of a newer
convviz or with nonsense in them, leftovers of killed saves, values a spin box cannot hold, and
an image read that never returns while the window closes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from convviz.design import design_to_dict, load_template
from convviz.ui.file_controller import FileController
from convviz.ui.main_window import MainWindow
from convviz.ui.recovery import FORMAT, RecoveryStore


def orphan(folder: Path, name: str, **changes) -> Path:
    """A recovery file left by a session that died (no lock held)."""
    data = {"format": FORMAT, "version": 1, "saved_at": time.time(), "path": None,
            "design": design_to_dict(load_template("lenet5"))}
    data.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_recovery_files_of_a_newer_convviz_are_kept_and_reported(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    newer_format = orphan(folder, "a", version=2)
    newer_design = orphan(folder, "b", design={**design_to_dict(load_template("lenet5")), "version": 7})
    broken = orphan(folder, "c", design={"format": "convviz-design", "version": 1, "nodes": 3})
    monkeypatch.setattr(FileController, "ask_to_recover", lambda self, work: False)
    window = MainWindow(recovery_dir=folder, persistent=False)
    qtbot.addWidget(window)
    assert window.files.offer_recovery() is False
    assert newer_format.exists() and newer_design.exists() and not broken.exists()
    assert sorted(p.name for p, _ in window.files.recovery.newer) == ["a.json", "b.json"]
    assert "Kept 2 recovery files written by a newer convviz" in window.statusBar().currentMessage()
    window.close()


def test_a_malformed_timestamp_never_raises(qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    for i, stamp in enumerate(["yesterday", [1, 2], {"t": 1}, float("nan"), 1e300, -5, None, True]):
        orphan(folder, f"s{i}", saved_at=stamp)
    asked = []
    monkeypatch.setattr(FileController, "ask_to_recover", lambda self, work: asked.append(work) or False)
    window = MainWindow(recovery_dir=folder, persistent=False)
    qtbot.addWidget(window)
    works = window.files.recovery.orphans()
    assert len(works) == 8 and all(w.saved_at == 0 or w.saved_at == 1.0 for w in works)
    window.files.offer_recovery()  # shows "an unknown time" rather than raising
    assert asked and asked[0].saved_at in (0, 1.0)
    window.close()


def test_autosaves_cut_short_are_removed_when_the_store_opens(tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir()
    leftover = folder / ".abc.json.k3j4h5g6.999999999.tmp"  # a pid that cannot be running
    leftover.write_bytes(b"\0" * 100)
    store = RecoveryStore(folder)
    assert not leftover.exists()
    store.close()


def test_a_value_no_spin_box_can_hold_is_shown_without_an_error(window):
    from convviz.ui.param_editors import SPIN_MAX

    design = load_template("default")
    design.set_param("conv1", "out_channels", 10 ** 10)
    design.set_param("conv2", "kernel_size", (3, 10 ** 12))
    window.files.open_design(design, None)
    window.editing.select_node("conv1")
    spin = window.inspector.editors["out_channels"].spin
    assert spin.value() == SPIN_MAX and "10000000000" in spin.toolTip()
    window.editing.select_node("conv2")
    size = window.inspector.editors["kernel_size"]
    assert size.h.value() == 3 and size.w.value() == SPIN_MAX
    assert window.document.design.node("conv1").params["out_channels"] == 10 ** 10  # shown, not changed
    window.document.undo_stack.setClean()


def test_closing_never_waits_for_an_image_read_that_hangs(window, qtbot, monkeypatch, tmp_path):
    """A read stuck on a dead network drive: closing the Explain tab's work returns at once, and the
    reader (a daemon thread) cannot keep the process alive."""
    import convviz.reading as reading

    started, release = threading.Event(), threading.Event()

    def hanging_read(path, limit, error, what):
        started.set()
        release.wait(120)
        return b""

    monkeypatch.setattr(reading, "_read_all", hanging_read)
    panel = window.show_explain()
    assert panel.controller.settle(120)
    image = tmp_path / "stuck.png"
    image.write_bytes(b"x")
    panel.load_image(image)
    assert started.wait(30)
    panel.controller.shutdown()  # what closing the window runs: it waits for the pool's threads
    assert panel.controller.runner.pool.activeThreadCount() == 0  # the capture gave up on its read
    readers = [t for t in threading.enumerate() if t.name == "convviz-read"]
    assert readers and all(t.daemon for t in readers)
    release.set()
