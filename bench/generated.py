"""Large generated designs for the benchmarks: residual stages or plain chains, as deep as asked; ResNet-50."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convviz.design import Design, InputSpec  # noqa: E402


def residual_design(nodes: int, channels: int = 32, size: int = 64) -> Design:
    """Input → stem → residual blocks (conv-bn-relu-conv-bn-add-relu, 7 nodes) → head; about ``nodes`` nodes."""
    design = Design(f"generated {nodes}", InputSpec(3, size, size))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "stem", ["input"], {"out_channels": channels, "kernel_size": 3, "padding": 1})
    last = "stem"
    block = 0
    while len(design) + 7 + 3 <= nodes:
        p = f"b{block}"
        conv = {"out_channels": channels, "kernel_size": 3, "padding": 1, "bias": False}
        design.add_node("Conv2d", f"{p}_c1", [last], conv)
        design.add_node("BatchNorm2d", f"{p}_bn1", [f"{p}_c1"])
        design.add_node("ReLU", f"{p}_r1", [f"{p}_bn1"])
        design.add_node("Conv2d", f"{p}_c2", [f"{p}_r1"], conv)
        design.add_node("BatchNorm2d", f"{p}_bn2", [f"{p}_c2"])
        design.add_node("Add", f"{p}_add", [f"{p}_bn2", last])
        last = design.add_node("ReLU", f"{p}_out", [f"{p}_add"]).id
        block += 1
    while len(design) + 3 < nodes:
        last = design.add_node("Identity", None, [last]).id
    design.add_node("AdaptiveAvgPool2d", "gap", [last], {"output_size": 1})
    design.add_node("Flatten", "flatten", ["gap"])
    design.add_node("Linear", "fc", ["flatten"], {"out_features": 10})
    return design


def chain_design(nodes: int, channels: int = 16, size: int = 32) -> Design:
    """Input → conv-bn-relu blocks → head, about ``nodes`` nodes in one chain (no merges)."""
    design = Design(f"chain {nodes}", InputSpec(3, size, size))
    design.add_node("Input", "input")
    last = "input"
    block = 0
    while len(design) + 3 + 3 <= nodes:
        design.add_node("Conv2d", f"c{block}", [last], {"out_channels": channels, "kernel_size": 3, "padding": 1,
                                                       "bias": False})
        design.add_node("BatchNorm2d", f"bn{block}", [f"c{block}"])
        last = design.add_node("ReLU", f"r{block}", [f"bn{block}"]).id
        block += 1
    while len(design) + 3 < nodes:
        last = design.add_node("Identity", None, [last]).id
    design.add_node("AdaptiveAvgPool2d", "gap", [last], {"output_size": 1})
    design.add_node("Flatten", "flatten", ["gap"])
    design.add_node("Linear", "fc", ["flatten"], {"out_features": 10})
    return design
