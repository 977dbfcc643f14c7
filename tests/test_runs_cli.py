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
    assert listed[0]["dataset"] == "MNIST"


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
    assert "40 of 96 training images" in shown["dataset"]
    assert main(["runs", "compare", "1", "2", "--json"]) == 0
    found = {d["what"]: d["values"] for d in json.loads(capsys.readouterr().out)["differences"]}
    assert found == {"training images": ["all", "40"], "learning rate": ["0.003", "0.01"]}
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
