"""Work in a thread of its own, waited for. Standard library only: every layer may use it.

For a read that can be abandoned while a dead drive holds it (``reading.read_bytes``): the caller
stops waiting when ``should_stop()`` turns true, and the daemon thread is left to finish. (The app's
own background work goes through ``ui/tasks.py``; this is for code below the UI that must wait.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

#: How often an abandonable wait looks at ``should_stop`` (seconds).
POLL_S = 0.05


def waited_in_thread(fn: Callable[..., Any], *args: Any, name: str = "convviz-wait",
                     should_stop: Callable[[], bool] | None = None,
                     abandoned: Callable[[], BaseException] | None = None) -> Any:
    """``fn(*args)`` in a daemon thread; its result, or its exception raised here. With
    ``should_stop``, the wait ends as soon as it is true, raising ``abandoned()``."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    while thread.is_alive():
        if should_stop is not None and should_stop():
            raise abandoned() if abandoned is not None else InterruptedError(name)
        thread.join(POLL_S if should_stop is not None else None)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
