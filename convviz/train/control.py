"""Pause, resume and stop a training run from another thread (the UI's buttons, the CLI's Ctrl-C)."""

from __future__ import annotations

import threading


class TrainControl:
    """Thread-safe switches the loop reads between steps; checking them costs no lock.

    ``stop`` also ends a pause, so a paused run can be stopped; the run keeps the weights trained
    so far and ends with an ``EndRecord`` whose reason is "stopped".
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> None:
        """Block until resumed or stopped."""
        self._running.wait()
