"""Crash recovery: unsaved work is written to a recovery file every few seconds and offered back
after a crash.

Each running window holds a ``QLockFile`` beside its recovery file. A recovery file whose lock
nobody holds belongs to a session that died without cleaning up: that is the work to offer.
One written by a newer convviz (its format or its design's version) is kept, untouched, and
reported (``RecoveryStore.newer``): only that version can open it. A file that cannot be read at
all is removed; a missing or malformed timestamp reads as "unknown", never as a failure.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from ..atomic import atomic_write_text, remove_stale_temporaries
from ..design import Design, DesignFileError, design_from_dict, design_to_dict
from ..design.fileformat import MAX_FILE_BYTES, VERSION as DESIGN_VERSION, parse_json
from ..i18n import tr
from ..reading import read_text

FORMAT = "convviz-recovery"
VERSION = 1


def default_recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".convviz") / "recovery"


@dataclass
class RecoveredWork:
    file: Path
    design: Design
    original_path: Path | None
    #: Seconds since the epoch; 0 when the file did not say (or said nonsense).
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
        remove_stale_temporaries(folder)  # autosaves a crash cut short
        #: Recovery files a newer convviz wrote, kept as they are: (file, why), found by ``orphans``.
        self.newer: list[tuple[Path, str]] = []

    def save(self, design: Design, original_path: Path | None) -> None:
        data = {"format": FORMAT, "version": VERSION, "saved_at": time.time(),
                "path": str(original_path) if original_path else None, "design": design_to_dict(design)}
        atomic_write_text(self.file, json.dumps(data))

    def clear(self) -> None:
        self.file.unlink(missing_ok=True)

    def close(self) -> None:
        """A clean exit: nothing to recover from this session."""
        self.clear()
        self._lock.unlock()

    def orphans(self) -> list[RecoveredWork]:
        """Recovery files of sessions that are no longer running, newest first (newer versions' files
        go to ``newer`` instead, kept)."""
        found = []
        self.newer = []
        for file in self.folder.glob("*.json"):
            if file == self.file:
                continue
            lock = QLockFile(str(file.with_suffix(".lock")))
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # its window is still open
            lock.unlock()
            work = self._read(file)
            if work is not None:
                found.append(work)
        return sorted(found, key=lambda w: -w.saved_at)

    def _read(self, file: Path) -> RecoveredWork | None:
        try:
            data = parse_json(read_text(file, MAX_FILE_BYTES, DesignFileError, tr("a recovery file")))
        except DesignFileError:
            self.discard_file(file)  # unreadable: nothing to offer
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            self.discard_file(file)
            return None
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
            self.newer.append((file, tr("recovery format {version}, this convviz reads {supported}").format(
                version=f"{version!r:.20}", supported=VERSION)))
            return None
        try:
            design = design_from_dict(data.get("design"))
        except DesignFileError as exc:
            raw = data.get("design")
            design_version = raw.get("version") if isinstance(raw, dict) else None
            if isinstance(design_version, int) and not isinstance(design_version, bool) \
                    and design_version > DESIGN_VERSION:
                self.newer.append((file, str(exc)))
            else:
                self.discard_file(file)
            return None
        path = data.get("path")
        return RecoveredWork(file, design, Path(path) if isinstance(path, str) and path else None,
                             _timestamp(data.get("saved_at")))

    @staticmethod
    def discard_file(file: Path) -> None:
        file.unlink(missing_ok=True)
        file.with_suffix(".lock").unlink(missing_ok=True)


def _timestamp(value) -> float:
    """Seconds since the epoch, or 0 for a missing, non-numeric or impossible one."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return seconds if math.isfinite(seconds) and 0 <= seconds < 1e11 else 0.0
