"""Where the app keeps its runs: ``--runs DIR``, else ``CONVVIZ_RUNS``, else Qt's AppDataLocation."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths

ENV = "CONVVIZ_RUNS"   # convviz.runs.store.ENV (not imported: the designer starts without numpy)


def runs_folder(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    value = os.environ.get(ENV, "").strip()
    if value:
        return Path(value).expanduser()
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "runs"
