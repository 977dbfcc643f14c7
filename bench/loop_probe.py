"""How late the app's own event loop serves a timer: the stalls a user feels, measured from inside.

A 2 ms precise ``QTimer`` on the loop records, each time it fires, how much later than asked it came
(``lateness``, ms). Run the loop with ``QEventLoop.exec`` (the app's kind of loop), not a
``processEvents()`` spin, which would measure the spin instead.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer

INTERVAL_MS = 2


class LatenessProbe:
    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=INTERVAL_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)

    def _on_tick(self) -> None:
        if self._clock.isValid():
            self.lateness.append(max(0.0, self._clock.nsecsElapsed() / 1e6 - INTERVAL_MS))
        self._clock.restart()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> list[float]:
        """Stop; returns the lateness of every tick, sorted (ms)."""
        self._timer.stop()
        return sorted(self.lateness)


def quantiles(sorted_ms: list[float]) -> dict[str, float]:
    """p50, p99 and max of sorted lateness figures."""
    return {"p50": sorted_ms[len(sorted_ms) // 2], "p99": sorted_ms[int(len(sorted_ms) * 0.99)],
            "max": sorted_ms[-1]}
