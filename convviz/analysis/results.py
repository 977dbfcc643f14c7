"""What the analysis says about a design: per node and in total, as shared immutable records.

A ``NodeAnalysis`` never changes once made. An incremental analysis (``reanalyze``) hands on the
very record of every node an edit did not reach, so a view can skip a node whose record ``is`` the
one it last showed. "The math" (``NodeAnalysis.derivations``) is written only when first read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from ..design.catalog import layer_spec
from ..design.edits import Edit
from ..design.ports import node_of, port_of
from ..i18n import tr

Shape = tuple[int, ...]

#: The ``inferred`` of a node that infers nothing (shared: most nodes).
NOTHING_INFERRED: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Phases:
    """Windows that repeat every few units instead of sliding evenly (along one axis, after a layer
    whose stride is below 1 or uneven: ConvTranspose2d, Upsample, an adaptive pool).

    ``windows[r]``: the (first, last) input pixel, inclusive, that unit r of the first ``len(windows)``
    units sees, or None for a unit no input reaches (between a transposed conv's stamps); unit
    q·P + r sees unit r's window moved by q·``shift`` pixels.
    """

    windows: tuple[tuple[float, float] | None, ...]
    shift: float

    def window(self, unit: int) -> tuple[float, float] | None:
        turn, phase = divmod(unit, len(self.windows))
        w = self.windows[phase]
        return None if w is None else (w[0] + turn * self.shift, w[1] + turn * self.shift)

    @property
    def sizes(self) -> tuple[float, ...]:
        """Each phase's window size, in order (the badge shows the largest)."""
        return tuple(w[1] - w[0] + 1 for w in self.windows if w is not None)


#: "No phases" / "no cover" on either axis: one shared tuple, so the common case is an identity test.
NO_PHASES: tuple[None, None] = (None, None)


def per_axis(h, w) -> tuple:
    """(h, w), or ``NO_PHASES`` itself when both are None."""
    return NO_PHASES if h is None and w is None else (h, w)


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """The input window one output unit sees, per axis (height, width).

    ``size``: window width in input pixels (the widest unit's, where ``phases`` make units differ);
    ``jump``: input pixels between neighbouring units (on average, with phases); ``start``: input
    coordinate of the centre of unit 0 (negative or .5 where padding or even kernels put it). Unit
    i's window is centred at ``start + i·jump`` — except along an axis with ``phases``, which list
    the windows exactly.
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    phases: tuple[Phases | None, Phases | None] = NO_PHASES
    #: Per axis, pixels every unit sees besides its own window (after a gate, x · σ(pool(x)): the
    #: gate's); ``phases`` then lists the units' own windows, and ``size`` is the widest unit's on its map.
    cover: tuple[tuple[float, float] | None, tuple[float, float] | None] = NO_PHASES

    def span(self, axis: int, i: int) -> tuple[float, float] | None:
        """(first, last) input coordinate of unit i's field along ``axis``; None if it reads no pixel."""
        if self.phases[axis] is not None:
            own = self.phases[axis].window(i)
        else:
            centre, half = self.start[axis] + i * self.jump[axis], (self.size[axis] - 1) / 2
            own = (centre - half, centre + half)
        cover = self.cover[axis]
        if cover is None or own is None:
            return own or cover
        return (min(own[0], cover[0]), max(own[1], cover[1]))

    def window(self, i: int, j: int) -> tuple[float, float, float, float] | None:
        """(top, left, bottom, right) input coordinates, inclusive, of unit (i, j)'s field."""
        rows, cols = self.span(0, i), self.span(1, j)
        if rows is None or cols is None:
            return None
        return (rows[0], cols[0], rows[1], cols[1])

    def as_dict(self) -> dict[str, list[float]]:
        out = {"size": list(map(_num, self.size)), "jump": list(map(_num, self.jump)),
               "start": list(map(_num, self.start))}
        if self.cover != (None, None):
            out["cover"] = [None if c is None else list(map(_num, c)) for c in self.cover]
        if self.phases != (None, None):
            out["phases"] = [None if p is None else {"windows": [None if w is None else list(map(_num, w))
                                                                 for w in p.windows], "shift": _num(p.shift)}
                             for p in self.phases]
        return out


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0, 0))


@dataclass(frozen=True, slots=True)
class Fix:
    """A suggested repair: a label for the button and the edits it makes (one undo step)."""

    label: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """An error or warning at a node: what is wrong and what to do (``hint``, and maybe ``fix``)."""

    message: str
    hint: str = ""
    fix: Fix | None = None
    severity: str = "error"

    def text(self) -> str:
        return f"{self.message} {self.hint}".strip()


@dataclass(frozen=True, slots=True)
class Derivation:
    """One number and how it came about, with this node's values substituted."""

    quantity: str
    text: str


class Basis(NamedTuple):
    """What a valid node's numbers were computed from, so its derivations can be written later
    exactly as they were then (and two records compare equal only if they would read the same)."""

    #: The layer type and every parameter's effective value, in the catalog's order.
    settings: tuple[Any, ...]
    #: The ids of the node's inputs, in order (their shapes: ``NodeAnalysis.input_shapes``).
    inputs: tuple[str, ...]
    #: The receptive field of each input.
    fields: tuple[ReceptiveField, ...]

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter's effective value by name (``LayerSpec.resolve``)."""
        return dict(zip(layer_spec(self.settings[0]).param_index, self.settings[1:]))


class NodeAnalysis(NamedTuple):
    """One node's numbers, problems and status: immutable, shared between analyses, compared by value.

    (A named tuple rather than a frozen dataclass: building one is five times faster, and an
    analysis builds one per node.)
    """

    id: str
    type: str
    input_shapes: tuple[Shape, ...] = ()
    output_shape: Shape | None = None
    params: int = 0
    macs: int = 0
    activation_bytes: int = 0
    receptive_field: ReceptiveField | None = None
    #: The field of the last spatial feature map behind this node (global pooling and the
    #: classifier see everything; this is what "the network's receptive field" means).
    feature_field: ReceptiveField | None = None
    #: True from the first layer that sees the whole map (global pooling, Flatten) on: from there
    #: ``feature_field`` stays the field of the last spatial map (the network's receptive field),
    #: and the node's badge reads "global".
    collapsed: bool = False
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    blocked_by: str | None = None
    #: Sizes the design does not store but the layer needs: in_channels, in_features, …
    inferred: Mapping[str, int] = NOTHING_INFERRED
    #: What the numbers came from (valid nodes only).
    basis: Basis | None = None
    #: Writes a record's derivations: the analysis that made it (always the same function).
    explain: Callable[[NodeAnalysis], tuple[Derivation, ...]] | None = None
    #: A node with several outputs (Split): each one's shape, in order (``output_shape`` is the first).
    output_shapes: tuple[Shape, ...] = ()

    def shape_of(self, ref: str) -> Shape | None:
        """The shape of the output ``ref`` names (``"split1:1"``; a plain id: the node's one output)."""
        port = port_of(ref)
        return self.output_shapes[port] if port is not None and port < len(self.output_shapes) else self.output_shape

    @property
    def derivations(self) -> tuple[Derivation, ...]:
        """Every number of the node with its arithmetic written out ("the math"), written when read:
        the inspector asks for one node's, not every node on every edit."""
        return self.explain(self) if self.explain is not None and self.valid else ()

    @property
    def status(self) -> str:
        if self.errors:
            return "error"
        if self.blocked_by:
            return "blocked"
        if self.warnings:
            return "warning"
        return "ok"

    @property
    def valid(self) -> bool:
        return self.output_shape is not None


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole design's analysis. ``nodes`` and ``order`` are shared with the next analysis when an
    edit leaves them as they are: treat them as read-only."""

    nodes: Mapping[str, NodeAnalysis]
    #: Topological order, then the nodes on or behind a cycle.
    order: list[str]
    output: str | None
    params: int
    macs: int
    activation_bytes: int
    receptive_field: ReceptiveField | None
    output_shape: Shape | None
    #: Problems not tied to one node (no Input at all).
    general_issues: tuple[Issue, ...] = ()
    #: The design's output heads, main first (``output`` is the main one); empty: one output.
    heads: tuple[str, ...] = ()
    #: What ``reanalyze`` continues from (the engine's; nobody else reads it).
    memo: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the design can be built and trained."""
        return not self.general_issues and all(not n.errors and not n.blocked_by for n in self.nodes.values()) \
            and self.output is not None

    def shape_of(self, ref: str) -> Shape | None:
        """The shape of the output ``ref`` names: a node's one output, or ``split1:1`` (the heads and the
        output may name either)."""
        record = self.nodes.get(node_of(ref))
        return record.shape_of(ref) if record is not None else None

    def issues(self) -> list[tuple[str | None, Issue]]:
        """Every error and warning, errors first, in node order."""
        found = [(None, i) for i in self.general_issues]
        found += [(nid, i) for nid in self.order for i in self.nodes[nid].errors]
        found += [(nid, i) for nid in self.order for i in self.nodes[nid].warnings]
        return found

    def first_error(self) -> str | None:
        """One line for a disabled Train button or a CLI message."""
        for nid, issue in self.issues():
            if issue.severity == "error":
                return f"{nid}: {issue.message}" if nid else issue.message
        if self.output is None:
            return tr("the design has no output")
        return None

    def to_json(self) -> dict:
        """The shape ``convviz summary --json`` prints."""
        return {
            "nodes": [node_json(self.nodes[nid]) for nid in self.order],
            **({"heads": list(self.heads)} if self.heads else {}),
            "total": {
                "params": self.params,
                "macs": self.macs,
                "activation_bytes": self.activation_bytes,
                "receptive_field": self.receptive_field.as_dict() if self.receptive_field else None,
                "output_shape": list(self.output_shape) if self.output_shape else None,
            },
        }


def node_json(node: NodeAnalysis) -> dict:
    shapes = {"output_shapes": [list(shape) for shape in node.output_shapes]} if node.output_shapes else {}
    return {
        "id": node.id,
        "type": node.type,
        "output_shape": list(node.output_shape) if node.output_shape is not None else None,
        **shapes,
        "params": node.params,
        "macs": node.macs,
        "activation_bytes": node.activation_bytes,
        "receptive_field": node.receptive_field.as_dict() if node.receptive_field else None,
        "errors": [i.text() for i in node.errors],
        "warnings": [i.text() for i in node.warnings],
        "blocked_by": node.blocked_by,
    }


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 4)
