"""``convviz runs``: the run store from the command line (the app's and ``convviz train``'s runs).

    convviz runs list [--design D] [--json]      newest first: outcome, best accuracy, cost, speed
    convviz runs show RUN [--json]               settings, data, outcome and every epoch
    convviz runs compare RUN RUN… [--json]       what differs between their designs and settings
    convviz runs export RUN --to model.pt        the checkpoint File ▸ Export writes (also .py, .pt2, .onnx)
                                                 (the last weights; --weights best: the best epoch's)
    convviz runs delete RUN…                     for good (the app's delete can be undone)
    convviz runs rename RUN NAME

RUN is a run's number (``12`` or ``#12``), its id (or its start) or its name.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..cli import CommandError, load_for_command
from ..i18n import ntr, tr
from .train import add_runs_argument


def register(commands) -> None:
    parser = commands.add_parser(
        "runs", help=tr("list, show, compare, export and delete recorded training runs"),
        description=tr("The run store: every run trained in the app or with convviz train. RUN is a run's "
                       "number (12 or #12), its id (or its start) or its name."))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help=tr("every run, newest first"))
    listing.add_argument("--design", metavar="DESIGN",
                         help=tr("only the runs of this design (a file or a template) and of the designs it came from"))
    _common(listing)
    listing.set_defaults(run=cmd_list)

    show = actions.add_parser("show", help=tr("one run: settings, data, outcome, epochs"))
    show.add_argument("key", metavar="RUN", help=tr("a run: its number (12 or #12), id or name"))
    _common(show)
    show.set_defaults(run=cmd_show)

    compare = actions.add_parser("compare", help=tr("what differs between runs, and their results"))
    compare.add_argument("keys", metavar="RUN", nargs="+", help=tr("runs: their numbers (12 or #12), ids or names"))
    _common(compare)
    compare.set_defaults(run=cmd_compare)

    export = actions.add_parser("export", help=tr("a run's model as a checkpoint (as File ▸ Export), .py, .pt2 or .onnx"))
    export.add_argument("key", metavar="RUN", help=tr("a run: its number (12 or #12), id or name"))
    export.add_argument("--to", required=True, metavar="OUT", help=tr("the file to write (.pt, .py, .pt2 or .onnx)"))
    # The default is File ▸ Export's: the weights the run ended with (the design's after the run, what
    # Explain shows and training continues from).
    export.add_argument("--weights", choices=("last", "best", "initial"), default="last",
                        help=tr("the weights the run ended with (default, as File ▸ Export writes them), the best "
                                "epoch's, or the ones the run started from"))
    _common(export)
    export.set_defaults(run=cmd_export)

    delete = actions.add_parser("delete", help=tr("delete runs and their files for good"))
    delete.add_argument("keys", metavar="RUN", nargs="+", help=tr("runs: their numbers (12 or #12), ids or names"))
    delete.add_argument("--force", action="store_true",
                        help=tr("delete runs that another process is training now, too (that run is lost)"))
    _common(delete)
    delete.set_defaults(run=cmd_delete)

    rename = actions.add_parser("rename", help=tr("give a run a new name"))
    rename.add_argument("key", metavar="RUN", help=tr("a run: its number (12 or #12), id or name"))
    rename.add_argument("name", metavar="NAME", help=tr("the run's new name"))
    _common(rename)
    rename.set_defaults(run=cmd_rename)


def _common(parser: argparse.ArgumentParser) -> None:
    add_runs_argument(parser)
    parser.add_argument("--json", action="store_true", help=tr("one JSON object instead of text"))


def _store(args: argparse.Namespace):
    from pathlib import Path

    from ..runs import RunStore, default_runs_folder

    return RunStore(Path(args.runs) if args.runs else default_runs_folder())


def _warn(store) -> None:
    import sys

    for problem in store.problems:
        print(f"convviz: warning: {problem}", file=sys.stderr)  # the prefix stays English, as errors' does


def _print_json(store, data: dict[str, Any]) -> None:
    """One JSON object: stable keys, raw values, and the store's ``problems`` (also said on stderr)."""
    print(json.dumps({**data, "problems": list(store.problems)}, indent=1, ensure_ascii=False))


def summary_json(run) -> dict[str, Any]:
    """A run for programs: raw values under stable keys (``dataset``: as recorded, not a sentence)."""
    return {"number": run.number, "id": run.id, "name": run.name, "created": run.created,
            "status": run.status, "message": run.message, "design": run.design_name, "dataset": run.data,
            "epochs": run.epochs, "epochs_done": run.epochs_done, "best_epoch": run.best_epoch,
            "best_val_acc": run.best_val_acc, "params": run.params, "macs": run.macs,
            "receptive_field": run.receptive_field, "seconds": run.seconds, "samples_per_s": run.samples_per_s,
            "device": run.device, "starred": run.starred, "note": run.note, "lineage": run.lineage,
            "parent": run.parent, "start": run.start}


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    lineage = None
    if args.design:
        from pathlib import Path

        from ..runs import design_fingerprint

        design = load_for_command(args.design)
        # A saved file remembers its line (edited since its last run, its fingerprint finds nothing).
        lineage = (store.lineage_of_file(args.design) if Path(args.design).is_file() else None) or \
            store.lineage_of(design_fingerprint(design))
    runs = store.runs() if not args.design else (store.runs(lineage) if lineage else [])
    _warn(store)
    if args.json:
        _print_json(store, {"folder": str(store.root), "runs": [summary_json(r) for r in runs]})
        return 0
    if not runs:
        print(tr("no runs in {folder}").format(folder=store.root))
        return 0
    from ..analysis.text import compact

    header = ("#", tr("name"), tr("when"), tr("outcome"), tr("best val acc"), tr("params"), tr("MACs"), tr("RF"),
              tr("time"), tr("samples/s"))
    rows = [(str(r.number), r.name, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)),
             _status(r), _best(r), compact(r.params), compact(r.macs), r.receptive_field or "—",
             _duration(r.seconds), f"{r.samples_per_s:,.0f}") for r in runs]
    _table(header, rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    run = store.run(args.key)
    detail = store.detail(run.id)
    curves = store.curves(run.id)
    _warn(store)
    epochs = [{"epoch": int(e), "train_loss": float(tl), "train_acc": float(ta), "val_loss": float(vl),
               "val_acc": float(va), "lr": float(lr)}
              for e, tl, ta, vl, va, lr in zip(curves.epoch, curves.train_loss, curves.train_acc, curves.val_loss,
                                                curves.val_acc, curves.epoch_lr)]
    if args.json:
        _print_json(store, {**summary_json(run), "config": detail.config.to_dict(), "epochs_table": epochs})
        return 0
    from ..analysis.text import grouped

    lines = [
        f"#{run.number} {run.name}  ({run.id})",
        tr("design: {name}, {params} parameters, {macs} MACs, receptive field {rf}").format(
            name=run.design_name, params=grouped(run.params), macs=grouped(run.macs), rf=run.receptive_field or "—"),
        tr("data: {data}").format(data=run.dataset),
        tr("settings: {settings}").format(settings=_settings_line(detail.config)),
        tr("initial weights: {start}").format(start=_start_line(store, run, detail.config.seed)),
        tr("outcome: {status}: {message}").format(status=_status(run), message=run.message),
        tr("best validation accuracy: {best}; {time} on {device}, {speed} samples/s").format(
            best=_best(run), time=_duration(run.seconds), device=run.device or "—", speed=f"{run.samples_per_s:,.0f}"),
    ]
    if run.note:
        lines.append(tr("note: {note}").format(note=run.note))
    print("\n".join(lines))
    if epochs:
        print()
        _table((tr("epoch"), tr("train loss"), tr("train acc"), tr("val loss"), tr("val acc"), tr("lr")),
               [(str(e["epoch"]), f"{e['train_loss']:.4f}", f"{100 * e['train_acc']:.2f} %", f"{e['val_loss']:.4f}",
                 f"{100 * e['val_acc']:.2f} %", f"{e['lr']:.3g}") for e in epochs])
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..runs import differences

    store = _store(args)
    runs = [store.run(key) for key in args.keys]
    if len({r.id for r in runs}) < 2:
        raise CommandError(tr("compare needs at least two different runs"))
    details = [store.detail(r.id) for r in runs]
    found = differences(details)
    _warn(store)
    if args.json:
        _print_json(store, {"runs": [summary_json(r) for r in runs],
                            "differences": [{"kind": d.kind, "key": d.key, "values": list(d.raw)} for d in found]})
        return 0
    header = ("", *(f"#{r.number}" for r in runs))
    rows = [(d.what, *d.values) for d in found] or [(tr("(designs and settings are the same)"), *("" for _ in runs))]
    rows += [(tr("outcome"), *(_status(r) for r in runs)), (tr("best val acc"), *(_best(r) for r in runs)),
             (tr("time"), *(_duration(r.seconds) for r in runs))]
    _table(header, rows)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..export import export_format, export_to
    from ..export.checkpoint import Preprocessing
    from ..runs.export import checkpoint_training

    export_format(args.to)
    store = _store(args)
    run = store.run(args.key)
    detail = store.detail(run.id)
    state = store.weights(run.id, args.weights)
    training = checkpoint_training(detail, store.curves(run.id), args.weights)
    paths = export_to(args.to, detail.design, state, preprocessing=Preprocessing(detail.mean, detail.std),
                      training=training)
    _warn(store)
    if args.json:
        _print_json(store, {"run": summary_json(run), "weights": args.weights, "wrote": [str(p) for p in paths]})
        return 0
    for path in paths:
        print(tr("wrote {path}").format(path=path))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    runs = [store.run(key) for key in args.keys]
    store.purge([r.id for r in runs], force=args.force)
    _warn(store)
    if args.json:
        _print_json(store, {"deleted": [summary_json(r) for r in runs]})
    else:
        for r in runs:
            print(tr("deleted #{number} {name}").format(number=r.number, name=r.name))
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    store = _store(args)
    run = store.run(args.key)
    store.rename(run.id, args.name)
    _warn(store)
    if args.json:
        _print_json(store, {"run": summary_json(store.run(run.id))})
        return 0
    print(tr("#{number} is now called {name}").format(number=run.number, name=args.name.strip()))
    return 0


# --- text ---------------------------------------------------------------------------------------

def _status(run) -> str:
    from ..runs import status_label

    return status_label(run.status)


def _best(run) -> str:
    if run.best_val_acc is None or not run.best_epoch:
        return "—"
    return tr("{acc} % (epoch {epoch})").format(acc=f"{100 * run.best_val_acc:.1f}", epoch=run.best_epoch)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _start_line(store, run, seed: int) -> str:
    from ..runs.start import describe, normalized

    def number_of(run_id: str) -> str:
        found = store.summary(run_id)
        return str(found.number) if found is not None else run_id[:15]

    return describe(normalized(run.start, run.parent), seed, number_of)


def _settings_line(config) -> str:
    parts = [tr("{optimizer} lr {lr}").format(optimizer=config.optimizer, lr=f"{config.lr:g}"), f"{config.schedule}",
             tr("batch {n}").format(n=config.batch_size),
             ntr("{n} epoch", "{n} epochs", config.epochs).format(n=config.epochs), tr("seed {n}").format(n=config.seed)]
    if config.weight_decay:
        parts.append(tr("weight decay {wd}").format(wd=f"{config.weight_decay:g}"))
    if config.augment.enabled:
        parts.append(tr("augmented"))
    return ", ".join(parts)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns as a terminal shows them: Hangul takes two columns (``display_width``)."""
    from ..analysis.report import display_width

    widths = [max(display_width(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell) + " " * (width - display_width(str(cell)))
                        for cell, width in zip(row, widths)).rstrip())
