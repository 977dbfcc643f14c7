"""``convviz train`` never loses finished work, and ``convviz runs`` lists, shows, compares, exports and deletes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from convviz.cli import main
from convviz.design import load_template
from convviz.export.checkpoint import Checkpoint, Preprocessing, load_checkpoint, save_checkpoint
from convviz.runs import RunStore
from dataset_files import write_mnist

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def mnist(tmp_path) -> Path:
    write_mnist(tmp_path / "mnist", train=96, test=40, gz=True)
    return tmp_path / "mnist"


def train(mnist, *more) -> int:
    return main(["train", "default", "--data", f"mnist:{mnist}", "--batch-size", "16", *more])


def store() -> RunStore:
    return RunStore(os.environ["CONVVIZ_RUNS"])


def a_better_checkpoint(path: Path, accuracy: float = 0.899) -> bytes:
    design = load_template("default")
    model_state = {k: torch.zeros_like(v) for k, v in _state(design).items()}
    save_checkpoint(Checkpoint(design, model_state, Preprocessing([0.1], [0.3]),
                               {"results": {"best_val_acc": accuracy, "dataset": "MNIST"}}), path)
    return path.read_bytes()


def _state(design):
    from convviz.model import seeded_model

    return seeded_model(design, 0).state_dict()


def test_every_cli_run_is_recorded_with_its_name(mnist, capsys):
    assert train(mnist, "--epochs", "2", "--name", "tiny mnist") == 0
    err = capsys.readouterr().err
    assert "recorded as run #1" in err
    assert main(["runs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["number"], r["name"], r["status"], r["epochs_done"]) for r in listed] == [(1, "tiny mnist", "finished", 2)]
    assert listed[0]["dataset"]["name"] == "MNIST" and listed[0]["dataset"]["spec"].startswith("mnist:")


def test_out_is_checked_before_training(mnist, tmp_path, capsys):
    assert train(mnist, "--epochs", "1", "--out", str(tmp_path / "missing" / "model.pt")) == 1
    err = capsys.readouterr().err
    assert "the folder" in err and "does not exist" in err
    assert train(mnist, "--epochs", "1", "--out", str(tmp_path)) == 1
    assert "is a folder" in capsys.readouterr().err
    assert store().runs() == []   # refused before anything trained


def test_out_gets_the_best_epoch_and_says_which(mnist, tmp_path, capsys):
    out = tmp_path / "model.pt"
    assert train(mnist, "--epochs", "3", "--out", str(out)) == 0
    results = load_checkpoint(out).training["results"]
    assert results["saved_epoch"] == results["best_epoch"] >= 1
    assert f"the weights of epoch {results['best_epoch']}, the best" in capsys.readouterr().err
    (run,) = store().runs()
    assert torch.equal(load_checkpoint(out).state_dict["conv1.weight"], store().weights(run.id, "best")["conv1.weight"])


def test_a_better_checkpoint_is_never_overwritten_without_force(mnist, tmp_path, capsys):
    out = tmp_path / "model.pt"
    before = a_better_checkpoint(out)
    assert train(mnist, "--epochs", "1", "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert f"kept {out}: it holds a better model (89.9 % validation accuracy on MNIST" in err and "--force" in err
    assert "convviz runs export 1 --to" in err
    assert out.read_bytes() == before
    assert train(mnist, "--epochs", "1", "--out", str(out), "--force") == 0
    assert out.read_bytes() != before


def test_a_diverging_run_stops_names_the_learning_rate_and_keeps_the_better_checkpoint(mnist, tmp_path, capsys):
    out = tmp_path / "model.pt"
    before = a_better_checkpoint(out)
    assert train(mnist, "--epochs", "5", "--lr", "1e6", "--out", str(out)) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("convviz: error: diverged in epoch 1") and "learning rate 1e+06" in err
    assert out.read_bytes() == before
    (run,) = store().runs()
    assert run.status == "diverged" and run.epochs_done == 0


def test_after_a_nan_the_last_good_weights_are_written_and_said_so(mnist, tmp_path, capsys, monkeypatch):
    from convviz.train import heads

    real, calls = heads.compute_loss, []

    def poisoned(output, labels, reduction="mean"):   # NaN from the second epoch's training steps on
        calls.append(reduction)
        loss = real(output, labels, reduction)
        return loss * float("nan") if calls.count("mean") > 6 and reduction == "mean" else loss

    monkeypatch.setattr(heads, "compute_loss", poisoned)
    out = tmp_path / "model.pt"
    assert train(mnist, "--epochs", "3", "--out", str(out)) == 1   # 96 images / 16: 6 steps an epoch
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "the loss became nan in epoch 2" in err and f"saved the weights of epoch 1, the last good ones, to {out}" in err
    checkpoint = load_checkpoint(out)
    assert checkpoint.training["results"]["saved_epoch"] == 1
    assert all(torch.isfinite(t.float()).all() for t in checkpoint.state_dict.values())


def test_runs_show_compare_export_and_delete(mnist, tmp_path, capsys):
    assert train(mnist, "--epochs", "1", "--name", "base") == 0
    assert train(mnist, "--epochs", "1", "--lr", "0.01", "--train-images", "40", "--name", "small") == 0
    capsys.readouterr()
    assert main(["runs", "show", "small", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["train_images"] == 40 and shown["config"]["lr"] == 0.01 and len(shown["epochs_table"]) == 1
    assert (shown["dataset"]["train"], shown["dataset"]["train_total"]) == (40, 96) and shown["problems"] == []
    assert main(["runs", "compare", "1", "2", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    found = {d["key"]: d["values"] for d in compared["differences"]}
    assert found == {"train_images": [0, 40], "lr": [0.003, 0.01]} and compared["problems"] == []
    assert main(["runs", "compare", "1", "2"]) == 0
    text = capsys.readouterr().out
    assert "learning rate    0.003" in text and "best val acc" in text
    out = tmp_path / "exported.pt"
    assert main(["runs", "export", "#2", "--to", str(out), "--weights", "last"]) == 0
    checkpoint = load_checkpoint(out)
    run = store().run(2)
    assert torch.equal(checkpoint.state_dict["fc.weight"], store().weights(run.id, "last")["fc.weight"])
    assert checkpoint.training["config"]["train_images"] == 40 and checkpoint.classes == [str(i) for i in range(10)]
    assert checkpoint.trained and checkpoint.training["results"]["run"] == run.id
    assert main(["runs", "export", "2", "--to", str(tmp_path / "start.pt"), "--weights", "initial"]) == 0
    assert not load_checkpoint(tmp_path / "start.pt").trained
    assert main(["runs", "delete", "base"]) == 0
    assert [r.name for r in store().runs()] == ["small"]


@pytest.mark.parametrize("args, fragment", [
    (["runs", "show", "7"], "no run 7"),
    (["runs", "compare", "1", "1"], "at least two different runs"),
    (["runs", "export", "1", "--to", "x.txt"], "cannot export to .txt"),
])
def test_runs_failures_are_one_line(mnist, args, fragment, capsys):
    assert train(mnist, "--epochs", "1") == 0
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error:") and fragment in err and "\n" not in err


def test_a_corrupt_index_gives_a_warning_not_a_traceback(tmp_path, capsys):
    folder = Path(os.environ["CONVVIZ_RUNS"])
    folder.mkdir(parents=True)
    (folder / "runs.sqlite3").write_bytes(b"\x00garbage" * 64)
    assert main(["runs", "list"]) == 0
    captured = capsys.readouterr()
    assert "convviz: warning: the runs index was damaged" in captured.err and "no runs in" in captured.out


def _break_a_run(config) -> str:
    """The first run's manifest gets a malformed field and the index goes: the store rebuilds it from folders."""
    folder = Path(os.environ["CONVVIZ_RUNS"])
    (run_folder,) = (folder / "runs").iterdir()
    manifest = json.loads((run_folder / "run.json").read_text())
    manifest["config"] = config
    (run_folder / "run.json").write_text(json.dumps(manifest))
    for path in folder.glob("runs.sqlite3*"):
        path.unlink()
    return run_folder.name


@pytest.mark.parametrize("config", [[1], "x"])
def test_a_damaged_run_folder_is_a_warning_for_runs_and_train(mnist, capsys, config):
    assert train(mnist, "--epochs", "1", "--name", "first") == 0
    broken = _break_a_run(config)
    capsys.readouterr()
    assert main(["runs", "list"]) == 0
    captured = capsys.readouterr()
    assert f"convviz: warning: skipped {broken}" in captured.err and "no runs in" in captured.out
    assert train(mnist, "--epochs", "1", "--name", "second") == 0
    assert f"convviz: warning: skipped {broken}" in capsys.readouterr().err
    assert [r.name for r in store().runs()] == ["second"]


def test_a_run_from_a_checkpoint_is_recorded_so_and_compared(mnist, tmp_path, capsys):
    out = tmp_path / "first.pt"
    assert train(mnist, "--epochs", "1", "--out", str(out)) == 0
    assert train(mnist, "--epochs", "1", "--init", str(out)) == 0
    capsys.readouterr()
    assert main(["runs", "show", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["start"] == {"kind": "checkpoint", "path": str(out)}
    assert main(["runs", "compare", "1", "2"]) == 0
    text = capsys.readouterr().out
    assert "fresh (seed 0)" in text and "from the checkpoint first.pt" in text
    assert main(["runs", "show", "2"]) == 0
    assert "initial weights: from the checkpoint first.pt" in capsys.readouterr().out


def test_runs_list_design_follows_the_line_a_saved_file_remembers(mnist, tmp_path, capsys):
    from convviz.design import save_design

    assert train(mnist, "--epochs", "1", "--name", "before the edit") == 0
    (run,) = store().runs()
    edited = load_template("default")
    edited.set_param("conv1", "out_channels", 8)   # another fingerprint: only the file knows its line
    path = tmp_path / "edited.json"
    save_design(edited, path)
    capsys.readouterr()
    assert main(["runs", "list", "--design", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []
    store().remember_file(path, run.lineage)   # as the app does when it saves the design
    assert main(["runs", "list", "--design", str(path), "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["before the edit"]


def test_every_runs_command_answers_in_json_with_raw_values_and_the_problems(mnist, tmp_path, capsys):
    assert train(mnist, "--epochs", "1", "--name", "base") == 0
    edited = tmp_path / "edited.json"
    from convviz.design import save_design

    design = load_template("default")
    design.set_param("conv1", "kernel_size", 5)
    save_design(design, edited)
    assert main(["train", str(edited), "--data", f"mnist:{mnist}", "--batch-size", "16", "--epochs", "1",
                 "--augment", "rotation=10"]) == 0
    (Path(os.environ["CONVVIZ_RUNS"]) / "runs" / "not-a-run").mkdir()
    capsys.readouterr()
    assert main(["runs", "compare", "1", "2", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    found = {d["key"]: d["values"] for d in compared["differences"]}
    assert found["conv1.kernel_size"] == [3, 5] and found["augment.rotation"] == [0.0, 10.0]
    assert all(d["kind"] in ("design", "setting") for d in compared["differences"])
    assert any("skipped not-a-run" in p for p in compared["problems"])
    assert main(["runs", "rename", "2", "five by five", "--json"]) == 0
    renamed = json.loads(capsys.readouterr().out)
    assert renamed["run"]["name"] == "five by five" and renamed["run"]["number"] == 2 and renamed["problems"]
    out = tmp_path / "model.pt"
    assert main(["runs", "export", "2", "--to", str(out), "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["wrote"] == [str(out)] and exported["weights"] == "last" and exported["run"]["id"]


def test_runs_show_counts_in_words(mnist, capsys):
    assert train(mnist, "--epochs", "1") == 0
    capsys.readouterr()
    assert main(["runs", "show", "1"]) == 0
    settings = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("settings:"))
    assert ", 1 epoch," in settings and "1 epochs" not in settings
