"""Work off the GUI thread: run a function in Qt's thread pool, get its result or its error back on
the GUI thread as a signal, so the window never freezes and no exception escapes into the event loop.

``TaskRunner.run(fn, ..., on_done=..., on_error=...)`` connects the callbacks before the work
starts (a fast job cannot report to nobody); the task is deleted once it has reported. Only the
newest task of a ``channel`` reports (a user clicking through layers gets the last click's view,
not a queue of old ones).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..messages import first_line


class Task(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


class _Job(QRunnable):
    def __init__(self, task: Task, fn: Callable[..., Any], args: tuple, kwargs: dict, finish: Callable) -> None:
        super().__init__()
        self.task, self.fn, self.args, self.kwargs, self.finish = task, fn, args, kwargs, finish
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except (ValueError, OSError, RuntimeError, MemoryError) as exc:
            # Expected failures (bad files, impossible requests, out of memory) carry their own message.
            self.finish(self.task, error=first_line(exc))
        except Exception as exc:  # a bug: keep the traceback for the log, tell the user in one line
            traceback.print_exc()
            self.finish(self.task, error=f"{type(exc).__name__}: {first_line(exc)}")
        else:
            self.finish(self.task, result=result)


class TaskRunner(QObject):
    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._running: set[Task] = set()
        self._newest: dict[str, Task] = {}

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[str], None] | None = None, channel: str | None = None, **kwargs: Any) -> Task:
        task = Task(self)
        if on_done is not None:
            task.done.connect(on_done)
        if on_error is not None:
            task.failed.connect(on_error)
        if channel is not None:
            previous = self._newest.get(channel)
            if previous is not None:
                previous.cancel()
            self._newest[channel] = task
        task.channel = channel
        self._running.add(task)
        self.pool.start(_Job(task, fn, args, kwargs, self._finish))
        return task

    def _finish(self, task: Task, result: Any = None, error: str | None = None) -> None:
        """Called on the worker thread; the signals cross to the GUI thread queued."""
        stale = task.channel is not None and self._newest.get(task.channel) is not task
        try:
            if not stale and not task.cancelled.is_set():
                if error is None:
                    task.done.emit(result)
                else:
                    task.failed.emit(error)
            task.deleteLater()  # after the queued signals above: they were posted first
        except RuntimeError:  # the app quit while this ran: its Qt objects are gone, nobody to tell
            pass
        finally:
            self._running.discard(task)  # not busy only once the result is on its way

    def cancel_all(self) -> None:
        """Drop every result still to come (closing a panel): the work runs on, nobody is told."""
        for task in list(self._running):
            task.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task has finished (closing the window, tests)."""
        return self.pool.waitForDone(msecs)

    @property
    def busy(self) -> bool:
        return bool(self._running)


