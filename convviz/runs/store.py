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

from ..design import Design, DesignFileError, loads
from ..i18n import tr
from ..messages import first_line
from ..train.config import ConfigError, TrainConfig
from . import schema
from .files import VERSION as RUN_FORMAT, RunFileError, RunFolder
from .results import INTERRUPTED, RUNNING, GradientHistory, RunCurves, RunDetail, RunSummary

#: The environment variable that puts the runs somewhere else (the app, the CLI and the tests read it).
ENV = "CONVVIZ_RUNS"
#: The folder's name inside the user's data folder (the app's is Qt's AppDataLocation).
DEFAULT_FOLDER_NAME = "runs"
INDEX = "runs.sqlite3"
RUNS = "runs"

_SUMMARY_COLUMNS = ("id, number, name, created, status, message, design_name, lineage, fingerprint, dataset, epochs, "
                    "epochs_done, best_epoch, best_val_acc, params, macs, receptive_field, seconds, samples_per_s, "
                    "device, starred, note, parent, pid, host, format")

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
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "unable to open" in str(exc):
                raise RunStoreError(tr("the runs index {path} cannot be opened: {why}").format(
                    path=self.index_path, why=first_line(exc))) from None
            return self._rebuild(exc)
        except sqlite3.DatabaseError as exc:
            return self._rebuild(exc)

    def _rebuild(self, exc: BaseException) -> sqlite3.Connection:
        """Move the unreadable index aside (with its WAL) and start a new one from the runs' manifests."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.index_path.with_name(f"{INDEX}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.index_path}{suffix}")
            if source.exists():
                os.replace(source, f"{aside}{suffix}")
        self._note(tr("the runs index was damaged ({why}): it was moved to {aside} and a new one was built from the "
                      "runs' folders (their curves are not in it)").format(why=first_line(exc), aside=aside.name))
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
            manifest = folder.read_manifest()
            design = loads(manifest["design"])
            row = _manifest_row(folder.id, manifest, design)
        except (RunFileError, DesignFileError, KeyError, TypeError, ValueError) as exc:
            self._note(tr("skipped {folder}: {why}").format(folder=folder.id, why=first_line(exc)))
            return
        columns = ", ".join(row)
        with self._conn:
            self._conn.execute(f"INSERT OR IGNORE INTO runs ({columns}) VALUES ({', '.join('?' * len(row))})",
                               tuple(row.values()))

    def _mark_interrupted(self) -> None:
        rows = self._conn.execute("SELECT id, pid, host FROM runs WHERE status = ?", (RUNNING,)).fetchall()
        gone = [run_id for run_id, pid, host in rows if not _alive(run_id, pid, host)]
        if gone:
            with self._conn:
                self._conn.executemany(
                    "UPDATE runs SET status = ?, message = ? WHERE id = ?",
                    [(INTERRUPTED, tr("the process training it ended before the run did (closed, killed or "
                                      "crashed); kept up to its last completed epoch"), run_id) for run_id in gone])

    def _purge_abandoned_deletions(self) -> None:
        rows = self._conn.execute("SELECT id, deleted_pid FROM runs WHERE deleted IS NOT NULL").fetchall()
        self.purge([run_id for run_id, pid in rows if pid != os.getpid() and not _process_alive(pid)])

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
         pid, host, run_format) = row
        if run_format > RUN_FORMAT:
            self._note(tr("skipped run #{number}: written by a newer convviz (run format {version})").format(
                number=number, version=run_format))
            return None
        if not os.path.isdir(os.path.join(self._runs_dir, run_id)):
            self._note(tr("skipped run #{number} ({name}): its folder {folder} is gone").format(
                number=number, name=name, folder=run_id))
            return None
        if status == RUNNING and not _alive(run_id, pid, host):
            status = INTERRUPTED
        try:
            described = _dataset_line(json.loads(dataset))
        except (ValueError, TypeError):
            described = ""
        return RunSummary(run_id, number, name, created, status, message, design_name, lineage, fingerprint, described,
                          epochs, epochs_done, best_epoch, best_val_acc, params, macs, field, seconds, speed, device,
                          bool(starred), note, parent)

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

    def delete(self, run_ids: Iterable[str]) -> None:
        """Hide runs (undo with ``restore``); ``purge`` removes them for good (the app does at closing)."""
        self._writable()
        with self._conn:
            self._conn.executemany("UPDATE runs SET deleted = ?, deleted_pid = ? WHERE id = ?",
                                   [(time.time(), os.getpid(), run_id) for run_id in run_ids])

    def restore(self, run_ids: Iterable[str]) -> None:
        with self._conn:
            self._conn.executemany("UPDATE runs SET deleted = NULL, deleted_pid = NULL WHERE id = ?",
                                   [(run_id,) for run_id in run_ids])

    def purge(self, run_ids: Iterable[str] | None = None) -> None:
        """Remove runs and their folders for good (by default the ones this process deleted)."""
        if run_ids is None:
            run_ids = [row[0] for row in self._conn.execute(
                "SELECT id FROM runs WHERE deleted IS NOT NULL AND deleted_pid = ?", (os.getpid(),))]
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
    name = info.get("name", "")
    used, total = info.get("train", 0), info.get("train_total", 0)
    if used and total and used < total:
        return tr("{name} · {used} of {total} training images").format(name=name, used=f"{used:,}",
                                                                       total=f"{total:,}")
    return name


def dataset_line(info: Mapping[str, Any]) -> str:
    """One line describing a run's data ("synthetic shapes · 500 of 10,800 training images")."""
    return _dataset_line(info)


def _manifest_row(run_id: str, manifest: Mapping[str, Any], design: Design) -> dict[str, Any]:
    """An index row for a run known only from its manifest (its curves are lost with the old index)."""
    outcome = manifest.get("outcome") or {}
    return {
        "id": run_id, "format": manifest.get("version", 1), "name": str(manifest.get("name") or run_id),
        "created": float(manifest.get("created", 0.0)), "updated": time.time(),
        "status": outcome.get("status", INTERRUPTED),
        "message": outcome.get("message", tr("recovered from its folder; the run did not finish")),
        "design_name": design.name, "design": manifest["design"], "lineage": str(manifest["lineage"]),
        "fingerprint": str(manifest["fingerprint"]), "config": json.dumps(manifest["config"]),
        "seed": int(manifest["config"].get("seed", 0)), "dataset": json.dumps(manifest.get("dataset", {})),
        "normalization": json.dumps(manifest.get("normalization", [[], []])),
        "params": int(manifest.get("params", 0)), "macs": int(manifest.get("macs", 0)),
        "receptive_field": str(manifest.get("receptive_field", "")), "epochs": int(manifest["config"].get("epochs", 0)),
        "epochs_done": int(outcome.get("epochs_done", 0)), "best_epoch": int(outcome.get("best_epoch", 0)),
        "best_val_acc": outcome.get("best_val_acc"), "seconds": float(outcome.get("seconds", 0.0)),
        "samples_per_s": float(outcome.get("samples_per_s", 0.0)), "device": str(outcome.get("device", "")),
        "parent": manifest.get("parent"), "starred": int(bool(manifest.get("starred"))),
        "note": str(manifest.get("note", "")),
    }


def _alive(run_id: str, pid: int | None, host: str) -> bool:
    """Is the process recording this run still at it?"""
    if pid == os.getpid() and host == socket.gethostname():
        return run_id in ACTIVE_RUNS
    if host and host != socket.gethostname():
        return True   # another machine's run (a shared folder): trust its status
    return _process_alive(pid)


def _process_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it there
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
