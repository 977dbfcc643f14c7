"""How often the live views redraw while a run trains: as often as the GUI thread can afford.

Training on the CPU, torch's threads take every core; each time the GUI thread paints, it takes one
of them away, and torch's other threads wait for the one it preempted at the next barrier, so a GUI
thread busy 8 % of a core cost the run 12-15 % on two cores (measured: 5 refreshes a second 0.84-0.86
× a plain loop, 2 a second 0.92-0.93). ``RefreshPacer`` times the refresh and slows it, within
bounds, until the GUI thread's whole load (its CPU time over the wall time since the last refresh:
painting, records, the user's own clicks) is within a budget; when the load falls it speeds up again.
A run on a GPU leaves the GUI a core of its own: it refreshes at the fastest rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

#: The live views' refresh: 5 times a second, and while the CPU trains and painting would slow it, no
#: slower than 2 (milliseconds between two refreshes).
FASTEST_REFRESH_MS = 200
SLOWEST_REFRESH_MS = 500
#: The GUI thread's load the pacer aims for while the CPU trains: a fraction of one core.
CPU_BUDGET = 0.04
#: How much of a new measurement moves the interval (the rest is the interval before): one busy
#: refresh (a resize, an epoch's end) does not halve the rate at once.
SMOOTHING = 0.5


class RefreshPacer(QObject):
    """A repeating timer whose interval lies between ``fastest_ms`` and ``slowest_ms``: the fastest
    unless ``paced``, else whatever keeps the GUI thread's load near ``budget``."""

    timeout = Signal()

    def __init__(self, parent: QObject, fastest_ms: int = FASTEST_REFRESH_MS, slowest_ms: int = SLOWEST_REFRESH_MS,
                 budget: float = CPU_BUDGET,
                 cpu_clock: Callable[[], float] = time.thread_time,
                 wall_clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self.fastest_ms, self.slowest_ms, self.budget = fastest_ms, slowest_ms, budget
        self.paced = False
        self._cpu_clock, self._wall_clock = cpu_clock, wall_clock
        self._timer = QTimer(self, interval=fastest_ms)
        self._timer.timeout.connect(self._tick)
        self._last: tuple[float, float] | None = None

    def start(self) -> None:
        """From the fastest rate (a new run: nothing is known of its cost yet)."""
        self._timer.setInterval(self.fastest_ms)
        self._last = None
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def isActive(self) -> bool:
        return self._timer.isActive()

    def interval(self) -> int:
        return self._timer.interval()

    def _tick(self) -> None:
        self.timeout.emit()
        self._timer.setInterval(self.next_interval())

    def next_interval(self) -> int:
        """Measure the load since the last call and return the interval that brings it to the budget."""
        now = (self._cpu_clock(), self._wall_clock())
        last, self._last = self._last, now
        current = self._timer.interval()
        if not self.paced or last is None or now[1] <= last[1]:
            return current if self.paced else self.fastest_ms
        load = (now[0] - last[0]) / (now[1] - last[1])
        # The refresh's own cost dominates the load, and it scales with the rate: the interval that
        # would have met the budget is the current one times load / budget.
        wanted = current * load / self.budget
        smoothed = SMOOTHING * wanted + (1 - SMOOTHING) * current
        return int(min(self.slowest_ms, max(self.fastest_ms, smoothed)))
