"""The run store: what a run leaves behind, what survives kills and damage, and the queries on it."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.runs import (INTERRUPTED, ReplayProbe, RunRecorder, RunStore, RunStoreError, design_fingerprint,
                          differences, pareto_front)
from convviz.runs.store import ACTIVE_RUNS
from convviz.train import DataSpec, TrainConfig, Trainer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def shapes():
    return load_dataset(DataSpec(), (1, 32, 32), synthetic_size=400, val_fraction=0.25, seed=0)


def record_run(store, design, data, config=None, **options):
    """Train ``design`` with the replay probe and record it; returns (recorder, records)."""
    config = config or TrainConfig(epochs=2, batch_size=32)
    initial = options.pop("initial_state", None)
    trainer = Trainer(design, data, config, probe=ReplayProbe(design, data, config.seed), report_rate=1000,
                      snapshot_rate=0, initial_state=initial)
    recorder = RunRecorder(store, trainer, **options)
    records = []
    for record in trainer:
        recorder.add(record)
        records.append(record)
    return recorder, records


def test_a_run_leaves_its_design_settings_curves_weights_gradients_and_replay(tmp_path, shapes):
    store = RunStore(tmp_path / "store")
    design = load_template("default")
    recorder, records = record_run(store, design, shapes, TrainConfig(epochs=2, batch_size=16), name="first")
    assert recorder.problem == ""
    (run,) = store.runs()
    assert (run.name, run.status, run.epochs_done, run.number) == ("first", "finished", 2, 1)
    end = records[-1]
    assert run.best_val_acc == pytest.approx(end.best_val_acc) and run.best_epoch == end.best_epoch
    assert run.params == 24_058 and run.macs > 0 and run.receptive_field and run.samples_per_s > 0
    assert run.fingerprint == design_fingerprint(design)
    detail = store.detail(run.id)
    assert detail.config.epochs == 2 and detail.design.node_ids == design.node_ids
    assert detail.classes == shapes.classes and len(detail.mean) == 1
    curves = store.curves(run.id)
    assert list(curves.epoch) == [1, 2] and len(curves.step_x) > 2 and curves.step_x[-1] == pytest.approx(2.0)
    assert curves.confusion[-1].shape == (10, 10) and curves.confusion[-1].sum() == len(shapes.val)
    gradients = store.gradients(run.id)
    assert gradients.layers[0] == "conv1" and gradients.layers[-1] == "fc"
    assert gradients.grad_norm.shape == (len(gradients.x), len(gradients.layers)) and len(gradients.x) > 2
    assert (gradients.grad_norm > 0).all() and (gradients.update_ratio > 0).all()
    replay = store.replay(run.id)
    assert len(replay.snapshots) >= 30 and replay.image.shape == (1, 32, 32) and replay.label in shapes.classes
    first, last = replay.snapshots[0], replay.snapshots[-1]
    assert first.global_step == 0 and last.x == pytest.approx(2.0)
    assert first.filters.shape == (16, 1, 3, 3) and not np.array_equal(first.filters, last.filters)
    assert last.cam.shape == (32, 32) and "relu1" in last.maps and last.maps["relu1"].shape == (16, 32, 32)
    assert last.probabilities.shape == (10,)
    best, final, initial = (store.weights(run.id, w) for w in ("best", "last", "initial"))
    assert torch.equal(final["conv1.weight"], end.state_dict["conv1.weight"])
    assert torch.equal(initial["conv1.weight"], records[0].state["conv1.weight"])
    assert torch.equal(best["conv1.weight"], end.best_state_dict["conv1.weight"])


def test_runs_from_the_same_start_after_a_one_layer_edit_share_every_unchanged_layer(tmp_path, shapes):
    store = RunStore(tmp_path / "store")
    design = load_template("default")
    config = TrainConfig(epochs=1, batch_size=32, seed=7)
    first, _ = record_run(store, design, shapes, config)
    edited = design.copy()
    edited.set_param("conv2", "kernel_size", 5)
    edited.set_param("conv2", "padding", 2)
    start = store.weights(first.run_id, "initial")
    second, records = record_run(store, edited, shapes, config, initial_state=start, parent=first.run_id)
    a, b = store.weights(first.run_id, "initial"), store.weights(second.run_id, "initial")
    assert set(records[0].carried) == {n for n in edited.node_ids if n != "conv2"} & set(records[0].gradient_layers)
    for key in a:
        if key.startswith("conv2."):
            assert a[key].shape != b[key].shape
        else:
            assert torch.equal(a[key], b[key]), key
    assert store.runs()[0].parent == first.run_id
    found = differences([store.detail(first.run_id), store.detail(second.run_id)])
    changes = [d.change() for d in found]
    assert "conv2 · kernel_size: 3 → 5" in changes and "conv2 · padding: 1 → 2" in changes
    assert any(d.what == "initial weights" and "#1" in d.values[1] for d in found)
    assert not any(d.key == "split" for d in found)  # both drawn the same way
    # A run recorded before the split was drawn with numpy (no "split" in its data) holds out other images.
    older = dataclasses.replace(store.detail(first.run_id), dataset={**store.detail(first.run_id).dataset})
    older.dataset.pop("split")
    (split,) = [d for d in differences([older, store.detail(second.run_id)]) if d.key == "split"]
    assert split.values == ("torch.randperm (an earlier convviz)", "numpy (PCG64)")


SCRIPT = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from convviz.data import load_dataset
    from convviz.design import load_template
    from convviz.runs import ReplayProbe, RunRecorder, RunStore
    from convviz.train import DataSpec, TrainConfig, Trainer
    design = load_template("default")
    data = load_dataset(DataSpec(), design.input, synthetic_size=400, val_fraction=0.25, seed=0)
    trainer = Trainer(design, data, TrainConfig(epochs=1000, batch_size=16), probe=ReplayProbe(design, data),
                      report_rate=50)
    recorder = RunRecorder(RunStore(sys.argv[1]), trainer, name="killed")
    for record in trainer:
        recorder.add(record)   # no flush: what the parent sees is what the recorder commits by itself
""")


def start_training(folder: Path) -> subprocess.Popen:
    """A process training a long run into ``folder`` (killed by the caller)."""
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def wait_for_epochs(folder: Path, proc: subprocess.Popen, epochs: int, timeout: float = 180.0) -> None:
    """Poll the index (as another process would read it) until the run has ``epochs`` epochs committed."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with sqlite3.connect(f"file:{folder / 'runs.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute("SELECT epochs_done FROM runs").fetchone()
        except sqlite3.OperationalError:   # not created yet
            row = None
        if row is not None and row[0] >= epochs:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run did not commit {epochs} epochs in {timeout} s")


def test_a_run_killed_mid_epoch_keeps_everything_up_to_its_last_epoch(tmp_path):
    folder = tmp_path / "store"
    proc = start_training(folder)
    try:
        wait_for_epochs(folder, proc, 2)   # committed by the recorder itself, a moment after epoch 2 ended
        os.kill(proc.pid, signal.SIGKILL)  # in epoch 3
        proc.wait(30)
    finally:
        proc.kill()
    store = RunStore(folder)
    (run,) = store.runs()
    assert run.status == INTERRUPTED and run.name == "killed" and run.epochs_done >= 2
    assert "ended before the run did" in run.message
    curves = store.curves(run.id)
    assert list(curves.epoch[:2]) == [1, 2] and len(curves.step_x) > 0
    weights = store.weights(run.id, "last")
    assert weights["conv1.weight"].shape == (16, 1, 3, 3) and all(torch.isfinite(t.float()).all()
                                                                  for t in weights.values())
    assert store.weights(run.id, "best") and store.replay(run.id).snapshots
    assert not any(p.name.endswith(".tmp") for p in (folder / "runs" / run.id).iterdir())


def test_a_corrupt_index_is_moved_aside_and_rebuilt_from_the_runs_folders(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32), name="kept")
    (run,) = store.runs()
    before, gradients_before = store.curves(run.id), store.gradients(run.id)
    snapshots_before = len(store.replay(run.id).snapshots)
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{folder / 'runs.sqlite3'}{suffix}").unlink(missing_ok=True)
    (folder / "runs.sqlite3").write_bytes(b"this is not a database" * 100)
    reopened = RunStore(folder)
    assert any("damaged" in p and "moved to runs.sqlite3.damaged-" in p for p in reopened.problems)
    assert list(folder.glob("runs.sqlite3.damaged-*"))
    (run,) = reopened.runs()
    assert (run.name, run.status, run.best_epoch) == ("kept", "finished", 1)
    assert reopened.weights(run.id, "best")["conv1.weight"].shape == (16, 1, 3, 3)
    # The curves, gradient statistics and replay positions come back from the run's journal (were lost).
    after, gradients = reopened.curves(run.id), reopened.gradients(run.id)
    for name in ("step_x", "step_loss", "epoch", "val_loss", "val_acc"):
        np.testing.assert_array_equal(getattr(after, name), getattr(before, name), err_msg=name)
    np.testing.assert_array_equal(after.confusion[0], before.confusion[0])
    assert gradients.layers == gradients_before.layers and len(gradients.layers) > 0
    np.testing.assert_array_equal(gradients.grad_norm, gradients_before.grad_norm)
    assert len(reopened.replay(run.id).snapshots) == snapshots_before > 0


def test_a_torn_or_forged_journal_line_is_skipped_with_a_message(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32), name="kept")
    (run,) = store.runs()
    steps = len(store.curves(run.id).step_x)
    store.close()
    journal = folder / "runs" / run.id / "curves.jsonl"
    with open(journal, "a", encoding="utf-8") as handle:  # a forged step, then a line a kill tore
        handle.write('{"kind":"step","global_step":"x","epoch":1,"step":1,"loss":1,"accuracy":1,"lr":1,'
                     '"samples_per_s":1,"gradients":null}\n{"kind":"epoch","epo')
    for suffix in ("", "-wal", "-shm"):
        Path(f"{folder / 'runs.sqlite3'}{suffix}").unlink(missing_ok=True)
    reopened = RunStore(folder)
    assert len(reopened.curves(run.id).step_x) == steps
    assert any("2 damaged lines in its curves were skipped" in p for p in reopened.problems)


def test_damaged_and_foreign_runs_are_skipped_with_a_message(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    config = TrainConfig(epochs=1, batch_size=32)
    gone, _ = record_run(store, load_template("default"), shapes, config, name="gone")
    broken, _ = record_run(store, load_template("default"), shapes, config, name="broken weights")
    future, _ = record_run(store, load_template("default"), shapes, config, name="from the future")
    import shutil

    shutil.rmtree(folder / "runs" / gone.run_id)
    (folder / "runs" / broken.run_id / "best.pt").write_bytes(b"garbage")
    with sqlite3.connect(folder / "runs.sqlite3") as db:
        db.execute("UPDATE runs SET format = 99 WHERE id = ?", (future.run_id,))
    foreign = folder / "runs" / "someone-elses"
    foreign.mkdir()
    (foreign / "run.json").write_text(json.dumps({"format": "tensorboard"}))
    store = RunStore(folder)
    names = [r.name for r in store.runs()]
    assert names == ["broken weights"]
    text = " | ".join(store.problems)
    assert "skipped someone-elses: someone-elses: not a convviz run" in text
    assert "its folder" in text and "gone" in text and "newer convviz" in text
    with pytest.raises(RunStoreError, match="best weights are damaged"):
        store.weights(broken.run_id, "best")
    assert store.weights(broken.run_id, "last")


def test_a_newer_index_is_read_only(tmp_path):
    folder = tmp_path / "store"
    RunStore(folder).close()
    with sqlite3.connect(folder / "runs.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    store = RunStore(folder)
    assert store.read_only and "newer convviz" in store.problems[0]
    with pytest.raises(RunStoreError, match="newer convviz"):
        store.check_writable()


def test_rename_note_star_delete_restore_and_purge(tmp_path, shapes):
    store = RunStore(tmp_path / "store")
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32))
    run_id = recorder.run_id
    store.rename(run_id, "  baseline ")
    store.annotate(run_id, "the one to beat")
    store.star(run_id)
    (run,) = store.runs()
    assert (run.name, run.note, run.starred) == ("baseline", "the one to beat", True)
    assert store.run("1") == run == store.run("#1") == store.run("baseline") == store.run(run_id[:10])
    with pytest.raises(RunStoreError, match="cannot be empty"):
        store.rename(run_id, " ")
    store.delete([run_id])
    assert store.runs() == [] and store.runs(include_deleted=True)
    store.restore([run_id])
    assert [r.id for r in store.runs()] == [run_id]
    store.delete([run_id])
    store.purge()
    assert store.runs(include_deleted=True) == [] and not (tmp_path / "store" / "runs" / run_id).exists()
    with pytest.raises(RunStoreError, match="no run 1"):
        store.run(1)


def test_a_name_kept_in_the_manifest_survives_a_rebuild(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32))
    store.rename(recorder.run_id, "renamed")
    store.annotate(recorder.run_id, "a note")
    store.close()
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()
    (run,) = RunStore(folder).runs()
    assert (run.name, run.note) == ("renamed", "a note")


def test_a_failure_to_record_never_stops_the_training(tmp_path, shapes, monkeypatch):
    from convviz.runs.files import RunFolder

    store = RunStore(tmp_path / "store")

    def full(self, which, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunFolder, "write_weights", full)
    recorder, records = record_run(store, load_template("default"), shapes, TrainConfig(epochs=2, batch_size=32))
    assert records[-1].reason == "finished" and records[-1].epochs_completed == 2
    assert "no longer recorded" in recorder.problem and "No space left" in recorder.problem
    assert recorder.run_id not in ACTIVE_RUNS


def test_the_lineage_of_a_design_is_found_again(tmp_path, shapes):
    store = RunStore(tmp_path / "store")
    design = load_template("default")
    first, _ = record_run(store, design, shapes, TrainConfig(epochs=1, batch_size=32))
    moved = design.copy()
    moved.set_position("conv1", (500.0, 40.0))
    moved.set_name("renamed")
    assert store.lineage_of(design_fingerprint(moved)) == first.lineage
    edited = design.copy()
    edited.set_param("conv1", "out_channels", 8)
    assert store.lineage_of(design_fingerprint(edited)) is None
    second, _ = record_run(store, edited, shapes, TrainConfig(epochs=1, batch_size=32), lineage=first.lineage)
    assert [r.id for r in store.runs(first.lineage)] == [second.run_id, first.run_id]


@pytest.mark.parametrize("points, front", [
    ([], []),
    ([(1, 0.5)], [0]),
    # cost, accuracy: 2 is dominated by 0 (cheaper, as good), 4 by 3; 1 and 0 tie on cost (1 is better)
    ([(10, 0.80), (10, 0.90), (20, 0.80), (30, 0.95), (40, 0.94), (5, 0.60)], [5, 1, 3]),
    ([(1, 0.9), (1, 0.9), (2, 0.8)], [0, 1]),   # equal points are both on the front
    ([(3, 0.1), (2, 0.2), (1, 0.3)], [2]),
    ([(1, 0.1), (2, 0.2), (3, 0.3)], [0, 1, 2]),
])
def test_pareto_front_on_hand_made_points(points, front):
    assert pareto_front(points) == front


def _damage(folder: Path, run_id: str, **fields) -> None:
    """Rewrite fields of a run's manifest and drop the index, so the store rebuilds it from the folders."""
    manifest_path = folder / "runs" / run_id / "run.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(fields)
    manifest_path.write_text(json.dumps(manifest))
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()


@pytest.mark.parametrize("fields, named", [
    ({"config": [1]}, "config has the wrong type (list)"),
    ({"outcome": "x"}, "outcome has the wrong type (str)"),
    ({"outcome": {"epochs_done": "3"}}, "outcome.epochs_done has the wrong type (str)"),
    ({"dataset": [1]}, "dataset has the wrong type (list)"),
    ({"name": 5}, "name has the wrong type (int)"),
    ({"created": "yesterday"}, "created has the wrong type (str)"),
    ({"design": {"nodes": 1}}, "design has the wrong type (dict)"),
    ({"config": {"lr": "fast"}}, "malformed training settings"),
    ({"lineage": 7}, "lineage has the wrong type (int)"),
])
def test_a_manifest_of_the_wrong_shape_is_skipped_with_a_message(tmp_path, shapes, fields, named):
    folder = tmp_path / "store"
    store = RunStore(folder)
    config = TrainConfig(epochs=1, batch_size=32)
    kept, _ = record_run(store, load_template("default"), shapes, config, name="kept")
    damaged, _ = record_run(store, load_template("default"), shapes, config, name="damaged")
    store.close()
    _damage(folder, damaged.run_id, **fields)
    store = RunStore(folder)
    assert [r.name for r in store.runs()] == ["kept"]
    (problem,) = store.problems
    assert problem.startswith(f"skipped {damaged.run_id}: {damaged.run_id}: its run.json is damaged")
    assert named in problem


def test_a_killed_run_rebuilt_from_its_folder_keeps_its_progress(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=2, batch_size=32))
    store.close()
    manifest = json.loads((folder / "runs" / recorder.run_id / "run.json").read_text())
    del manifest["outcome"]   # as a run killed after its second epoch leaves it
    (folder / "runs" / recorder.run_id / "run.json").write_text(json.dumps(manifest))
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()
    (run,) = RunStore(folder).runs()
    assert run.status == INTERRUPTED and run.epochs_done == 2 and run.best_epoch in (1, 2)
    assert run.best_val_acc is not None and run.seconds > 0


@pytest.mark.parametrize("arrays, why", [
    ({"map_nodes": np.array(["a", "b"]), "cam_class": np.array([1, 2])}, "cam_class has 1 dimensions, not 0"),
    ({"map_nodes": np.array(["a"]), "map0": np.zeros(5)}, "the map of a has 1 dimensions, not 3"),
    ({"filters": np.zeros((3, 3))}, "filters has 2 dimensions, not 4"),
    ({"cam": np.array(["x", "y"])}, "cam has 1 dimensions, not 2"),
    ({"probabilities": np.array(["high"])}, "could not convert"),
])
def test_a_malformed_replay_snapshot_is_skipped_with_a_message(tmp_path, shapes, arrays, why):
    store = RunStore(tmp_path / "store")
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32))
    before = len(store.replay(recorder.run_id).snapshots)
    np.savez(tmp_path / "store" / "runs" / recorder.run_id / "replay" / "0003.npz", **arrays)
    replay = store.replay(recorder.run_id)
    assert len(replay.snapshots) == before - 1 and 3 not in [s.index for s in replay.snapshots]
    (problem,) = replay.problems
    assert problem.startswith(f"run {recorder.run_id}: replay snapshot 3 is damaged") and why in problem
    assert problem in store.problems


def test_a_run_another_process_is_training_is_not_deleted_without_force(tmp_path, capsys):
    from convviz.cli import main

    folder = tmp_path / "store"
    proc = start_training(folder)
    try:
        wait_for_epochs(folder, proc, 1)
        assert main(["runs", "delete", "killed", "--runs", str(folder)]) == 1
        err = capsys.readouterr().err
        assert "#1 killed is training now: stop it first" in err
        (run,) = RunStore(folder).runs()
        assert run.status == "running"
        with pytest.raises(RunStoreError, match="training now"):
            RunStore(folder).delete([run.id])
        assert main(["runs", "delete", "killed", "--force", "--runs", str(folder)]) == 0
        assert RunStore(folder).runs(include_deleted=True) == []
    finally:
        proc.kill()
        proc.wait(30)


def test_a_reused_pid_does_not_keep_a_killed_run_running(tmp_path, shapes):
    """The PID of a killed trainer now belongs to another process: the run is interrupted all the same."""
    from convviz.runs.process import start_time

    folder = tmp_path / "store"
    store = RunStore(folder)
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = start_time(other.pid)
        with sqlite3.connect(folder / "runs.sqlite3") as db:   # as the killed trainer left it
            db.execute("UPDATE runs SET status = 'running', pid = ?, pid_started = ? WHERE id = ?",
                       (other.pid, (started or 0) + 1, recorder.run_id))
        if started is None:
            pytest.skip("no /proc: the start time of a process cannot be read here")
        (run,) = RunStore(folder).runs()
        assert run.status == INTERRUPTED
        with sqlite3.connect(folder / "runs.sqlite3") as db:   # the same process: still running
            db.execute("UPDATE runs SET status = 'running', pid_started = ? WHERE id = ?", (started, recorder.run_id))
        assert RunStore(folder, scan=False).runs()[0].status == "running"
    finally:
        other.kill()
        other.wait(30)


def test_a_deletion_is_finished_only_by_a_store_on_the_deleters_host(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    config = TrainConfig(epochs=1, batch_size=32)
    here, _ = record_run(store, load_template("default"), shapes, config, name="here")
    there, _ = record_run(store, load_template("default"), shapes, config, name="there")
    store.delete([here.run_id, there.run_id])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    with sqlite3.connect(folder / "runs.sqlite3") as db:   # deleted by apps that closed without purging
        db.execute("UPDATE runs SET deleted_pid = ?, deleted_started = NULL", (dead.pid,))
        db.execute("UPDATE runs SET deleted_host = 'another-machine' WHERE id = ?", (there.run_id,))
    store.close()
    reopened = RunStore(folder)
    assert [r.name for r in reopened.runs(include_deleted=True)] == ["there"]
    assert not (folder / "runs" / here.run_id).exists() and (folder / "runs" / there.run_id).exists()


@pytest.mark.parametrize("why", ["disk I/O error", "attempt to write a readonly database", "database is locked"])
def test_an_index_that_cannot_be_used_now_is_an_error_and_is_not_moved_aside(tmp_path, monkeypatch, why):
    from convviz.runs import schema

    folder = tmp_path / "store"
    RunStore(folder).close()

    def refuse(connection):
        raise sqlite3.OperationalError(why)

    monkeypatch.setattr(schema, "create_or_migrate", refuse)
    with pytest.raises(RunStoreError, match=f"cannot be opened: {why}"):
        RunStore(folder)
    assert not list(folder.glob("runs.sqlite3.damaged-*")) and (folder / "runs.sqlite3").is_file()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_an_index_that_is_not_a_database_is_rebuilt(tmp_path, content):
    folder = tmp_path / "store"
    RunStore(folder).close()
    for path in folder.glob("runs.sqlite3-*"):
        path.unlink()
    (folder / "runs.sqlite3").write_bytes(content)
    store = RunStore(folder)
    assert "damaged" in store.problems[0] and list(folder.glob("runs.sqlite3.damaged-*"))


def test_a_rename_while_the_run_trains_survives_its_next_manifest_write(tmp_path, shapes):
    from convviz.train import EpochRecord

    folder = tmp_path / "store"
    store = RunStore(folder)
    design = load_template("default")
    trainer = Trainer(design, shapes, TrainConfig(epochs=2, batch_size=32), report_rate=1000, snapshot_rate=0)
    recorder = RunRecorder(store, trainer, name="before")
    for record in trainer:
        recorder.add(record)
        if isinstance(record, EpochRecord) and record.epoch == 1:
            recorder.flush()
            store.rename(recorder.run_id, "renamed while training")
            store.annotate(recorder.run_id, "a note")
    store.close()
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()
    (run,) = RunStore(folder).runs()
    assert (run.name, run.note, run.epochs_done) == ("renamed while training", "a note", 2)


def test_an_index_of_the_first_schema_is_migrated_and_keeps_its_runs(tmp_path, shapes):
    folder = tmp_path / "store"
    store = RunStore(folder)
    recorder, _ = record_run(store, load_template("default"), shapes, TrainConfig(epochs=1, batch_size=32), name="old")
    store.close()
    with sqlite3.connect(folder / "runs.sqlite3") as db:   # as convviz wrote it before schema 2
        for column in ("start", "pid_started", "deleted_host", "deleted_started"):
            db.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 1")
    store = RunStore(folder)
    assert not store.read_only and not store.problems
    (run,) = store.runs()
    assert (run.name, run.start) == ("old", {"kind": "fresh"})
    with sqlite3.connect(folder / "runs.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
