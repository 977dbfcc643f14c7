"""Garbage holding Qt objects is collected on the GUI thread, whatever thread allocates."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject


def test_a_cycle_holding_a_qobject_is_freed_on_the_gui_thread_not_in_a_worker(window, qtbot):
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
    qtbot.waitUntil(lambda: bool(freed_in), timeout=5000)
    assert freed_in == [threading.main_thread().name] and not gc.isenabled()
