"""Templates: design files shipped in ``assets/templates``, opened by name."""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path

from .fileformat import DesignFileError, load_design, loads
from .graph import Design

#: Template name → one line for menus and ``convviz templates``, in menu order.
TEMPLATES: dict[str, str] = {
    "default": "A small CNN for the built-in shapes dataset (1×32×32, 10 classes): the app's start.",
    "lenet5": "LeNet-5 (LeCun 1998) on 1×32×32: 61,706 parameters.",
    "alexnet": "AlexNet as in torchvision: 3×224×224, 61,100,840 parameters.",
    "vgg11": "VGG-11 as in torchvision: eight 3×3 conv layers, 3×224×224.",
    "vgg16": "VGG-16 as in torchvision: 138,357,544 parameters, 15.5 G MACs, receptive field 212.",
    "resnet18": "ResNet-18 as in torchvision: residual Add shortcuts, 1×1 stride-2 downsampling.",
    "inception_3a": "GoogLeNet's inception (3a) block on 192×28×28: four branches joined by Concat.",
    "mobilenet_block": "A MobileNet depthwise-separable block: 3×3 depthwise + 1×1 pointwise.",
    "conv5x5_vs_bottleneck": "A 5×5 conv to 32 channels vs a 1×1 bottleneck to 16 first: 120.4 M vs 12.4 M MACs.",
    "two3x3_vs_5x5": "Two stacked 3×3 convs vs one 5×5: the same receptive field, fewer parameters.",
    "dilated": "Dilated 3×3 convs (d = 1, 2, 4): the receptive field grows fast at the same cost.",
    "grouped": "A 3×3 conv with 1, 4 and 64 (depthwise) groups side by side: parameters and MACs divide by the groups.",
    "googlenet": "GoogLeNet as in torchvision: nine inception modules, 6,624,904 parameters (a tenth of AlexNet's).",
    "googlenet_aux": "GoogLeNet with its two auxiliary classifiers as heads: loss = final + 0.3·aux1 + 0.3·aux2.",
    "resnet50": "ResNet-50 as in torchvision: bottleneck blocks, 25,557,032 parameters, 4.09 G MACs.",
    "densenet121": "DenseNet-121 as in torchvision: every layer reads all earlier ones of its block (Concat).",
    "mobilenet_v2": "MobileNetV2 as in torchvision: inverted residuals with linear bottlenecks, ReLU6.",
    "mobilenet_v3_small": "MobileNetV3-Small as in torchvision: Hardswish, squeeze-and-excitation gates (Multiply).",
    "efficientnet_b0": "EfficientNet-B0 as in torchvision: MBConv blocks with SiLU and squeeze-and-excitation.",
    "squeezenet1_1": "SqueezeNet 1.1 as in torchvision: fire modules (1×1 squeeze, 1×1 and 3×3 expand), 1.2 M parameters.",
    "unet_small": "A small U-Net-style encoder–decoder: transposed convs upsample, skips join by Concat, a class per pixel.",
    "deep_plain": "Twenty plain 3×3 convs (no batch norm) on the shapes: the first layers' gradients vanish, it stays "
                  "at chance (see Train ▸ Gradient Flow).",
    "deep_residual": "The same twenty convs with a residual shortcut around every pair: the gradients reach the "
                     "first layer and it learns.",
}


def template_path(name: str):
    return resources.files("convviz.assets").joinpath("templates", f"{name}.json")


@functools.cache
def template_title(name: str) -> str:
    """The template's own title ("5×5 conv vs 1×1 bottleneck"), what menus show; its name stays the
    handle for the command line."""
    if name not in TEMPLATES:
        raise DesignFileError(f"no template named {name!r}; templates: {', '.join(TEMPLATES)}")
    return json.loads(template_path(name).read_text(encoding="utf-8")).get("name") or name


def load_template(name: str) -> Design:
    if name not in TEMPLATES:
        raise DesignFileError(f"no template named {name!r}; templates: {', '.join(TEMPLATES)}")
    return loads(template_path(name).read_text(encoding="utf-8"))


def path_exists(text: str) -> bool:
    """Whether ``text`` names something on disk; False for what cannot be a path at all (a NUL byte,
    a name too long for the file system) instead of raising."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def load_design_or_template(spec: str | os.PathLike) -> Design:
    """A design file path, or a template name when no such file exists (what the CLI accepts)."""
    text = os.fspath(spec)
    exists = path_exists(text)
    if text in TEMPLATES and not exists:
        return load_template(text)
    if not exists and not text.endswith(".json") and os.sep not in text:
        raise DesignFileError(f"{text!r} is neither a design file nor a template "
                              f"(templates: {', '.join(TEMPLATES)})")
    return load_design(text)
