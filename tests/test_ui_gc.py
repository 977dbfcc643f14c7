"""Garbage holding Qt objects is collected on the GUI thread, whatever thread allocates."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from convviz.ui.gc_guard import collect_on_gui_thread


def test_a_cycle_holding_a_qobject_is_freed_on_the_gui_thread_not_in_a_worker(window, qtbot, monkeypatch):
    freed_in = []

    class Holder(QObject):
        pass

    def make_garbage():
        holder = Holder()
        holder.me = holder   # a cycle: only the collector frees it
        weakref.finalize(holder, lambda: freed_in.append(threading.current_thread().name))

    make_garbage()

    def allocate():   # what the training thread does all day: allocate, past every threshold
        for _ in range(20):
            junk = [[object()] for _ in range(5000)]
            del junk

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join(30)
    assert freed_in == []   # the worker allocated past every threshold and collected nothing
    # The GUI thread's next tick collects every generation (by the real thresholds the holder may have
    # been promoted to an older generation, which this test does not wait for; the worker's garbage is
    # freed as it goes, so it need not push the young generation's count past its threshold).
    monkeypatch.setattr(collect_on_gui_thread(), "threshold", (-1, -1, -1))
    qtbot.waitUntil(lambda: bool(freed_in), timeout=5000)
    assert freed_in == [threading.main_thread().name] and not gc.isenabled()
