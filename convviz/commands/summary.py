"""``convviz summary`` and ``convviz templates``: the analysis as a table or JSON (no torch needed)."""

from __future__ import annotations

import argparse
import json

from ..analysis import analyze
from ..analysis.report import summary_table
from ..cli import CommandError, load_for_command, parse_shape
from ..design import TEMPLATES
from ..i18n import tr


def register(commands) -> None:
    summary = commands.add_parser("summary", help=tr("print a design's layer table and totals"))
    summary.add_argument("design", help=tr("a design file or a template name (see `convviz templates`)"))
    summary.add_argument("--input", type=parse_shape, metavar="CxHxW", help=tr("override the input shape"))
    summary.add_argument("--json", action="store_true", help=tr("print one JSON object instead of the table"))
    summary.set_defaults(run=cmd_summary)

    templates = commands.add_parser("templates", help=tr("list the built-in templates"))
    templates.set_defaults(run=cmd_templates)


def cmd_summary(args: argparse.Namespace) -> int:
    design = load_for_command(args.design, args.input)
    analysis = analyze(design)
    if args.json:
        print(json.dumps(analysis.to_json(), indent=2, ensure_ascii=False))
    else:
        title = tr("{name} — input {shape}").format(name=design.name, shape="×".join(map(str, design.input.shape)))
        print(summary_table(analysis, title, design))
    problem = analysis.first_error()
    if problem:
        raise CommandError(tr("the design has errors: {problem}").format(problem=problem))
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    width = max(map(len, TEMPLATES))
    for name, line in TEMPLATES.items():
        print(f"{name.ljust(width)}  {tr(line)}")
    return 0
