"""The index's tables (SQLite). ``PRAGMA user_version`` is the schema's version: an older index is
migrated forwards, a newer one (a later convviz) is left alone."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    number          INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,        -- the folder's name
    format          INTEGER NOT NULL DEFAULT 1,  -- the run's own format (a newer one is skipped)
    name            TEXT NOT NULL,
    created         REAL NOT NULL,
    updated         REAL NOT NULL,
    status          TEXT NOT NULL,
    message         TEXT NOT NULL DEFAULT '',
    design_name     TEXT NOT NULL DEFAULT '',
    design          TEXT NOT NULL,               -- the design file's JSON, as trained
    lineage         TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    config          TEXT NOT NULL,               -- TrainConfig.to_dict() as JSON
    seed            INTEGER NOT NULL DEFAULT 0,
    dataset         TEXT NOT NULL DEFAULT '{}',  -- JSON: name, spec, sizes, classes, shape
    normalization   TEXT NOT NULL DEFAULT '[[], []]',
    params          INTEGER NOT NULL DEFAULT 0,
    macs            INTEGER NOT NULL DEFAULT 0,
    receptive_field TEXT NOT NULL DEFAULT '',
    epochs          INTEGER NOT NULL DEFAULT 0,
    epochs_done     INTEGER NOT NULL DEFAULT 0,
    steps_per_epoch INTEGER NOT NULL DEFAULT 0,
    best_epoch      INTEGER NOT NULL DEFAULT 0,
    best_val_acc    REAL,
    seconds         REAL NOT NULL DEFAULT 0,
    samples_per_s   REAL NOT NULL DEFAULT 0,
    device          TEXT NOT NULL DEFAULT '',
    gradient_layers TEXT NOT NULL DEFAULT '[]',
    parent          TEXT,
    start           TEXT NOT NULL DEFAULT '{}',  -- JSON: what the weights started from (see runs.start)
    pid             INTEGER,
    host            TEXT NOT NULL DEFAULT '',
    pid_started     INTEGER,                     -- the process's start time: a reused PID is another process
    starred         INTEGER NOT NULL DEFAULT 0,
    note            TEXT NOT NULL DEFAULT '',
    deleted         REAL,                        -- deleted in the app, undoable until it closes
    deleted_pid     INTEGER,
    deleted_host    TEXT NOT NULL DEFAULT '',
    deleted_started INTEGER
);
CREATE INDEX IF NOT EXISTS runs_lineage ON runs (lineage);
CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs (fingerprint);
CREATE TABLE IF NOT EXISTS epochs (
    run           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch         INTEGER NOT NULL,
    train_loss    REAL, train_acc REAL, val_loss REAL, val_acc REAL, lr REAL,
    samples_per_s REAL, seconds REAL,
    confusion     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (
    run           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    global_step   INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    loss REAL, accuracy REAL, lr REAL, samples_per_s REAL,
    gradients     BLOB,                          -- float32 L×2: gradient norm, update ratio per layer
    PRIMARY KEY (run, global_step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (               -- a saved design file's lineage: reopened, it finds its runs
    path          TEXT PRIMARY KEY,
    lineage       TEXT NOT NULL,
    saved         REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    run           TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    global_step   INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    PRIMARY KEY (run, idx)
) WITHOUT ROWID;
"""

#: The columns of a run's curve tables after ``run``, as the recorder writes them and its journal keeps them.
STEP_COLUMNS = ("global_step", "epoch", "step", "loss", "accuracy", "lr", "samples_per_s", "gradients")
SNAPSHOT_COLUMNS = ("idx", "global_step", "epoch", "step")
EPOCH_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "samples_per_s", "seconds",
                 "confusion")


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT OR REPLACE`` of one row of ``table``: the run, then ``columns``."""
    return f"INSERT OR REPLACE INTO {table} (run, {', '.join(columns)}) VALUES (?, {', '.join('?' * len(columns))})"


#: ``MIGRATIONS[n]`` takes an index from version n to n + 1.
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE runs ADD COLUMN start TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN pid_started INTEGER;
ALTER TABLE runs ADD COLUMN deleted_host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN deleted_started INTEGER;
""",
}


def configure(connection: sqlite3.Connection) -> None:
    """Every connection: WAL (readers never wait for the training thread's writes, and a killed writer
    loses at most its open transaction), NORMAL sync (safe in WAL against a killed process), foreign
    keys (deleting a run deletes its rows), and a wait instead of "database is locked"."""
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA foreign_keys = ON")


def version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def create_or_migrate(connection: sqlite3.Connection) -> None:
    """Bring the index to ``SCHEMA_VERSION`` (the caller checked it is not newer)."""
    current = version(connection)
    with connection:
        if current == 0:
            connection.executescript(TABLES)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        while current < SCHEMA_VERSION:
            connection.executescript(MIGRATIONS[current])
            current += 1
            connection.execute(f"PRAGMA user_version = {current}")
