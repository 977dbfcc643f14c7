"""Asking for a file to write: the suffix a format needs is added, and a file that the name with its
suffix would replace is asked about (the platform dialog only checked the name as typed)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def ask_save_path(parent: QWidget, title: str, suggested: str | Path, filter_text: str, suffix: str) -> Path | None:
    """The path to write (ending in ``suffix``), or None when the user cancels."""
    answer, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), filter_text)
    if not answer:
        return None
    if answer.lower().endswith(suffix.lower()):
        return Path(answer)
    path = Path(answer + suffix)
    if path.exists():  # "net" passed the dialog's own check, "net.json" did not go through it
        reply = QMessageBox.question(parent, title, f"{path.name} already exists. Replace it?",
                                     QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                     QMessageBox.StandardButton.No)
        if reply != QMessageBox.StandardButton.Yes:
            return None
    return path
