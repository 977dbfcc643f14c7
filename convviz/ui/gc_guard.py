"""Python's garbage collector runs on the GUI thread only.

CPython collects in whichever thread happens to allocate past the threshold. The training and
recording threads allocate a lot; a collection there that frees a cycle holding Qt objects (a
closed window, a removed plot item, a context menu) destroys them off the GUI thread, which
deadlocks or crashes Qt (seen: the training thread freeing a QAction while the GUI thread deleted
its QMenu). So automatic collection is switched off and the GUI thread collects on a timer, by
the same thresholds — pyqtgraph's ``util.garbage_collector`` recipe, without importing pyqtgraph
at start-up.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from .heap import freeze_imports

INTERVAL_MS = 500
#: A hold ends by itself after this long, released or not (a task that never reports back).
HOLD_LIMIT_S = 20.0


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self._holds: set[object] = set()
        self._held_until = 0.0
        #: The app's policy (``run_app`` sets it): an import's objects are frozen when its hold ends.
        #: Off elsewhere (tests): a freeze would keep every cycle alive at that moment for good.
        self.freezes_imports = False
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.collect)
        self.timer.start()

    def hold(self) -> object:
        """A big import starts in another thread (torch in the device probe, torch._dynamo before the
        first run): its hundreds of thousands of objects are module state, never garbage, and walking
        them on every tick held the GUI thread (and the import) for 50 ms each time. No collection
        runs until every hold is released (or ``HOLD_LIMIT_S`` has passed), and then what the imports
        made is frozen (``freezes_imports``). Returns the token for ``release``."""
        token = object()
        self._holds.add(token)
        self._held_until = time.monotonic() + HOLD_LIMIT_S
        return token

    def release(self, token: object) -> None:
        """The import ``token``'s hold was for has finished, failed or been abandoned (again: nothing)."""
        if token not in self._holds:
            return
        self._holds.discard(token)
        if not self._holds and self.freezes_imports:
            freeze_imports()

    @property
    def held(self) -> bool:
        return bool(self._holds) and time.monotonic() < self._held_until

    def collect(self) -> None:
        if self.held:
            return
        first, second, third = gc.get_count()
        if first > self.threshold[0]:
            gc.collect(0)
            if second > self.threshold[1]:
                gc.collect(1)
                if third > self.threshold[2]:
                    gc.collect(2)


def collect_on_gui_thread() -> GuiThreadCollector | None:
    """Install the collector once per application (the main window does, before any thread starts)."""
    app = QCoreApplication.instance()
    if app is None:
        return None
    existing = app.findChild(GuiThreadCollector)
    return existing or GuiThreadCollector(app)


def freeze_after_imports() -> None:
    """The app's policy: the objects of every big background import are frozen when it ends."""
    collector = collect_on_gui_thread()
    if collector is not None:
        collector.freezes_imports = True


def hold_collections_while(owner: QObject, *finished) -> None:
    """Hold the GUI thread's collections until one of the signals ``finished`` fires or ``owner`` (the
    object whose work it is: a task, the device probe) is destroyed, whichever comes first."""
    collector = collect_on_gui_thread()
    if collector is None:
        return
    token = collector.hold()
    for signal in (*finished, owner.destroyed):
        signal.connect(lambda *_: collector.release(token))
