"""Work off the GUI thread: run a function in Qt's thread pool, get its result or its error back on
the GUI thread as a signal, so the window never freezes and no exception escapes into the event loop.

``TaskRunner.run(fn, ..., on_done=..., on_error=...)`` connects the callbacks before the work
starts (a fast job cannot report to nobody); the task is deleted once it has reported. Only the
newest task of a ``channel`` reports (a user clicking through layers gets the last click's view,
not a queue of old ones): that is decided on the GUI thread, when the result arrives, so a result
already on its way when a newer request (or ``cancel``) comes is dropped too. The callbacks run on
the GUI thread whatever they are (methods, lambdas, closures).

A function that takes ``should_stop`` (a callable) gets one: it turns true when the task is
cancelled, so long work (an occlusion map) can end early. A task cancelled before it started is not
run at all (on a one-thread pool a burst of clicks would otherwise queue every stale view).

Threads and torch: torch's OpenMP backend gives every OS thread that enters a parallel region its
own team of helper threads, kept until that thread ends; while more such threads live than the machine
has cores, libgomp makes every team sleep at once after each region instead of spinning briefly, and
all torch work in the process slows down (1.4× for a forward pass on two cores with one idle team
beside it; an Explain capture took 1.6× as long with its work spread over two pool threads). Hence:
``model_thread()``, one thread for the work of a model, and idle workers that end after
``IDLE_THREAD_MS`` (Qt's default keeps them 30 s), so a run started after a load trains alone.
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal

from ..messages import first_line


class Task(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, runner: TaskRunner, channel: str | None) -> None:
        super().__init__(runner)
        self.channel = channel
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


class _Job:
    """The work of one task, handed to ``QThreadPool.start`` as a plain callable.

    Not a ``QRunnable`` subclass: PySide6 (6.11) keeps the Python side of an auto-deleted QRunnable
    alive forever when the pool finishes it before ``start`` has returned, and with it the job's
    arguments — every capture a fast view job was given (150 Explain captures on resnet18 grew the
    process by 800 MB). A callable is wrapped and released by PySide itself, race or not.
    """

    def __init__(self, task: Task, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.task, self.fn, self.args, self.kwargs = task, fn, args, kwargs

    def __call__(self) -> None:
        result, error = None, None
        try:
            if not self.task.cancelled.is_set():  # a cancelled task's result would be dropped anyway
                result = self.fn(*self.args, **self.kwargs)
        except (ValueError, OSError, RuntimeError, MemoryError) as exc:
            # Expected failures (bad files, impossible requests, out of memory) carry their own message.
            error = first_line(exc)
        except Exception as exc:  # a bug: keep the traceback for the log, tell the user in one line
            traceback.print_exc()
            error = f"{type(exc).__name__}: {first_line(exc)}"
        task, self.task, self.fn, self.args, self.kwargs = self.task, None, None, (), {}  # nothing outlives the work
        try:
            task.parent()._arrived.emit(task, result, error)  # queued to the runner, on the GUI thread
        except RuntimeError:  # the runner (or the app) is gone: nobody to tell
            pass


class TaskRunner(QObject):
    #: From worker threads: (task, result, error); received by ``_deliver`` on the GUI thread.
    _arrived = Signal(object, object, object)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or shared_pool()
        self._running: set[Task] = set()
        self._newest: dict[str, Task] = {}
        self._arrived.connect(self._deliver)

    def _deliver(self, task: Task, result: Any, error: str | None) -> None:
        """On the GUI thread: report unless cancelled or overtaken by a newer task of its channel."""
        current = task.channel is None or self._newest.get(task.channel) is task
        if current and not task.cancelled.is_set():
            if error is None:
                task.done.emit(result)
            else:
                task.failed.emit(error)
        if task.channel is not None and self._newest.get(task.channel) is task:
            del self._newest[task.channel]
        self._running.discard(task)
        task.deleteLater()

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[str], None] | None = None, channel: str | None = None, **kwargs: Any) -> Task:
        task = Task(self, channel)
        if on_done is not None:
            task.done.connect(on_done)
        if on_error is not None:
            task.failed.connect(on_error)
        if channel is not None:
            self.cancel(channel)
            self._newest[channel] = task
        if "should_stop" in inspect.signature(fn).parameters:
            given = kwargs.get("should_stop")
            kwargs["should_stop"] = (lambda: given() or task.cancelled.is_set()) if given else task.cancelled.is_set
        self._running.add(task)
        self.pool.start(_Job(task, fn, args, kwargs))
        return task

    def cancel(self, channel: str) -> None:
        """Drop the channel's pending result (the state it was for is gone): nothing reports for it."""
        previous = self._newest.pop(channel, None)
        if previous is not None:
            previous.cancel()

    def cancel_all(self) -> None:
        """Drop every result still to come (closing a panel): work that watches ``should_stop`` ends early."""
        for task in list(self._running):
            task.cancel()
        self._newest.clear()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task has finished (closing the window, tests)."""
        return self.pool.waitForDone(msecs)

    @property
    def busy(self) -> bool:
        return bool(self._running)


#: How long an idle worker thread lives (see the module's docstring).
IDLE_THREAD_MS = 2000

_MODEL_THREAD: QThreadPool | None = None


def shared_pool() -> QThreadPool:
    """Qt's global pool, its idle threads ending after ``IDLE_THREAD_MS``."""
    pool = QThreadPool.globalInstance()
    if pool.expiryTimeout() != IDLE_THREAD_MS:
        pool.setExpiryTimeout(IDLE_THREAD_MS)
    return pool


def model_thread() -> QThreadPool:
    """The one worker thread for running models (see the module's docstring): its jobs run one after
    another in one OpenMP team. Owned by the application, so it is waited for and ended with it."""
    global _MODEL_THREAD
    if _MODEL_THREAD is None:
        _MODEL_THREAD = QThreadPool(QCoreApplication.instance())
        _MODEL_THREAD.setObjectName("convviz-model-thread")
        _MODEL_THREAD.setMaxThreadCount(1)
        _MODEL_THREAD.setExpiryTimeout(IDLE_THREAD_MS)
        _MODEL_THREAD.destroyed.connect(_forget_model_thread)
    return _MODEL_THREAD


def _forget_model_thread() -> None:
    global _MODEL_THREAD
    _MODEL_THREAD = None

