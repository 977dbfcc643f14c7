"""Designs several test files use, adapted from the files in tests/data."""

from __future__ import annotations

from pathlib import Path

from convviz.design import Design, InputSpec, load_design


def aux_heads_design() -> Design:
    """tests/data/design_v2.json (a main and an auxiliary head) on a 3×16×16 input, split 1 + 2: a picture feeds it."""
    design = load_design(Path(__file__).parent / "data" / "design_v2.json")
    design.set_input_spec(InputSpec(3, 16, 16))
    design.set_param("halves", "sizes", [1, 2])
    design.set_param("branch", "groups", 1)
    design.set_param("branch", "out_channels", 3)
    return design
