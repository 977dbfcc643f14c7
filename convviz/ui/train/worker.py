"""A training run on its own thread: the loop is plain Python (``convviz.train.Trainer``); this object
starts it, records it in the run store, forwards its records to the GUI thread (in batches) and passes on
pause/resume/stop.

The thread is a daemon Python thread, not a QThread: closing the app while a step is still
running (a large model's step can take a minute) must not abort the process ("QThread: destroyed
while thread is still running"). Signals emitted from it are queued to this object's thread (the
GUI's), as Qt does for any thread. The run trains a frozen copy of the design made on the GUI
thread, so edits made while it runs cannot reach it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...i18n import tr
from ...messages import first_line
from .pacing import FASTEST_REFRESH_MS


_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
#: Step records, snapshots and probes reach the GUI thread in batches, one at most this often (seconds: the
#: views' fastest refresh): each delivery wakes the GUI thread, which takes a core from torch's threads while
#: the CPU trains. The other records, and those of a pausing run, go at once.
BATCH_SECONDS = FASTEST_REFRESH_MS / 1000
#: Held while the training loop's modules are imported (``import_training``).
TRAINING_IMPORTS = threading.Lock()


def import_training() -> None:
    """Import the training loop ahead of the first run, in the background: first imports in the run's
    thread would hold the interpreter while the window waits. The first optimizer imports all of
    torch._dynamo (800 modules, a second and a half), so make one here. A run's thread calls it too,
    first: two threads importing torch's circular modules at once hand one of them a half-made module
    (seen: "'prims' object has no attribute 'sum'" in both), so one waits for the other."""
    with TRAINING_IMPORTS:
        import torch

        import convviz.train.loop  # noqa: F401

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def training_still_running() -> bool:
    """Is a run's step still going (the app is quitting)? Then the process must end without Python's
    finalisation, which would kill that thread inside torch's C++ code and abort."""
    return any(thread.is_alive() for thread in list(_THREADS))


class TrainingRun(QObject):
    #: The run's records (StartRecord … EndRecord), in order, a list at a time, delivered on the GUI thread.
    records = Signal(object)
    #: The run could not start (the design does not fit the data, a bad setting): one line.
    failed = Signal(str)
    #: The run is being recorded in the store: (run id, number, name).
    recording = Signal(str, int, str)
    #: Recording is not possible or stopped (a full disk): one line; the training goes on.
    problem = Signal(str)
    #: An epoch (or the end) of the run is in the store now: its id.
    written = Signal(str)
    #: The thread is done (after the EndRecord or the failure).
    finished = Signal()

    def __init__(self, design, dataset, config, initial_state=None, snapshot_rate: float = 10.0, *,
                 runs_folder: Path | None = None, lineage: str | None = None, parent: str | None = None,
                 name: str | None = None, start: dict | None = None) -> None:
        super().__init__()
        from ...train import TrainControl

        self.control = TrainControl()
        self._args = (design, dataset, config, initial_state, snapshot_rate)
        self._store = (runs_folder, lineage, parent, name, start)
        self.run_id: str | None = None
        self._thread = threading.Thread(target=self._run, name="convviz-training", daemon=True)

    def start(self) -> None:
        _THREADS.add(self._thread)
        self._thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        """Ask the run to end after the current step; it keeps the weights trained so far."""
        self.control.stop()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, msecs: int = 30000) -> bool:
        """Wait up to ``msecs`` for the thread to end; True if it has."""
        if self._thread.ident is not None:
            self._thread.join(msecs / 1000)
        return not self._thread.is_alive()

    def _run(self) -> None:
        import_training()   # after the background import of the same, if one is running
        from ...train import ProbeRecord, SnapshotRecord, StepRecord, Trainer

        batched = (StepRecord, SnapshotRecord, ProbeRecord)
        batch: list = []
        sent = time.perf_counter()

        design, dataset, config, initial_state, snapshot_rate = self._args
        recorder = None
        try:
            probe = self._probe(design, dataset, config)
            trainer = Trainer(design, dataset, config, control=self.control, initial_state=initial_state,
                              report_rate=10.0, snapshot_rate=snapshot_rate, probe=probe)
            recorder = self._recorder(trainer)
            for record in trainer:
                if recorder is not None:
                    recorder.add(record)   # a queue put: the recorder's thread writes it
                    if recorder.problem:
                        self.problem.emit(recorder.problem)
                        recorder.close()
                        recorder = None
                batch.append(record)
                now = time.perf_counter()
                if now - sent >= BATCH_SECONDS or not isinstance(record, batched) or self.control.paused:
                    batch, sent = self._deliver(batch), now
        except (ValueError, RuntimeError, OSError) as exc:  # TrainError, ConfigError, DatasetError, torch
            batch = self._deliver(batch)
            if recorder is not None:
                recorder.fail(first_line(exc))
            self.failed.emit(first_line(exc))
        except Exception as exc:  # a bug: the message still reaches the user, the thread still ends
            import traceback

            traceback.print_exc()
            batch = self._deliver(batch)
            if recorder is not None:
                recorder.fail(first_line(exc))
            self.failed.emit(f"{type(exc).__name__}: {first_line(exc)}")
        finally:
            self._deliver(batch)
            self._args = None  # the design copy, the dataset and the initial weights are not needed now
            self.finished.emit()

    def _deliver(self, batch: list) -> list:
        """Hand the records held back to the GUI thread (before a failure or the end is reported); a new batch."""
        if batch:
            self.records.emit(batch)
        return []

    def _probe(self, design, dataset, config):
        if self._store[0] is None:
            return None
        from ...runs.replay import ReplayProbe

        return ReplayProbe(design, dataset, seed=config.seed)

    def _recorder(self, trainer):
        folder, lineage, parent, name, start = self._store
        if folder is None:
            return None
        from ...runs import RunRecorder, RunStore, RunStoreError

        try:
            recorder = RunRecorder(RunStore(folder, scan=False), trainer, name=name, lineage=lineage, parent=parent,
                                   start=start, on_written=self.written.emit)
        except (RunStoreError, OSError, sqlite3.Error) as exc:
            self.problem.emit(tr("this run is not recorded in the run store: {why}").format(why=first_line(exc)))
            return None
        self.run_id = recorder.run_id
        self.recording.emit(recorder.run_id, recorder.number, recorder.name)
        return recorder
