"""The torchrun training script: DistributedDataParallel on two CPU processes, on data the test writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from convviz.cli import main
from convviz.design import load_template
from convviz.export import load_checkpoint
from convviz.export.training_script import script_names, write_training_script
from convviz.train import AugmentConfig, DataSpec, TrainConfig
from dataset_files import write_mnist


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    write_mnist(folder, train=192, test=64)
    return folder


def run(args, cwd, timeout=240):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_two_processes_under_torchrun_train_one_epoch(mnist, tmp_path):
    design = load_template("default")
    config = TrainConfig(data=DataSpec("mnist", str(mnist)), epochs=1, batch_size=16,
                         augment=AugmentConfig(rotation=10, crop_padding=2))
    model_file, script_file, init_file = (tmp_path / name for name in script_names(design))
    written = write_training_script(tmp_path, design, None, config)
    assert written == [model_file, init_file, script_file]
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                  script_file.name], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 reports, once per epoch
    epoch = lines[0]
    assert epoch["processes"] == 2 and epoch["epoch"] == 1
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s"} <= set(epoch)
    trained = load_checkpoint(tmp_path / "shapes_cnn_model_trained.pt")
    start = load_checkpoint(init_file)
    assert trained.design.classes == [str(i) for i in range(10)]  # the dataset's classes
    assert trained.training["config"]["augment"]["rotation"] == 10
    assert not torch.equal(trained.state_dict["conv1.weight"], start.state_dict["conv1.weight"])
    assert len(trained.preprocessing.mean) == 1


def test_one_plain_process_with_overrides(mnist, tmp_path):
    write_training_script(tmp_path, load_template("lenet5"), None, TrainConfig(epochs=3))
    result = run([sys.executable, "train_lenet_5.py", "--epochs", "1", "--data", f"mnist:{mnist}",
                  "--out", "out.pt"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [json.loads(l)["processes"] for l in result.stdout.splitlines() if l.startswith("{")] == [1]
    assert (tmp_path / "out.pt").exists()


def test_the_model_file_needs_no_convviz(tmp_path):
    write_training_script(tmp_path, load_template("inception_3a"), None, TrainConfig())
    check = ("import sys; sys.modules['convviz'] = None\n"
             "import torch, inception_3a_model\n"
             "m = inception_3a_model.Inception3a()\n"
             "print(tuple(m(torch.zeros(1, 192, 28, 28)).shape))")
    result = run([sys.executable, "-c", check], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 256, 28, 28)"


def test_cli_writes_the_script_with_the_settings(tmp_path, capsys):
    assert main(["export", "lenet5", "--train-script", str(tmp_path), "--epochs", "7", "--lr", "0.01",
                 "--augment", "mirror"]) == 0
    out = capsys.readouterr().out
    assert "torchrun --nproc_per_node=N" in out
    script = (tmp_path / "train_lenet_5.py").read_text()
    config = json.loads(script.split("CONFIG = json.loads(", 1)[1].split(")\n", 1)[0].strip("'"))
    assert config["epochs"] == 7 and config["lr"] == 0.01 and config["augment"]["mirror"] is True


def test_cli_from_a_checkpoint_keeps_its_settings(tmp_path, capsys):
    from convviz.export import Checkpoint, save_checkpoint
    from convviz.model import build_model

    design = load_template("lenet5")
    save_checkpoint(Checkpoint(design, build_model(design).state_dict(),
                               training={"config": TrainConfig(epochs=9, batch_size=8).to_dict()}), tmp_path / "m.pt")
    assert main(["export", str(tmp_path / "m.pt"), "--train-script", str(tmp_path / "out")]) == 0
    script = (tmp_path / "out" / "train_lenet_5.py").read_text()
    assert '"epochs": 9' in script and '"batch_size": 8' in script


def test_a_hostile_design_name_stays_text(tmp_path):
    design = load_template("lenet5")
    design.set_name('Net" + str(__import__("os").makedirs("pwned")) + """\nimport os')
    paths = write_training_script(tmp_path, design, None, TrainConfig())
    result = run([sys.executable, paths[-1].name, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pwned").exists()


def test_a_design_named_like_a_library_does_not_shadow_it(tmp_path):
    design = load_template("lenet5")
    design.set_name("torch")
    names = script_names(design)
    assert names[0] == "torch_model.py" and "torch.py" not in names
    write_training_script(tmp_path, design, None, TrainConfig())
    result = run([sys.executable, "train_torch.py", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
