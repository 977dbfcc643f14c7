"""Which device torch will train on (CUDA name, MPS or CPU), found after the window is up.

Importing torch takes a second or two; doing it in a background thread keeps the first paint fast.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ..i18n import ntr, tr


def describe_device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "Apple MPS"
    threads = torch.get_num_threads()
    return ntr("CPU ({count} thread)", "CPU ({count} threads)", threads).format(count=threads)


class DeviceProbe(QObject):
    found = Signal(str)

    def start(self) -> None:
        threading.Thread(target=self._run, name="convviz-device-probe", daemon=True).start()

    def _run(self) -> None:
        try:
            text = describe_device()
        except Exception as exc:  # a broken torch install must not take the designer down
            text = tr("torch unavailable ({kind}: {reason})").format(kind=type(exc).__name__, reason=exc)
        self.found.emit(text)
