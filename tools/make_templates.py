"""Write the design templates in assets/templates from the definitions below.

The templates are committed JSON (the app reads files, like any user design); this script is how
they are made and changed. tests/test_templates.py checks the files still equal its output.

    python tools/make_templates.py            # rewrite assets/templates/*.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convviz.design import Design, InputSpec, dumps  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "assets" / "templates"

SHAPES_CLASSES = ["vertical bar", "horizontal bar", "diagonal /", "diagonal \\", "circle", "disk", "square",
                  "triangle", "plus", "cross"]
DIGITS = [str(i) for i in range(10)]
IMAGENET: list[str] = []  # 1000 classes; names matter only once trained on a dataset that has them


class Builder:
    """Adds nodes one after another; ``then`` continues from the last node added."""

    def __init__(self, name: str, shape: tuple[int, int, int], classes: list[str]) -> None:
        self.design = Design(name, InputSpec(*shape), classes)
        self.last = self.design.add_node("Input", "input").id

    def then(self, type_name: str, node_id: str, after: str | list[str] | None = None, **params) -> str:
        inputs = [self.last] if after is None else ([after] if isinstance(after, str) else after)
        self.last = self.design.add_node(type_name, node_id, inputs, params).id
        return self.last


def default() -> Design:
    b = Builder("Shapes CNN", (1, 32, 32), SHAPES_CLASSES)
    for i, channels in enumerate((16, 32, 64), start=1):
        b.then("Conv2d", f"conv{i}", out_channels=channels, kernel_size=3, padding=1, bias=False)
        b.then("BatchNorm2d", f"bn{i}")
        b.then("ReLU", f"relu{i}")
        if i < 3:
            b.then("MaxPool2d", f"pool{i}", kernel_size=2)
    b.then("AdaptiveAvgPool2d", "gap", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=len(SHAPES_CLASSES))
    return b.design


def lenet5() -> Design:
    b = Builder("LeNet-5", (1, 32, 32), DIGITS)
    b.then("Conv2d", "c1", out_channels=6, kernel_size=5)
    b.then("Tanh", "a1")
    b.then("AvgPool2d", "s2", kernel_size=2)
    b.then("Conv2d", "c3", out_channels=16, kernel_size=5)
    b.then("Tanh", "a3")
    b.then("AvgPool2d", "s4", kernel_size=2)
    b.then("Flatten", "flatten")
    b.then("Linear", "c5", out_features=120)
    b.then("Tanh", "a5")
    b.then("Linear", "f6", out_features=84)
    b.then("Tanh", "a6")
    b.then("Linear", "output", out_features=10)
    return b.design


def alexnet() -> Design:
    b = Builder("AlexNet", (3, 224, 224), IMAGENET)
    convs = [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False), (256, 3, 1, 1, False),
             (256, 3, 1, 1, True)]
    for i, (channels, k, s, p, pool) in enumerate(convs, start=1):
        params = {"out_channels": channels, "kernel_size": k, "padding": p}
        if s != 1:
            params["stride"] = s
        b.then("Conv2d", f"conv{i}", **params)
        b.then("ReLU", f"relu{i}")
        if pool:
            b.then("MaxPool2d", f"pool{i}", kernel_size=3, stride=2)
    _classifier(b, (6, 6), dropout_first=True)
    return b.design


def _classifier(b: Builder, pooled: tuple[int, int], dropout_first: bool) -> None:
    """torchvision's AlexNet/VGG head: adaptive pooling, flatten, three Linear layers with dropout."""
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=list(pooled))
    b.then("Flatten", "flatten")
    if dropout_first:  # AlexNet: Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear
        b.then("Dropout", "drop1")
        b.then("Linear", "fc1", out_features=4096)
        b.then("ReLU", "fc1_relu")
        b.then("Dropout", "drop2")
        b.then("Linear", "fc2", out_features=4096)
        b.then("ReLU", "fc2_relu")
    else:  # VGG: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
        b.then("Linear", "fc1", out_features=4096)
        b.then("ReLU", "fc1_relu")
        b.then("Dropout", "drop1")
        b.then("Linear", "fc2", out_features=4096)
        b.then("ReLU", "fc2_relu")
        b.then("Dropout", "drop2")
    b.then("Linear", "fc3", out_features=1000)


def vgg(name: str, config: list[list[int]]) -> Design:
    """``config``: channels per conv, one list per block; each block ends in a 2×2 max-pool."""
    b = Builder(name, (3, 224, 224), IMAGENET)
    for block, channels in enumerate(config, start=1):
        for i, c in enumerate(channels, start=1):
            b.then("Conv2d", f"conv{block}_{i}", out_channels=c, kernel_size=3, padding=1)
            b.then("ReLU", f"relu{block}_{i}")
        b.then("MaxPool2d", f"pool{block}", kernel_size=2, stride=2)
    _classifier(b, (7, 7), dropout_first=False)
    return b.design


def vgg11() -> Design:
    return vgg("VGG-11", [[64], [128], [256, 256], [512, 512], [512, 512]])


def vgg16() -> Design:
    return vgg("VGG-16", [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]])


def resnet18() -> Design:
    b = Builder("ResNet-18", (3, 224, 224), IMAGENET)
    b.then("Conv2d", "conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    b.then("BatchNorm2d", "bn1")
    b.then("ReLU", "relu")
    b.then("MaxPool2d", "maxpool", kernel_size=3, stride=2, padding=1)
    channels_in = 64
    for layer, channels in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if layer > 1 and block == 0 else 1
            prefix = f"layer{layer}_{block}"
            entry = b.last
            conv_params = {"out_channels": channels, "kernel_size": 3, "padding": 1, "bias": False}
            b.then("Conv2d", f"{prefix}_conv1", **conv_params, **({"stride": stride} if stride != 1 else {}))
            b.then("BatchNorm2d", f"{prefix}_bn1")
            b.then("ReLU", f"{prefix}_relu1")
            b.then("Conv2d", f"{prefix}_conv2", **conv_params)
            main = b.then("BatchNorm2d", f"{prefix}_bn2")
            shortcut = entry
            if stride != 1 or channels_in != channels:
                b.then("Conv2d", f"{prefix}_down", after=entry, out_channels=channels, kernel_size=1, stride=stride,
                       bias=False)
                shortcut = b.then("BatchNorm2d", f"{prefix}_down_bn")
            b.then("Add", f"{prefix}_add", after=[main, shortcut])
            b.then("ReLU", f"{prefix}_out")
            channels_in = channels
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=1000)
    return b.design


def inception_3a() -> Design:
    """GoogLeNet (Szegedy et al. 2014), inception (3a): 192×28×28 in, 256×28×28 out."""
    b = Builder("Inception 3a", (192, 28, 28), [])
    branches = []
    b.then("Conv2d", "b1_1x1", after="input", out_channels=64, kernel_size=1)
    branches.append(b.then("ReLU", "b1_relu"))
    b.then("Conv2d", "b2_reduce", after="input", out_channels=96, kernel_size=1)
    b.then("ReLU", "b2_reduce_relu")
    b.then("Conv2d", "b2_3x3", out_channels=128, kernel_size=3, padding=1)
    branches.append(b.then("ReLU", "b2_relu"))
    b.then("Conv2d", "b3_reduce", after="input", out_channels=16, kernel_size=1)
    b.then("ReLU", "b3_reduce_relu")
    b.then("Conv2d", "b3_5x5", out_channels=32, kernel_size=5, padding=2)
    branches.append(b.then("ReLU", "b3_relu"))
    b.then("MaxPool2d", "b4_pool", after="input", kernel_size=3, stride=1, padding=1)
    b.then("Conv2d", "b4_proj", out_channels=32, kernel_size=1)
    branches.append(b.then("ReLU", "b4_relu"))
    b.then("Concat", "concat", after=branches)
    return b.design


def mobilenet_block() -> Design:
    """MobileNet v1's first separable block: a 3×3 depthwise conv, then a 1×1 pointwise conv."""
    b = Builder("MobileNet block", (32, 112, 112), [])
    b.then("Conv2d", "depthwise", out_channels=32, kernel_size=3, padding=1, groups=32, bias=False)
    b.then("BatchNorm2d", "dw_bn")
    b.then("ReLU", "dw_relu")
    b.then("Conv2d", "pointwise", out_channels=64, kernel_size=1, bias=False)
    b.then("BatchNorm2d", "pw_bn")
    b.then("ReLU", "pw_relu")
    return b.design


def conv5x5_vs_bottleneck() -> Design:
    """The inception paper's argument: 120,422,400 MACs direct vs 12,443,648 through a 1×1 bottleneck."""
    b = Builder("5×5 conv vs 1×1 bottleneck", (192, 28, 28), [])
    direct = b.then("Conv2d", "direct_5x5", after="input", out_channels=32, kernel_size=5, padding="same")
    b.then("Conv2d", "bottleneck_1x1", after="input", out_channels=16, kernel_size=1)
    reduced = b.then("Conv2d", "bottleneck_5x5", out_channels=32, kernel_size=5, padding="same")
    b.then("Concat", "compare", after=[direct, reduced])
    return b.design


def two3x3_vs_5x5() -> Design:
    """VGG's argument: two stacked 3×3 convs see 5×5 like one 5×5 conv, with 28% fewer weights."""
    b = Builder("Two 3×3 vs one 5×5", (64, 28, 28), [])
    single = b.then("Conv2d", "single_5x5", after="input", out_channels=64, kernel_size=5, padding=2)
    b.then("Conv2d", "stacked_3x3_a", after="input", out_channels=64, kernel_size=3, padding=1)
    b.then("ReLU", "stacked_relu")
    stacked = b.then("Conv2d", "stacked_3x3_b", out_channels=64, kernel_size=3, padding=1)
    b.then("Concat", "compare", after=[single, stacked])
    return b.design


def dilated() -> Design:
    """Three 3×3 convs, plain (RF 7) beside dilated 1, 2, 4 (RF 15): same parameters and MACs."""
    b = Builder("Dilated convolutions", (1, 64, 64), [])
    for name, rates in (("plain", (1, 1, 1)), ("dilated", (1, 2, 4))):
        b.last = "input"
        for i, rate in enumerate(rates, start=1):
            params = {"out_channels": 16, "kernel_size": 3, "padding": rate}
            if rate != 1:
                params["dilation"] = rate
            b.then("Conv2d", f"{name}_conv{i}", **params)
            b.then("ReLU", f"{name}_relu{i}")
    b.then("Concat", "compare", after=["plain_relu3", "dilated_relu3"])
    return b.design


def grouped() -> Design:
    """One 3×3 conv 64 → 64 with 1, 4 and 64 (depthwise) groups: parameters and MACs divide by groups."""
    b = Builder("Grouped convolutions", (64, 28, 28), [])
    outs = []
    for groups in (1, 4, 64):
        params = {"out_channels": 64, "kernel_size": 3, "padding": 1}
        if groups != 1:
            params["groups"] = groups
        outs.append(b.then("Conv2d", f"groups_{groups}", after="input", **params))
    b.then("Concat", "compare", after=outs)
    return b.design


def deep_stack(residual: bool) -> Design:
    """Twenty 3×3 convs of 16 channels with ReLU and no batch norm, on the built-in shapes: plain, PyTorch's
    default initialisation shrinks the signal and the gradient at every layer (the first layers' gradients
    vanish and it stays at chance); with a shortcut around every pair (ResNet's identity Add), the same
    depth trains in a minute on a laptop CPU. The node ids are shared, so the two compare layer by layer."""
    name = "Deep residual stack (20 convs)" if residual else "Deep plain stack (20 convs)"
    b = Builder(name, (1, 32, 32), SHAPES_CLASSES)
    b.then("Conv2d", "stem", out_channels=16, kernel_size=3, stride=2, padding=1)
    b.then("ReLU", "stem_relu")
    b.then("MaxPool2d", "pool", kernel_size=2)
    for block in range(1, 11):
        entry = b.last
        b.then("Conv2d", f"conv{2 * block - 1}", out_channels=16, kernel_size=3, padding=1)
        b.then("ReLU", f"relu{2 * block - 1}")
        main = b.then("Conv2d", f"conv{2 * block}", out_channels=16, kernel_size=3, padding=1)
        if residual:
            b.then("Add", f"add{block}", after=[main, entry])
        b.then("ReLU", f"relu{2 * block}")
    b.then("AdaptiveAvgPool2d", "gap", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=len(SHAPES_CLASSES))
    return b.design


def deep_plain() -> Design:
    return deep_stack(residual=False)


def deep_residual() -> Design:
    return deep_stack(residual=True)


TEMPLATE_BUILDERS = {
    "default": default,
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg11": vgg11,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "inception_3a": inception_3a,
    "mobilenet_block": mobilenet_block,
    "conv5x5_vs_bottleneck": conv5x5_vs_bottleneck,
    "two3x3_vs_5x5": two3x3_vs_5x5,
    "dilated": dilated,
    "grouped": grouped,
    "deep_plain": deep_plain,
    "deep_residual": deep_residual,
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in TEMPLATE_BUILDERS.items():
        (OUT / f"{name}.json").write_text(dumps(build()), encoding="utf-8")
        print(f"wrote {OUT / name}.json")


if __name__ == "__main__":
    main()
