"""Every keyboard shortcut of the window, in one table: the key each platform expects, plus the
portable keys users of the other platforms reach for, each registered once.

A standard key (``QKeySequence.StandardKey``) means different keys on Windows, macOS, KDE and
GNOME, and none at all for some actions on some of them (Save As and Quit on Windows). Each action
takes the platform's primary binding of its standard key and the portable keys listed here, with
duplicates removed: registering one key twice on an action makes Qt call it an "ambiguous
shortcut overload" and do nothing (Redo on GNOME, whose primary Redo is Ctrl+Shift+Z, was
registered as that twice). Only the primary binding is taken: secondary ones collide (GNOME's
Delete includes Ctrl+D, the Duplicate key).

Help ▸ Keyboard Shortcuts is written from the actions themselves, so it lists what is bound.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtGui import QKeySequence

K = QKeySequence.StandardKey

#: action name → (standard key or None, portable keys), in the order Help ▸ Keyboard Shortcuts lists them.
#: "Ctrl" is Cmd on macOS, as Qt reads it.
SHORTCUTS: dict[str, tuple[QKeySequence.StandardKey | None, tuple[str, ...]]] = {
    "new": (K.New, ("Ctrl+N",)),
    "open": (K.Open, ("Ctrl+O",)),
    "save": (K.Save, ("Ctrl+S",)),
    "save_as": (K.SaveAs, ("Ctrl+Shift+S",)),
    "quit": (K.Quit, ("Ctrl+Q",)),
    "undo": (K.Undo, ("Ctrl+Z",)),
    "redo": (K.Redo, ("Ctrl+Shift+Z", "Ctrl+Y")),
    "copy": (K.Copy, ("Ctrl+C",)),
    "cut": (K.Cut, ("Ctrl+X",)),
    "paste": (K.Paste, ("Ctrl+V",)),
    "duplicate": (None, ("Ctrl+D",)),
    "delete": (K.Delete, ("Del", "Backspace")),  # a Mac laptop's delete key is Backspace
    "select_all": (K.SelectAll, ("Ctrl+A",)),
    "rename": (None, ("F2",)),
    "fit": (None, ("F",)),
    "layout": (None, ("L",)),
    "zoom_in": (K.ZoomIn, ("Ctrl++", "Ctrl+=")),  # Ctrl+= : the same key without Shift
    "zoom_out": (K.ZoomOut, ("Ctrl+-",)),
    "zoom_reset": (None, ("Ctrl+0",)),
    "show_design": (None, ("Ctrl+1",)),  # the tabs, as a browser's: Ctrl+1…3 (Cmd on macOS)
    "show_train": (None, ("Ctrl+2",)),
    "show_explain": (None, ("Ctrl+3",)),
}

#: Keys that mean something else on macOS (Cmd+Y opens the history in Mac apps).
NOT_ON_MAC = {"Ctrl+Y"}

Bindings = Callable[[QKeySequence.StandardKey], list[QKeySequence]]


def key_sequences(name: str, bindings: Bindings = QKeySequence.keyBindings,
                  platform: str = sys.platform) -> list[QKeySequence]:
    """The keys of action ``name``: the platform's primary binding first, then the portable ones,
    each once (``bindings`` and ``platform`` stand for another platform's key map in tests)."""
    standard, portable = SHORTCUTS[name]
    keys: list[QKeySequence] = []
    if standard is not None:
        keys += list(bindings(standard))[:1]
    keys += [QKeySequence(k) for k in portable if not (platform == "darwin" and k in NOT_ON_MAC)]
    unique: list[QKeySequence] = []
    for key in keys:
        if not key.isEmpty() and key not in unique:
            unique.append(key)
    return unique


def shortcut_text(keys: list[QKeySequence]) -> str:
    """The keys as the platform writes them ("Ctrl+Shift+Z, Ctrl+Y"; "⇧⌘Z" on macOS)."""
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
