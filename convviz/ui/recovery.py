"""Crash recovery: unsaved work is written to a recovery file every few seconds and offered back
after a crash.

Each running window holds a ``QLockFile`` beside its recovery file. A recovery file whose lock
nobody holds belongs to a session that died without cleaning up: that is the work to offer.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from ..atomic import atomic_write_text
from ..design import Design, DesignFileError, design_from_dict, design_to_dict

FORMAT = "convviz-recovery"


def default_recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".convviz") / "recovery"


@dataclass
class RecoveredWork:
    file: Path
    design: Design
    original_path: Path | None
    saved_at: float


class RecoveryStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.session = uuid.uuid4().hex[:12]
        self.file = folder / f"{self.session}.json"
        self._lock = QLockFile(str(folder / f"{self.session}.lock"))
        self._lock.setStaleLockTime(0)
        self._lock.tryLock(0)

    def save(self, design: Design, original_path: Path | None) -> None:
        data = {"format": FORMAT, "saved_at": time.time(),
                "path": str(original_path) if original_path else None, "design": design_to_dict(design)}
        atomic_write_text(self.file, json.dumps(data))

    def clear(self) -> None:
        self.file.unlink(missing_ok=True)

    def close(self) -> None:
        """A clean exit: nothing to recover from this session."""
        self.clear()
        self._lock.unlock()

    def orphans(self) -> list[RecoveredWork]:
        """Recovery files of sessions that are no longer running, newest first."""
        found = []
        for file in self.folder.glob("*.json"):
            if file == self.file:
                continue
            lock = QLockFile(str(file.with_suffix(".lock")))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # its window is still open
            lock.unlock()
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
                design = design_from_dict(data["design"])
            except (OSError, ValueError, KeyError, TypeError, DesignFileError):
                self.discard_file(file)  # unreadable: nothing to offer
                continue
            path = Path(data["path"]) if data.get("path") else None
            found.append(RecoveredWork(file, design, path, float(data.get("saved_at", 0))))
        return sorted(found, key=lambda w: -w.saved_at)

    @staticmethod
    def discard_file(file: Path) -> None:
        file.unlink(missing_ok=True)
        file.with_suffix(".lock").unlink(missing_ok=True)
