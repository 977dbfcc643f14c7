"""Background tasks: results and errors come back on the GUI thread; the newest of a channel wins."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread

from convviz.ui.tasks import TaskRunner


def test_result_arrives_on_the_gui_thread(qtbot):
    runner = TaskRunner()
    seen = []
    runner.run(lambda: (threading.current_thread().name, 42),
               on_done=lambda result: seen.append((result, QThread.currentThread())))
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    (worker_thread, value), delivered_on = seen[0]
    assert value == 42 and worker_thread != threading.current_thread().name
    assert delivered_on is QThread.currentThread()


def test_errors_become_one_line_messages(qtbot):
    runner = TaskRunner()
    errors = []

    def broken():
        raise ValueError("bad.png: not an image\nsecond line")

    runner.run(broken, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors == ["bad.png: not an image"]


def test_only_the_newest_task_of_a_channel_reports(qtbot):
    runner = TaskRunner()
    results = []
    for delay, name in ((0.3, "old"), (0.0, "new")):
        runner.run(lambda d=delay, n=name: time.sleep(d) or n, channel="view", on_done=results.append)
    assert runner.wait(5000)
    qtbot.wait(50)
    assert results == ["new"]


def test_a_result_already_on_its_way_is_dropped_when_overtaken(qtbot):
    """The newest-wins check happens when the result arrives on the GUI thread, not when it is sent."""
    runner = TaskRunner()
    results = []
    runner.run(lambda: "old", channel="view", on_done=results.append)
    runner.pool.waitForDone(5000)  # "old" is finished and its result queued, not yet delivered
    runner.cancel("view")          # the state it was computed for is gone
    qtbot.wait(50)
    assert results == []


def test_cancelling_reaches_work_that_watches_should_stop(qtbot):
    runner = TaskRunner()
    stopped = []

    def long_work(should_stop):
        for _ in range(500):
            if should_stop():
                stopped.append(True)
                return
            time.sleep(0.01)

    runner.run(long_work)
    qtbot.wait(50)
    runner.cancel_all()
    assert runner.wait(5000) and stopped == [True]
