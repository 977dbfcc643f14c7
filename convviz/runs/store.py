"""``RunStore``: the index of every run (SQLite in WAL mode) over one folder per run.

The index answers the lists and the curves; the folders hold the tensors. Both survive a kill at
any moment: the index commits at least once per epoch (a killed run keeps everything up to its
last completed epoch and shows as "interrupted"), the files are written atomically. An index
that SQLite cannot read is moved aside (never deleted) and rebuilt from the runs' manifests; a
run whose folder is gone, damaged or from a newer convviz is skipped with a line in ``problems``.

One ``RunStore`` per thread: SQLite connections stay in the thread that made them. The training
thread's recorder opens its own (``connect``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..design import DesignFileError, loads
from ..i18n import ntr, tr
from ..messages import first_line
from ..train.config import ConfigError, TrainConfig
from . import schema
from .files import MANIFEST, VERSION as RUN_FORMAT, RunFileError, RunFolder
from .process import ProcessId, this_process
from .results import INTERRUPTED, RUNNING, GradientHistory, RunCurves, RunDetail, RunSummary
from .start import normalized

#: The environment variable that puts the runs somewhere else (the app, the CLI and the tests read it).
ENV = "CONVVIZ_RUNS"
#: The folder's name inside the user's data folder (the app's is Qt's AppDataLocation).
DEFAULT_FOLDER_NAME = "runs"
INDEX = "runs.sqlite3"
RUNS = "runs"

_SUMMARY_COLUMNS = ("id, number, name, created, status, message, design_name, lineage, fingerprint, dataset, epochs, "
                    "epochs_done, best_epoch, best_val_acc, params, macs, receptive_field, seconds, samples_per_s, "
                    "device, starred, note, parent, pid, host, format, start, pid_started")

#: Run ids recording in this process (a run of this process that is not here was cut short).
ACTIVE_RUNS: set[str] = set()


class RunStoreError(ValueError):
    """The store cannot do what was asked (no such run, an index from a newer convviz, a full disk): one line."""


def runs_folder_from_env() -> Path | None:
    value = os.environ.get(ENV, "").strip()
    return Path(value).expanduser() if value else None


def default_runs_folder() -> Path:
    """Without Qt (the CLI): ``CONVVIZ_RUNS``, else the folder Qt's AppDataLocation names on this system."""
    found = runs_folder_from_env()
    if found is not None:
        return found
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "convviz" / "convviz"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "convviz" / "convviz"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "convviz" / "convviz"
    return base / DEFAULT_FOLDER_NAME


class RunStore:
    def __init__(self, root: str | os.PathLike, *, scan: bool = True) -> None:
        """``scan``: index folders the index lacks, mark dead runs, finish old deletions (the app and the
        CLI do at opening; a training thread's own store does not need to)."""
        self.root = Path(root)
        #: Lines about what could not be read (a damaged index moved aside, runs skipped), for the user.
        self.problems: list[str] = []
        self.read_only = False
        try:
            (self.root / RUNS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(tr("cannot use {folder} for the runs: {why}").format(
                folder=self.root, why=exc.strerror or first_line(exc))) from None
        self._runs_dir = str(self.root / RUNS)
        self._conn = self._open()
        if scan:
            self._scan_folders()

    # --- opening, repairing -----------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    def connect(self) -> sqlite3.Connection:
        """A new connection to the index (one per thread)."""
        connection = sqlite3.connect(self.index_path, timeout=5.0)
        schema.configure(connection)
        return connection

    def _open(self) -> sqlite3.Connection:
        try:
            connection = self.connect()
            found = schema.version(connection)
            if found > schema.SCHEMA_VERSION:
                self.read_only = True
                self._note(tr("the runs index in {folder} was written by a newer convviz (schema {found}): runs are "
                              "shown but new ones are not recorded").format(folder=self.root, found=found))
                return connection
            schema.create_or_migrate(connection)
            connection.execute("SELECT count(*) FROM runs").fetchone()
            return connection
        except sqlite3.DatabaseError as exc:
            if _damaged(exc):
                return self._rebuild(exc)
            # A lock, a read-only file, a disk error: the index is healthy, it must not be moved aside.
            raise RunStoreError(tr("the runs index {path} cannot be opened: {why}").format(
                path=self.index_path, why=first_line(exc))) from None

    def _rebuild(self, exc: BaseException) -> sqlite3.Connection:
        """Move the unreadable index aside (with its WAL) and start a new one from the runs' manifests."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.index_path.with_name(f"{INDEX}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.index_path}{suffix}")
            if source.exists():
                os.replace(source, f"{aside}{suffix}")
        self._note(tr("the runs index was damaged ({why}): it was moved to {aside} and a new one was built from the "
                      "runs' folders").format(why=first_line(exc), aside=aside.name))
        connection = self.connect()
        schema.create_or_migrate(connection)
        return connection

    def _note(self, line: str) -> None:
        if line not in self.problems:
            self.problems.append(line)

    def _scan_folders(self) -> None:
        """Index folders the index lacks (an index rebuilt, a run whose first commit never came), mark runs
        whose process is gone as interrupted, and finish deletions a closed app left behind."""
        if self.read_only:
            return
        try:
            known = {row[0] for row in self._conn.execute("SELECT id FROM runs")}
            names = sorted(entry.name for entry in os.scandir(self.root / RUNS) if entry.is_dir())
        except (OSError, sqlite3.Error) as exc:
            self._note(tr("the runs folder {folder} cannot be read: {why}").format(folder=self.root,
                                                                                  why=first_line(exc)))
            return
        for name in names:
            if name not in known and not name.startswith("."):
                self._index_folder(RunFolder(self.root / RUNS / name))
        self._mark_interrupted()
        self._purge_abandoned_deletions()

    def _index_folder(self, folder: RunFolder) -> None:
        try:
            row = _manifest_row(folder.id, folder.read_manifest())
        except RunFileError as exc:
            self._note(tr("skipped {folder}: {why}").format(folder=folder.id, why=first_line(exc)))
            return
        columns = ", ".join(row)
        with self._conn:
            added = self._conn.execute(f"INSERT OR IGNORE INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})",
                                       tuple(row.values())).rowcount
            if added:
                self._restore_curves(folder)

    def _restore_curves(self, folder: RunFolder) -> None:
        """A run's curves, gradient statistics and replay positions from its journal (``curves.jsonl``)."""
        records, bad = folder.read_curves()
        tables = {"step": ("steps", schema.STEP_COLUMNS), "snapshot": ("snapshots", schema.SNAPSHOT_COLUMNS),
                  "epoch": ("epochs", schema.EPOCH_COLUMNS)}
        rows: dict[str, list[tuple]] = {kind: [] for kind in tables}
        for record in records:
            kind = record.get("kind")
            if kind == "start" and _numbers(record, ("epochs", "steps_per_epoch")) and \
                    isinstance(record.get("gradient_layers"), list):
                self._conn.execute(
                    "UPDATE runs SET device = ?, epochs = ?, steps_per_epoch = ?, gradient_layers = ? WHERE id = ?",
                    (str(record.get("device", "")), record["epochs"], record["steps_per_epoch"],
                     json.dumps([str(name) for name in record["gradient_layers"]]), folder.id))
            elif kind in tables and _numbers(record, tuple(c for c in tables[kind][1]
                                                           if c not in ("gradients", "confusion"))) and \
                    isinstance(record.get("gradients", b""), (bytes, type(None))) and \
                    isinstance(record.get("confusion", ""), str):
                rows[kind].append((folder.id, *(record[column] for column in tables[kind][1])))
            else:
                bad += 1
        for kind, (table, columns) in tables.items():
            self._conn.executemany(schema.insert_sql(table, columns), rows[kind])
        if bad:
            self._note(ntr("run {run}: {n} damaged line in its curves was skipped",
                           "run {run}: {n} damaged lines in its curves were skipped", bad).format(run=folder.id, n=bad))

    def _mark_interrupted(self) -> None:
        rows = self._conn.execute("SELECT id, pid, host, pid_started FROM runs WHERE status = ?", (RUNNING,)).fetchall()
        gone = [run_id for run_id, pid, host, started in rows if not _alive(run_id, ProcessId(pid, host, started))]
        if gone:
            with self._conn:
                self._conn.executemany(
                    "UPDATE runs SET status = ?, message = ? WHERE id = ?",
                    [(INTERRUPTED, tr("the process training it ended before the run did (closed, killed or "
                                      "crashed); kept up to its last completed epoch"), run_id) for run_id in gone])

    def _purge_abandoned_deletions(self) -> None:
        rows = self._conn.execute("SELECT id, deleted_pid, deleted_host, deleted_started FROM runs "
                                  "WHERE deleted IS NOT NULL").fetchall()
        me = this_process()
        deleters = [(run_id, ProcessId(pid, host, started)) for run_id, pid, host, started in rows]
        abandoned = [run_id for run_id, deleter in deleters if deleter.here and deleter.pid != me.pid
                     and not deleter.alive()]
        training = {run.id for run in self.training_now(abandoned)}
        self.purge([run_id for run_id in abandoned if run_id not in training], force=True)

    def close(self) -> None:
        self._conn.close()

    # --- the runs ------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """RunStoreError when runs cannot be recorded here (an index from a newer convviz)."""
        self._writable()

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder(self.root / RUNS / run_id)

    # --- queries ----------------------------------------------------------------------------------
    def runs(self, lineage: str | None = None, *, include_deleted: bool = False) -> list[RunSummary]:
        """The runs, newest first (of one lineage, or all); damaged ones are left out and named in ``problems``."""
        where, args = ["1"], []
        if not include_deleted:
            where.append("deleted IS NULL")
        if lineage is not None:
            where.append("lineage = ?")
            args.append(lineage)
        try:
            rows = self._conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE {' AND '.join(where)} "
                                      "ORDER BY number DESC", args).fetchall()
        except sqlite3.DatabaseError as exc:
            self._note(tr("the runs index cannot be read: {why}").format(why=first_line(exc)))
            return []
        found = []
        for row in rows:
            summary = self._summary(row)
            if summary is not None:
                found.append(summary)
        return found

    def _summary(self, row: tuple) -> RunSummary | None:
        (run_id, number, name, created, status, message, design_name, lineage, fingerprint, dataset, epochs,
         epochs_done, best_epoch, best_val_acc, params, macs, field, seconds, speed, device, starred, note, parent,
         pid, host, run_format, start_json, pid_started) = row
        if run_format > RUN_FORMAT:
            self._note(tr("skipped run #{number}: written by a newer convviz (run format {version})").format(
                number=number, version=run_format))
            return None
        if not os.path.isdir(os.path.join(self._runs_dir, run_id)):
            self._note(tr("skipped run #{number} ({name}): its folder {folder} is gone").format(
                number=number, name=name, folder=run_id))
            return None
        if status == RUNNING and not _alive(run_id, ProcessId(pid, host, pid_started)):
            status = INTERRUPTED
        try:
            data = json.loads(dataset)
        except (ValueError, TypeError):
            data = {}
        try:
            start = json.loads(start_json)
        except (ValueError, TypeError):
            start = None
        return RunSummary(run_id, number, name, created, status, message, design_name, lineage, fingerprint,
                          _dataset_line(data), epochs, epochs_done, best_epoch, best_val_acc, params, macs, field,
                          seconds, speed, device, bool(starred), note, parent, normalized(start, parent),
                          data if isinstance(data, dict) else {})

    def summary(self, run_id: str) -> RunSummary | None:
        """One run's row (None when it is not there, or damaged: see ``problems``)."""
        row = self._conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._summary(row) if row is not None else None

    def run(self, key: str | int) -> RunSummary:
        """A run by its number ("12"), its id (or the start of it) or its exact name; RunStoreError if none
        or several."""
        runs = self.runs(include_deleted=False)
        text = str(key).strip().removeprefix("#")
        matches = ([r for r in runs if str(r.number) == text] or [r for r in runs if r.id == text] or
                   [r for r in runs if r.id.startswith(text)] or [r for r in runs if r.name == text])
        if not matches:
            raise RunStoreError(tr("no run {key} in {folder} (`convviz runs list` shows them)").format(
                key=key, folder=self.root))
        if len(matches) > 1:
            raise RunStoreError(tr("{key} names {n} runs ({some}): use the number").format(
                key=key, n=len(matches), some=", ".join(f"#{r.number}" for r in matches[:5])))
        return matches[0]

    def detail(self, run_id: str) -> RunDetail:
        row = self._conn.execute("SELECT design, config, dataset, normalization, gradient_layers, steps_per_epoch "
                                 "FROM runs WHERE id = ?", (run_id,)).fetchone()
        summary = self.summary(run_id)
        if row is None or summary is None:
            raise RunStoreError(tr("no run {key} in {folder}").format(key=run_id, folder=self.root))
        design_text, config_text, dataset_text, normalization, layers, steps_per_epoch = row
        try:
            design = loads(design_text)
            config = TrainConfig.from_dict(json.loads(config_text))
            dataset = json.loads(dataset_text)
            mean, std = json.loads(normalization)
            gradient_layers = tuple(json.loads(layers))
        except (DesignFileError, ConfigError, ValueError, TypeError) as exc:
            raise RunStoreError(tr("run {run} cannot be read: {why}").format(run=summary.label,
                                                                              why=first_line(exc))) from None
        return RunDetail(summary, design, config, dataset, list(mean), list(std), list(design.classes),
                         gradient_layers, steps_per_epoch)

    def curves(self, run_id: str) -> RunCurves:
        (per_epoch,) = self._conn.execute("SELECT steps_per_epoch FROM runs WHERE id = ?", (run_id,)).fetchone() or (0,)
        steps = np.array(self._conn.execute("SELECT global_step, loss, accuracy, lr FROM steps WHERE run = ? "
                                            "ORDER BY global_step", (run_id,)).fetchall(), dtype=np.float64)
        epochs = self._conn.execute("SELECT epoch, train_loss, train_acc, val_loss, val_acc, lr, confusion FROM epochs "
                                    "WHERE run = ? ORDER BY epoch", (run_id,)).fetchall()
        steps = steps.reshape(-1, 4)
        numbers = np.array([row[:6] for row in epochs], dtype=np.float64).reshape(-1, 6)
        confusion = []
        for row in epochs:
            try:
                confusion.append(np.array(json.loads(row[6]), dtype=np.int64))
            except (ValueError, TypeError):
                confusion.append(np.zeros((0, 0), dtype=np.int64))
        return RunCurves(run_id, steps[:, 0] / max(per_epoch, 1), steps[:, 1], steps[:, 2], steps[:, 3],
                         numbers[:, 0], numbers[:, 1], numbers[:, 2], numbers[:, 3], numbers[:, 4], numbers[:, 5],
                         confusion)

    def gradients(self, run_id: str) -> GradientHistory:
        (per_epoch, layers_text) = self._conn.execute(
            "SELECT steps_per_epoch, gradient_layers FROM runs WHERE id = ?", (run_id,)).fetchone() or (0, "[]")
        layers = tuple(json.loads(layers_text))
        rows = self._conn.execute("SELECT global_step, gradients FROM steps WHERE run = ? AND gradients IS NOT NULL "
                                  "ORDER BY global_step", (run_id,)).fetchall()
        width = 2 * len(layers)
        rows = [(step, np.frombuffer(blob, dtype=np.float32)) for step, blob in rows]
        rows = [(step, values) for step, values in rows if len(values) == width and width]
        x = np.array([step for step, _ in rows], dtype=np.float64) / max(per_epoch, 1)
        values = np.stack([v.reshape(-1, 2) for _, v in rows]) if rows else np.zeros((0, len(layers), 2), np.float32)
        return GradientHistory(layers, x, np.ascontiguousarray(values[:, :, 0]), np.ascontiguousarray(values[:, :, 1]))

    def replay(self, run_id: str):
        """The run's replay (``convviz.runs.replay.Replay``): its snapshots, the fixed image, its confusion matrices."""
        from .replay import load_replay

        rows = self._conn.execute("SELECT idx, global_step, epoch, step FROM snapshots WHERE run = ? ORDER BY idx",
                                  (run_id,)).fetchall()
        (per_epoch,) = self._conn.execute("SELECT steps_per_epoch FROM runs WHERE id = ?", (run_id,)).fetchone() or (0,)
        replay = load_replay(self.folder(run_id), rows, max(per_epoch, 1))
        for line in replay.problems:
            self._note(line)
        return replay

    def weights(self, run_id: str, which: str = "best") -> dict:
        """The run's "initial", "best" or "last" weights; "best" falls back to "last" for a run that never
        completed an epoch (RunStoreError when the file is missing or damaged)."""
        folder = self.folder(run_id)
        if which == "best" and not folder.has_weights("best"):
            which = "last"
        try:
            return folder.read_weights(which)
        except RunFileError as exc:
            raise RunStoreError(str(exc)) from None

    def lineage_of(self, fingerprint: str) -> str | None:
        """The lineage of the latest run of a design with this fingerprint (reopening a design finds its runs)."""
        row = self._conn.execute("SELECT lineage FROM runs WHERE fingerprint = ? AND deleted IS NULL "
                                 "ORDER BY number DESC LIMIT 1", (fingerprint,)).fetchone()
        return row[0] if row else None

    def remember_file(self, path: str | os.PathLike, lineage: str) -> None:
        """A design was saved to ``path`` in ``lineage``: reopening the file continues it."""
        if self.read_only:
            return
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO files (path, lineage, saved) VALUES (?, ?, ?)",
                               (str(Path(path).resolve()), lineage, time.time()))

    def lineage_of_file(self, path: str | os.PathLike) -> str | None:
        row = self._conn.execute("SELECT lineage FROM files WHERE path = ?", (str(Path(path).resolve()),)).fetchone()
        return row[0] if row else None

    # --- changes ----------------------------------------------------------------------------------
    def rename(self, run_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise RunStoreError(tr("a run's name cannot be empty"))
        self._update(run_id, name=name)

    def annotate(self, run_id: str, note: str) -> None:
        self._update(run_id, note=note)

    def star(self, run_id: str, starred: bool = True) -> None:
        self._update(run_id, starred=int(bool(starred)))

    def _update(self, run_id: str, **values: Any) -> None:
        self._writable()
        with self._conn:
            changed = self._conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                                         (*values.values(), run_id)).rowcount
        if not changed:
            raise RunStoreError(tr("no run {key} in {folder}").format(key=run_id, folder=self.root))
        # The manifest keeps what the user wrote, so a rebuilt index still has it.
        folder = self.folder(run_id)
        try:
            manifest = folder.read_manifest()
            manifest.update({k: bool(v) if k == "starred" else v for k, v in values.items()})
            folder.write_manifest({k: v for k, v in manifest.items() if k not in ("format", "version")})
        except (RunFileError, OSError):
            pass   # the index has it; a damaged manifest is reported when it matters

    def training_now(self, run_ids: Iterable[str]) -> list[RunSummary]:
        """The runs among ``run_ids`` that a live process is recording (this one's or another's)."""
        found = (self.summary(run_id) for run_id in run_ids)
        return [run for run in found if run is not None and run.status == RUNNING]

    def _refuse_training(self, run_ids: list[str]) -> None:
        busy = self.training_now(run_ids)
        if busy:
            raise RunStoreError(ntr("{runs} is training now: stop it first (deleting it would lose the run)",
                                    "{runs} are training now: stop them first (deleting them would lose the runs)",
                                    len(busy)).format(runs=", ".join(r.label for r in busy)))

    def delete(self, run_ids: Iterable[str], *, force: bool = False) -> None:
        """Hide runs (undo with ``restore``); ``purge`` removes them for good (the app does at closing).
        A run a live process is training is refused (RunStoreError) unless ``force``."""
        self._writable()
        run_ids = list(run_ids)
        if not force:
            self._refuse_training(run_ids)
        me = this_process()
        with self._conn:
            self._conn.executemany("UPDATE runs SET deleted = ?, deleted_pid = ?, deleted_host = ?, deleted_started = ? "
                                   "WHERE id = ?", [(time.time(), me.pid, me.host, me.started, run_id)
                                                    for run_id in run_ids])

    def restore(self, run_ids: Iterable[str]) -> None:
        with self._conn:
            self._conn.executemany("UPDATE runs SET deleted = NULL, deleted_pid = NULL, deleted_host = '', "
                                   "deleted_started = NULL WHERE id = ?",
                                   [(run_id,) for run_id in run_ids])

    def purge(self, run_ids: Iterable[str] | None = None, *, force: bool = False) -> None:
        """Remove runs and their folders for good (by default the ones this process deleted). Runs given
        by id that a live process is training are refused (RunStoreError) unless ``force``."""
        if run_ids is None:
            run_ids = [row[0] for row in self._conn.execute(
                "SELECT id FROM runs WHERE deleted IS NOT NULL AND deleted_pid = ? AND deleted_host IN ('', ?)",
                (os.getpid(), socket.gethostname()))]
        elif not force:
            run_ids = list(run_ids)
            self._refuse_training(run_ids)
        run_ids = [run_id for run_id in run_ids if run_id not in ACTIVE_RUNS]
        if not run_ids:
            return
        with self._conn:
            self._conn.executemany("DELETE FROM runs WHERE id = ?", [(run_id,) for run_id in run_ids])
        for run_id in run_ids:
            shutil.rmtree(self.root / RUNS / run_id, ignore_errors=True)

    def _writable(self) -> None:
        if self.read_only:
            raise RunStoreError(self.problems[0])


# --- helpers ------------------------------------------------------------------------------------

def _dataset_line(info: Mapping[str, Any]) -> str:
    if not isinstance(info, Mapping):
        return ""
    name = str(info.get("name", ""))
    used, total = info.get("train", 0), info.get("train_total", 0)
    if used and total and used < total:
        return tr("{name} · {used} of {total} training images").format(name=name, used=f"{used:,}",
                                                                       total=f"{total:,}")
    return name


def dataset_line(info: Mapping[str, Any]) -> str:
    """One line describing a run's data ("synthetic shapes · 500 of 10,800 training images")."""
    return _dataset_line(info)


#: The manifest's fields and the types they must have (a run folder is read, never trusted).
_NUMBER = (int, float)
_MANIFEST_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "created": _NUMBER, "design": (str,), "lineage": (str,), "fingerprint": (str,), "config": (dict,),
    "dataset": (dict,), "normalization": (list,), "params": (int,), "macs": (int,), "receptive_field": (str,),
    "parent": (str,), "starred": (bool, int), "note": (str,), "outcome": (dict,), "progress": (dict,),
    "start": (dict,)}
_OUTCOME_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,), "message": (str,), "epochs_done": (int,), "best_epoch": (int,), "best_val_acc": _NUMBER,
    "seconds": _NUMBER, "samples_per_s": _NUMBER, "device": (str,)}
_REQUIRED = ("design", "lineage", "fingerprint", "config")


def _checked(run_id: str, mapping: Mapping[str, Any], types: Mapping[str, tuple[type, ...]], where: str = "") -> None:
    """RunFileError naming the first field of ``mapping`` whose type is not its own (None is "not given")."""
    for key, kinds in types.items():
        value = mapping.get(key)
        if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            raise RunFileError(tr("{folder}: its {file} is damaged ({why})").format(
                folder=run_id, file=MANIFEST, why=tr("{field} has the wrong type ({found})").format(
                    field=where + key, found=type(value).__name__)))


def _manifest_row(run_id: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """An index row for a run known only from its manifest (its curves are lost with the old index);
    RunFileError when the manifest is not what a convviz run writes (a field missing or of another type)."""
    for key in _REQUIRED:
        if key not in manifest:
            raise RunFileError(tr("{folder}: its {file} is damaged ({why})").format(
                folder=run_id, file=MANIFEST, why=tr("{field} is missing").format(field=key)))
    _checked(run_id, manifest, _MANIFEST_TYPES)
    for part, types in (("outcome", _OUTCOME_TYPES), ("progress", _OUTCOME_TYPES)):
        _checked(run_id, manifest.get(part) or {}, types, f"{part}.")
    try:
        design = loads(manifest["design"])
        config = TrainConfig.from_dict(manifest["config"])
    except (DesignFileError, ConfigError) as exc:
        raise RunFileError(tr("{folder}: its {file} is damaged ({why})").format(
            folder=run_id, file=MANIFEST, why=first_line(exc))) from None
    # A run killed before its end has no outcome: its progress (written each epoch) says how far it got.
    outcome = manifest.get("outcome") or {}
    progress = {**(manifest.get("progress") or {}), **outcome}
    start = manifest.get("start") or {}
    return {
        "id": run_id, "format": manifest.get("version", 1), "name": manifest.get("name") or run_id,
        "created": float(manifest.get("created") or 0.0), "updated": time.time(),
        "status": outcome.get("status") or INTERRUPTED,
        "message": outcome.get("message") or ("" if outcome else tr("recovered from its folder; the run did not finish")),
        "design_name": design.name, "design": manifest["design"], "lineage": manifest["lineage"],
        "fingerprint": manifest["fingerprint"], "config": json.dumps(config.to_dict()), "seed": config.seed,
        "dataset": json.dumps(manifest.get("dataset") or {}),
        "normalization": json.dumps(manifest.get("normalization") or [[], []]),
        "params": manifest.get("params") or 0, "macs": manifest.get("macs") or 0,
        "receptive_field": manifest.get("receptive_field") or "", "epochs": config.epochs,
        "epochs_done": progress.get("epochs_done") or 0, "best_epoch": progress.get("best_epoch") or 0,
        "best_val_acc": progress.get("best_val_acc"), "seconds": float(progress.get("seconds") or 0.0),
        "samples_per_s": float(progress.get("samples_per_s") or 0.0), "device": progress.get("device") or "",
        "parent": manifest.get("parent"), "start": json.dumps(normalized(start, manifest.get("parent"))), "starred": int(bool(manifest.get("starred"))),
        "note": manifest.get("note") or "",
    }


def _numbers(record: Mapping[str, Any], columns: tuple[str, ...]) -> bool:
    """Every one of ``columns`` in the journal record, each a number (or null: a metric not measured)."""
    return all(column in record and (record[column] is None or
                                     (isinstance(record[column], (int, float)) and not isinstance(record[column], bool)))
               for column in columns)


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Is this SQLite error about the file's content (corrupt, not a database), not about using it?"""
    code = getattr(exc, "sqlite_errorname", "")
    if code:
        return code in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _alive(run_id: str, process: ProcessId) -> bool:
    """Is the process recording this run still at it?"""
    me = this_process()
    if process.pid == me.pid and process.here and process.started in (None, me.started):
        return run_id in ACTIVE_RUNS
    return process.alive()
