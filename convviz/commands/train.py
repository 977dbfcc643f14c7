"""``convviz train``: the app's training loop, headless, one line (or JSON object) per epoch.

Every run is recorded in the run store (``--runs DIR``, ``CONVVIZ_RUNS``, else the app's data
folder), as the app's are: ``convviz runs list`` shows it. ``--out`` is checked for writing before
training starts and gets the best epoch's weights (by validation accuracy); an existing checkpoint
that is better is never overwritten without ``--force``. Ctrl-C stops after the current step and
still writes ``--out`` (exit status 130); a second Ctrl-C aborts. A run that fails (NaN loss,
divergence, out of memory) exits with status 1, writing the last good weights when an epoch
completed before.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..cli import CommandError, load_for_command
from ..i18n import tr
from ..train.config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES, AugmentConfig, DataSpec, TrainConfig
from ..train.control import TrainControl

EXIT_STOPPED = 130  # the shell's status for "ended by Ctrl-C"
#: Warnings start as errors do, in English in every language, so scripts can match them.
WARNING = "convviz: warning: "
_DEFAULTS = TrainConfig()


def register(commands) -> None:
    parser = commands.add_parser(
        "train", help=tr("train a design on a dataset, one line per epoch"),
        description=tr("Train DESIGN (a file or a template name) as the app does. The design's input size decides "
                       "the image size; its classes become the dataset's."))
    parser.add_argument("design", help=tr("a design file or a template name (see `convviz templates`)"))
    add_settings_arguments(parser)
    parser.add_argument("--download", action="store_true",
                        help=tr("first download MNIST, Fashion-MNIST or CIFAR-10 into DIR (needs the internet)"))
    parser.add_argument("--init", metavar="CHECKPOINT", help=tr("start from a checkpoint's weights where they fit"))
    parser.add_argument("--out", metavar="PATH",
                        help=tr("write the trained model (the best epoch's weights) as a .pt checkpoint"))
    parser.add_argument("--last", action="store_true", help=tr("write the last epoch's weights to --out, not the best"))
    parser.add_argument("--force", action="store_true",
                        help=tr("overwrite --out even when it holds a model with a higher validation accuracy"))
    parser.add_argument("--name", help=tr("the run's name in the run store (default: the design's name and a number)"))
    add_runs_argument(parser)
    parser.add_argument("--json", action="store_true", help=tr("print one JSON object per epoch"))
    parser.set_defaults(run=cmd_train)


def add_runs_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", metavar="DIR",
                        help=tr("the run store's folder (default: $CONVVIZ_RUNS, else the app's data folder)"))


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The training settings (``convviz train``, and ``convviz export --train-script`` writes them into its script)."""
    parser.add_argument("--data", default=str(_DEFAULTS.data), metavar="SOURCE",
                        help=tr("synthetic, mnist:DIR, fashion:DIR, cifar10:DIR or folder:DIR (default: synthetic)"))
    default = tr("default {value}")
    parser.add_argument("--epochs", type=int, help=default.format(value=_DEFAULTS.epochs))
    parser.add_argument("--batch-size", type=int, help=default.format(value=_DEFAULTS.batch_size))
    parser.add_argument("--lr", type=float, help=tr("learning rate (default {value})").format(value=f"{_DEFAULTS.lr:g}"))
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help=default.format(value=_DEFAULTS.optimizer))
    parser.add_argument("--momentum", type=float,
                        help=tr("SGD's momentum (default {value})").format(value=f"{_DEFAULTS.momentum:g}"))
    parser.add_argument("--weight-decay", type=float, help=default.format(value=f"{_DEFAULTS.weight_decay:g}"))
    parser.add_argument("--schedule", choices=SCHEDULES,
                        help=tr("learning-rate schedule (default {value})").format(value=_DEFAULTS.schedule))
    parser.add_argument("--device", choices=DEVICES, help=tr("default auto: CUDA, then MPS, then the CPU"))
    parser.add_argument("--amp", choices=AMP_MODES, help=tr("mixed precision on CUDA (default off)"))
    parser.add_argument("--compile", action="store_true", default=None, help=tr("torch.compile the model"))
    parser.add_argument("--augment", metavar="LIST",
                        help=tr("e.g. rotation=15,shear=10,elastic=2,mirror,crop=4,color=0.2"))
    parser.add_argument("--seed", type=int, help=default.format(value=_DEFAULTS.seed))
    parser.add_argument("--val-fraction", type=float,
                        help=tr("validation share when the dataset has no test set (default {value})").format(
                            value=f"{_DEFAULTS.val_fraction:g}"))
    parser.add_argument("--no-normalize", dest="normalize", action="store_false", default=None,
                        help=tr("feed pixels as 0…1 instead of subtracting the mean and dividing by the std"))
    parser.add_argument("--train-images", type=int, metavar="N",
                        help=tr("train on only N of the training images, classes balanced (default: all): "
                                "overfitting on purpose, to see what dropout, batch norm, weight decay and "
                                "augmentation change"))


def config_from_args(args: argparse.Namespace, base: TrainConfig = _DEFAULTS) -> TrainConfig:
    """The settings given on the command line over ``base`` (a ``ConfigError`` names a bad one)."""
    given = {name: getattr(args, name) for name in ("epochs", "batch_size", "lr", "optimizer", "momentum",
                                                     "weight_decay", "schedule", "device", "amp", "compile",
                                                     "seed", "val_fraction", "normalize", "train_images")}
    if args.augment is not None:
        given["augment"] = AugmentConfig.parse(args.augment)
    if args.data != str(_DEFAULTS.data) or base.data == _DEFAULTS.data:
        given["data"] = DataSpec.parse(args.data)
    return replace(base, **{k: v for k, v in given.items() if v is not None})


def cmd_train(args: argparse.Namespace) -> int:
    from ..data import download_dataset, load_dataset
    from ..export.checkpoint import load_checkpoint
    from ..train.loop import Trainer
    from ..train.records import STOPPED, EpochRecord, StartRecord

    config = config_from_args(args)
    design = load_for_command(args.design)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_writable(out)
    if args.download:
        if config.data.kind not in ("mnist", "fashion", "cifar10"):
            raise CommandError(tr("--download fetches mnist, fashion or cifar10, not {kind}").format(
                kind=config.data.kind))
        download_dataset(config.data.kind, config.data.path, _progress)
    initial = load_checkpoint(args.init).state_dict if args.init else None
    dataset = load_dataset(config.data, design.input, val_fraction=config.val_fraction, seed=config.seed)
    if dataset.skipped:
        _info(dataset.skipped_note())
    store = open_store(args.runs)
    control = TrainControl()
    probe = None
    if store is not None:
        from ..runs.replay import ReplayProbe

        probe = ReplayProbe(design, dataset, seed=config.seed)
    trainer = Trainer(design, dataset, config, control=control, initial_state=initial, report_rate=1.0 if store is None
                      else 5.0, snapshot_rate=0.0, probe=probe)
    recorder = _recorder(store, trainer, args.name, args.init)
    with _stop_on_interrupt(control):
        for record in trainer:
            if recorder is not None:
                recorder.add(record)
            if isinstance(record, StartRecord):
                _info(tr("training {design} on {data} ({train} training, {val} validation images) on {device}, "
                         "{steps} steps per epoch").format(
                    design=design.name, data=dataset.title, train=record.train_size, val=record.val_size,
                    device=record.device, steps=record.steps_per_epoch))
                kept = tr("kept the weights of {layers}").format(layers=", ".join(record.carried))
                for note in record.notes + ((kept,) if record.carried else ()):
                    _info(note)
            elif isinstance(record, EpochRecord):
                print(json.dumps(record.to_json()) if args.json else _epoch_line(record), flush=True)
    end = record
    if recorder is not None:
        if recorder.problem:
            _info(WARNING + str(recorder.problem))
        else:
            _info(tr("recorded as run #{number} in {folder}").format(number=recorder.number, folder=store.root))
    if end.ok:
        _info(end.message)
    saved = _save_model(end, out, args, recorder) if out is not None else ""
    if not end.ok:
        raise CommandError(end.message + (f"; {saved}" if saved else ""))
    return EXIT_STOPPED if end.reason == STOPPED else 0


def check_writable(path: Path) -> None:
    """Before training: ``--out`` can be written (its folder exists and takes a new file; it is not a folder)."""
    if path.is_dir():
        raise CommandError(tr("--out {path} is a folder: give a file name such as {path}/model.pt").format(path=path))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(tr("--out {path}: the folder {folder} does not exist").format(path=path, folder=folder))
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise CommandError(tr("--out {path} cannot be written: {why}").format(
            path=path, why=exc.strerror or exc)) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(tr("--out {path} cannot be written: it is read-only").format(path=path))


def open_store(folder: str | None):
    """The run store named by ``--runs`` (or the default); a warning and None when it cannot be used."""
    from ..runs import RunStore, RunStoreError, default_runs_folder

    try:
        store = RunStore(Path(folder) if folder else default_runs_folder())
    except RunStoreError as exc:
        _info(WARNING + tr("{why}; the run is not recorded").format(why=exc))
        return None
    for problem in store.problems:
        _info(WARNING + str(problem))
    return store


def _recorder(store, trainer, name: str | None, init: str | None):
    if store is None:
        return None
    from ..runs import RunRecorder, RunStoreError
    from ..runs.start import checkpoint

    try:
        return RunRecorder(store, trainer, name=name, source="cli", start=checkpoint(init) if init else None)
    except (RunStoreError, OSError, sqlite3.Error) as exc:
        _info(WARNING + tr("the run is not recorded: {why}").format(why=exc))
        return None


def _save_model(end, out: Path, args: argparse.Namespace, recorder) -> str:
    """Write ``--out``: the best epoch's weights (``--last``: the last ones; after a failure, the last good
    ones). Returns what happened, in a few words, for the failure message."""
    from ..export.checkpoint import Checkpoint, Preprocessing, save_checkpoint

    use_best = not args.last and end.best_state_dict is not None
    state = end.best_state_dict if use_best else end.state_dict
    if not end.ok and not end.epochs_completed:
        return tr("nothing written to {out}: no epoch completed").format(out=out)
    accuracy = end.best_val_acc if use_best else (end.history[-1].val_acc if end.history else None)
    better = _better_checkpoint(out, accuracy)
    if better and not args.force:
        kept = tr("kept {out}: it holds a better model ({theirs} % validation accuracy{where}, this run {ours} %); "
                  "--force overwrites it").format(
            out=out, theirs=f"{100 * better[0]:.1f}", where=tr(" on {data}").format(data=better[1]) if better[1] else "",
            ours=f"{100 * (accuracy or 0):.1f}")
        if recorder is not None and not recorder.problem:
            kept += tr("; this run is in the run store: convviz runs export {number} --to OTHER.pt").format(
                number=recorder.number)
        if end.ok:
            raise CommandError(kept)
        return kept
    epoch = end.best_epoch if use_best else end.epochs_completed
    training = {**end.training, "results": {**end.training.get("results", {}), "saved_epoch": epoch}}
    save_checkpoint(Checkpoint(end.design, state, Preprocessing(end.mean, end.std), training), out)
    if not end.ok:
        what = tr("saved the weights of epoch {epoch}, the last good ones, to {out}").format(epoch=epoch, out=out)
    elif use_best:
        what = tr("saved {out}: the weights of epoch {epoch}, the best ({acc} % validation accuracy)").format(
            out=out, epoch=epoch, acc=f"{100 * end.best_val_acc:.1f}")
    else:
        what = tr("saved {out}").format(out=out)
    if end.ok:
        _info(what)
    return what


def _better_checkpoint(path: Path, accuracy: float | None) -> tuple[float, str] | None:
    """(its validation accuracy, its data) when ``path`` is a convviz checkpoint better than ``accuracy``."""
    if not path.is_file():
        return None
    from ..export.checkpoint import CheckpointError, load_checkpoint

    try:
        results = load_checkpoint(path).training.get("results", {})
    except (CheckpointError, OSError, ValueError):
        return None
    theirs = results.get("best_val_acc") if isinstance(results, dict) else None
    if not isinstance(theirs, (int, float)) or isinstance(theirs, bool):
        return None
    if accuracy is not None and theirs <= accuracy:
        return None
    return float(theirs), str(results.get("dataset", ""))


def _epoch_line(r) -> str:
    heads = "".join("\n    " + tr("{head}: train loss {train}  val loss {val}").format(
        head=name, train=f"{train:.4f}", val=f"{val:.4f}") for name, train, val in
        zip(r.heads, r.head_losses, r.val_head_losses))
    return tr("epoch {epoch}/{epochs}  train loss {train_loss} acc {train_acc}  val loss {val_loss} acc {val_acc}  "
              "{speed} samples/s  {seconds} s").format(
        epoch=r.epoch, epochs=r.epochs, train_loss=f"{r.train_loss:.4f}", train_acc=f"{r.train_acc:6.2%}",
        val_loss=f"{r.val_loss:.4f}", val_acc=f"{r.val_acc:6.2%}", speed=f"{r.samples_per_s:,.0f}",
        seconds=f"{r.seconds:.1f}") + heads


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
        _info(tr("stopping after this step (Ctrl-C again to abort)"))

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress(name: str, done: int, total: int) -> None:
    if total and done == total:
        _info(tr("downloaded {name} ({bytes} bytes)").format(name=name, bytes=f"{total:,}"))


def _info(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
