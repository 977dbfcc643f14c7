"""A training script for ``torchrun``: the app's data, settings and augmentation, on many GPUs or nodes.

``write_training_script(folder, design, state_dict, config)`` writes three files:

- ``<name>.py``: the model as plain PyTorch (``pysource``), what the run trains;
- ``<name>_init.pt``: its starting weights (the trained ones, or freshly initialised);
- ``train_<name>.py``: DistributedDataParallel with a DistributedSampler, one process per GPU (or
  per CPU process, on gloo), started with ``torchrun --nproc_per_node=N train_<name>.py``; run with
  plain ``python`` it trains in one process. Rank 0 prints one JSON line per epoch and saves a
  convviz checkpoint at the end.

The script reads the data and augments it with convviz's own code (``pip install convviz`` on the
cluster), so a run there sees exactly what a run in the app sees; the model file needs only torch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from ..analysis import analyze
from ..atomic import atomic_write_text
from ..design import Design, dumps
from ..train.config import TrainConfig
from .checkpoint import exported_checkpoint, save_checkpoint
from .pysource import doc_text, module_source, py_string, source_class_name

SCRIPT = '''"""Train {doc_name} with torchrun: the data, settings and augmentation of convviz's Train tab.

    torchrun --nproc_per_node=4 {script}      # 4 processes on this machine: one per GPU (or CPU, on gloo)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 {script}
    python {script}                           # one process

Options: --epochs N, --data SOURCE (synthetic, mnist:DIR, fashion:DIR, cifar10:DIR, folder:DIR),
--out FILE.pt (default: {out}). Needs torch and convviz (for the dataset readers and the
augmentation: pip install convviz); the model is plain PyTorch in {module}.py.
"""

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from convviz.analysis import analyze
from convviz.data import DatasetError, Preprocess, TensorImages, collate_images, load_dataset
from convviz.design import loads
from convviz.export import Checkpoint, Preprocessing, save_checkpoint
from convviz.train import DataSpec, TrainConfig, check_trainable
from convviz.train.optim import make_optimizer, make_schedule

from {module} import {cls}

# The settings exported from convviz (TrainConfig.to_dict()) and the design the model was made from.
CONFIG = json.loads({config!r})
DESIGN = {design!r}
INITIAL_WEIGHTS = {weights!r}


def arguments():
    parser = argparse.ArgumentParser(description={description})
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--data", default=CONFIG["data"])
    parser.add_argument("--out", default={out!r})
    return parser.parse_args()


def loader(split, batch_size, sampler, workers, device):
    """A DataLoader over a split: images in memory as a TensorDataset, image files decoded by workers."""
    dataset = TensorDataset(split.images, split.labels) if isinstance(split, TensorImages) else split
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=sampler.shuffle,
                      num_workers=0 if isinstance(split, TensorImages) else workers, collate_fn=collate_images,
                      pin_memory=device.type == "cuda", persistent_workers=not isinstance(split, TensorImages))


def main():
    args = arguments()
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", 1))))

    config = TrainConfig.from_dict({{**CONFIG, "epochs": args.epochs, "data": args.data}})
    design = loads(DESIGN)
    dataset = load_dataset(DataSpec.parse(args.data), design.input, val_fraction=config.val_fraction,
                           seed=config.seed)
    channels = dataset.shape[0]
    mean, std = dataset.mean_std() if config.normalize else ([0.0] * channels, [1.0] * channels)
    design.set_classes(dataset.classes)
    check_trainable(design, analyze(design), dataset)  # one score per class, or a clear message

    torch.manual_seed(config.seed)
    model = {cls}()
    if INITIAL_WEIGHTS:
        here = os.path.dirname(os.path.abspath(__file__))
        start = torch.load(os.path.join(here, INITIAL_WEIGHTS), map_location="cpu", weights_only=True)
        model.load_state_dict(start["state_dict"])
    model.to(device)
    ddp = DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None) \\
        if distributed else model
    forward = torch.compile(ddp) if config.compile else ddp
    amp = {{"bf16": torch.bfloat16, "fp16": torch.float16}}.get(config.amp) if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)

    train_sampler = DistributedSampler(dataset.train, world, rank, shuffle=True, seed=config.seed, drop_last=True)
    val_sampler = DistributedSampler(dataset.val, world, rank, shuffle=False)
    workers = min(4, max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", 1))) - 1))
    train_loader = loader(dataset.train, config.batch_size, train_sampler, workers, device)
    val_loader = loader(dataset.val, 2 * config.batch_size, val_sampler, workers, device)
    preprocess = Preprocess(dataset.shape, mean, std, device, config.augment, config.seed + rank)
    optimizer = make_optimizer(ddp, config)
    schedule = make_schedule(optimizer, config, len(train_loader))

    history = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
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
                logits = forward(preprocess(images, train=True))
            loss = F.cross_entropy(logits.float(), labels)
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
                    logits = forward(preprocess(images, train=False)).float()
                val += torch.stack([F.cross_entropy(logits, labels, reduction="sum"), (logits.argmax(1) == labels).sum()])
                checked += len(labels)
        counts = torch.tensor([seen, checked], dtype=torch.float64, device=device)
        if distributed:
            dist.all_reduce(sums)
            dist.all_reduce(val)
            dist.all_reduce(counts)
        n, m = max(counts[0].item(), 1), max(counts[1].item(), 1)
        line = {{"epoch": epoch, "train_loss": sums[0].item() / n, "train_acc": sums[1].item() / n,
                "val_loss": val[0].item() / m, "val_acc": val[1].item() / m,
                "samples_per_s": counts[0].item() / seconds, "processes": world}}
        history.append(line)
        if rank == 0:
            print(json.dumps(line), flush=True)

    if rank == 0:
        training = {{"config": config.to_dict(), "results": {{"epochs_completed": config.epochs, "history": history,
                    "seconds": time.perf_counter() - started, "processes": world, "device": device.type}}}}
        save_checkpoint(Checkpoint(design, model.state_dict(), Preprocessing(mean, std), training), args.out)
        print(f"saved {{args.out}}", flush=True)
    if distributed:
        # Every rank waits for rank 0's save: a rank that tears its group down while another still
        # holds the connection can abort (gloo: "terminate called without an active exception").
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''


def script_names(design: Design) -> tuple[str, str, str]:
    """(model module, training script, initial weights) file names for ``design``.

    The module always ends in ``_model``: a design called "torch" or "json" must not write a module
    that shadows the library the script imports.
    """
    stem = re.sub(r"[^a-z0-9]+", "_", (design.name or "model").lower()).strip("_") or "net"
    if stem[0].isdigit():
        stem = f"net_{stem}"
    return f"{stem}_model.py", f"train_{stem}.py", f"{stem}_init.pt"


def write_training_script(folder: str | os.PathLike, design: Design,
                          state_dict: Mapping[str, torch.Tensor] | None = None,
                          config: TrainConfig | None = None, seed: int = 0) -> list[Path]:
    """Write the model, its starting weights and the torchrun script into ``folder``; returns their paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    config = config or TrainConfig()
    module_file, script_file, weights_file = script_names(design)
    analysis = analyze(design)
    _, checkpoint = exported_checkpoint(design, state_dict, seed=seed, training={"config": config.to_dict()},
                                        analysis=analysis)
    module = Path(module_file).stem
    atomic_write_text(target / module_file, module_source(design, analysis, weights_file=weights_file))
    save_checkpoint(checkpoint, target / weights_file)
    name = design.name or "the model"
    # The design's name is user text: a docstring line and a string literal, never code.
    script = SCRIPT.format(doc_name=doc_text(name), description=py_string(f"Train {name} (DistributedDataParallel "
                                                                           "under torchrun)."),
                           script=script_file, module=module,
                           cls=source_class_name(design), config=json.dumps(config.to_dict()), design=dumps(design),
                           weights=weights_file, out=f"{module}_trained.pt")
    atomic_write_text(target / script_file, script)
    return [target / module_file, target / weights_file, target / script_file]
