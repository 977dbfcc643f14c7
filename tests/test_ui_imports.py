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
