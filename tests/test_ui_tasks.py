"""Background tasks: results and errors come back on the GUI thread; the newest of a channel wins."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread

from convviz.ui.tasks import TaskRunner, model_thread


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


def test_finished_tasks_release_their_arguments(qtbot):
    """Nothing a task was given outlives it. PySide6 keeps the Python side of an auto-deleted QRunnable
    alive when the pool runs it before ``start`` returns: a few percent of fast jobs, and with them
    their arguments (Explain captures: 800 MB after 150 images)."""
    import gc
    import weakref

    class Payload:
        pass

    runner = TaskRunner()
    refs, done = [], []
    for i in range(2000):
        payload = Payload()
        refs.append(weakref.ref(payload))
        runner.run(lambda p: None, payload, on_done=done.append)
        del payload
        if i % 7 == 0:
            time.sleep(0.0005)  # let the pool overtake ``start`` now and then, as it does in the app
    qtbot.waitUntil(lambda: len(done) == 2000 and not runner.busy, timeout=60000)
    assert runner.wait()
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    assert alive == 0, f"{alive} of 2000 tasks' arguments are still alive"


def test_a_task_cancelled_before_it_starts_never_runs(qtbot):
    """On the one model thread a burst of clicks queues up: the stale ones are skipped, not computed."""
    runner = TaskRunner(pool=model_thread())
    gate, ran, results = threading.Event(), [], []
    runner.run(lambda: gate.wait(5) and ran.append("blocker"))
    for name in ("stale 1", "stale 2", "newest"):
        runner.run(lambda n=name: ran.append(n) or n, channel="view", on_done=results.append)
    gate.set()
    assert runner.wait(5000)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert ran == ["blocker", "newest"] and results == ["newest"]


def test_model_work_runs_on_one_thread_that_ends_when_idle(qtbot):
    from convviz.ui.tasks import IDLE_THREAD_MS, shared_pool

    pool = model_thread()
    assert pool is model_thread() and pool.maxThreadCount() == 1
    assert pool.expiryTimeout() == IDLE_THREAD_MS > 0  # its OpenMP team goes with it
    assert shared_pool().expiryTimeout() == IDLE_THREAD_MS
    runner = TaskRunner(pool=pool)
    seen = []
    for _ in range(4):
        runner.run(lambda: threading.get_ident(), on_done=seen.append)
    assert runner.wait(5000)
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=5000)
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()


def test_waited_in_a_thread_returns_or_raises_and_runs_off_the_gui_thread():
    import pytest

    from convviz.threads import waited_in_thread as waited_in_a_thread

    where = waited_in_a_thread(threading.get_ident)
    assert where != threading.get_ident()
    assert waited_in_a_thread(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ValueError, match="bad.pt"):
        waited_in_a_thread(lambda: (_ for _ in ()).throw(ValueError("bad.pt: not a checkpoint")))
