"""Templates: design files shipped in ``assets/templates``, opened by name."""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path

from ..i18n import N_, tr
from .fileformat import DesignFileError, load_design, loads
from .graph import Design

#: Template name → one line for menus and ``convviz templates``, in menu order (``tr(line)`` where shown).
TEMPLATES: dict[str, str] = {
    "default": N_("A small CNN for the built-in shapes dataset (1×32×32, 10 classes): the app's start."),
    "lenet5": N_("LeNet-5 (LeCun 1998) on 1×32×32: 61,706 parameters."),
    "alexnet": N_("AlexNet as in torchvision: 3×224×224, 61,100,840 parameters."),
    "vgg11": N_("VGG-11 as in torchvision: eight 3×3 conv layers, 3×224×224."),
    "vgg16": N_("VGG-16 as in torchvision: 138,357,544 parameters, 15.5 G MACs, receptive field 212."),
    "resnet18": N_("ResNet-18 as in torchvision: residual Add shortcuts, 1×1 stride-2 downsampling."),
    "inception_3a": N_("GoogLeNet's inception (3a) block on 192×28×28: four branches joined by Concat."),
    "mobilenet_block": N_("A MobileNet depthwise-separable block: 3×3 depthwise + 1×1 pointwise."),
    "conv5x5_vs_bottleneck": N_("A 5×5 conv to 32 channels vs a 1×1 bottleneck to 16 first: 120.4 M vs 12.4 M "
                                "MACs."),
    "two3x3_vs_5x5": N_("Two stacked 3×3 convs vs one 5×5: the same receptive field, fewer parameters."),
    "dilated": N_("Dilated 3×3 convs (d = 1, 2, 4): the receptive field grows fast at the same cost."),
    "grouped": N_("A 3×3 conv with 1, 4 and 64 (depthwise) groups side by side: parameters and MACs divide by the "
                  "groups."),
    "googlenet": N_("GoogLeNet as in torchvision: nine inception modules, 6,624,904 parameters (a tenth of "
                    "AlexNet's)."),
    "googlenet_aux": N_("GoogLeNet with its two auxiliary classifiers as heads: loss = final + 0.3·aux1 + "
                        "0.3·aux2."),
    "resnet50": N_("ResNet-50 as in torchvision: bottleneck blocks, 25,557,032 parameters, 4.09 G MACs."),
    "densenet121": N_("DenseNet-121 as in torchvision: every layer reads all earlier ones of its block (Concat)."),
    "mobilenet_v2": N_("MobileNetV2 as in torchvision: inverted residuals with linear bottlenecks, ReLU6."),
    "mobilenet_v3_small": N_("MobileNetV3-Small as in torchvision: Hardswish, squeeze-and-excitation gates "
                             "(Multiply)."),
    "efficientnet_b0": N_("EfficientNet-B0 as in torchvision: MBConv blocks with SiLU and squeeze-and-excitation."),
    "squeezenet1_1": N_("SqueezeNet 1.1 as in torchvision: fire modules (1×1 squeeze, 1×1 and 3×3 expand), 1.2 M "
                        "parameters."),
    "unet_small": N_("A small U-Net-style encoder–decoder: transposed convs upsample, skips join by Concat, a "
                     "class per pixel."),
    "deep_plain": N_("Twenty plain 3×3 convs (no batch norm) on the shapes: the first layers' gradients vanish, "
                     "it stays at chance (see Train ▸ Gradient Flow)."),
    "deep_residual": N_("The same twenty convs with a residual shortcut around every pair: the gradients reach "
                        "the first layer and it learns."),
}

#: The titles the template files hold (their "name"), for the catalog: menus show them translated
#: (``template_title``). A test keeps this list equal to the files' names.
TITLES = (N_("Shapes CNN"), "LeNet-5", "AlexNet", "VGG-11", "VGG-16", "ResNet-18", N_("Inception 3a"),
          N_("MobileNet block"), N_("5×5 conv vs 1×1 bottleneck"), N_("Two 3×3 vs one 5×5"),
          N_("Dilated convolutions"), N_("Grouped convolutions"), N_("Deep plain stack (20 convs)"),
          N_("Deep residual stack (20 convs)"), "GoogLeNet", N_("GoogLeNet with auxiliary classifiers"), "ResNet-50",
          "DenseNet-121", "MobileNetV2", "MobileNetV3-Small", "EfficientNet-B0", "SqueezeNet 1.1", N_("Small U-Net"))


def template_path(name: str):
    return resources.files("convviz.assets").joinpath("templates", f"{name}.json")


@functools.cache
def file_title(name: str) -> str:
    """The title the template's file holds ("5×5 conv vs 1×1 bottleneck")."""
    if name not in TEMPLATES:
        raise DesignFileError(_no_template(name))
    return json.loads(template_path(name).read_text(encoding="utf-8")).get("name") or name


def template_title(name: str) -> str:
    """The template's own title in the user's language, what menus show; its name stays the handle
    for the command line."""
    return tr(file_title(name))


def _no_template(name: str) -> str:
    return tr("no template named {name}; templates: {names}").format(name=repr(name), names=", ".join(TEMPLATES))


def load_template(name: str) -> Design:
    if name not in TEMPLATES:
        raise DesignFileError(_no_template(name))
    return loads(template_path(name).read_text(encoding="utf-8"))


def template_design(name: str) -> Design:
    """A new design from template ``name``, named with its title in the user's language (what the
    app opens: the name is the new design's, saved with it)."""
    design = load_template(name)
    design.name = template_title(name)
    return design


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
        raise DesignFileError(tr("{name} is neither a design file nor a template (templates: {names})").format(
            name=repr(text), names=", ".join(TEMPLATES)))
    return load_design(text)
