"""``convviz train``: JSON lines per epoch, a checkpoint with --out, one-line failures, Ctrl-C that keeps the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from convviz.cli import main
from convviz.data import MNIST_CLASSES
from convviz.design import load_template, save_design
from convviz.export.checkpoint import load_checkpoint
from convviz.train import AugmentConfig, ConfigError
from dataset_files import write_image_folder, write_mnist

ROOT = Path(__file__).resolve().parent.parent
EPOCH_KEYS = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def mnist(tmp_path) -> Path:
    write_mnist(tmp_path / "mnist", train=64, test=32, gz=True)
    return tmp_path / "mnist"


def test_json_line_per_epoch_and_a_checkpoint(mnist, tmp_path, capsys):
    out = tmp_path / "model.pt"
    status = main(["train", "default", "--data", f"mnist:{mnist}", "--epochs", "2", "--batch-size", "16",
                   "--augment", "rotation=10,crop=2", "--optimizer", "sgd", "--schedule", "cosine", "--seed", "1",
                   "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2] and all(EPOCH_KEYS <= set(line) for line in lines)
    assert all(0 <= line["val_acc"] <= 1 for line in lines)
    checkpoint = load_checkpoint(out)
    assert checkpoint.classes == MNIST_CLASSES  # the design's shape classes replaced by the dataset's
    config = checkpoint.training["config"]
    assert (config["augment"]["rotation"], config["augment"]["crop_padding"], config["optimizer"]) == (10, 2, "sgd")
    assert config["data"] == f"mnist:{mnist}"


def test_plain_lines(mnist, capsys):
    assert main(["train", "lenet5", "--data", f"mnist:{mnist}", "--epochs", "1", "--batch-size", "32"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("epoch 1/1  train loss") and "samples/s" in out[0]


def _two_classes(tmp_path: Path) -> Path:
    write_image_folder(tmp_path / "two")
    return tmp_path / "two"


def _broken_design(tmp_path: Path) -> str:
    design = load_template("default")
    design.set_param("conv1", "kernel_size", 40)
    save_design(design, tmp_path / "broken.json")
    return str(tmp_path / "broken.json")


@pytest.mark.parametrize("make_args, fragment", [
    (lambda m, t: ["default", "--data", f"folder:{_two_classes(t)}"], "give the final Linear layer 2 outputs"),
    (lambda m, t: ["default", "--data", f"mnist:{m}", "--optimizer", "sgd", "--lr", "1e30", "--schedule", "constant"],
     "lower it"),
    (lambda m, t: [_broken_design(t), "--data", f"mnist:{m}"], "the design cannot be trained: conv1"),
    (lambda m, t: ["default", "--data", f"cifar10:{t / 'none'}"], "no such file or folder"),
    (lambda m, t: ["default", "--augment", "spin=3"], "unknown augmentation 'spin'"),
    (lambda m, t: ["default", "--data", f"folder:{t}", "--download"], "--download fetches mnist, fashion or cifar10"),
])
def test_failures_are_one_line_with_status_1(mnist, tmp_path, capsys, make_args, fragment):
    assert main(["train", *make_args(mnist, tmp_path), "--epochs", "1", "--out", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("convviz: error:") and fragment in err
    assert not (tmp_path / "m.pt").exists()


def test_ctrl_c_in_a_real_process_stops_cleanly_and_still_writes_the_checkpoint(mnist, tmp_path):
    out = tmp_path / "model.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "convviz", "train", "default", "--data", f"mnist:{mnist}",
                             "--epochs", "100000", "--batch-size", "16", "--json", "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        first = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
    assert first["epoch"] == 1 and EPOCH_KEYS <= set(first)
    assert all(EPOCH_KEYS <= set(json.loads(line)) for line in rest.strip().splitlines())
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "stopped" in err
    results = load_checkpoint(out).training["results"]
    assert results["reason"] == "stopped" and results["epochs_completed"] >= 1


@pytest.mark.parametrize("text, expected", [
    ("rotation=15,mirror,crop=4", AugmentConfig(rotation=15, mirror=True, crop_padding=4)),
    ("shear=10, elastic=2.5, color=0.2, mirror=off", AugmentConfig(shear=10, elastic=2.5, color_shift=0.2)),
    ("none", AugmentConfig()),
])
def test_augment_lists(text, expected):
    assert AugmentConfig.parse(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("rotation", "rotation needs a value, as in rotation=15"),
    ("crop=2.5", "whole number"),
    ("color=3", "between 0 and 1"),
    ("mirror=maybe", "mirror takes no value"),
    ("shear=x", "not a number"),
])
def test_bad_augment_lists(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        AugmentConfig.parse(text)
