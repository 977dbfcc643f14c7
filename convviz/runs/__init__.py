"""The run store: every training run recorded while it trains, and the queries the app and the CLI ask.

    store = RunStore(folder)                       # the index (SQLite, WAL) and one folder per run
    recorder = RunRecorder(store, trainer, name="5×5 vs bottleneck")
    for record in trainer: recorder.add(record)     # in the training thread: crash-safe, cheap
    store.runs(lineage=...)                         # RunSummary rows for the runs table
    store.curves(run_id), store.gradients(run_id), store.replay(run_id), store.weights(run_id, "best")

No Qt here (the app passes the folder in); torch only for the weight files. A damaged index is
moved aside and rebuilt from the runs' folders; a damaged or foreign run is skipped with a
message in ``store.problems``, never an exception out of ``runs()``.
"""

from .compare import Difference, differences
from .lineage import design_fingerprint, new_lineage
from .pareto import pareto_front
from .results import (GradientHistory, RunCurves, RunDetail, RunSummary, STATUSES, INTERRUPTED, RUNNING,
                      status_label)
from .store import DEFAULT_FOLDER_NAME, RunStore, RunStoreError, default_runs_folder, runs_folder_from_env

__all__ = [
    "DEFAULT_FOLDER_NAME", "Difference", "GradientHistory", "INTERRUPTED", "RUNNING", "RunCurves", "RunDetail",
    "RunStore", "RunStoreError", "RunSummary", "STATUSES", "default_runs_folder", "design_fingerprint", "differences", "new_lineage",
    "pareto_front", "runs_folder_from_env", "status_label",
]


_LAZY = {"RunRecorder": "recorder", "ReplayProbe": "replay", "Replay": "replay", "ReplaySnapshot": "replay"}
__all__ += list(_LAZY)


def __getattr__(name: str):
    """The recorder and the replay load torch and the explain package: only when used."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
