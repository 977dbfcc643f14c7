"""``convviz``: no arguments opens the app; sub-commands run the same core headless.

Every failure a user can cause (a missing file, a broken design, bad arguments) ends with exit
status 1 and one line on stderr, never a traceback; a word that is neither a command nor something
the app can open ends with exit status 2 (a usage error, as argparse's), also in one line.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import platform
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .design import TEMPLATES, Design, DesignError, DesignFileError, InputSpec, load_design_or_template
from .i18n import LANGUAGES, N_, ntr, set_language, tr
from .messages import first_line

#: Modules of ``convviz.commands``, in the order ``convviz --help`` lists them.
COMMAND_MODULES = ("summary", "train", "explain", "export", "runs")

#: ``convviz --view``: the designer, the Train tab, or one view of the Explain tab.
APP_VIEWS = ("design", "train", "train-compare", "train-replay", "train-gradients", "explain-features",
             "explain-filters", "explain-field", "explain-window",
             "explain-cam")

#: argparse's own words, for the catalog: argparse looks each up when it writes it, through the module
#: globals ``argparse._`` and ``argparse.ngettext`` (gettext's), which ``main`` points at convviz's catalog.
#: "error:" stays English in both its line and ours, so scripts can match "convviz: error:".
ARGPARSE_WORDS = (
    N_("usage: "), N_("options"), N_("positional arguments"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unrecognized arguments: %s"), N_("expected one argument"), N_("expected at least one argument"),
    N_("expected at most one argument"), N_("argument %(argument_name)s: %(message)s"),
    N_("invalid %(type)s value: %(value)r"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("one of the arguments %s is required"),
)

#: Exceptions that mean "the user asked for something that cannot be done": one line, exit 1.
USER_ERRORS: tuple[type[BaseException], ...] = (DesignFileError, DesignError, ValueError, OSError)


class CommandError(Exception):
    """A user-facing failure with a one-line message (exit status 1)."""


def parse_shape(text: str) -> InputSpec:
    """"3x224x224" (or with ×) → InputSpec."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        channels, height, width = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("expected CxHxW such as 3x224x224, got {text}").format(
            text=repr(text))) from None
    if min(channels, height, width) < 1:
        raise argparse.ArgumentTypeError(tr("every size must be at least 1, got {text}").format(text=repr(text)))
    return InputSpec(channels, height, width)


def load_for_command(spec: str, input_shape: InputSpec | None = None) -> Design:
    design = load_design_or_template(spec)
    if input_shape is not None:
        design.set_input_spec(input_shape)
    return design


#: Files the app opens (a design, a trained model): a missing one is the app's to report, not a usage error.
APP_FILE_SUFFIXES = (".json", ".pt")


def version_text() -> str:
    """``convviz --version``: its version and those a bug report needs (from metadata: nothing imported)."""
    from importlib import metadata

    found = [f"Python {platform.python_version()}"]
    for shown, distribution in (("torch", "torch"), ("PySide6", "PySide6-Essentials")):
        try:
            found.append(f"{shown} {metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            pass
    return f"convviz {__version__} ({', '.join(found)})"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or tr("print convviz's version (with Python's, torch's and Qt's) and exit"))

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def _add_lang_option(parser: argparse.ArgumentParser, default=None) -> None:
    parser.add_argument("--lang", choices=list(LANGUAGES), default=default,
                        help=tr("the language of messages and help (default: the system's, from LANG)"))


def requested_language(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` wherever it is (before or after the command), read before the parsers are
    built so their help is in that language; None when absent."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def build_parser() -> argparse.ArgumentParser:
    """The sub-command parser (``convviz summary …``); the app's own options are in ``app_parser``."""
    parser = argparse.ArgumentParser(
        prog="convviz", description=tr("Design, train and understand convolutional neural networks."),
        epilog=tr("Without a command, convviz opens the app: convviz [DESIGN] [--view VIEW] [--image IMAGE] "
                  "[--screenshot PATH]."))
    parser.add_argument("--version", action=_VersionAction)
    _add_lang_option(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"convviz.commands.{name}").register(commands)
    for command in commands.choices.values():  # --lang after the command too (not resetting one given before)
        _add_lang_option(command, default=argparse.SUPPRESS)
        for sub in command._subparsers._group_actions[0].choices.values() if command._subparsers else ():
            _add_lang_option(sub, default=argparse.SUPPRESS)   # and after an action: convviz runs list --lang ko
    return parser


def app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convviz", description=tr("Open the convviz app."))
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("design", nargs="?",
                        help=tr("a design file, a template name or a trained model (.pt) to open (default: default)"))
    parser.add_argument("--screenshot", metavar="PATH",
                        help=tr("render the main window (1600×1000) with DESIGN laid out to PATH (PNG) and exit; "
                                "with --view train, after a short training run"))
    parser.add_argument("--view", choices=APP_VIEWS, default="design",
                        help=tr("what to show: the designer, the Train tab, or a view of the Explain tab "
                                "(default: design)"))
    parser.add_argument("--runs", metavar="DIR",
                        help=tr("the run store's folder (default: $CONVVIZ_RUNS, else the app's data folder)"))
    parser.add_argument("--run", metavar="RUN",
                        help=tr("open a recorded run (its number, id or name): its design, weights and results"))
    parser.add_argument("--overlay", metavar="RUN,RUN", default="",
                        help=tr("with --run: overlay these recorded runs' curves (train-compare, train-gradients)"))
    parser.add_argument("--image", metavar="PATH_OR_SAMPLE",
                        help=tr("the image the Explain views run on: a file or a bundled sample's name "
                                "(default: a sample with the design's number of channels)"))
    parser.add_argument("--lang", choices=list(LANGUAGES),
                        help=tr("the app's language (default: the one chosen in View ▸ Language, else the "
                                "system's)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # In the packaged app, a DataLoader worker process starts this same binary: let it run the worker.
    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    requested = requested_language(argv)
    set_language(requested if requested in LANGUAGES else None)  # a wrong one: argparse says so, in the system's
    argparse._, argparse.ngettext = tr, ntr  # type: ignore[attr-defined]  # its usage and errors in that language
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    first = first_word(argv)
    if first in commands or (first is None and any(a in ("-h", "--help", "--version") for a in argv)):
        args = parser.parse_args(argv)
        return run_command(args.run, args)
    if first is not None and not opens_in_app(first):
        message = tr("{word} is not a command ({commands}), a design file or a template; see convviz --help")
        print("convviz: error: " + message.format(word=repr(first), commands=", ".join(commands)), file=sys.stderr)
        return 2
    args = app_parser().parse_args(argv)
    return _launch_app(args)


def app_value_options() -> frozenset[str]:
    """The app's options that take a value (``--run 1``: "1" is not the first word), read from
    ``app_parser`` itself so that a new option cannot be forgotten here."""
    return frozenset(option for action in app_parser()._actions if action.nargs != 0
                     for option in action.option_strings)


def first_word(argv: Sequence[str]) -> str | None:
    """The first argument that is neither an option nor the value of one of the app's options."""
    skip = False
    takes_value = app_value_options()
    for arg in argv:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def opens_in_app(word: str) -> bool:
    """``convviz WORD`` opens the app on WORD: a template, an existing path, or a design or model file."""
    return word in TEMPLATES or Path(word).suffix.lower() in APP_FILE_SUFFIXES or Path(word).exists()


def run_command(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return run(args)
    except CommandError as exc:
        return _fail(str(exc))
    except USER_ERRORS as exc:
        return _fail(first_line(exc, 1000))
    except KeyboardInterrupt:
        return _fail(tr("interrupted"))
    except Exception as exc:  # noqa: BLE001 — the last translation layer: one line, never a traceback
        return _fail(unexpected_failure(exc))


def unexpected_failure(exc: BaseException) -> str:
    """One line for a failure no reader caught: out of memory (CPU or GPU) says so and what to do;
    anything else is a bug, named with its type (``CONVVIZ_TRACEBACK=1`` prints the traceback)."""
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and any(
            word in str(exc).lower() for word in ("out of memory", "can't allocate memory"))):
        return tr("out of memory ({reason}): use a smaller input, batch size or design").format(
            reason=first_line(exc, 160) if not isinstance(exc, MemoryError) else "MemoryError")
    if os.environ.get("CONVVIZ_TRACEBACK"):
        traceback.print_exception(exc)
    return tr("unexpected {kind}: {reason} (a bug in convviz; CONVVIZ_TRACEBACK=1 shows where)").format(
        kind=type(exc).__name__, reason=first_line(exc, 300))


def _fail(message: str) -> int:
    print(f"convviz: error: {message}", file=sys.stderr)
    return 1


def _launch_app(args: argparse.Namespace) -> int:
    if not args.screenshot:  # a screenshot renders offscreen: it needs no display
        from .ui.display import display_problem

        problem = display_problem()
        if problem:
            return _fail(problem)
    from .ui.app import run_app

    return run_app(design_spec=args.design, screenshot=args.screenshot, view=args.view, image=args.image,
                   lang=args.lang, runs=args.runs, run=args.run,
                   overlay=[k for k in args.overlay.split(",") if k.strip()])


if __name__ == "__main__":
    sys.exit(main())
