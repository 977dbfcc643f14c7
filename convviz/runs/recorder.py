"""``RunRecorder``: one run written into the store while it trains.

    recorder = RunRecorder(store, trainer, name=..., lineage=...)   # the row, the folder, the manifest
    for record in trainer:
        recorder.add(record)          # a queue put: the writing happens on the recorder's own thread

The training thread never waits for the disk: records (CPU copies, immutable) go to a writer
thread that owns its SQLite connection. Per epoch it writes the weights files first (atomically),
then one transaction with the epoch, the steps since the last commit and the run's totals, so a
run killed at any moment keeps everything up to its last completed epoch (written a moment after
the epoch ends; ``flush`` waits for it). The EndRecord waits until everything is written. A failure
to record (a full disk) never stops the training: the recorder stops recording, keeps the reason
in ``problem``, and the run goes on.
"""

from __future__ import annotations

import json
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import analyze
from ..analysis.text import pair
from ..data.splits import SPLIT_METHOD
from ..design import dumps
from ..i18n import tr
from ..messages import first_line
from ..train.records import EndRecord, EpochRecord, ProbeRecord, StartRecord, StepRecord
from .files import RunFolder
from .lineage import design_fingerprint, new_lineage
from .replay import ReplayProbe, write_image, write_snapshot
from .results import RUNNING
from .schema import EPOCH_COLUMNS, SNAPSHOT_COLUMNS, STEP_COLUMNS, insert_sql
from .process import this_process
from .start import normalized
from .store import ACTIVE_RUNS, RUNS, RunStore

#: At most this long between commits of the step records (an epoch always commits).
COMMIT_INTERVAL_S = 2.0
#: At most this long between two handoffs of records to the writer thread.
HANDOFF_INTERVAL_S = 1.0


def new_run_id() -> str:
    """Sortable by time, unique across processes and machines sharing the folder."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


_STOP = object()


class RunRecorder:
    def __init__(self, store: RunStore, trainer, *, name: str | None = None, lineage: str | None = None,
                 parent: str | None = None, start: dict[str, Any] | None = None, source: str = "app",
                 on_written: Callable[[str], None] | None = None) -> None:
        """``trainer``: the ``convviz.train.Trainer`` about to run. ``lineage``: the design's line (default:
        the latest run's with the same design, else a new one); ``parent``: the run whose initial weights
        this one starts from ("train again from the same start"); ``start``: what its weights start from
        (``convviz.runs.start``; default: the parent's start, else fresh). ``on_written(run_id)``: called (from
        the writer thread) once an epoch or the end is in the store."""
        self.problem = ""
        self._on_written = on_written
        self._closed = False
        self.run_id = new_run_id()
        self.folder = RunFolder(store.root / RUNS / self.run_id)
        self._probe: ReplayProbe | None = trainer.probe if isinstance(trainer.probe, ReplayProbe) else None
        self._pending_steps: list[tuple] = []
        self._pending_snapshots: list[tuple] = []
        self._snapshots = 0
        self._last_commit = time.monotonic()
        self._speeds: list[float] = []
        self._seconds = 0.0
        self._best: tuple[int, float] | None = None
        self._live_speed = 0.0
        store.check_writable()
        design, config, dataset = trainer.design, trainer.config, trainer.dataset
        fingerprint = design_fingerprint(design)
        self.lineage = lineage or store.lineage_of(fingerprint) or new_lineage()
        analysis = analyze(design)
        field = analysis.receptive_field
        data = {"name": dataset.name, "spec": str(config.data), "train": len(trainer.train_split),
                "train_total": len(dataset.train), "val": len(dataset.val), "classes": list(dataset.classes),
                "shape": list(dataset.shape), "val_is_test": bool(dataset.val_is_test), "split": SPLIT_METHOD}
        created = time.time()
        self._manifest: dict[str, Any] = {
            "id": self.run_id, "name": name or "", "created": created, "lineage": self.lineage,
            "fingerprint": fingerprint, "design": dumps(design), "config": config.to_dict(), "dataset": data,
            "normalization": [list(map(float, trainer.mean)), list(map(float, trainer.std))], "parent": parent,
            "start": normalized(start, parent),
            "params": analysis.params, "macs": analysis.macs, "receptive_field": pair(field.size) if field else "",
            "source": source}
        self.folder.path.mkdir(parents=True)
        self.folder.write_manifest(self._manifest)
        self._connect = store.connect
        self._conn = store.connect()   # this thread's, for the row; the writer thread opens its own
        me = this_process()
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO runs (id, name, created, updated, status, design_name, design, lineage, fingerprint, "
                "config, seed, dataset, normalization, params, macs, receptive_field, epochs, steps_per_epoch, "
                "parent, start, pid, host, pid_started) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run_id, name or "", created, created, RUNNING, design.name, self._manifest["design"],
                 self.lineage, fingerprint, json.dumps(config.to_dict()), config.seed, json.dumps(data),
                 json.dumps(self._manifest["normalization"]), analysis.params, analysis.macs,
                 self._manifest["receptive_field"], config.epochs, trainer.steps_per_epoch, parent,
                 json.dumps(self._manifest["start"]), me.pid, me.host, me.started))
            self.number = cursor.lastrowid
            if not name:
                self.name = tr("{design} #{number}").format(design=design.name or tr("run"), number=self.number)
                self._conn.execute("UPDATE runs SET name = ? WHERE id = ?", (self.name, self.run_id))
            else:
                self.name = name
        self._conn.close()
        self._conn = None
        self._manifest["name"] = self.name
        self.folder.write_manifest(self._manifest)
        ACTIVE_RUNS.add(self.run_id)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._batch: list = []
        self._handed_off = time.monotonic()
        self._writer = threading.Thread(target=self._write_loop, name="convviz-run-store", daemon=True)
        self._writer.start()

    @property
    def recording(self) -> bool:
        return not self.problem and not self._closed

    # --- records ----------------------------------------------------------------------------------
    def add(self, record) -> None:
        """Queue ``record`` for the writer (an EndRecord: and wait until the whole run is written).

        Records go to the writer in batches (at the start, each epoch, the end, and at least every
        ``HANDOFF_INTERVAL_S``): a handoff wakes the writer thread, and every wake-up takes the GIL
        from the training thread for a moment."""
        if self._closed:
            return
        if not self.problem:
            self._batch.append(record)
            if isinstance(record, (StartRecord, EpochRecord, EndRecord)) or \
                    time.monotonic() - self._handed_off >= HANDOFF_INTERVAL_S:
                self._hand_off()
        if isinstance(record, EndRecord):
            self.close()

    def _hand_off(self) -> None:
        if self._batch:
            self._queue.put(self._batch)
            self._batch = []
        self._handed_off = time.monotonic()

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until everything added so far is in the store; False if the writer did not finish in time."""
        if self._closed or not self._writer.is_alive():
            return True
        self._hand_off()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _write_loop(self) -> None:
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if isinstance(item, threading.Event):
                    self._commit(item)
                    continue
                if isinstance(item, _Fail):
                    self._write_failure(item.message)
                    continue
                for record in item:
                    if not self.problem:
                        self._write(record)
        finally:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            ACTIVE_RUNS.discard(self.run_id)

    def _commit(self, done: threading.Event) -> None:
        try:
            if not self.problem:
                with self._conn:
                    self._write_pending()
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
        done.set()

    def _write(self, record) -> None:
        try:
            if isinstance(record, StepRecord):
                self._step(record)
            elif isinstance(record, EpochRecord):
                self._epoch(record)
            elif isinstance(record, ProbeRecord):
                self._snapshot(record)
            elif isinstance(record, StartRecord):
                self._start(record)
            elif isinstance(record, EndRecord):
                self._end(record)
        except (OSError, sqlite3.Error, RuntimeError, ValueError) as exc:
            self._give_up(exc)
            return
        if isinstance(record, (EpochRecord, EndRecord)) and self._on_written is not None:
            self._on_written(self.run_id)

    def _start(self, record: StartRecord) -> None:
        if record.state is not None:
            self.folder.write_weights("initial", record.state)
        if self._probe is not None:
            write_image(self.folder, self._probe.image_arrays())
        start = {"kind": "start", "device": record.device, "params": record.parameters, "epochs": record.epochs,
                 "steps_per_epoch": record.steps_per_epoch, "gradient_layers": list(record.gradient_layers)}
        self.folder.append_curves([start])
        with self._conn:
            self._conn.execute("UPDATE runs SET device = ?, params = ?, epochs = ?, steps_per_epoch = ?, "
                               "gradient_layers = ?, updated = ? WHERE id = ?",
                               (record.device, record.parameters, record.epochs, record.steps_per_epoch,
                                json.dumps(list(record.gradient_layers)), time.time(), self.run_id))

    def _step(self, record: StepRecord) -> None:
        gradients = record.gradients.astype(np.float32).tobytes() if record.gradients is not None else None
        self._pending_steps.append((self.run_id, record.global_step, record.epoch, record.step, record.loss,
                                    record.accuracy, record.lr, record.samples_per_s, gradients))
        self._live_speed = record.samples_per_s
        if time.monotonic() - self._last_commit >= COMMIT_INTERVAL_S:
            with self._conn:
                self._write_pending()

    def _snapshot(self, record: ProbeRecord) -> None:
        if not isinstance(record.data, dict):
            return
        write_snapshot(self.folder, self._snapshots, record.data)
        self._pending_snapshots.append((self.run_id, self._snapshots, record.global_step, record.epoch, record.step))
        self._snapshots += 1

    def _epoch(self, record: EpochRecord) -> None:
        if record.state is not None:
            self.folder.write_weights("last", record.state)
            if record.best_epoch == record.epoch:
                self.folder.write_weights("best", record.state)
                self._best = (record.epoch, record.val_acc)
        self._speeds.append(record.samples_per_s)
        self._seconds += record.seconds
        confusion = json.dumps(np.asarray(record.confusion).tolist())
        best_epoch, best_acc = self._best or (0, None)
        epoch = (record.epoch, record.train_loss, record.train_acc, record.val_loss, record.val_acc, record.lr,
                 record.samples_per_s, record.seconds, confusion)
        with self._conn:
            self._write_pending([dict(zip(("kind", *EPOCH_COLUMNS), ("epoch", *epoch)))])
            self._conn.execute(insert_sql("epochs", EPOCH_COLUMNS), (self.run_id, *epoch))
            if record.state is not None:
                self._conn.execute(
                    "UPDATE runs SET epochs_done = ?, best_epoch = ?, best_val_acc = ?, samples_per_s = ?, "
                    "seconds = ?, updated = ? WHERE id = ?",
                    (record.epoch, best_epoch, best_acc, float(np.mean(self._speeds)), self._seconds, time.time(),
                     self.run_id))
        if record.state is not None:
            # The manifest follows (atomically): an index rebuilt from the folders still knows how far the run got.
            self._manifest["progress"] = {"epochs_done": record.epoch, "best_epoch": best_epoch,
                                          "best_val_acc": best_acc, "seconds": self._seconds,
                                          "samples_per_s": float(np.mean(self._speeds))}
            self._write_manifest()

    def _end(self, end: EndRecord) -> None:
        if end.state_dict:
            self.folder.write_weights("last", end.state_dict)
        if self._best is None and end.best_state_dict is not None:
            self.folder.write_weights("best", end.best_state_dict)
        speed = float(np.mean(self._speeds)) if self._speeds else self._live_speed
        best_acc = end.best_val_acc if end.best_epoch else None
        outcome = {"status": end.reason, "message": end.message, "epochs_done": end.epochs_completed,
                   "best_epoch": end.best_epoch, "best_val_acc": best_acc, "seconds": end.seconds,
                   "samples_per_s": speed, "device": end.training.get("results", {}).get("device", "")}
        with self._conn:
            self._write_pending()
            self._conn.execute(
                "UPDATE runs SET status = ?, message = ?, epochs_done = ?, best_epoch = ?, best_val_acc = ?, "
                "seconds = ?, samples_per_s = ?, updated = ? WHERE id = ?",
                (end.reason, end.message, end.epochs_completed, end.best_epoch, best_acc, end.seconds, speed,
                 time.time(), self.run_id))
        self._manifest["outcome"] = outcome
        self._write_manifest()

    def _write_manifest(self) -> None:
        """The manifest with what the user changed meanwhile (a rename, a note, a star: the index has them),
        so that this write does not undo theirs."""
        row = self._conn.execute("SELECT name, note, starred FROM runs WHERE id = ?", (self.run_id,)).fetchone()
        if row is not None:
            self._manifest.update(name=row[0], note=row[1], starred=bool(row[2]))
        self.folder.write_manifest(self._manifest)

    def _write_pending(self, more: list[dict] | None = None) -> None:
        """The steps and snapshots gathered since the last commit (and ``more`` records) into the run's
        journal, then the index (the caller commits)."""
        self.folder.append_curves(
            [dict(zip(("kind", *STEP_COLUMNS), ("step", *row[1:]))) for row in self._pending_steps] +
            [dict(zip(("kind", *SNAPSHOT_COLUMNS), ("snapshot", *row[1:]))) for row in self._pending_snapshots] +
            (more or []))
        if self._pending_steps:
            self._conn.executemany(insert_sql("steps", STEP_COLUMNS), self._pending_steps)
            self._pending_steps = []
        if self._pending_snapshots:
            self._conn.executemany(insert_sql("snapshots", SNAPSHOT_COLUMNS), self._pending_snapshots)
            self._pending_snapshots = []
        self._last_commit = time.monotonic()

    # --- ending -----------------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        """The run ended without an EndRecord (an error in the loop itself): say so in its row."""
        if self.recording:
            self._hand_off()
            self._queue.put(_Fail(message))
        self.close()

    def _write_failure(self, message: str) -> None:
        if self.problem:
            return
        try:
            with self._conn:
                self._write_pending()
                self._conn.execute("UPDATE runs SET status = 'failed', message = ?, updated = ? WHERE id = ?",
                                   (message, time.time(), self.run_id))
        except (sqlite3.Error, OSError):
            pass

    def _give_up(self, exc: BaseException) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(exc)
        self.problem = tr("the run is no longer recorded in the run store: {why}").format(why=why)

    def close(self, timeout: float = 120.0) -> None:
        """Write what is queued and stop the writer (waits up to ``timeout`` seconds)."""
        if self._closed:
            return
        self._closed = True
        self._hand_off()
        self._queue.put(_STOP)
        if threading.current_thread() is not self._writer:
            self._writer.join(timeout)


class _Fail:
    def __init__(self, message: str) -> None:
        self.message = message
