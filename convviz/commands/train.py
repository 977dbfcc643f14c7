"""``convviz train``: the app's training loop, headless, one line (or JSON object) per epoch.

Ctrl-C stops after the current step and still writes ``--out`` (exit status 130); a second Ctrl-C
aborts. A run that fails (NaN loss, out of memory) exits with status 1 and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace

from ..cli import CommandError, load_for_command
from ..train.config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, DataSpec, TrainConfig
from ..train.control import TrainControl

EXIT_STOPPED = 130  # the shell's status for "ended by Ctrl-C"
_DEFAULTS = TrainConfig()


def register(commands) -> None:
    parser = commands.add_parser(
        "train", help="train a design on a dataset, one line per epoch",
        description="Train DESIGN (a file or a template name) as the app does. The design's input size decides "
                    "the image size; its classes become the dataset's.")
    parser.add_argument("design", help="a design file or a template name (see `convviz templates`)")
    add_settings_arguments(parser)
    parser.add_argument("--download", action="store_true",
                        help="first download MNIST, Fashion-MNIST or CIFAR-10 into DIR (needs the internet)")
    parser.add_argument("--init", metavar="CHECKPOINT", help="start from a checkpoint's weights where they fit")
    parser.add_argument("--out", metavar="PATH", help="write the trained model as a .pt checkpoint")
    parser.add_argument("--json", action="store_true", help="print one JSON object per epoch")
    parser.set_defaults(run=cmd_train)


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The training settings (``convviz train``, and ``convviz export --train-script`` writes them into its script)."""
    parser.add_argument("--data", default=str(_DEFAULTS.data), metavar="SOURCE",
                        help="synthetic, mnist:DIR, fashion:DIR, cifar10:DIR or folder:DIR (default: synthetic)")
    parser.add_argument("--epochs", type=int, help=f"default {_DEFAULTS.epochs}")
    parser.add_argument("--batch-size", type=int, help=f"default {_DEFAULTS.batch_size}")
    parser.add_argument("--lr", type=float, help=f"learning rate (default {_DEFAULTS.lr:g})")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {_DEFAULTS.optimizer}")
    parser.add_argument("--momentum", type=float, help=f"SGD's momentum (default {_DEFAULTS.momentum:g})")
    parser.add_argument("--weight-decay", type=float, help=f"default {_DEFAULTS.weight_decay:g}")
    parser.add_argument("--schedule", choices=SCHEDULES, help=f"learning-rate schedule (default {_DEFAULTS.schedule})")
    parser.add_argument("--device", choices=DEVICES, help="default auto: CUDA, then MPS, then the CPU")
    parser.add_argument("--amp", choices=AMP_MODES, help="mixed precision on CUDA (default off)")
    parser.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    parser.add_argument("--augment", metavar="LIST",
                        help="e.g. rotation=15,shear=10,elastic=2,mirror,crop=4,color=0.2")
    parser.add_argument("--seed", type=int, help=f"default {_DEFAULTS.seed}")
    parser.add_argument("--val-fraction", type=float,
                        help=f"validation share when the dataset has no test set (default {_DEFAULTS.val_fraction:g})")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false", default=None,
                        help="feed pixels as 0…1 instead of subtracting the mean and dividing by the std")


def config_from_args(args: argparse.Namespace, base: TrainConfig = _DEFAULTS) -> TrainConfig:
    """The settings given on the command line over ``base`` (a ``ConfigError`` names a bad one)."""
    given = {name: getattr(args, name) for name in ("epochs", "batch_size", "lr", "optimizer", "momentum",
                                                     "weight_decay", "schedule", "device", "amp", "compile",
                                                     "seed", "val_fraction", "normalize")}
    if args.augment is not None:
        given["augment"] = AugmentConfig.parse(args.augment)
    if args.data != str(_DEFAULTS.data) or base.data == _DEFAULTS.data:
        given["data"] = DataSpec.parse(args.data)
    return replace(base, **{k: v for k, v in given.items() if v is not None})


def cmd_train(args: argparse.Namespace) -> int:
    from ..data import download_dataset, load_dataset
    from ..export.checkpoint import Checkpoint, Preprocessing, load_checkpoint, save_checkpoint
    from ..train.loop import Trainer
    from ..train.records import FAILED, STOPPED, EpochRecord, StartRecord

    config = config_from_args(args)
    design = load_for_command(args.design)
    if args.download:
        if config.data.kind not in ("mnist", "fashion", "cifar10"):
            raise CommandError(f"--download fetches mnist, fashion or cifar10, not {config.data.kind}")
        download_dataset(config.data.kind, config.data.path, _progress)
    initial = load_checkpoint(args.init).state_dict if args.init else None
    dataset = load_dataset(config.data, design.input, val_fraction=config.val_fraction, seed=config.seed)
    if dataset.skipped:
        _info(dataset.skipped_note())
    control = TrainControl()
    trainer = Trainer(design, dataset, config, control=control, initial_state=initial, report_rate=1.0,
                      snapshot_rate=0.0)
    with _stop_on_interrupt(control):
        for record in trainer:
            if isinstance(record, StartRecord):
                _info(f"training {design.name} on {dataset.name} ({record.train_size} training, {record.val_size} "
                      f"validation images) on {record.device}, {record.steps_per_epoch} steps per epoch")
                for note in record.notes + ((f"kept the weights of {', '.join(record.carried)}",)
                                            if record.carried else ()):
                    _info(note)
            elif isinstance(record, EpochRecord):
                print(json.dumps(record.to_json()) if args.json else _epoch_line(record), flush=True)
    end = record
    if end.reason == FAILED:
        raise CommandError(end.message)
    _info(end.message)
    if args.out:
        save_checkpoint(Checkpoint(end.design, end.state_dict, Preprocessing(end.mean, end.std), end.training),
                        args.out)
        _info(f"saved {args.out}")
    return EXIT_STOPPED if end.reason == STOPPED else 0


def _epoch_line(r) -> str:
    return (f"epoch {r.epoch}/{r.epochs}  train loss {r.train_loss:.4f} acc {r.train_acc:6.2%}  "
            f"val loss {r.val_loss:.4f} acc {r.val_acc:6.2%}  {r.samples_per_s:,.0f} samples/s  {r.seconds:.1f} s")


@contextmanager
def _stop_on_interrupt(control: TrainControl):
    """The first Ctrl-C asks the loop to stop (so --out is still written); the next one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum, frame):
        control.stop()
        signal.signal(signal.SIGINT, previous)
        _info("stopping after this step (Ctrl-C again to abort)")

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress(name: str, done: int, total: int) -> None:
    if total and done == total:
        _info(f"downloaded {name} ({total:,} bytes)")


def _info(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
