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

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.collect)
        self.timer.start()

    def collect(self) -> None:
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
