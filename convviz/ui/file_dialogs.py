"""Every file dialog of the app, in one place: where it starts and what it hands back.

A dialog starts in the folder last used for the same kind of file (designs, images, exports, …),
else in the folder last used for any file, else in the user's documents folder, never in the
folder the app happened to be started from. The folders are remembered in QSettings.

Saving: the suffix a format needs is added, and a file that the name with its suffix would
replace is asked about (the platform dialog only checked the name as typed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..i18n import tr
from .settings import app_settings

#: The kinds of file a dialog asks for; each remembers its own folder.
KINDS = ("designs", "images", "exports", "data", "code")
_ANY = "dialogs/last_folder"


def documents_folder() -> Path:
    """The user's documents folder (the home folder where the platform names none)."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def start_folder(kind: str) -> Path:
    """Where a dialog for ``kind`` files opens: the last folder used for them, then for any file,
    then the documents folder (a remembered folder that has gone is skipped)."""
    settings = app_settings()
    for key in (f"{_ANY}/{kind}", _ANY):
        value = settings.value(key)
        if value and Path(str(value)).is_dir():
            return Path(str(value))
    return documents_folder()


def remember_folder(kind: str, path: Path) -> None:
    """``path`` (a file or a folder) was chosen: its folder is where the next dialog starts."""
    folder = path if path.is_dir() else path.parent
    settings = app_settings()
    settings.setValue(f"{_ANY}/{kind}", str(folder))
    settings.setValue(_ANY, str(folder))


def _start(kind: str, suggested: str | Path | None) -> str:
    """A suggested name is put in the start folder; a suggested path with a folder is kept."""
    if suggested is None or str(suggested) == "":
        return str(start_folder(kind))
    suggested = Path(suggested)
    if suggested.is_absolute() and suggested.parent.is_dir():
        return str(suggested)
    return str(start_folder(kind) / suggested.name)


def ask_open_path(parent: QWidget, title: str, filter_text: str, kind: str,
                  suggested: str | Path | None = None) -> Path | None:
    """A file to read, or None when the user cancels."""
    answer, _ = QFileDialog.getOpenFileName(parent, title, _start(kind, suggested), filter_text)
    if not answer:
        return None
    remember_folder(kind, Path(answer))
    return Path(answer)


def ask_folder(parent: QWidget, title: str, kind: str = "exports", suggested: str | Path | None = None) -> Path | None:
    """A folder, or None when the user cancels."""
    start = str(suggested) if suggested and Path(suggested).is_dir() else str(start_folder(kind))
    answer = QFileDialog.getExistingDirectory(parent, title, start)
    if not answer:
        return None
    remember_folder(kind, Path(answer))
    return Path(answer)


def ask_save_path(parent: QWidget, title: str, suggested: str | Path, filter_text: str, suffix: str,
                  kind: str = "exports") -> Path | None:
    """The path to write (ending in ``suffix``), or None when the user cancels."""
    answer, _ = QFileDialog.getSaveFileName(parent, title, _start(kind, suggested), filter_text)
    if not answer:
        return None
    if answer.lower().endswith(suffix.lower()):
        path = Path(answer)
    else:
        path = Path(answer + suffix)
        if path.exists():  # "net" passed the dialog's own check, "net.json" did not go through it
            reply = QMessageBox.question(parent, title, tr("{name} already exists. Replace it?").format(name=path.name),
                                         QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                         QMessageBox.StandardButton.No)
            if reply != QMessageBox.StandardButton.Yes:
                return None
    remember_folder(kind, path)
    return path
