"""The summary table (torchinfo-like): rows shared by the CLI, the app's table and its text/CSV copies."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from ..design.graph import Design
from ..i18n import N_, tr
from .memory import explain_memory, training_memory
from .results import Analysis, NodeAnalysis
from .text import compact, grouped, outputs_text, pair, shape as fmt_shape, size_in_bytes


@dataclass(frozen=True)
class SummaryRow:
    id: str
    type: str
    output: str
    params: int
    params_share: float
    macs: int
    macs_share: float
    field: str
    status: str
    note: str


def summary_rows(analysis: Analysis) -> list[SummaryRow]:
    return [summary_row(analysis, nid) for nid in analysis.order]


def summary_row(analysis: Analysis, node_id: str) -> SummaryRow:
    """One node's row (its shares are of ``analysis``'s totals)."""
    node = analysis.nodes[node_id]
    return SummaryRow(
        node_id, node.type, _output(node), node.params, node.params / (analysis.params or 1), node.macs,
        node.macs / (analysis.macs or 1), field_text(node), node.status, _note(node))


def field_text(node: NodeAnalysis) -> str:
    """A node's receptive field as its badge and the summary show it: "18", "3×5", or "global" after
    global pooling or a Flatten (each unit reads a whole map; the network's field is the last map's)."""
    if node.receptive_field is None:
        return "—"
    return tr("global") if node.collapsed else pair(node.receptive_field.size)


def network_field_text(analysis: Analysis) -> str:
    """The network's receptive field, as the totals show it (one unit of the last feature map)."""
    field = analysis.receptive_field
    return pair(field.size) if field else "—"


def _output(node: NodeAnalysis) -> str:
    if node.output_shape is not None:
        return outputs_text(node.output_shape, node.output_shapes)  # a Split: every output
    return tr("error") if node.errors else tr("blocked")


def _note(node: NodeAnalysis) -> str:
    if node.errors:
        return node.errors[0].message
    if node.blocked_by:
        return tr("blocked by {node}").format(node=node.blocked_by)
    if node.warnings:
        return node.warnings[0].message
    return ""


def _has_global(analysis: Analysis) -> bool:
    return any(n.collapsed for n in analysis.nodes.values()) and analysis.receptive_field is not None


def totals_lines(analysis: Analysis, design: Design | None = None) -> list[str]:
    """The totals below the table; with ``design``, what training and explaining need in memory too."""
    lines = [
        tr("Total params: {count}").format(count=grouped(analysis.params)),
        tr("Total MACs: {count} ({compact})").format(count=grouped(analysis.macs), compact=compact(analysis.macs)),
        tr("Activations: {bytes} B per image ({size})").format(bytes=grouped(analysis.activation_bytes),
                                                              size=size_in_bytes(analysis.activation_bytes)),
        tr("Receptive field: {field}").format(field=network_field_text(analysis))
        + (tr(" (last feature map; 'global' layers see all of it)") if _has_global(analysis) else ""),
        tr("Output: {shape}").format(shape=fmt_shape(analysis.output_shape))
        + (f" ({analysis.output})" if analysis.output else ""),
    ]
    if design is not None and len(analysis.heads) > 1:
        lines += heads_lines(design, analysis)
    if design is not None and analysis.ok:
        lines += memory_lines(design, analysis)
    return lines


def heads_lines(design: Design, analysis: Analysis) -> list[str]:
    """A design with auxiliary heads: the heads and their loss weights, and what inference (the main head) costs."""
    weights = {head.node: head.loss_weight for head in design.heads}
    named = ", ".join([tr("{node} (main)").format(node=analysis.heads[0])] +
                      [f"{nid} ×{weights[nid]:g}" for nid in analysis.heads[1:]])
    main = design.ancestors(analysis.output)
    params = sum(analysis.nodes[nid].params for nid in main if nid in analysis.nodes)
    macs = sum(analysis.nodes[nid].macs for nid in main if nid in analysis.nodes)
    return [tr("Heads: {named}; training loss = Σ weight · loss").format(named=named),
            tr("Inference (the main head): {params} params, {macs} MACs ({short})").format(
                params=grouped(params), macs=grouped(macs), short=compact(macs))]


def memory_lines(design: Design, analysis: Analysis, batch_size: int = 64) -> list[str]:
    """ "Memory to train: 134 MiB + 41.6 MiB per image (Adam; a batch of 64: 2.66 GiB)", and to explain."""
    train = training_memory(design, analysis, batch_size)
    return [tr("Memory to train: {fixed} + {per_image} per image (Adam; a batch of {n}: {total})").format(
                fixed=size_in_bytes(train.fixed), per_image=size_in_bytes(train.per_image), n=batch_size,
                total=size_in_bytes(train.total)),
            tr("Memory to explain an image: {total}").format(total=size_in_bytes(explain_memory(design, analysis).total))]


#: The table's columns (translated where shown).
HEADERS = (N_("Layer (id)"), N_("Type"), N_("Output shape"), N_("Params"), "MACs", N_("RF"))


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def summary_table(analysis: Analysis, title: str = "", design: Design | None = None) -> str:
    rows = summary_rows(analysis)
    headers = [tr(h) for h in HEADERS]
    cells = [(r.id, r.type, r.output, grouped(r.params), grouped(r.macs), r.field) for r in rows]
    widths = [max(display_width(h), *(display_width(c[i]) for c in cells)) if cells else display_width(h)
              for i, h in enumerate(headers)]
    right = {3, 4, 5}

    def line(values) -> str:
        return "  ".join(_pad(v, w, i in right) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    rule_width = sum(widths) + 2 * (len(widths) - 1)
    out = []
    if title:
        out.append(title)
    out += ["=" * rule_width, line(headers), "=" * rule_width]
    out += [line(c) for c in cells]
    out.append("=" * rule_width)
    out += totals_lines(analysis, design)
    problems = [(nid, issue) for nid, issue in analysis.issues()]
    if problems:
        out.append("=" * rule_width)
        for nid, issue in problems:
            label = tr("error") if issue.severity == "error" else tr("warning")
            out.append(f"{label}: {nid + ': ' if nid else ''}{issue.text()}")
    out.append("=" * rule_width)
    return "\n".join(out)


def summary_csv(analysis: Analysis) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "type", "output_shape", "params", "params_percent", "macs", "macs_percent",
                     "receptive_field", "status", "note"])
    for r in summary_rows(analysis):
        writer.writerow([r.id, r.type, r.output, r.params, f"{100 * r.params_share:.2f}", r.macs,
                         f"{100 * r.macs_share:.2f}", r.field, r.status, r.note])
    return buffer.getvalue()
