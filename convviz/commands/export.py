"""``convviz export`` (a design or checkpoint → .pt, .py, .pt2, .onnx) and ``convviz import`` (a Python nn.Module)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..cli import CommandError, load_for_command, parse_shape
from ..i18n import N_, ntr, tr
from .train import add_settings_arguments, config_from_args

EXTENSIONS = N_(".pt, .py, .pt2 or .onnx")


def register(commands) -> None:
    export = commands.add_parser(
        "export", help=tr("write a design as a checkpoint, PyTorch source, torch.export program or ONNX model"),
        description=tr("Export IN to OUT; OUT's extension ({EXTENSIONS}) picks the format. A .py also gets its weights beside it (same name, .pt) unless --no-weights.").format(EXTENSIONS=tr(EXTENSIONS)))
    export.add_argument("source", metavar="IN", help=tr("a design file, a template name or a convviz .pt checkpoint"))
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="OUT", help=tr("the file to write ({EXTENSIONS})").format(EXTENSIONS=tr(EXTENSIONS)))
    target.add_argument("--train-script", metavar="DIR",
                        help=tr("write a torchrun (DistributedDataParallel) training script, the model and its starting weights into DIR; the settings below (or a checkpoint's) go into it"))
    export.add_argument("--input", type=parse_shape, metavar="CxHxW", help=tr("override the design's input shape"))
    export.add_argument("--no-weights", action="store_true", help=tr("for .py: write the source only"))
    export.add_argument("--aux-heads", action="store_true",
                        help=tr("a design with auxiliary heads: export them too (every format returns all heads, main "
                                "first); by default inference computes the main head only, as torchvision does in eval "
                                "mode, and the .py returns the others in training mode"))
    export.add_argument("--opset", type=int, metavar="N",
                        help=tr("for .onnx: the ONNX opset to write (default: the exporter's own; 16 and newer)"))
    # Its --seed also seeds the weights of a design exported without any (default 0).
    add_settings_arguments(export.add_argument_group(tr("training settings (with --train-script)")))
    export.set_defaults(run=cmd_export)

    imp = commands.add_parser(
        "import", help=tr("turn a Python nn.Module (traced with torch.fx) into a design"),
        description=tr("Build CLASS() from FILE.py, trace it with torch.fx and write the design (.json) or the design with the module's weights (.pt). Importing runs FILE.py (building the class executes its code): import only files you trust."))
    imp.add_argument("file", metavar="FILE.py", help=tr("the Python file defining the module"))
    imp.add_argument("--class", dest="class_name", required=True, metavar="NAME",
                     help=tr("the nn.Module subclass; it must build with no arguments"))
    imp.add_argument("--input", type=parse_shape, required=True, metavar="CxHxW", help=tr("the input image shape"))
    imp.add_argument("--to", required=True, metavar="OUT", help=tr("OUT.json (the design) or OUT.pt (with weights)"))
    imp.add_argument("--partial", action="store_true",
                     help=tr("write the design even where operations could not be imported: each becomes a "
                             "Placeholder, an error node to replace"))
    imp.set_defaults(run=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from ..export import export_format, export_to, load_checkpoint
    from ..export.formats import weights_path

    # The exporters' deprecation notes are for PyTorch's developers, not for someone exporting a model.
    warnings.filterwarnings("ignore", category=FutureWarning)

    if args.train_script is None:
        kind = export_format(args.to)  # an unknown extension fails before anything is loaded
        if args.opset is not None and kind != ".onnx":
            raise CommandError(tr("--opset is for ONNX files (.onnx), not {kind}").format(kind=kind))
    source = Path(args.source)
    options = {}
    if source.suffix.lower() == ".pt":
        checkpoint = load_checkpoint(source)
        design, state = checkpoint.design, checkpoint.state_dict
        if args.input is not None:
            design.set_input_spec(args.input)
        options = {"preprocessing": checkpoint.preprocessing, "training": checkpoint.training}
    else:
        design, state = load_for_command(args.source, args.input), None
    if args.train_script is not None:
        from ..export.training_script import write_training_script
        from ..train.config import TrainConfig

        recorded = options.get("training", {}).get("config")
        config = config_from_args(args, TrainConfig.from_dict(recorded) if recorded else TrainConfig())
        paths = write_training_script(args.train_script, design, state, config, seed=args.seed or 0)
        for path in paths:
            print(tr("wrote {path}").format(path=path))
        print(tr("run it with: torchrun --nproc_per_node=N {script}").format(script=paths[-1]))
        return 0
    with_weights = not args.no_weights
    if with_weights and source.suffix.lower() == ".pt" and weights_path(args.to).resolve() == source.resolve():
        with_weights = False  # model.pt → model.py: the weights beside it are the checkpoint itself, kept as it is
        print(tr("the weights stay in {source} (the checkpoint the source reads)").format(source=source))
    for path in export_to(args.to, design, state, seed=args.seed or 0, with_weights=with_weights, opset=args.opset,
                          aux_heads=args.aux_heads, **options):
        print(tr("wrote {path}").format(path=path))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..design import save_design
    from ..export import Checkpoint, import_python_file, save_checkpoint

    target = Path(args.to)
    if target.suffix.lower() not in (".json", ".pt"):
        raise CommandError(tr("{name}: import writes a design (.json) or a checkpoint (.pt)").format(name=target.name))
    result = import_python_file(args.file, args.class_name, args.input)
    if result.issues and not args.partial:
        count = len(result.issues)
        raise CommandError(ntr("{count} operation could not be imported, first {issue}; nothing written (--partial "
                               "writes it with a Placeholder, to replace)",
                               "{count} operations could not be imported, first {issue}; nothing written (--partial "
                               "writes them with a Placeholder for each, to replace)", count).format(
            count=count, issue=result.issues[0]))
    for issue in result.issues:
        print(f"convviz: warning: {issue}", file=sys.stderr)
    for note in result.notes:
        print(f"convviz: note: {note}", file=sys.stderr)
    if target.suffix.lower() == ".json":
        save_design(result.design, target)
    else:
        save_checkpoint(Checkpoint(result.design, result.state_dict), target)
    print(tr("wrote {target} ({count} nodes from {class_name})").format(target=target, count=len(result.design), class_name=args.class_name))
    return 0
