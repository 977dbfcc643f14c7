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


def resnet50() -> Design:
    """ResNet-50 (He et al. 2015; torchvision's layout: stride in the 3×3 conv), 3×224×224 in,
    25,557,032 parameters. (Until a template of it exists.)"""
    design = Design("ResNet-50", InputSpec(3, 224, 224))

    def add(type_name: str, node_id: str, inputs: list[str], **params) -> str:
        return design.add_node(type_name, node_id, inputs, params).id

    add("Input", "input", [])
    add("Conv2d", "conv1", ["input"], out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    add("BatchNorm2d", "bn1", ["conv1"])
    add("ReLU", "relu", ["bn1"])
    last = add("MaxPool2d", "maxpool", ["relu"], kernel_size=3, stride=2, padding=1)
    channels_in = 64
    for layer, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for block in range(blocks):
            stride = 2 if layer > 1 and block == 0 else 1
            p = f"layer{layer}_{block}"
            add("Conv2d", f"{p}_conv1", [last], out_channels=width, kernel_size=1, bias=False)
            add("BatchNorm2d", f"{p}_bn1", [f"{p}_conv1"])
            add("ReLU", f"{p}_relu1", [f"{p}_bn1"])
            add("Conv2d", f"{p}_conv2", [f"{p}_relu1"], out_channels=width, kernel_size=3, stride=stride, padding=1,
                bias=False)
            add("BatchNorm2d", f"{p}_bn2", [f"{p}_conv2"])
            add("ReLU", f"{p}_relu2", [f"{p}_bn2"])
            add("Conv2d", f"{p}_conv3", [f"{p}_relu2"], out_channels=4 * width, kernel_size=1, bias=False)
            main = add("BatchNorm2d", f"{p}_bn3", [f"{p}_conv3"])
            shortcut = last
            if stride != 1 or channels_in != 4 * width:
                add("Conv2d", f"{p}_down", [last], out_channels=4 * width, kernel_size=1, stride=stride, bias=False)
                shortcut = add("BatchNorm2d", f"{p}_down_bn", [f"{p}_down"])
            add("Add", f"{p}_add", [main, shortcut])
            last = add("ReLU", f"{p}_out", [f"{p}_add"])
            channels_in = 4 * width
    add("AdaptiveAvgPool2d", "avgpool", [last], output_size=1)
    add("Flatten", "flatten", ["avgpool"])
    add("Linear", "fc", ["flatten"], out_features=1000)
    return design
