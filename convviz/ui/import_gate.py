"""Background imports of torch give way while the GUI thread builds and paints a tab.

torch is imported in background threads (the device probe after the first paint, the Train tab's
data loader), but an import is Python code and shares the interpreter's one lock with the GUI
thread: the Train tab built while torch loaded took 1.3 s instead of 0.3 s (the two threads taking
turns every 5 ms, and torch's C++ libraries holding the lock for 0.3 s while they load). While the
GUI thread holds the gate (``hold``), a background thread about to import one of torch's modules
waits, between modules (never inside one), so the tab is built and painted first and the import goes
on after (``release_when_painted``).

The wait is in an audit hook, on the "import" event that an ``import`` statement raises before
the import system takes any lock (a ``sys.meta_path`` finder is called with the global import lock
held: waiting there stops every thread's imports, the GUI thread's too). Only torch's modules wait: a
thread waiting there holds the locks of the modules it is executing (torch's, and the one that
imported torch), which the GUI thread does not ask for while it holds the gate — hold it only
around work that never imports torch (the Train tab's build; ``tests/test_ui_train_data.py`` checks
that it does not). A hold ends by itself after ``HOLD_LIMIT_S`` whatever happens. Audit hooks cannot
be removed: once installed, the hook costs a comparison per audited event.
"""

from __future__ import annotations

import sys
import threading
import time

from PySide6.QtCore import QEvent, QObject, QTimer

#: The longest a hold keeps background imports waiting, released or not.
HOLD_LIMIT_S = 2.0


class ImportGate:
    """Makes background imports of torch's modules wait while the GUI thread holds it."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._holds: set[object] = set()
        self._until = 0.0
        self._installed = False
        self.waited_s = 0.0   # how long background imports waited in all (for benches)

    def _audit(self, event: str, args: tuple) -> None:
        if event != "import" or self._open.is_set():
            return
        name = args[0]
        if (isinstance(name, str) and (name == "torch" or name.startswith("torch."))
                and threading.current_thread() is not threading.main_thread()):
            started = time.monotonic()
            self._open.wait(max(0.0, self._until - started))
            self.waited_s += time.monotonic() - started

    def hold(self) -> object:
        """Background imports of torch wait from now until ``release`` (or ``HOLD_LIMIT_S``). Returns the token."""
        if not self._installed:
            self._installed = True
            sys.addaudithook(self._audit)
        if time.monotonic() >= self._until:
            self._holds.clear()   # holds that ran out are over, released or not
        token = object()
        self._holds.add(token)
        self._until = time.monotonic() + HOLD_LIMIT_S
        self._open.clear()
        return token

    def release(self, token: object) -> None:
        self._holds.discard(token)
        if not self._holds:
            self._open.set()

    @property
    def held(self) -> bool:
        return not self._open.is_set() and time.monotonic() < self._until


#: The application's one gate.
GATE = ImportGate()


def hold() -> object:
    return GATE.hold()


def release_when_painted(widget, token: object) -> None:
    """Release ``token`` once ``widget`` has painted (the event loop's turn after its first paint), at the
    next turn if it is not shown, or when it is destroyed."""
    watcher = _FirstPaint(widget, token)
    widget.installEventFilter(watcher)
    widget.destroyed.connect(lambda *_: GATE.release(token))
    QTimer.singleShot(0, watcher.release_if_hidden)


class _FirstPaint(QObject):
    def __init__(self, widget, token: object) -> None:
        super().__init__(widget)
        self.widget = widget
        self.token = token

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.release)
        return False

    def release_if_hidden(self) -> None:
        if not self.widget.isVisible():
            self.release()

    def release(self) -> None:
        GATE.release(self.token)
