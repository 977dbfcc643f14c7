"""Write the design templates in assets/templates from the definitions below.

The templates are committed JSON (the app reads files, like any user design); this script is how
they are made and changed. tests/test_templates.py checks the files still equal its output.

    python tools/make_templates.py            # rewrite assets/templates/*.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convviz.design import Design, Head, InputSpec, dumps  # noqa: E402

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


def _conv_bn(b: Builder, name: str, channels: int, kernel, *, after: str | None = None, stride=1, padding=0,
             groups: int = 1, activation: str | None = "ReLU", bn: dict | None = None, bias: bool = False) -> str:
    """Conv2d (no bias), BatchNorm2d, and an activation: torchvision's Conv2dNormActivation / BasicConv2d."""
    params = {"out_channels": channels, "kernel_size": kernel}
    if stride != 1:
        params["stride"] = stride
    if padding:
        params["padding"] = padding
    if groups != 1:
        params["groups"] = groups
    if not bias:
        params["bias"] = False
    b.then("Conv2d", name, after, **params)
    last = b.then("BatchNorm2d", f"{name}_bn", **(bn or {}))
    if activation is not None:
        last = b.then(activation, f"{name}_{activation.lower()}")
    return last


# --- GoogLeNet (torchvision's, to the parameter) ----------------------------------------------------

GOOGLENET_BN = {"eps": 0.001}


def _inception(b: Builder, name: str, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
               pool_proj: int) -> str:
    """One inception module: four branches joined by Concat (torchvision's branch 3 is a 3×3 where the paper
    has a 5×5: its weights were trained so)."""
    entry = b.last
    branches = [_conv_bn(b, f"{name}_1x1", ch1x1, 1, after=entry, bn=GOOGLENET_BN)]
    _conv_bn(b, f"{name}_3x3_reduce", ch3x3red, 1, after=entry, bn=GOOGLENET_BN)
    branches.append(_conv_bn(b, f"{name}_3x3", ch3x3, 3, padding=1, bn=GOOGLENET_BN))
    _conv_bn(b, f"{name}_5x5_reduce", ch5x5red, 1, after=entry, bn=GOOGLENET_BN)
    branches.append(_conv_bn(b, f"{name}_5x5", ch5x5, 3, padding=1, bn=GOOGLENET_BN))
    b.then("MaxPool2d", f"{name}_pool", entry, kernel_size=3, stride=1, padding=1, ceil_mode=True)
    branches.append(_conv_bn(b, f"{name}_pool_proj", pool_proj, 1, bn=GOOGLENET_BN))
    return b.then("Concat", name, branches)


def _googlenet_aux(b: Builder, name: str, after: str) -> str:
    """An auxiliary classifier: 4×4 average pool, 1×1 conv to 128, two Linear layers with 70 % dropout."""
    b.then("AdaptiveAvgPool2d", f"{name}_pool", after, output_size=4)
    _conv_bn(b, f"{name}_conv", 128, 1, bn=GOOGLENET_BN)
    b.then("Flatten", f"{name}_flatten")
    b.then("Linear", f"{name}_fc1", out_features=1024)
    b.then("ReLU", f"{name}_fc1_relu")
    b.then("Dropout", f"{name}_dropout", p=0.7)
    return b.then("Linear", f"{name}_fc2", out_features=1000)


def googlenet(aux: bool = False) -> Design:
    b = Builder("GoogLeNet" + (" with auxiliary classifiers" if aux else ""), (3, 224, 224), IMAGENET)
    _conv_bn(b, "conv1", 64, 7, stride=2, padding=3, bn=GOOGLENET_BN)
    b.then("MaxPool2d", "maxpool1", kernel_size=3, stride=2, ceil_mode=True)
    _conv_bn(b, "conv2", 64, 1, bn=GOOGLENET_BN)
    _conv_bn(b, "conv3", 192, 3, padding=1, bn=GOOGLENET_BN)
    b.then("MaxPool2d", "maxpool2", kernel_size=3, stride=2, ceil_mode=True)
    _inception(b, "inception3a", 64, 96, 128, 16, 32, 32)
    _inception(b, "inception3b", 128, 128, 192, 32, 96, 64)
    b.then("MaxPool2d", "maxpool3", kernel_size=3, stride=2, ceil_mode=True)
    heads = []
    for name, config in (("inception4a", (192, 96, 208, 16, 48, 64)), ("inception4b", (160, 112, 224, 24, 64, 64)),
                         ("inception4c", (128, 128, 256, 24, 64, 64)), ("inception4d", (112, 144, 288, 32, 64, 64)),
                         ("inception4e", (256, 160, 320, 32, 128, 128))):
        out = _inception(b, name, *config)
        if aux and name in ("inception4a", "inception4d"):
            heads.append(_googlenet_aux(b, "aux1" if name == "inception4a" else "aux2", out))
            b.last = out
    b.then("MaxPool2d", "maxpool4", kernel_size=2, stride=2, ceil_mode=True)
    _inception(b, "inception5a", 256, 160, 320, 32, 128, 128)
    _inception(b, "inception5b", 384, 192, 384, 48, 128, 128)
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Dropout", "dropout", p=0.2)
    b.then("Linear", "fc", out_features=1000)
    if aux:  # total loss = final + 0.3·aux1 + 0.3·aux2 (Szegedy et al. 2014)
        b.design.set_heads([Head("fc"), *(Head(head, 0.3) for head in heads)])
    return b.design


def googlenet_aux() -> Design:
    return googlenet(aux=True)


# --- ResNet-50 ----------------------------------------------------------------------------------------

def resnet50() -> Design:
    b = Builder("ResNet-50", (3, 224, 224), IMAGENET)
    _conv_bn(b, "conv1", 64, 7, stride=2, padding=3)
    b.then("MaxPool2d", "maxpool", kernel_size=3, stride=2, padding=1)
    for layer, (planes, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=1):
        for block in range(blocks):
            prefix = f"layer{layer}_{block}"
            entry = b.last
            _conv_bn(b, f"{prefix}_conv1", planes, 1)
            _conv_bn(b, f"{prefix}_conv2", planes, 3, stride=stride if block == 0 else 1, padding=1)
            main = _conv_bn(b, f"{prefix}_conv3", planes * 4, 1, activation=None)
            shortcut = entry
            if block == 0:
                shortcut = _conv_bn(b, f"{prefix}_down", planes * 4, 1, after=entry, stride=stride, activation=None)
            b.then("Add", f"{prefix}_add", [main, shortcut])
            b.then("ReLU", f"{prefix}_out")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc", out_features=1000)
    return b.design


# --- DenseNet-121 -------------------------------------------------------------------------------------

def densenet121() -> Design:
    """torchvision's DenseNet-121. Layer j of a block reads the concatenation of the block's input and every
    earlier layer's output; written here as a running concatenation, cat_j = [cat_(j − 1), new_j], which is
    the same tensor in the same channel order (what memory-efficient implementations build) and lays out as a
    chain with a short skip per layer instead of a fan of ever longer edges."""
    b = Builder("DenseNet-121", (3, 224, 224), IMAGENET)
    _conv_bn(b, "conv0", 64, 7, stride=2, padding=3)
    b.then("MaxPool2d", "pool0", kernel_size=3, stride=2, padding=1)
    features, growth = 64, 32
    for i, layers in enumerate((6, 12, 24, 16), start=1):
        for j in range(1, layers + 1):
            name, entry = f"block{i}_layer{j}", b.last
            b.then("BatchNorm2d", f"{name}_norm1")
            b.then("ReLU", f"{name}_relu1")
            b.then("Conv2d", f"{name}_conv1", out_channels=4 * growth, kernel_size=1, bias=False)
            b.then("BatchNorm2d", f"{name}_norm2")
            b.then("ReLU", f"{name}_relu2")
            new = b.then("Conv2d", f"{name}_conv2", out_channels=growth, kernel_size=3, padding=1, bias=False)
            b.then("Concat", f"{name}_cat", [entry, new])
        features += layers * growth
        if i < 4:
            b.then("BatchNorm2d", f"transition{i}_norm")
            b.then("ReLU", f"transition{i}_relu")
            features //= 2
            b.then("Conv2d", f"transition{i}_conv", out_channels=features, kernel_size=1, bias=False)
            b.then("AvgPool2d", f"transition{i}_pool", kernel_size=2, stride=2)
    b.then("BatchNorm2d", "norm5")
    b.then("ReLU", "relu")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "classifier", out_features=1000)
    return b.design


# --- MobileNetV2, MobileNetV3-Small, EfficientNet-B0 ------------------------------------------------------

def _divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: the nearest multiple of 8, never 10 % below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_v2() -> Design:
    b = Builder("MobileNetV2", (3, 224, 224), IMAGENET)
    _conv_bn(b, "conv0", 32, 3, stride=2, padding=1, activation="ReLU6")
    channels, index = 32, 1
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)):
        out = _divisible(c)
        for i in range(n):
            stride, name, entry = s if i == 0 else 1, f"block{index}", b.last
            hidden = int(round(channels * t))
            if t != 1:
                _conv_bn(b, f"{name}_expand", hidden, 1, activation="ReLU6")
            _conv_bn(b, f"{name}_dw", hidden, 3, stride=stride, padding=1, groups=hidden, activation="ReLU6")
            last = _conv_bn(b, f"{name}_project", out, 1, activation=None)
            if stride == 1 and channels == out:
                b.then("Add", f"{name}_add", [entry, last])
            channels, index = out, index + 1
    _conv_bn(b, "conv_last", 1280, 1, activation="ReLU6")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Dropout", "dropout", p=0.2)
    b.then("Linear", "classifier", out_features=1000)
    return b.design


def _gated(b: Builder, name: str, channels: int, squeeze: int, activation: str, gate: str) -> str:
    """Squeeze-and-excitation, torchvision's SqueezeExcitation: scale = gate(fc2(act(fc1(pool(x))))); scale · x."""
    entry = b.last
    b.then("AdaptiveAvgPool2d", f"{name}_pool", entry, output_size=1)
    b.then("Conv2d", f"{name}_fc1", out_channels=squeeze, kernel_size=1)
    b.then(activation, f"{name}_act")
    b.then("Conv2d", f"{name}_fc2", out_channels=channels, kernel_size=1)
    scale = b.then(gate, f"{name}_gate")
    return b.then("Multiply", name, [scale, entry])


MOBILENET_V3_BN = {"eps": 0.001, "momentum": 0.01}


def mobilenet_v3_small() -> Design:
    b = Builder("MobileNetV3-Small", (3, 224, 224), IMAGENET)
    _conv_bn(b, "conv0", 16, 3, stride=2, padding=1, activation="Hardswish", bn=MOBILENET_V3_BN)
    #: in, kernel, expanded, out, squeeze-and-excite, activation, stride (torchvision's table)
    setting = [(16, 3, 16, 16, True, "ReLU", 2), (16, 3, 72, 24, False, "ReLU", 2), (24, 3, 88, 24, False, "ReLU", 1),
               (24, 5, 96, 40, True, "Hardswish", 2), (40, 5, 240, 40, True, "Hardswish", 1),
               (40, 5, 240, 40, True, "Hardswish", 1), (40, 5, 120, 48, True, "Hardswish", 1),
               (48, 5, 144, 48, True, "Hardswish", 1), (48, 5, 288, 96, True, "Hardswish", 2),
               (96, 5, 576, 96, True, "Hardswish", 1), (96, 5, 576, 96, True, "Hardswish", 1)]
    for index, (cin, kernel, expanded, out, se, activation, stride) in enumerate(setting, start=1):
        name, entry = f"block{index}", b.last
        if expanded != cin:
            _conv_bn(b, f"{name}_expand", expanded, 1, activation=activation, bn=MOBILENET_V3_BN)
        _conv_bn(b, f"{name}_dw", expanded, kernel, stride=stride, padding=(kernel - 1) // 2, groups=expanded,
                 activation=activation, bn=MOBILENET_V3_BN)
        if se:
            _gated(b, f"{name}_se", expanded, _divisible(expanded // 4), "ReLU", "Hardsigmoid")
        last = _conv_bn(b, f"{name}_project", out, 1, activation=None, bn=MOBILENET_V3_BN)
        if stride == 1 and cin == out:
            b.then("Add", f"{name}_add", [last, entry])
    _conv_bn(b, "conv_last", 576, 1, activation="Hardswish", bn=MOBILENET_V3_BN)
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Linear", "fc1", out_features=1024)
    b.then("Hardswish", "fc1_hardswish")
    b.then("Dropout", "dropout", p=0.2)
    b.then("Linear", "fc2", out_features=1000)
    return b.design


def efficientnet_b0() -> Design:
    b = Builder("EfficientNet-B0", (3, 224, 224), IMAGENET)
    _conv_bn(b, "stem", 32, 3, stride=2, padding=1, activation="SiLU")
    index = 1
    #: expand ratio, kernel, stride, in, out, layers (torchvision's table; stochastic depth, a training-time
    #: regulariser without weights, is left out)
    for expand, kernel, stride, cin, cout, count in ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                                     (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3),
                                                     (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)):
        for i in range(count):
            name, entry = f"block{index}", b.last
            channels, step = (cin, stride) if i == 0 else (cout, 1)
            expanded = _divisible(channels * expand)
            if expanded != channels:
                _conv_bn(b, f"{name}_expand", expanded, 1, activation="SiLU")
            _conv_bn(b, f"{name}_dw", expanded, kernel, stride=step, padding=(kernel - 1) // 2, groups=expanded,
                     activation="SiLU")
            _gated(b, f"{name}_se", expanded, max(1, channels // 4), "SiLU", "Sigmoid")
            last = _conv_bn(b, f"{name}_project", cout, 1, activation=None)
            if step == 1 and channels == cout:
                b.then("Add", f"{name}_add", [last, entry])
            index += 1
    _conv_bn(b, "head", 1280, 1, activation="SiLU")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    b.then("Dropout", "dropout", p=0.2)
    b.then("Linear", "classifier", out_features=1000)
    return b.design


# --- SqueezeNet 1.1 ----------------------------------------------------------------------------------

def squeezenet1_1() -> Design:
    b = Builder("SqueezeNet 1.1", (3, 224, 224), IMAGENET)
    b.then("Conv2d", "conv1", out_channels=64, kernel_size=3, stride=2)
    b.then("ReLU", "relu1")
    fires = {2: (16, 64), 3: (16, 64), 4: (32, 128), 5: (32, 128), 6: (48, 192), 7: (48, 192), 8: (64, 256),
             9: (64, 256)}
    for number, (squeeze, expand) in fires.items():
        if number in (2, 4, 6):
            b.then("MaxPool2d", f"pool{number - 1}", kernel_size=3, stride=2, ceil_mode=True)
        name = f"fire{number}"
        b.then("Conv2d", f"{name}_squeeze", out_channels=squeeze, kernel_size=1)
        entry = b.then("ReLU", f"{name}_squeeze_relu")
        b.then("Conv2d", f"{name}_expand1x1", out_channels=expand, kernel_size=1)
        one = b.then("ReLU", f"{name}_expand1x1_relu")
        b.then("Conv2d", f"{name}_expand3x3", entry, out_channels=expand, kernel_size=3, padding=1)
        three = b.then("ReLU", f"{name}_expand3x3_relu")
        b.then("Concat", name, [one, three])
    b.then("Dropout", "dropout", p=0.5)
    b.then("Conv2d", "conv10", out_channels=1000, kernel_size=1)
    b.then("ReLU", "relu10")
    b.then("AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.then("Flatten", "flatten")
    return b.design


# --- a small U-Net ----------------------------------------------------------------------------------

def unet_small() -> Design:
    """A three-level U-Net-style encoder–decoder (Ronneberger et al. 2015, with padded convs and batch norm):
    2×2 transposed convs upsample, Concat joins each level's skip connection; 2 classes per pixel. Laid out
    as the U it is named after: the encoder down the left, the decoder up the right, skips across."""
    b = Builder("Small U-Net", (3, 128, 128), ["background", "object"])
    column = 270.0
    row = 120.0
    positions: dict[str, tuple[float, float]] = {"input": (0.0, 0.0)}

    def double(name: str, channels: int, x: int, y: int) -> str:
        ids = [f"{name}_conv1", f"{name}_conv1_bn", f"{name}_conv1_relu", f"{name}_conv2", f"{name}_conv2_bn",
               f"{name}_conv2_relu"]
        _conv_bn(b, ids[0], channels, 3, padding=1)
        last = _conv_bn(b, ids[3], channels, 3, padding=1)
        positions.update({nid: (x * column, (y + k) * row) for k, nid in enumerate(ids)})
        return last

    skips, top = [], 1
    for level, channels in enumerate((16, 32, 64), start=1):
        skips.append((double(f"enc{level}", channels, level - 1, top), top + 5))
        positions[b.then("MaxPool2d", f"pool{level}", kernel_size=2)] = ((level - 1) * column, (top + 6) * row)
        top += 7
    double("bottleneck", 128, 3, top)
    for x, (level, channels) in enumerate(((3, 64), (2, 32), (1, 16)), start=4):
        skip, skip_row = skips[level - 1]
        positions[b.then("ConvTranspose2d", f"up{level}", out_channels=channels, kernel_size=2, stride=2)] = \
            (x * column, skip_row * row)
        positions[b.then("Concat", f"skip{level}", [b.last, skip])] = (x * column, (skip_row + 1) * row)
        double(f"dec{level}", channels, x, skip_row + 2)
    positions[b.then("Conv2d", "classify", out_channels=2, kernel_size=1)] = (6 * column, 14 * row)
    b.design.set_positions(positions)
    return b.design


# --- the vanishing-gradient pair ----------------------------------------------------------------------

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
    "googlenet": googlenet,
    "googlenet_aux": googlenet_aux,
    "resnet50": resnet50,
    "densenet121": densenet121,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "efficientnet_b0": efficientnet_b0,
    "squeezenet1_1": squeezenet1_1,
    "unet_small": unet_small,
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
