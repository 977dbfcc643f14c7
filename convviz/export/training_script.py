"""A training script for ``torchrun``: the app's data, settings and augmentation, on many GPUs or nodes.

``write_training_script(folder, design, state_dict, config)`` writes a folder that runs anywhere
torch, numpy and Pillow are installed (``requirements.txt``), with no GUI packages:

- ``<name>_model.py``: the model as plain PyTorch (``pysource``), what the run trains;
- ``<name>_init.pt``: its starting weights (the trained ones, or freshly initialised);
- ``convviz_runtime/``: convviz's own data readers, augmentation, settings and checkpoint code,
  copied from this installation (no Qt, no pyqtgraph), so a run there sees exactly what a run in
  the app sees, whatever is installed on the cluster;
- ``train_<name>.py``: DistributedDataParallel with a DistributedSampler, one process per GPU (or
  per CPU process, on gloo), started with ``torchrun --nproc_per_node=N train_<name>.py``; run with
  plain ``python`` it trains in one process. The batch size is the *global* batch, split over the
  processes, so N processes take the same steps with the same learning rate as one. Rank 0 prints
  one JSON line per epoch, writes a resumable checkpoint atomically after each epoch
  (``--resume`` continues from it) and a convviz checkpoint at the end;
- ``slurm_<name>.sbatch`` and ``pytorchjob_<name>.yaml``: a Slurm batch job and a Kubeflow
  ``PyTorchJob`` that start the same script on several nodes.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import torch

from .. import __version__
from ..analysis import analyze
from ..atomic import atomic_write_text
from ..design import Design, dumps
from ..train.config import TrainConfig
from .checkpoint import exported_checkpoint, save_checkpoint
from .pysource import doc_text, module_source, py_string, source_class_name

#: The copy of convviz's core beside the script (a name of its own: it never shadows an installed convviz).
RUNTIME = "convviz_runtime"

#: The packages the script imports; whatever they import from convviz is copied with them.
RUNTIME_ROOTS = ("analysis", "data", "design", "export", "train")

#: What the nodes install (the versions convviz itself requires).
REQUIREMENTS = ("torch>=2.4", "numpy>=1.24", "Pillow>=10")

SCRIPT = '''"""Train @DOC_NAME@ with torchrun: the data, settings and augmentation of convviz's Train tab.

    torchrun --standalone --nproc_per_node=4 @SCRIPT@   # 4 processes here: one per GPU (or CPU)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-id=JOB --rdzv-backend=c10d \\\\
        --rdzv-endpoint=HOST:29500 @SCRIPT@ --resume       # 2 nodes: the same line on each
    python @SCRIPT@                                      # one process

@SLURM@ (Slurm) and @KUBE@ (Kubeflow PyTorchJob) start it on a cluster.
Needs torch, numpy and Pillow (requirements.txt); convviz's data readers and augmentation come
with it in convviz_runtime/, the model is plain PyTorch in @MODULE@.py.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convviz_runtime and the model, beside it

from convviz_runtime.analysis import analyze  # noqa: E402
from convviz_runtime.atomic import atomic_write  # noqa: E402
from convviz_runtime.data import DatasetError, Preprocess, TensorImages, collate_images, load_dataset  # noqa: E402
from convviz_runtime.design import loads  # noqa: E402
from convviz_runtime.export import Checkpoint, Preprocessing, save_checkpoint  # noqa: E402
from convviz_runtime.train import DataSpec, TrainConfig, check_trainable  # noqa: E402
from convviz_runtime.train.heads import head_loss, main_scores  # noqa: E402
from convviz_runtime.train.optim import make_optimizer, make_schedule  # noqa: E402

from @MODULE@ import @CLASS@  # noqa: E402

# The settings exported from convviz (TrainConfig.to_dict()) and the design the model was made from.
CONFIG = json.loads(@CONFIG@)
DESIGN = @DESIGN@
INITIAL_WEIGHTS = @WEIGHTS@
STATE_FORMAT = "convviz-train-state"

DESCRIPTION = """@DESCRIPTION@

The batch size is the global batch: each of N processes takes batch/N images per step, so N
processes take the same number of steps with the same learning rate and schedule as one, and
reach the same accuracy (a batch that N does not divide is rounded down, and said so). Each
process uses one CPU thread unless --threads (or OMP_NUM_THREADS) says otherwise: with small
CNNs, more processes beat more threads. After every epoch rank 0 writes --checkpoint
atomically; --resume continues from it (or starts afresh when there is none yet), on any
number of processes.
"""


def arguments():
    parser = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"], help="default: %(default)s")
    parser.add_argument("--data", default=CONFIG["data"],
                        help="synthetic, mnist:DIR, fashion:DIR, cifar10:DIR or folder:DIR (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=CONFIG["batch_size"],
                        help="the global batch, split over the processes (default: %(default)s)")
    parser.add_argument("--out", default=@OUT@, help="the trained convviz checkpoint (default: %(default)s)")
    parser.add_argument("--checkpoint", default=None,
                        help="the resumable state written after every epoch (default: OUT with _last.pt)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint when it exists")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per process (default: OMP_NUM_THREADS, else 1)")
    return parser.parse_args()


def loader(dataset, batch_size, sampler, workers, device, drop_last):
    """A DataLoader over a split: images in memory as a TensorDataset, image files decoded by workers."""
    in_memory = isinstance(dataset, TensorImages)
    data = TensorDataset(dataset.images, dataset.labels) if in_memory else dataset
    return DataLoader(data, batch_size=batch_size, sampler=sampler, drop_last=drop_last,
                      num_workers=0 if in_memory else workers, collate_fn=collate_images,
                      pin_memory=device.type == "cuda", persistent_workers=not in_memory and workers > 0)


def save_state(path, state):
    """Atomically: a job killed while writing leaves the previous epoch's state whole."""
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)


def main():
    args = arguments()
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local = int(os.environ.get("LOCAL_RANK", 0))
    torch.set_num_threads(max(1, args.threads or int(os.environ.get("OMP_NUM_THREADS") or 1)))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")

    config = TrainConfig.from_dict({**CONFIG, "epochs": args.epochs, "data": args.data, "batch_size": args.batch_size})
    per_process = config.batch_size // world
    if per_process < 1:
        raise SystemExit(f"a global batch of {config.batch_size} cannot be split over {world} processes")
    if per_process * world != config.batch_size and rank == 0:
        print(f"note: a global batch of {config.batch_size} over {world} processes is {per_process * world} "
              f"({per_process} each)", file=sys.stderr, flush=True)
    design = loads(DESIGN)
    dataset = load_dataset(DataSpec.parse(args.data), design.input, val_fraction=config.val_fraction,
                           seed=config.seed)
    channels = dataset.shape[0]
    mean, std = dataset.mean_std() if config.normalize else ([0.0] * channels, [1.0] * channels)
    design.set_classes(dataset.classes)
    analysis = analyze(design)
    check_trainable(design, analysis, dataset)  # one score per class, or a clear message
    loss_of = head_loss(design, analysis)  # the app's rule: several heads' weighted sum, else one loss

    torch.manual_seed(config.seed)
    model = @CLASS@()
    if INITIAL_WEIGHTS:
        here = os.path.dirname(os.path.abspath(__file__))
        start = torch.load(os.path.join(here, INITIAL_WEIGHTS), map_location="cpu", weights_only=True)
        model.load_state_dict(start["state_dict"])
    if loss_of.several:  # validation weighs every head's loss, as the app does (eval mode returns them too)
        model.all_heads = True
    model.to(device)
    ddp = DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None) \\
        if distributed else model
    forward = torch.compile(ddp) if config.compile else ddp
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp) if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)

    train_sampler = DistributedSampler(dataset.train, world, rank, shuffle=True, seed=config.seed, drop_last=True)
    # Validation: every image once (DistributedSampler would pad with repeats).
    val_indices = list(range(rank, len(dataset.val), world))
    workers = min(4, max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", 1))) - 1))
    train_loader = loader(dataset.train, per_process, train_sampler, workers, device, drop_last=True)
    val_loader = loader(dataset.val, 2 * per_process, val_indices, workers, device, drop_last=False)
    preprocess = Preprocess(dataset.shape, mean, std, device, config.augment, config.seed)
    optimizer = make_optimizer(ddp, config)
    schedule = make_schedule(optimizer, config, len(train_loader))

    checkpoint = args.checkpoint or os.path.splitext(args.out)[0] + "_last.pt"
    history, first, seconds_before = [], 1, 0.0
    if args.resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if state.get("format") != STATE_FORMAT:
            raise SystemExit(f"{checkpoint}: not a training state written by this script")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if schedule is not None and state.get("schedule"):
            schedule.load_state_dict(state["schedule"])
        scaler.load_state_dict(state["scaler"])
        history, first, seconds_before = state["history"], state["epoch"] + 1, state["seconds"]
        if rank == 0:
            print(f"resumed from {checkpoint} after epoch {state['epoch']}", file=sys.stderr, flush=True)
    elif args.resume and rank == 0:
        print(f"no {checkpoint} yet: starting from the first epoch", file=sys.stderr, flush=True)

    started = time.perf_counter()
    for epoch in range(first, config.epochs + 1):
        # Every epoch draws from its own seeds: a resumed run repeats an uninterrupted one.
        torch.manual_seed(config.seed + 1000 * epoch + rank)
        if preprocess.generator is not None:
            preprocess.generator.manual_seed(config.seed + 1000 * epoch + rank)
        train_sampler.set_epoch(epoch)
        ddp.train()
        sums = torch.zeros(2, device=device)  # loss·n, correct: summed on the device, read once per epoch
        seen = 0
        tick = time.perf_counter()
        for batch in train_loader:
            if isinstance(batch, DatasetError):
                raise batch
            images, labels = (t.to(device, non_blocking=True) for t in batch)
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                outputs = forward(preprocess(images, train=True))
            # Several heads (auxiliary classifiers) in training mode: the weighted sum of their losses.
            loss, _ = loss_of(outputs, labels)
            logits = main_scores(outputs)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if schedule is not None:
                schedule.step()
            sums += torch.stack([loss.detach() * len(labels), (logits.argmax(1) == labels).sum()])
            seen += len(labels)
        seconds = time.perf_counter() - tick
        ddp.eval()
        val = torch.zeros(2, device=device)
        checked = 0
        with torch.no_grad():
            for batch in val_loader:
                if isinstance(batch, DatasetError):
                    raise batch
                images, labels = (t.to(device, non_blocking=True) for t in batch)
                with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    outputs = forward(preprocess(images, train=False))
                loss, _ = loss_of(outputs, labels, reduction="sum")  # the heads' weighted sum, as in training
                logits = main_scores(outputs)
                val += torch.stack([loss.float(), (logits.argmax(1) == labels).sum()])
                checked += len(labels)
        counts = torch.tensor([seen, checked], dtype=torch.float64, device=device)
        if distributed:
            dist.all_reduce(sums)
            dist.all_reduce(val)
            dist.all_reduce(counts)
        n, m = max(counts[0].item(), 1), max(counts[1].item(), 1)
        line = {"epoch": epoch, "train_loss": sums[0].item() / n, "train_acc": sums[1].item() / n,
                "val_loss": val[0].item() / m, "val_acc": val[1].item() / m,
                "samples_per_s": counts[0].item() / seconds, "processes": world,
                "global_batch": per_process * world, "threads": torch.get_num_threads()}
        history.append(line)
        if rank == 0:  # the state first: once an epoch is reported, it can be resumed from
            save_state(checkpoint, {"format": STATE_FORMAT, "version": 1, "epoch": epoch,
                                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "schedule": schedule.state_dict() if schedule is not None else {},
                                    "scaler": scaler.state_dict(), "history": history,
                                    "seconds": seconds_before + time.perf_counter() - started})
            print(json.dumps(line), flush=True)

    if rank == 0:
        training = {"config": config.to_dict(), "results": {"epochs_completed": config.epochs, "history": history,
                    "seconds": seconds_before + time.perf_counter() - started, "processes": world,
                    "device": device.type}}
        save_checkpoint(Checkpoint(design, model.state_dict(), Preprocessing(mean, std), training), args.out)
        print(f"saved {args.out}", flush=True)
    if distributed:
        # Every rank waits for rank 0's save: a rank that tears its group down while another still
        # holds the connection can abort (gloo: "terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''

SLURM = '''#!/bin/bash
# Train @NAME@ on 2 nodes with Slurm: sbatch @FILE@
# Each node runs one torchrun, which starts one process per GPU; they meet at the first node.
# Requeued or pre-empted, the job resumes from the last finished epoch (--resume).
#SBATCH --job-name=@JOB@
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=%x-%j.out

set -euo pipefail
cd "$SLURM_SUBMIT_DIR"
# python -m pip install -r requirements.txt   # once, in the environment the nodes use
head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export OMP_NUM_THREADS=1

srun torchrun \\
    --nnodes="$SLURM_NNODES" \\
    --nproc_per_node="${SLURM_GPUS_ON_NODE:-4}" \\
    --rdzv-id="$SLURM_JOB_ID" \\
    --rdzv-backend=c10d \\
    --rdzv-endpoint="$head_node:29500" \\
    @SCRIPT@ --resume
'''

PYTORCHJOB = '''# Train @NAME@ on Kubernetes with the Kubeflow training operator: kubectl apply -f @FILE@
# One master and one worker pod, each running torchrun with one process per GPU. The operator
# gives torchrun its rendezvous (PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR,
# PET_MASTER_PORT). The folder this file is in must be at /workspace on a shared volume (the
# claim below), so both pods read the data and the master's checkpoint survives a restart.
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: @JOB@
spec:
  nprocPerNode: "4"
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template: &pod
        spec:
          containers:
            - name: pytorch  # the operator looks for this name
              image: pytorch/pytorch:latest  # any image with torch; numpy and Pillow are installed below
              workingDir: /workspace
              command: ["bash", "-c"]
              args:
                - >-
                  python -m pip install --quiet -r requirements.txt &&
                  torchrun @SCRIPT@ --resume
              env:
                - name: OMP_NUM_THREADS
                  value: "1"
              resources:
                limits:
                  nvidia.com/gpu: 4
              volumeMounts:
                - name: workspace
                  mountPath: /workspace
                - name: shm  # DataLoader workers share batches through /dev/shm
                  mountPath: /dev/shm
          volumes:
            - name: workspace
              persistentVolumeClaim:
                claimName: @JOB@-workspace
            - name: shm
              emptyDir:
                medium: Memory
    Worker:
      replicas: 1
      restartPolicy: OnFailure
      template: *pod
'''


def script_names(design: Design) -> tuple[str, str, str]:
    """(model module, training script, initial weights) file names for ``design``.

    The module always ends in ``_model``: a design called "torch" or "json" must not write a module
    that shadows the library the script imports.
    """
    stem = _stem(design)
    return f"{stem}_model.py", f"train_{stem}.py", f"{stem}_init.pt"


def cluster_names(design: Design) -> tuple[str, str]:
    """(Slurm batch file, Kubeflow PyTorchJob file) names for ``design``."""
    stem = _stem(design)
    return f"slurm_{stem}.sbatch", f"pytorchjob_{stem}.yaml"


def _stem(design: Design) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", (design.name or "model").lower()).strip("_") or "net"
    return f"net_{stem}" if stem[0].isdigit() else stem


def write_training_script(folder: str | os.PathLike, design: Design,
                          state_dict: Mapping[str, torch.Tensor] | None = None,
                          config: TrainConfig | None = None, seed: int = 0) -> list[Path]:
    """Write the training folder (see the module's docstring) into ``folder``; returns the files
    written at its top, the training script last."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    config = config or TrainConfig()
    module_file, script_file, weights_file = script_names(design)
    slurm_file, job_file = cluster_names(design)
    analysis = analyze(design)
    _, checkpoint = exported_checkpoint(design, state_dict, seed=seed, training={"config": config.to_dict()},
                                        analysis=analysis)
    module = Path(module_file).stem
    atomic_write_text(target / module_file, module_source(design, analysis, weights_file=weights_file))
    save_checkpoint(checkpoint, target / weights_file)
    copy_runtime(target / RUNTIME)
    atomic_write_text(target / "requirements.txt",
                      "# What the training script needs on every node (no GUI packages).\n" +
                      "\n".join(REQUIREMENTS) + "\n")
    name = design.name or "the model"
    job = re.sub(r"[^a-z0-9]+", "-", Path(script_file).stem.lower()).strip("-")[:50].strip("-") or "convviz-train"
    fill = {
        # The design's name is user text: a docstring line and a string literal, never code.
        "@DOC_NAME@": doc_text(name), "@DESCRIPTION@": doc_text(f"Train {name} (DistributedDataParallel under "
                                                                 "torchrun)."),
        "@SCRIPT@": script_file, "@MODULE@": module, "@CLASS@": source_class_name(design),
        "@CONFIG@": repr(json.dumps(config.to_dict())), "@DESIGN@": repr(dumps(design)),
        "@WEIGHTS@": repr(weights_file), "@OUT@": py_string(f"{module}_trained.pt"),
        "@SLURM@": slurm_file, "@KUBE@": job_file, "@JOB@": job, "@NAME@": _comment_text(name),
    }
    atomic_write_text(target / slurm_file, _filled(SLURM, fill, "@FILE@", slurm_file))
    atomic_write_text(target / job_file, _filled(PYTORCHJOB, fill, "@FILE@", job_file))
    atomic_write_text(target / script_file, _filled(SCRIPT, fill))
    (target / slurm_file).chmod(0o755)
    return [target / module_file, target / weights_file, target / "requirements.txt", target / slurm_file,
            target / job_file, target / script_file]


def _filled(template: str, fill: Mapping[str, str], *extra: str) -> str:
    values = {**fill, **dict(zip(extra[::2], extra[1::2]))}
    return re.sub(r"@[A-Z_]+@", lambda m: values[m.group(0)], template)


def _comment_text(text: str) -> str:
    """User text inside a shell or YAML comment: one printable line."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


# --- the runtime copy -------------------------------------------------------------------------------

def runtime_modules(package: Path | None = None) -> list[str]:
    """The parts of convviz the script needs: ``RUNTIME_ROOTS`` and what they import from convviz,
    as names relative to the package ("data", "atomic"); found by reading their imports."""
    root = package or Path(__file__).resolve().parent.parent
    wanted, queue = set(), list(RUNTIME_ROOTS)
    while queue:
        name = queue.pop()
        if name in wanted or not ((root / name).is_dir() or (root / f"{name}.py").is_file()):
            continue  # seen, or a name from a package's __init__ (``from .. import __version__``)
        wanted.add(name)
        files = sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / f"{name}.py"]
        for path in files:
            depth = len(path.relative_to(root).parts)  # 1: a top-level module, 2: in a package, ...
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level == depth:
                    # ``from ..data.x import y`` needs "data"; ``from .. import sysmem`` needs "sysmem"
                    queue.extend([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
    return sorted(wanted)


def copy_runtime(destination: Path) -> None:
    """Copy ``runtime_modules()`` of this convviz into ``destination`` (replacing an older copy)."""
    root = Path(__file__).resolve().parent.parent
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in runtime_modules(root):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(root / f"{name}.py", destination / f"{name}.py")
    if (root / "locale").is_dir():
        shutil.copytree(root / "locale", destination / "locale", ignore=shutil.ignore_patterns("*.po"))
    (destination / "__init__.py").write_text(
        f'"""convviz {__version__}\'s core (data, augmentation, settings, checkpoints), copied beside a training\n'
        'script by convviz\'s export: it needs torch, numpy and Pillow, not the app."""\n\n'
        f'__version__ = "{__version__}"\n', encoding="utf-8")
