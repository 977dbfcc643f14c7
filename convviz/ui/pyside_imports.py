"""Imports after PySide6 at the speed of plain Python.

Importing PySide6 replaces ``__import__`` so that a module may opt in to ``from __feature__ import
snake_case``; as a side effect it reads the source of every module imported afterwards, in every
thread, to see whether it names PySide6 (``shibokensupport.feature._mod_uses_pyside``: a
``inspect.getsource`` per module; napari/napari#8584). For the app that is torch's 1,500 modules
while the Train tab waits for them, and pyqtgraph's: a fifth of torch's import time here. No module
of ours or of our libraries uses ``__feature__``, so every module can be told "ignore me" (select id
-1: the default selection stays) without reading it. A module that does import ``__feature__`` is
still registered by PySide6's own ``feature_import``.
"""

from __future__ import annotations

import PySide6.QtCore  # noqa: F401  (installs the import hook this adjusts)


def _no_feature_selection(module) -> bool:
    return False


def skip_source_scans() -> bool:
    """Stop PySide6 reading each imported module's source; False where this PySide6 has no such scan."""
    try:
        from shibokensupport import feature
    except ImportError:
        return False
    if not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _no_feature_selection
    return True
