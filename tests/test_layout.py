"""Auto-layout: top to bottom, backbones straight, branches side by side, deep networks wrapped."""

from __future__ import annotations

import itertools

import pytest

from convviz.design import TEMPLATES, Design, InputSpec, load_template
from convviz.design.layout import MAX_COLUMNS, READABLE_ZOOM, LayoutSpacing, auto_layout

SPACING = LayoutSpacing(node_width=210, node_height=84, row_gap=36)


def overlaps(positions) -> list[tuple[str, str]]:
    found = []
    for (a, (xa, ya)), (b, (xb, yb)) in itertools.combinations(positions.items(), 2):
        if abs(xa - xb) < SPACING.node_width and abs(ya - yb) < SPACING.node_height:
            found.append((a, b))
    return found


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("aspect", [None, 1.6])
def test_templates_lay_out_without_overlaps(name, aspect):
    design = load_template(name)
    positions = auto_layout(design, SPACING, aspect)
    assert set(positions) == set(design.node_ids)
    assert overlaps(positions) == []


def test_a_chain_is_one_straight_column_top_to_bottom():
    positions = auto_layout(load_template("lenet5"), SPACING)
    assert len({x for x, _ in positions.values()}) == 1
    ys = [positions[nid][1] for nid in load_template("lenet5").node_ids]
    assert ys == sorted(ys)


def test_the_resnet_backbone_stays_straight_with_projections_beside_it():
    design = load_template("resnet18")
    positions = auto_layout(design, SPACING)
    backbone = [nid for nid in design.node_ids if not nid.endswith(("_down", "_down_bn"))]
    assert max(abs(positions[nid][0]) for nid in backbone) < 0.5
    assert all(positions[nid][0] > 0 for nid in design.node_ids if nid.endswith("_down"))


def test_inception_branches_sit_side_by_side():
    positions = auto_layout(load_template("inception_3a"), SPACING)
    branch_tops = [positions[n] for n in ("b1_1x1", "b2_reduce", "b3_reduce", "b4_pool")]
    assert len({x for x, _ in branch_tops}) == 4
    assert positions["concat"][1] > max(y for _, y in branch_tops) > positions["input"][1]


def test_a_deep_chain_wraps_into_columns_for_a_wide_view():
    design = Design("deep", InputSpec(1, 8, 8))
    last = design.add_node("Input", "input").id
    for _ in range(300):
        last = design.add_node("ReLU", None, [last]).id
    positions = auto_layout(design, SPACING, aspect=1.6)
    columns = len({x for x, _ in positions.values()})
    assert 2 < columns <= MAX_COLUMNS
    assert overlaps(positions) == []
    assert auto_layout(design, SPACING, aspect=1.6) == positions  # deterministic


def chain_of(n: int) -> Design:
    design = Design("chain", InputSpec(1, 8, 8))
    last = design.add_node("Input", "input").id
    for _ in range(n - 1):
        last = design.add_node("ReLU", None, [last]).id
    return design


def columns_of(positions) -> int:
    return len({x for x, _ in positions.values()})


def test_a_chain_that_fits_the_view_is_not_wrapped():
    """A 6-layer chain fits a 676-pixel-high canvas at 80 %: one column, not two with a long back-wire."""
    positions = auto_layout(chain_of(6), SPACING, aspect=1.6, view_height=676)
    assert columns_of(positions) == 1
    assert columns_of(auto_layout(chain_of(6), SPACING, aspect=1.6)) == 2  # the old rule: as large as possible


def test_a_chain_too_deep_wraps_into_the_fewest_readable_columns():
    step = SPACING.node_height + SPACING.row_gap
    for n in (8, 15):  # (deeper ones cannot read at READABLE_ZOOM in any number of columns here)
        positions = auto_layout(chain_of(n), SPACING, aspect=1.5, view_height=676)
        columns = columns_of(positions)
        rows = max(y for _, y in positions.values()) / step + 1
        assert (columns == 1) == (n * step * READABLE_ZOOM <= 676), n
        if columns > 1:  # the fewest: one column fewer would not read at READABLE_ZOOM
            assert rows * step * READABLE_ZOOM <= 676 < (n / (columns - 1)) * step * READABLE_ZOOM, n


@pytest.mark.parametrize("view_height", [None, 476, 676])
def test_residual_skips_stay_beside_their_block(view_height):
    """A column ends only where one wire leaves one node: every Add's inputs are in its column."""
    design = load_template("resnet18")
    positions = auto_layout(design, SPACING, aspect=1.5, view_height=view_height)
    assert overlaps(positions) == []
    for node in design:
        if node.type == "Add":
            for src in node.inputs:
                assert positions[src][1] < positions[node.id][1], (src, node.id)  # above it, not in another column
    assert columns_of(positions) > 1
    assert auto_layout(design, SPACING, aspect=1.5, view_height=view_height) == positions
