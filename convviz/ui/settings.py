"""Persistent preferences (recent files, window layout) through QSettings, in one place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "convviz", "convviz")


def recent_files() -> list[Path]:
    value = app_settings().value("recentFiles", [])
    if isinstance(value, str):
        value = [value]
    return [Path(p) for p in value or []]


def add_recent_file(path: Path) -> list[Path]:
    files = [p for p in recent_files() if p != path]
    files.insert(0, path)
    files = files[:MAX_RECENT]
    app_settings().setValue("recentFiles", [str(p) for p in files])
    return files


def clear_recent_files() -> None:
    app_settings().setValue("recentFiles", [])
