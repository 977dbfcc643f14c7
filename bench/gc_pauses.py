"""What Python's cyclic garbage collector costs while the user edits, with and without ``gc.freeze()``.

    python bench/gc_pauses.py [--nodes 500] [--edits 200] [--rounds 3]

Opens the main window (offscreen) on a generated design, imports torch and pyqtgraph as the Train
and Explain tabs do, then pushes edits through the document (the incremental analysis and the
views' updates, as in the app): parameter edits, then structural ones (an inserted node undone
and redone), and records every collection with ``gc.callbacks``.
Rounds alternate: the heap as start-up left it, and the heap after ``convviz.ui.heap.freeze_heap``
(what ``run_app`` does after the first paint and after a lazy tab is built), undone with
``gc.unfreeze`` for the next round. Prints per edit: time in the collector, the longest pause, and
how many generation-2 (full) collections ran; then how long one full collection takes either way.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.generated import residual_design  # noqa: E402
from convviz.ui.app import make_application  # noqa: E402
from convviz.ui.heap import freeze_heap  # noqa: E402


class CollectorLog:
    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))


def edit_session(app, window, kind: str, edits: int, log: CollectorLog) -> dict[str, float]:
    """``edits`` parameter edits (bias on and off, conv after conv) or structural ones (a ReLU
    inserted after a node, undone, redone: the wiring is re-derived each time)."""
    from convviz.design.edits import InsertAfter
    from convviz.ui.commands import EditsCommand, SetParamCommand

    document = window.document
    convs = [n.id for n in document.design if n.type == "Conv2d"][1:]  # not the stem: it feeds the Adds
    if kind == "structural":
        document.push(EditsCommand(document, "insert", (InsertAfter(convs[len(convs) // 2], "ReLU", {}, "extra"),)))
    log.pauses.clear()
    start = time.perf_counter()
    for i in range(edits):
        if kind == "parameter":
            document.push(SetParamCommand(document, convs[(i * 7) % len(convs)], "bias", i % 2 == 0))
        elif i % 2 == 0:
            document.undo_stack.undo()
        else:
            document.undo_stack.redo()
        app.processEvents()
    elapsed = time.perf_counter() - start
    full = [d for g, d in log.pauses if g == 2]
    return {"collector ms/edit": 1e3 * sum(d for _, d in log.pauses) / edits,
            "longest pause ms": 1e3 * max((d for _, d in log.pauses), default=0.0),
            "full collections": len(full), "edit ms": 1e3 * elapsed / edits}


def _timed_collection() -> float:
    start = time.perf_counter()
    gc.collect(2)
    return 1e3 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    app = make_application()
    import pyqtgraph  # noqa: F401  (what the Train and Explain tabs load)
    import torch  # noqa: F401

    from convviz.ui.main_window import MainWindow

    window = MainWindow(residual_design(args.nodes), persistent=False)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    log = CollectorLog()
    gc.callbacks.append(log)
    print(f"{args.nodes}-node design, {args.edits} parameter edits per round, {len(gc.get_objects()):,} tracked objects")
    for kind in ("parameter", "structural"):
        results: dict[str, list[dict[str, float]]] = {"as started": [], "after freeze_heap()": []}
        for _ in range(args.rounds):
            gc.unfreeze()
            gc.collect()
            results["as started"].append(edit_session(app, window, kind, args.edits, log))
            freeze_heap()
            results["after freeze_heap()"].append(edit_session(app, window, kind, args.edits, log))
        keys = list(results["as started"][0])
        print(f"\n{kind} edits\n{'heap':<22}" + "".join(f"{k:>22}" for k in keys))
        for label, rounds in results.items():
            cells = []
            for key in keys:
                values = [r[key] for r in rounds]
                cells.append(f"{statistics.median(values):.2f} ({min(values):.1f}–{max(values):.1f})")
            print(f"{label:<22}" + "".join(f"{c:>22}" for c in cells))
    gc.callbacks.remove(log)
    pauses = {}
    for label, freeze in (("as started", False), ("after freeze_heap()", True)):
        gc.unfreeze()
        if freeze:
            freeze_heap()
        pauses[label] = statistics.median(_timed_collection() for _ in range(5))
    print("\none full (generation-2) collection, the pause an edit gets when one falls due: "
          + ", ".join(f"{label} {ms:.1f} ms" for label, ms in pauses.items()))
    window.document.undo_stack.setClean()
    window.close()


if __name__ == "__main__":
    main()
