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
    assert written[:2] == [model_file, init_file] and written[-1] == script_file
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                  script_file.name], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 reports, once per epoch
    epoch = lines[0]
    assert epoch["processes"] == 2 and epoch["epoch"] == 1
    assert epoch["global_batch"] == 16 and epoch["threads"] == 1  # 8 images per process, one thread each
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


#: The cluster's side: torch, numpy and Pillow only; the GUI packages and the installed convviz are absent.
BARE_NODE = r"""
import runpy, sys
BLOCKED = {"PySide6", "pyqtgraph", "shiboken6", "convviz"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("not on this node: " + name)
sys.meta_path.insert(0, Blocker())
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


def epochs_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_the_folder_trains_with_only_torch_numpy_and_pillow(mnist, tmp_path):
    paths = write_training_script(tmp_path, load_template("default"), None, TrainConfig(epochs=1, batch_size=16))
    assert (tmp_path / "requirements.txt").read_text().split("\n")[1:4] == ["torch>=2.4", "numpy>=1.24", "Pillow>=10"]
    result = run([sys.executable, "-c", BARE_NODE, paths[-1].name, "--data", f"mnist:{mnist}"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (epoch,) = epochs_of(result.stdout)
    assert epoch["threads"] == 1  # one thread per process unless told
    assert load_checkpoint(tmp_path / "shapes_cnn_model_trained.pt").training["results"]["epochs_completed"] == 1


def test_the_runtime_is_what_the_script_imports_and_nothing_of_the_app():
    from convviz.export.training_script import runtime_modules

    modules = runtime_modules()
    assert {"data", "design", "analysis", "train", "export", "model", "atomic"} <= set(modules)
    assert not {"ui", "commands", "cli", "explain", "assets"} & set(modules)


def test_every_module_of_the_copied_runtime_imports_on_its_own(tmp_path):
    """``from .. import sysmem`` is an import too: a helper missed by the copy fails only on the nodes."""
    from convviz.export.training_script import copy_runtime

    copy_runtime(tmp_path / "convviz_runtime")
    names = sorted(".".join(("convviz_runtime", *p.relative_to(tmp_path / "convviz_runtime").with_suffix("").parts))
                   .removesuffix(".__init__") for p in (tmp_path / "convviz_runtime").rglob("*.py"))
    code = "import importlib, sys\nsys.path.insert(0, '.')\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-I", "-c", code, *names], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_threads_when_told(mnist, tmp_path):
    paths = write_training_script(tmp_path, load_template("default"), None, TrainConfig(epochs=1, batch_size=32))
    result = run([sys.executable, paths[-1].name, "--data", f"mnist:{mnist}", "--threads", "2"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert epochs_of(result.stdout)[0]["threads"] == 2


def test_resume_after_a_kill_ends_where_an_uninterrupted_run_ends(mnist, tmp_path):
    config = TrainConfig(epochs=3, batch_size=16, augment=AugmentConfig(rotation=10, crop_padding=2))
    args = ["--data", f"mnist:{mnist}"]
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    for folder in (straight, interrupted):
        write_training_script(folder, load_template("default"), None, config)
    script = script_names(load_template("default"))[1]
    whole = run([sys.executable, script, *args], straight)
    assert whole.returncode == 0, whole.stderr[-2000:]
    # Killed as soon as the first epoch is reported (a pre-empted job), then started again with --resume.
    job = subprocess.Popen([sys.executable, script, *args], cwd=interrupted, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    first = job.stdout.readline()
    job.kill()
    job.wait(timeout=60)
    assert json.loads(first)["epoch"] == 1
    assert (interrupted / "shapes_cnn_model_trained_last.pt").is_file()
    again = run([sys.executable, script, *args, "--resume"], interrupted)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from shapes_cnn_model_trained_last.pt after epoch" in again.stderr
    done = [line["epoch"] for line in epochs_of(again.stdout)]
    assert done and done[-1] == 3 and 1 not in done
    a = load_checkpoint(straight / "shapes_cnn_model_trained.pt")
    b = load_checkpoint(interrupted / "shapes_cnn_model_trained.pt")
    for key, value in a.state_dict.items():
        assert torch.equal(value, b.state_dict[key]), key
    assert [h["epoch"] for h in b.training["results"]["history"]] == [1, 2, 3]


def test_resume_without_a_checkpoint_starts_afresh(mnist, tmp_path):
    paths = write_training_script(tmp_path, load_template("default"), None, TrainConfig(epochs=1, batch_size=32))
    result = run([sys.executable, paths[-1].name, "--data", f"mnist:{mnist}", "--resume"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "starting from the first epoch" in result.stderr
    assert [e["epoch"] for e in epochs_of(result.stdout)] == [1]


def test_the_help_says_how_the_batch_and_threads_are_shared(tmp_path):
    paths = write_training_script(tmp_path, load_template("lenet5"), None, TrainConfig())
    result = run([sys.executable, paths[-1].name, "--help"], tmp_path)
    text = " ".join(result.stdout.split())
    assert "The batch size is the global batch" in text and "same learning rate" in text
    assert "one CPU thread unless --threads" in text and "--resume" in text


def test_slurm_and_kubeflow_files_start_the_script(tmp_path):
    import shutil

    from convviz.export.training_script import cluster_names

    design = load_template("lenet5")
    write_training_script(tmp_path, design, None, TrainConfig())
    slurm_file, job_file = (tmp_path / name for name in cluster_names(design))
    script = script_names(design)[1]
    slurm = slurm_file.read_text()
    assert slurm.startswith("#!/bin/bash") and "#SBATCH --nodes=2" in slurm and "#SBATCH --requeue" in slurm
    assert '--rdzv-id="$SLURM_JOB_ID"' in slurm and f"{script} --resume" in slurm
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(slurm_file)]).returncode == 0
    job = job_file.read_text()
    assert "kind: PyTorchJob" in job and "apiVersion: kubeflow.org/v1" in job
    assert f"torchrun {script} --resume" in job and "requirements.txt" in job and "name: pytorch" in job
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(job)["spec"]
    assert set(spec["pytorchReplicaSpecs"]) == {"Master", "Worker"}
    container = spec["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert container["name"] == "pytorch" and "--resume" in container["args"][0]


@pytest.mark.slow
def test_two_processes_reach_what_one_does_on_the_built_in_data(request, tmp_path):
    """The app's defaults (global batch 64, one-cycle, 5 epochs) on the built-in shapes: two gloo
    processes of one thread each end within 1 percentage point of one process (minutes)."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("trains twice on the built-in data (minutes): run with -m slow")
    design = load_template("default")
    write_training_script(tmp_path, design, None, TrainConfig())
    script = script_names(design)[1]
    one = run([sys.executable, script, "--out", "one.pt"], tmp_path, timeout=1800)
    assert one.returncode == 0, one.stderr[-2000:]
    two = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", script,
               "--out", "two.pt"], tmp_path, timeout=1800)
    assert two.returncode == 0, two.stderr[-2000:]
    single, double = epochs_of(one.stdout)[-1], epochs_of(two.stdout)[-1]
    assert single["processes"] == 1 and double["processes"] == 2
    assert single["global_batch"] == double["global_batch"] == 64
    assert abs(single["val_acc"] - double["val_acc"]) <= 0.01, (single, double)


def test_the_script_weights_the_heads_by_the_apps_rule(mnist, tmp_path):
    """One head left (a hand-edited file, weight 0.5) is the one output with weight 1, as in the app's
    ``head_loss``: the script trained on 0.5 × the loss."""
    from convviz.design import Head

    losses = []
    for heads in ([], [Head("fc", 0.5)]):
        design = load_template("default")
        design.heads = heads
        folder = tmp_path / f"heads{len(heads)}"
        folder.mkdir()
        write_training_script(folder, design, None, TrainConfig(epochs=1, batch_size=32, seed=4))
        script = next(p for p in folder.glob("train_*.py"))
        result = run([sys.executable, script.name, "--data", f"mnist:{mnist}", "--out", "out.pt"], folder)
        assert result.returncode == 0, result.stderr[-2000:]
        losses.append([json.loads(line)["train_loss"] for line in result.stdout.splitlines() if line.startswith("{")])
    assert losses[0] == losses[1]


def test_the_scripts_validation_loss_weighs_the_heads_as_the_app_does(mnist, tmp_path):
    """With an auxiliary head, the script's val_loss is the heads' weighted sum on the validation set in
    eval mode (was: the main head's cross-entropy alone), recomputed here from the trained weights."""
    from convviz.analysis import analyze
    from convviz.data import Preprocess, load_dataset
    from convviz.design import Head
    from convviz.model import build_model
    from convviz.train.heads import head_loss

    design = load_template("default")
    design.add_node("AdaptiveAvgPool2d", "aux_pool", ["relu2"], {"output_size": 1})
    design.add_node("Flatten", "aux_flat", ["aux_pool"])
    design.add_node("Linear", "aux_fc", ["aux_flat"], {"out_features": 10})
    design.set_heads([Head("fc"), Head("aux_fc", 0.3)])
    config = TrainConfig(epochs=1, batch_size=32, seed=4)
    write_training_script(tmp_path, design, None, config)
    script = next(tmp_path.glob("train_*.py"))
    result = run([sys.executable, script.name, "--data", f"mnist:{mnist}", "--out", "out.pt"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    reported = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")][-1]["val_loss"]

    trained = load_checkpoint(tmp_path / "out.pt")
    dataset = load_dataset(DataSpec.parse(f"mnist:{mnist}"), trained.design.input, val_fraction=config.val_fraction,
                           seed=config.seed)
    model = build_model(trained.design, heads="all")
    model.load_state_dict(trained.state_dict)
    model.eval()
    preprocess = Preprocess(dataset.shape, trained.preprocessing.mean, trained.preprocessing.std, torch.device("cpu"))
    loss = head_loss(trained.design, analyze(trained.design))
    with torch.no_grad():
        total, parts = loss(model(preprocess(dataset.val.images, train=False)), dataset.val.labels, reduction="sum")
    count = len(dataset.val)
    assert reported == pytest.approx(total.item() / count, rel=1e-4)
    assert reported != pytest.approx(parts[0].item() / count, rel=1e-4)  # not the main head alone
