"""Auto-layout: top to bottom, branches side by side (a compact Sugiyama-style layered layout).

1. Layers: the longest path from the input, then nodes with slack sink down next to their first
   consumer (a ResNet downsampling conv sits beside the block's last layers, not at its top).
2. Edges that span several layers get a chain of dummy points, so long shortcuts keep a lane free.
3. Order within a layer by barycentre sweeps (fewer crossings).
4. x by isotonic regression towards the parents'/children's mean: nodes as close to their
   neighbours as the minimum spacing allows, chains perfectly straight.

5. Optionally, a network too deep for the view wraps into columns, like a newspaper. It wraps only
   when one column, fitted to the view's height, would be smaller than ``READABLE_ZOOM`` (a 6-layer
   chain stays one column), and then into the fewest columns that read at that zoom. It is cut only
   where a single edge leaves a single node (a residual block's output goes on to its next block in
   the same column: no skip is sent across), so one wire crosses to the next column. Without the
   view's height, the number of columns is the one that shows the network largest in its aspect.

The result depends on the design and the view alone (no randomness, no earlier positions), so the
same design is laid out, and routed, the same way every time.

Pure geometry: positions are card centres in scene units; the canvas passes its card size.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .graph import Design
from .ports import node_of


@dataclass(frozen=True)
class LayoutSpacing:
    node_width: float = 210.0
    node_height: float = 96.0
    column_gap: float = 40.0
    row_gap: float = 46.0
    dummy_width: float = 24.0
    wrap_gap: float = 90.0


def auto_layout(design: Design, spacing: LayoutSpacing = LayoutSpacing(),
                aspect: float | None = None, view_height: float | None = None) -> dict[str, tuple[float, float]]:
    """Centre positions for every node, keyed by id (nodes on cycles go below the rest).

    ``aspect``: the viewport's width / height; given, a deep network wraps into columns to suit it.
    ``view_height``: the viewport's height in scene units at 100 % zoom; given, it wraps only when
    one column does not fit it at ``READABLE_ZOOM``.
    """
    order, cyclic = design.topological_order()
    if not order and not cyclic:
        return {}
    ranks = _ranks(design, order)
    for i, nid in enumerate(cyclic):  # not layerable: park them in a row below
        ranks[nid] = max(ranks.values(), default=-1) + 1 + i // 4
    layers, edges, is_dummy = _layers_with_dummies(design, order + cyclic, ranks)
    position = {nid: i for i, nid in enumerate(order + cyclic)}
    for layer in layers:  # start from the design's own order; a dummy sits where its edge's target does
        layer.sort(key=lambda nid: position[nid.split("\0")[2]] if nid in is_dummy else position[nid])
    _order_layers(layers, edges)
    xs = _assign_x(layers, edges, is_dummy, spacing)
    step_y = spacing.node_height + spacing.row_gap
    columns = _wrap(layers, edges, is_dummy, xs, spacing, aspect, view_height) if aspect else [(0, len(layers))]
    shift = xs.get(order[0], 0.0) if order else 0.0
    positions: dict[str, tuple[float, float]] = {}
    left = 0.0
    for first, stop in columns:
        members = [nid for layer in layers[first:stop] for nid in layer]
        low, high = _extent(members, xs, is_dummy, spacing)
        offset = (left - low) if columns[0][0] != first else -shift
        for r in range(first, stop):
            for nid in layers[r]:
                if nid not in is_dummy:
                    positions[nid] = (round(xs[nid] + offset, 1), (r - first) * step_y)
        left = high + offset + spacing.wrap_gap
    return positions


def _extent(members: list[str], xs: dict[str, float], is_dummy: set[str], spacing: LayoutSpacing):
    lows = [xs[n] - (spacing.dummy_width if n in is_dummy else spacing.node_width) / 2 for n in members]
    highs = [xs[n] + (spacing.dummy_width if n in is_dummy else spacing.node_width) / 2 for n in members]
    return min(lows), max(highs)


#: More columns than this never read well, whatever the aspect ratio (and keeps wrapping linear).
MAX_COLUMNS = 24
#: The smallest zoom at which a card's text still reads: a column that fits the view at this zoom
#: or larger is not wrapped.
READABLE_ZOOM = 0.8


def _wrap(layers, edges, is_dummy, xs, spacing: LayoutSpacing, aspect: float,
          view_height: float | None) -> list[tuple[int, int]]:
    """Split the layers into columns (ranges of ranks) at single-edge cuts, when the view needs it."""
    leaving: dict[str, int] = {}
    for a, _ in edges:
        leaving[a] = leaving.get(a, 0) + 1
    cuts = [r for r, layer in enumerate(layers[:-1])
            if len(layer) == 1 and layer[0] not in is_dummy and leaving.get(layer[0], 0) == 1]
    step_y = spacing.node_height + spacing.row_gap
    if view_height is not None and len(layers) * step_y * READABLE_ZOOM <= view_height:
        return [(0, len(layers))]  # it fits: no wrap, however wide the view
    bounds = [_extent(layer, xs, is_dummy, spacing) if layer else (0.0, 0.0) for layer in layers]
    best, best_scale = [(0, len(layers))], 0.0
    for count in range(1, min(len(cuts) + 1, MAX_COLUMNS) + 1):
        columns = _balanced(len(layers), cuts, count)
        width = sum(max(hi for _, hi in bounds[a:b]) - min(lo for lo, _ in bounds[a:b]) for a, b in columns)
        width += spacing.wrap_gap * (len(columns) - 1)
        height = max(b - a for a, b in columns) * step_y
        if view_height is not None:  # the fewest columns that read at READABLE_ZOOM, when some do
            zoom = min(view_height * aspect / width, view_height / height)
            if zoom >= READABLE_ZOOM:
                return columns
        scale = min(aspect / width, 1.0 / height)  # viewport of height 1, width ``aspect``
        if scale > best_scale * 1.08:  # a wrap must earn its keep: fewer columns unless clearly larger
            best, best_scale = columns, scale
    return best


def _balanced(total: int, cuts: list[int], count: int) -> list[tuple[int, int]]:
    """``count`` columns of ranks, each ending just after a cut, as even in height as the cuts allow."""
    ends = [c + 1 for c in cuts if 0 < c + 1 < total]  # ascending: where a column may end
    breaks: list[int] = []
    for i in range(1, count):
        target = total * i / count
        at = bisect.bisect_left(ends, target)
        near = [e for e in ends[max(at - 1, 0):at + 1] if not breaks or e > breaks[-1]]
        if not near:
            continue
        breaks.append(min(near, key=lambda e: abs(e - target)))
    edges = [0, *breaks, total]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _ranks(design: Design, order: list[str]) -> dict[str, int]:
    rank: dict[str, int] = {}
    for nid in order:
        sources = [s for s in _sources(design, nid) if s in rank]
        rank[nid] = max((rank[s] + 1 for s in sources), default=0)
    consumers: dict[str, list[str]] = {nid: [] for nid in order}
    for nid in order:
        for src in _sources(design, nid):
            if src in consumers:
                consumers[src].append(nid)
    for nid in reversed(order):  # sink nodes with slack towards their consumers
        below = [rank[c] for c in consumers[nid]]
        if below and design.node(nid).type != "Input":
            rank[nid] = max(rank[nid], min(below) - 1)
    return rank


def _sources(design: Design, nid: str) -> list[str]:
    """The distinct nodes ``nid`` reads (two outputs of one Split: one source)."""
    return list(dict.fromkeys(node_of(ref) for ref in design.node(nid).inputs))


def _layers_with_dummies(design: Design, nodes: list[str], ranks: dict[str, int]):
    layers: dict[int, list[str]] = {}
    for nid in nodes:
        layers.setdefault(ranks[nid], []).append(nid)
    edges: list[tuple[str, str]] = []
    is_dummy: set[str] = set()
    for nid in nodes:
        for src in _sources(design, nid):
            if src not in ranks:
                continue
            previous = src
            for r in range(ranks[src] + 1, ranks[nid]):
                dummy = f"\0{src}\0{nid}\0{r}"
                is_dummy.add(dummy)
                layers.setdefault(r, []).append(dummy)
                edges.append((previous, dummy))
                previous = dummy
            edges.append((previous, nid))
    return [layers.get(r, []) for r in range(max(layers) + 1)], edges, is_dummy


def _order_layers(layers: list[list[str]], edges: list[tuple[str, str]], sweeps: int = 4) -> None:
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for a, b in edges:
        downs.setdefault(a, []).append(b)
        ups.setdefault(b, []).append(a)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        sequence = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for r in sequence:
            neighbours = ups if downward else downs
            fixed = {nid: i for i, nid in enumerate(layers[r - 1 if downward else r + 1])}
            current = {nid: i for i, nid in enumerate(layers[r])}

            def centre(nid: str) -> float:
                linked = [fixed[n] for n in neighbours.get(nid, ()) if n in fixed]
                return sum(linked) / len(linked) if linked else current[nid]

            layers[r].sort(key=lambda nid: (centre(nid), current[nid]))


def _assign_x(layers, edges, is_dummy, spacing: LayoutSpacing) -> dict[str, float]:
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for a, b in edges:
        downs.setdefault(a, []).append(b)
        ups.setdefault(b, []).append(a)
    # Each node follows its "main" neighbours: real ones on the longest path through it, so the
    # backbone of a ResNet stays one straight column while shortcuts and projections go beside it.
    depth = _longest(layers, ups, is_dummy)
    height = _longest(layers[::-1], downs, is_dummy)

    def width(nid: str) -> float:
        return spacing.dummy_width if nid in is_dummy else spacing.node_width

    def main_neighbours(nid: str, links: dict[str, list[str]], reach: dict[str, int]) -> list[str]:
        linked = links.get(nid, [])
        real = [n for n in linked if n not in is_dummy]
        if not real:
            return linked
        best = max(reach[n] for n in real)
        return [n for n in real if reach[n] == best]

    x: dict[str, float] = {}
    for layer in layers:  # start packed from the left
        position = 0.0
        for nid in layer:
            x[nid] = position + width(nid) / 2
            position += width(nid) + spacing.column_gap
    for sweep in range(8):
        downward = sweep % 2 == 0
        for layer in (layers[1:] if downward else layers[-2::-1]):
            desired = []
            for nid in layer:
                linked = main_neighbours(nid, ups, depth) if downward else main_neighbours(nid, downs, height)
                desired.append(sum(x[n] for n in linked) / len(linked) if linked else x[nid])
            # Where neighbours compete for a place, the backbone keeps it: side branches yield, long
            # edges' lanes yield most.
            through = {nid: depth[nid] + height[nid] for nid in layer}
            longest = max(through.values())
            weights = [1e-7 if nid in is_dummy else 1.0 if through[nid] == longest else 1e-6 for nid in layer]
            for nid, value in zip(layer, _pack(desired, [width(n) for n in layer], spacing.column_gap, weights)):
                x[nid] = value
    return x


def _longest(layers: list[list[str]], links: dict[str, list[str]], is_dummy: set[str]) -> dict[str, int]:
    """Real nodes on the longest chain reaching each node (walking ``layers`` in order)."""
    reach: dict[str, int] = {}
    for layer in layers:
        for nid in layer:
            reach[nid] = max((reach[n] for n in links.get(nid, ()) if n in reach), default=0) + (nid not in is_dummy)
    return reach


def _pack(desired: list[float], widths: list[float], gap: float, weights: list[float]) -> list[float]:
    """Positions closest (weighted least squares) to ``desired`` keeping order and minimum spacing.

    Subtracting each node's minimum offset from the first turns the spacing constraint into
    "non-decreasing", solved exactly by pool-adjacent-violators.
    """
    offsets = [0.0]
    for a, b in zip(widths, widths[1:]):
        offsets.append(offsets[-1] + a / 2 + gap + b / 2)
    blocks: list[list[float]] = []  # [weighted mean, total weight, count]
    for d, o, w in zip(desired, offsets, weights):
        blocks.append([d - o, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    values = [m for m, _, c in blocks for _ in range(int(c))]
    return [v + o for v, o in zip(values, offsets)]


def make_room(design: Design, new_ids: list[str], spacing: LayoutSpacing = LayoutSpacing()) -> dict[str, tuple[float, float]]:
    """New positions that give nodes just inserted on an edge (``new_ids``) a card of their own: a
    row below their input; if a card is in that row or below, everything from that row down moves
    one row lower (a row is inserted: what was apart stays apart), and a card still in the way (an
    unaligned one just above) pushes the new one sideways. Only nodes that move are returned."""
    cards = {n.id: n.pos for n in design if n.pos is not None}
    moved: dict[str, tuple[float, float]] = {}
    step = spacing.node_height + spacing.row_gap

    def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return abs(a[0] - b[0]) < spacing.node_width + spacing.column_gap / 2 and \
            abs(a[1] - b[1]) < spacing.node_height + spacing.row_gap / 2

    for nid in new_ids:
        node = design.get(nid)
        if node is None or nid not in cards:
            continue
        x, y = cards[nid]
        sources = [cards[s] for s in node.inputs if s in cards and s not in new_ids]
        if sources:
            y = max(sy for _, sy in sources) + step
        others = {other: pos for other, pos in cards.items() if other != nid}
        lower = [other for other, (_, oy) in others.items() if oy > y - step / 2]
        if any(overlaps((x, y), others[o]) for o in lower):
            for other in lower:
                cards[other] = moved[other] = (cards[other][0], round(cards[other][1] + step, 1))
        while any(overlaps((x, y), pos) for other, pos in cards.items() if other != nid):
            x += spacing.node_width + spacing.column_gap
        cards[nid] = moved[nid] = (round(x, 1), round(y, 1))
    return moved
