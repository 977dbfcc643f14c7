"""The running app's session policies, for benchmarks that build the main window themselves."""

from __future__ import annotations


def adopt_app_heap_policy(window) -> None:
    """What run_app does after the first paint, where the measured code has it (older revisions, run as
    baselines, spelt it out or lacked parts of it)."""
    try:
        from convviz.ui.app import adopt_heap_policy
    except ImportError:
        pass
    else:
        adopt_heap_policy(window)
        return
    try:
        from convviz.ui.heap import freeze_heap
    except ImportError:
        return
    try:  # after a lazy tab's imports (newer code: without a full collection first)
        from convviz.ui.heap import freeze_imports
    except ImportError:
        freeze_imports = freeze_heap
    freeze_heap()
    try:
        from convviz.ui.gc_guard import freeze_after_imports
    except ImportError:
        pass
    else:
        freeze_after_imports()
    window.lazyTabBuilt.connect(lambda _index: freeze_imports())
