"""What the app's imports and heap freezes cost the GUI thread (behaviour only; the timings are in
bench/gui_latency.py)."""

from __future__ import annotations

import subprocess
import sys


def test_modules_imported_after_pyside_are_not_read_for_its_feature_switch(tmp_path, monkeypatch):
    """PySide6 reads every later import's source (inspect.getsource) to see whether it names PySide6:
    for torch's 1,500 modules while the Train tab waits. convviz.ui turns that off."""
    import inspect

    import convviz.ui  # noqa: F401

    (tmp_path / "convviz_probe_module.py").write_text("import PySide6.QtCore\nVALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    read = []
    original = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj, *a, **k: read.append(obj) or original(obj, *a, **k))
    import convviz_probe_module

    assert convviz_probe_module.VALUE == 1
    assert read == []
    from PySide6.QtCore import QPointF  # Qt still answers as usual in such a module

    assert QPointF(1, 2).x() == 1


def test_freezing_after_an_import_walks_nothing():
    """In a process of its own (freezing this one would move when its later collections fall due):
    ``freeze_imports`` exempts what exists without a collection, which would walk every young object."""
    script = ("import gc\n"
              "from convviz.ui.heap import freeze_imports\n"
              "survivor = [[] for _ in range(1000)]\n"
              "walks = []\n"
              "gc.callbacks.append(lambda phase, info: walks.append(info['generation']))\n"
              "freeze_imports()\n"
              "assert walks == [], walks\n"
              "assert gc.get_freeze_count() > 0 and not any(o is survivor for o in gc.get_objects())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_gui_collector_waits_for_a_background_import_and_then_freezes_it(qapp, monkeypatch):
    """While the device probe imports torch, the GUI thread's collector does not walk the import's
    young objects every 500 ms; they are frozen when it ends, and a forgotten hold runs out."""
    import gc

    from convviz.ui import gc_guard

    collector = gc_guard.collect_on_gui_thread()
    walks, frozen = [], []
    monkeypatch.setattr(gc, "collect", lambda generation=2: walks.append(generation) or 0)
    monkeypatch.setattr(gc_guard, "freeze_imports", lambda: frozen.append(1))
    monkeypatch.setattr(gc, "get_count", lambda: (10**6, 10**6, 10**6))  # an import's worth of objects
    monkeypatch.setattr(collector, "freezes_imports", True)  # as run_app has it
    token = collector.hold()
    collector.collect()
    assert walks == [] and frozen == []
    collector.release(token)
    assert frozen == [1] and not collector.held
    collector.release(token)  # twice: nothing more
    assert frozen == [1]
    collector.collect()
    assert walks == [0, 1, 2]  # collections as before
    walks.clear()
    token = collector.hold()
    monkeypatch.setattr(gc_guard.time, "monotonic", lambda: 10**9)  # long after HOLD_LIMIT_S
    collector.collect()
    assert walks == [0, 1, 2]
    collector.release(token)


def test_the_device_probe_holds_collections_until_torch_is_in(window, qtbot, monkeypatch):
    from convviz.ui import gc_guard

    collector = gc_guard.collect_on_gui_thread()
    monkeypatch.setattr(window.device_probe, "start", lambda: None)  # the probe's thread, reported by hand
    window._probe_started = False
    window.start_device_probe()
    assert collector.held
    window.device_probe.found.emit("CPU")
    assert not collector.held


def test_a_hold_ends_with_the_object_whose_work_it_was(qtbot):
    """A task cancelled with its panel never reports: its hold ends when it is deleted."""
    from PySide6.QtCore import QObject

    from convviz.ui import gc_guard

    collector = gc_guard.collect_on_gui_thread()
    owner = QObject()
    gc_guard.hold_collections_while(owner)
    assert collector.held
    owner.deleteLater()
    qtbot.waitUntil(lambda: not collector.held, timeout=2000)
