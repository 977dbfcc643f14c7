"""What the analysis says about a design: per node and in total. Plain, immutable-ish data."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..design.edits import Edit

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ReceptiveField:
    """The input window one output unit sees, per axis (height, width).

    ``size``: window width in input pixels; ``jump``: input pixels between neighbouring units;
    ``start``: input coordinate of the centre of unit 0 (negative or .5 where padding or even
    kernels put it). Unit i's window is centred at ``start + i·jump``.
    """

    size: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]

    def window(self, i: int, j: int) -> tuple[float, float, float, float]:
        """(top, left, bottom, right) input coordinates, inclusive, of unit (i, j)'s field."""
        cy = self.start[0] + i * self.jump[0]
        cx = self.start[1] + j * self.jump[1]
        hy, hx = (self.size[0] - 1) / 2, (self.size[1] - 1) / 2
        return (cy - hy, cx - hx, cy + hy, cx + hx)

    def as_dict(self) -> dict[str, list[float]]:
        return {"size": list(map(_num, self.size)), "jump": list(map(_num, self.jump)),
                "start": list(map(_num, self.start))}


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0, 0))


@dataclass(frozen=True)
class Fix:
    """A suggested repair: a label for the button and the edits it makes (one undo step)."""

    label: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Issue:
    """An error or warning at a node: what is wrong and what to do (``hint``, and maybe ``fix``)."""

    message: str
    hint: str = ""
    fix: Fix | None = None
    severity: str = "error"

    def text(self) -> str:
        return f"{self.message} {self.hint}".strip()


@dataclass(frozen=True)
class Derivation:
    """One number and how it came about, with this node's values substituted."""

    quantity: str
    text: str


@dataclass
class NodeAnalysis:
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
    #: True after global pooling or a Flatten: each unit reads a whole map (its badge says "global",
    #: and the network's receptive field is ``feature_field``).
    global_field: bool = False
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    blocked_by: str | None = None
    derivations: list[Derivation] = field(default_factory=list)
    #: Sizes the design does not store but the layer needs: in_channels, in_features, …
    inferred: dict[str, int] = field(default_factory=dict)

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


@dataclass
class Analysis:
    nodes: dict[str, NodeAnalysis]
    order: list[str]
    output: str | None
    params: int
    macs: int
    activation_bytes: int
    receptive_field: ReceptiveField | None
    output_shape: Shape | None
    #: Problems not tied to one node (no Input at all).
    general_issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the design can be built and trained."""
        return not self.general_issues and all(not n.errors and not n.blocked_by for n in self.nodes.values()) \
            and self.output is not None

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
            return "the design has no output"
        return None

    def to_json(self) -> dict:
        """The shape ``convviz summary --json`` prints."""
        return {
            "nodes": [node_json(self.nodes[nid]) for nid in self.order],
            "total": {
                "params": self.params,
                "macs": self.macs,
                "activation_bytes": self.activation_bytes,
                "receptive_field": self.receptive_field.as_dict() if self.receptive_field else None,
                "output_shape": list(self.output_shape) if self.output_shape else None,
            },
        }


def node_json(node: NodeAnalysis) -> dict:
    return {
        "id": node.id,
        "type": node.type,
        "output_shape": list(node.output_shape) if node.output_shape is not None else None,
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
