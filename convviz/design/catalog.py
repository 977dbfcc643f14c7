"""The layer catalog: every layer type convviz knows, its parameters and how many inputs it takes.

Type and parameter names are PyTorch's, and so are the defaults, so a design file reads like the
``nn.Module`` it becomes. Parameters PyTorch requires (``out_channels``, ``kernel_size``, …) have
no default; ``ParamSpec.initial`` is what a freshly dropped layer starts with.

The catalog only checks *types* when a value is set (``ParamSpec.coerce``). Whether a value is in
range (a stride of 0, a negative padding) is the analysis's business (``ParamSpec.limit_error``),
so such a value can exist in a design and be flagged on the node that has it, with a fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Mapping
from typing import Any

from ..i18n import N_, ntr, tr

#: Families in palette order; each layer type belongs to one.
FAMILIES = (
    N_("Input"),
    N_("Convolution"),
    N_("Pooling"),
    N_("Normalization"),
    N_("Activation"),
    N_("Regularization"),
    N_("Resize"),
    N_("Reshape"),
    N_("Dense"),
    N_("Merge"),
)

#: Parameter kinds and the values they hold.
#: int, float, bool, choice (a str from ``choices``), size (int or (h, w)),
#: optional_size (None or a size: pooling strides default to the kernel size),
#: padding (a size, or "same" / "valid"; Conv2d only), pad4 (an int or (left, right, top, bottom):
#: ZeroPad2d), scale (None, a number or (h, w) numbers: Upsample), int_list (None or a list of ints:
#: Split's sizes), text (words a person reads: what an import placeholder stands for).
KINDS = ("int", "float", "bool", "choice", "size", "optional_size", "padding", "pad4", "scale", "int_list", "text")

PADDING_WORDS = ("same", "valid")


class ParamTypeError(ValueError):
    """A value of the wrong type for a parameter (not merely out of range)."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str
    doc: str
    default: Any = None
    required: bool = False
    initial: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    #: A strict lower bound (``eps > 0``) rather than an inclusive one.
    exclusive_minimum: bool = False

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    def coerce(self, value: Any) -> Any:
        """Return ``value`` in canonical form (pairs as tuples) or raise ``ParamTypeError``."""
        kind = self.kind
        if kind == "text":
            if isinstance(value, str):
                return value
            raise ParamTypeError(tr("expected text, got {value}").format(value=_short(value)))
        if _too_long(value):
            raise ParamTypeError(tr("expected a whole number of at most {digits} digits, got {value}").format(
                digits=len(str(MAX_INT)), value=_short(value)))
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamTypeError(tr("expected true or false, got {value}").format(value=_short(value)))
        if kind == "int":
            if _is_int(value):
                return int(value)
            raise ParamTypeError(tr("expected an integer, got {value}").format(value=_short(value)))
        if kind == "float":
            if _is_int(value) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
                return float(value)
            raise ParamTypeError(tr("expected a finite number, got {value}").format(value=_short(value)))
        if kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ParamTypeError(tr("expected one of {choices}, got {value}").format(
                choices=", ".join(map(repr, self.choices)), value=_short(value)))
        if kind in ("optional_size", "scale", "int_list") and value is None:
            return None
        if kind == "pad4":
            if _is_int(value):
                return int(value)
            if isinstance(value, (list, tuple)) and len(value) == 4 and all(_is_int(v) for v in value):
                return tuple(int(v) for v in value)
            raise ParamTypeError(tr("expected an integer or [left, right, top, bottom], got {value}").format(
                value=_short(value)))
        if kind == "scale":
            if _is_number(value):
                return float(value)
            if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value):
                return (float(value[0]), float(value[1]))
            raise ParamTypeError(tr("expected a number, [h, w] or null, got {value}").format(value=_short(value)))
        if kind == "int_list":
            if isinstance(value, (list, tuple)) and value and all(_is_int(v) for v in value):
                return tuple(int(v) for v in value)
            raise ParamTypeError(tr("expected a list of integers or null, got {value}").format(value=_short(value)))
        if kind == "padding" and isinstance(value, str):
            if value in PADDING_WORDS:
                return value
            raise ParamTypeError(tr("expected an integer, [h, w], \"same\" or \"valid\", got {value}").format(
                value=_short(value)))
        if _is_int(value):
            return int(value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
            return (int(value[0]), int(value[1]))
        if kind == "optional_size":
            message = tr("expected an integer, [h, w] or null, got {value}")
        elif kind == "padding":
            message = tr("expected an integer, [h, w], \"same\" or \"valid\", got {value}")
        else:
            message = tr("expected an integer or [h, w], got {value}")
        raise ParamTypeError(message.format(value=_short(value)))

    def limit_error(self, value: Any) -> str | None:
        """A sentence saying why ``value`` is outside this parameter's limits, or None."""
        if value is None or isinstance(value, (str, bool)):
            return None
        numbers = value if isinstance(value, tuple) else (value,)
        for number in numbers:
            if self.minimum is not None:
                too_low = number <= self.minimum if self.exclusive_minimum else number < self.minimum
                if too_low:
                    relation = ">" if self.exclusive_minimum else "≥"
                    return tr("{name} must be {relation} {limit}, not {value}").format(
                        name=self.name, relation=relation, limit=_fmt_limit(self.minimum), value=_fmt_value(value))
            if self.maximum is not None and number > self.maximum:
                return tr("{name} must be ≤ {limit}, not {value}").format(
                    name=self.name, limit=_fmt_limit(self.maximum), value=_fmt_value(value))
        return None


@dataclass(frozen=True)
class LayerSpec:
    type: str
    family: str
    summary: str
    formula: str = ""
    params: tuple[ParamSpec, ...] = ()
    min_inputs: int = 1
    #: None: any number (Add, Concat).
    max_inputs: int | None = 1
    #: Parameters worth showing on a node's card, in order.
    key_params: tuple[str, ...] = ()
    #: Offered in the palette (not the Input, made with the design, nor an import's placeholder).
    in_palette: bool = True
    #: A layer with several outputs (Split): how many its resolved parameters give. None: one output.
    outputs: Callable[[Mapping[str, Any]], int] | None = None
    param_index: dict[str, ParamSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.family in FAMILIES, self.family
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    def param(self, name: str) -> ParamSpec:
        return self.param_index[name]

    def initial_params(self) -> dict[str, Any]:
        """Parameters a freshly created node stores: the required ones, and any with a starting value
        of its own (Upsample starts at scale_factor 2); the rest default."""
        return {p.name: p.initial for p in self.params if p.required or p.initial is not None}

    def resolve(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Every parameter's effective value: stored where given, PyTorch's default otherwise."""
        return {p.name: stored.get(p.name, p.default) for p in self.params}

    @property
    def is_merge(self) -> bool:
        return self.max_inputs is None

    @property
    def multi_output(self) -> bool:
        """Its outputs are numbered (``split1:0``, ``split1:1``) rather than named by the node's id."""
        return self.outputs is not None

    def output_count(self, stored: Mapping[str, Any]) -> int:
        """How many outputs a node with these stored parameters has."""
        return 1 if self.outputs is None else self.outputs(self.resolve(stored))

    def describe_inputs(self) -> str:
        """"1 input", "2 or more inputs", … in the user's language."""
        if self.max_inputs is None:
            return ntr("{n} or more input", "{n} or more inputs", self.min_inputs).format(n=self.min_inputs)
        if self.min_inputs == self.max_inputs:
            return tr("no inputs") if self.min_inputs == 0 else ntr("{n} input", "{n} inputs", self.min_inputs).format(
                n=self.min_inputs)
        return tr("{low}–{high} inputs").format(low=self.min_inputs, high=self.max_inputs)


#: Whole-number parameters have at most 15 digits: more is no size, and overflows every float it meets.
MAX_INT = 10 ** 15 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT


def _too_long(value: Any) -> bool:
    """An int (or a pair holding one) beyond ``MAX_INT``."""
    values = value if isinstance(value, (list, tuple)) and len(value) <= 2 else (value,)
    return any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT for v in values)


def _short(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters for a message (a pasted list may be megabytes)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        text = str(value)
        return tr("{start}… ({digits} digits)").format(start=text[:8], digits=f"{len(text.lstrip('-')):,}")
    text = repr(value) if not isinstance(value, (list, tuple, dict)) or len(value) <= 8 else \
        tr("{type} of {n} items").format(type=type(value).__name__, n=len(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _is_number(value: Any) -> bool:
    """An int or a finite float (not a bool)."""
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _fmt_limit(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def _fmt_value(value: Any) -> str:
    if isinstance(value, tuple):
        return f"({', '.join(map(str, value))})"
    return str(value)


# --- the catalog -------------------------------------------------------------------------------

def _size(name: str, doc: str, *, default: Any = None, initial: Any = None, minimum: int = 1,
          kind: str = "size") -> ParamSpec:
    return ParamSpec(name, kind, doc, default=default, required=default is None and kind == "size",
                     initial=initial, minimum=minimum)


_KERNEL = _size("kernel_size", N_("Height and width of the sliding window."), initial=3)
_POOL_KERNEL = replace(_KERNEL, initial=2)
_STRIDE = _size("stride", N_("Step of the window between output positions."), default=1)
_DILATION = _size("dilation", N_("Spacing between kernel taps; the window spans d·(k − 1) + 1 pixels."), default=1)
_POOL_STRIDE = _size("stride", N_("Step of the window; empty means the kernel size (non-overlapping windows)."),
                     kind="optional_size")
_POOL_PADDING = _size("padding", N_("Implicit padding on each side (at most half the kernel)."), default=0, minimum=0)
_CEIL_MODE = ParamSpec("ceil_mode", "bool", N_("Round the output size up: a last, partial window is kept."), default=False)
_OUTPUT_SIZE = _size("output_size", N_("Output height and width, whatever the input size."), initial=1)
_EPS = ParamSpec("eps", "float", N_("Added to the variance for numerical stability."), default=1e-5,
                 minimum=0.0, exclusive_minimum=True)
_DROP_P = ParamSpec("p", "float", N_("Probability of zeroing an element during training."), default=0.5,
                    minimum=0.0, maximum=1.0)

_SPECS = (
    LayerSpec(
        "Input", "Input", N_("The image batch entering the network (channels × height × width)."),
        min_inputs=0, max_inputs=0, in_palette=False,
    ),
    LayerSpec(
        "Conv2d", "Convolution",
        N_("Slides learned k×k filters over the input; each output channel is one filter's response."),
        "H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1;  params = (k_h·k_w·C_in/groups + 1)·C_out",
        (
            ParamSpec("out_channels", "int", N_("Number of filters, i.e. output channels."), required=True,
                      initial=16, minimum=1, maximum=65536),
            _KERNEL,
            _STRIDE,
            ParamSpec("padding", "padding", N_("Zeros (or padding_mode values) added on each side; "
                      "\"same\" keeps H×W, \"valid\" adds none."), default=0, minimum=0),
            _DILATION,
            ParamSpec("groups", "int", N_("Split channels into groups convolved separately "
                      "(groups = C_in: depthwise)."), default=1, minimum=1, maximum=65536),
            ParamSpec("bias", "bool", N_("Add a learned bias per output channel."), default=True),
            ParamSpec("padding_mode", "choice", N_("What the padding holds: zeros or copies of the border."),
                      default="zeros", choices=("zeros", "reflect", "replicate", "circular")),
        ),
        key_params=("out_channels", "kernel_size", "stride", "padding", "dilation", "groups"),
    ),
    LayerSpec(
        "ConvTranspose2d", "Convolution",
        N_("The transpose of a strided conv: each input value stamps a learned k×k filter onto the output, s "
           "pixels apart, so the map grows (decoders, U-Net)."),
        "H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1;  params = (C_in·k_h·k_w·C_out/groups + C_out)",
        (
            ParamSpec("out_channels", "int", N_("Number of output channels."), required=True,
                      initial=16, minimum=1, maximum=65536),
            _KERNEL,
            _STRIDE,
            _size("padding", N_("Rows and columns cropped from each side of the full output: "
                                "d·(k − 1) − padding zeros pad the input of the equivalent convolution."),
                  default=0, minimum=0),
            _size("output_padding", N_("Extra rows and columns added on the bottom and right of the output "
                                       "(picks one of the sizes a strided conv maps to the same input size)."),
                  default=0, minimum=0),
            ParamSpec("groups", "int", N_("Split channels into groups transposed-convolved separately."),
                      default=1, minimum=1, maximum=65536),
            ParamSpec("bias", "bool", N_("Add a learned bias per output channel."), default=True),
            _DILATION,
        ),
        key_params=("out_channels", "kernel_size", "stride", "padding", "output_padding"),
    ),
    LayerSpec(
        "MaxPool2d", "Pooling", N_("Keeps the largest value in each window: downsamples, adds small shift tolerance."),
        "H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1 (⌈⌉ with ceil_mode)",
        (_POOL_KERNEL, _POOL_STRIDE, _POOL_PADDING, _DILATION, _CEIL_MODE),
        key_params=("kernel_size", "stride", "padding", "dilation"),
    ),
    LayerSpec(
        "AvgPool2d", "Pooling", N_("Averages each window: downsamples smoothly."),
        "H_out = ⌊(H + 2p − k) / s⌋ + 1 (⌈⌉ with ceil_mode)",
        (
            _POOL_KERNEL, _POOL_STRIDE, _POOL_PADDING, _CEIL_MODE,
            ParamSpec("count_include_pad", "bool", N_("Count padding zeros in the average's divisor."), default=True),
        ),
        key_params=("kernel_size", "stride", "padding"),
    ),
    LayerSpec(
        "AdaptiveAvgPool2d", "Pooling",
        N_("Averages into a fixed output size whatever the input size (1×1: global average pooling)."),
        "window i: ⌊i·H/H_out⌋ … ⌈(i + 1)·H/H_out⌉",
        (_OUTPUT_SIZE,), key_params=("output_size",),
    ),
    LayerSpec(
        "AdaptiveMaxPool2d", "Pooling", N_("Takes the maximum into a fixed output size whatever the input size."),
        "window i: ⌊i·H/H_out⌋ … ⌈(i + 1)·H/H_out⌉",
        (_OUTPUT_SIZE,), key_params=("output_size",),
    ),
    LayerSpec(
        "BatchNorm2d", "Normalization",
        N_("Normalises each channel over the batch, then scales and shifts it (γ, β): steadier, faster training."),
        "y = γ·(x − μ_B) / √(σ²_B + ε) + β;  params = 2·C",
        (
            ParamSpec("eps", "float", N_("Added to the variance for numerical stability."), default=1e-5,
                      minimum=0.0, exclusive_minimum=True),
            ParamSpec("momentum", "float", N_("Weight of the current batch in the running statistics."), default=0.1,
                      minimum=0.0, maximum=1.0),
            ParamSpec("affine", "bool", N_("Learn a scale γ and shift β per channel."), default=True),
            ParamSpec("track_running_stats", "bool", N_("Keep running mean/variance for evaluation."), default=True),
        ),
    ),
    LayerSpec(
        "GroupNorm", "Normalization",
        N_("Normalises each image's channels in groups over the group's channels and the whole map, then "
           "scales and shifts per channel: independent of the batch size."),
        "y = γ·(x − μ_g) / √(σ²_g + ε) + β;  params = 2·C",
        (
            ParamSpec("num_groups", "int", N_("Number of channel groups normalised together (it must divide "
                                              "the channels; 1: like LayerNorm, C: like InstanceNorm)."),
                      required=True, initial=8, minimum=1, maximum=65536),
            _EPS,
            ParamSpec("affine", "bool", N_("Learn a scale γ and shift β per channel."), default=True),
        ),
        key_params=("num_groups",),
    ),
    LayerSpec(
        "LayerNorm", "Normalization",
        N_("Normalises each image over all of its values (C×H×W, or the features of a vector), then scales "
           "and shifts every one of them."),
        "y = γ·(x − μ) / √(σ² + ε) + β;  params = 2·C·H·W",
        (
            _EPS,
            ParamSpec("elementwise_affine", "bool", N_("Learn a scale γ (and a shift β) for every value."),
                      default=True),
            ParamSpec("bias", "bool", N_("Learn the shift β too (with elementwise_affine)."), default=True),
        ),
    ),
    LayerSpec(
        "InstanceNorm2d", "Normalization",
        N_("Normalises each channel of each image over its own map (style transfer, GANs): no batch "
           "statistics."),
        "y = γ·(x − μ_c) / √(σ²_c + ε) + β;  params = 2·C with affine",
        (
            _EPS,
            ParamSpec("momentum", "float", N_("Weight of the current batch in the running statistics."),
                      default=0.1, minimum=0.0, maximum=1.0),
            ParamSpec("affine", "bool", N_("Learn a scale γ and shift β per channel (off by default)."),
                      default=False),
            ParamSpec("track_running_stats", "bool", N_("Keep running mean/variance for evaluation "
                                                        "(off by default: each image uses its own)."),
                      default=False),
        ),
    ),
    LayerSpec(
        "LocalResponseNorm", "Normalization",
        N_("Divides each value by the activity of neighbouring channels (AlexNet's lateral inhibition)."),
        "b_c = a_c / (k + α/n·Σ a²)^β over n neighbouring channels",
        (
            ParamSpec("size", "int", N_("Number of neighbouring channels n."), required=True, initial=5, minimum=1),
            ParamSpec("alpha", "float", N_("Scale α."), default=1e-4),
            ParamSpec("beta", "float", N_("Exponent β."), default=0.75),
            ParamSpec("k", "float", N_("Additive constant k."), default=1.0),
        ),
        key_params=("size",),
    ),
    LayerSpec("ReLU", "Activation", N_("max(0, x): keeps positive values, zeroes the rest."), "y = max(0, x)"),
    LayerSpec("ReLU6", "Activation", N_("ReLU capped at 6 (MobileNet)."), "y = min(max(0, x), 6)"),
    LayerSpec(
        "LeakyReLU", "Activation", N_("Like ReLU but lets a small slope through for negative values."),
        "y = x if x > 0 else slope·x",
        (ParamSpec("negative_slope", "float", N_("Slope for negative inputs."), default=0.01),),
        key_params=("negative_slope",),
    ),
    LayerSpec(
        "GELU", "Activation", N_("Smooth ReLU: x weighted by the Gaussian probability of x."), "y = x·Φ(x)",
        (ParamSpec("approximate", "choice", N_("Exact (erf) or tanh approximation."), default="none",
                   choices=("none", "tanh")),),
    ),
    LayerSpec("SiLU", "Activation", N_("x·sigmoid(x) (swish): smooth and non-monotonic."), "y = x·σ(x)"),
    LayerSpec("Hardswish", "Activation", N_("x·ReLU6(x + 3)/6: a cheap swish (MobileNetV3)."),
              "y = x·min(max(x + 3, 0), 6) / 6"),
    LayerSpec("Hardsigmoid", "Activation", N_("A piecewise-linear sigmoid (MobileNetV3's squeeze-and-excitation "
                                             "gate)."), "y = min(max(x/6 + 1/2, 0), 1)"),
    LayerSpec(
        "PReLU", "Activation", N_("LeakyReLU whose negative slope is learned (one for all channels, or one "
                                  "per channel)."),
        "y = x if x > 0 else a·x;  params = num_parameters",
        (
            ParamSpec("num_parameters", "int", N_("Learned slopes: 1 (shared) or the number of channels."),
                      default=1, minimum=1, maximum=65536),
            ParamSpec("init", "float", N_("Starting value of the slopes."), default=0.25),
        ),
        key_params=("num_parameters",),
    ),
    LayerSpec(
        "ELU", "Activation", N_("Exponential linear unit: smooth below zero, saturating at −α."),
        "y = x if x > 0 else α·(e^x − 1)",
        (ParamSpec("alpha", "float", N_("The value α negative inputs approach."), default=1.0),),
        key_params=("alpha",),
    ),
    LayerSpec("Mish", "Activation", N_("x·tanh(softplus(x)): smooth and non-monotonic."), "y = x·tanh(ln(1 + e^x))"),
    LayerSpec("Sigmoid", "Activation", N_("Squashes values into (0, 1)."), "y = 1 / (1 + e^(−x))"),
    LayerSpec("Tanh", "Activation", N_("Squashes values into (−1, 1)."), "y = tanh(x)"),
    LayerSpec(
        "Softmax", "Activation", N_("Turns scores into probabilities that sum to 1 along one dimension."),
        "y_i = e^(x_i) / Σ_j e^(x_j)",
        # PyTorch's default dim=None guesses (and warns); convviz asks for the class dimension.
        (ParamSpec("dim", "int", N_("Dimension to normalise over (1: classes or channels)."), default=1,
                   minimum=-4, maximum=3),),
        key_params=("dim",),
    ),
    LayerSpec(
        "Dropout", "Regularization", N_("Zeroes random elements during training (and rescales the rest): "
        "less co-adaptation, less overfitting."), "y = x·m / (1 − p),  m ~ Bernoulli(1 − p)",
        (_DROP_P,), key_params=("p",),
    ),
    LayerSpec(
        "Dropout2d", "Regularization", N_("Zeroes whole random channels during training."),
        "y_c = x_c·m_c / (1 − p)", (_DROP_P,), key_params=("p",),
    ),
    LayerSpec(
        "ZeroPad2d", "Resize", N_("Adds rows and columns of zeros around the map (left, right, top, bottom)."),
        "H_out = top + H + bottom,  W_out = left + W + right",
        (ParamSpec("padding", "pad4", N_("Zeros on each side: one number for all four, or [left, right, top, "
                                         "bottom] (PyTorch's order)."), required=True, initial=1, minimum=0),),
        key_params=("padding",),
    ),
    LayerSpec(
        "Upsample", "Resize", N_("Enlarges the map by interpolation: nearest copies pixels, bilinear blends "
                                 "the nearest 2×2 (decoders, U-Net, FPN)."),
        "H_out = ⌊H·scale_factor⌋ (or size)",
        (
            _size("size", N_("Output height and width (leave empty to use scale_factor)."), kind="optional_size"),
            ParamSpec("scale_factor", "scale", N_("Multiplier of height and width (leave empty to use size)."),
                      initial=2.0, minimum=0.0, exclusive_minimum=True),
            ParamSpec("mode", "choice", N_("How new pixels are computed."), default="nearest",
                      choices=("nearest", "nearest-exact", "bilinear", "bicubic")),
            ParamSpec("align_corners", "bool", N_("Bilinear and bicubic: align the corner pixels' centres of input "
                                                  "and output (off: align their outer edges, as PyTorch's default)."),
                      default=False),
        ),
        key_params=("scale_factor", "size", "mode"),
    ),
    LayerSpec(
        "Flatten", "Reshape", N_("Unrolls a C×H×W map into one vector of C·H·W features for Linear layers."),
        "features = C·H·W",
        (
            ParamSpec("start_dim", "int", N_("First dimension to flatten (1: the first after the batch)."), default=1,
                      minimum=-3, maximum=3),
            ParamSpec("end_dim", "int", N_("Last dimension to flatten (−1: the last)."), default=-1,
                      minimum=-3, maximum=3),
        ),
    ),
    LayerSpec(
        "Unflatten", "Reshape",
        N_("Folds a vector of features back into a map: C·H·W features become C×H×W (a squeeze-and-excitation "
           "gate's C scores become a C×1×1 map that scales each channel)."),
        "C×H×W = unflattened_size, C·H·W = features",
        (
            ParamSpec("unflattened_size", "int_list", N_("The map's shape (C, H, W), or (C,): its sizes must multiply "
                                                         "to the number of features."), required=True,
                      initial=(1, 1, 1), minimum=1),
        ),
        key_params=("unflattened_size",),
    ),
    LayerSpec(
        "Linear", "Dense", N_("Fully connected: every output is a weighted sum of every input feature."),
        "y = W·x + b;  params = (in + 1)·out",
        (
            ParamSpec("out_features", "int", N_("Number of outputs (classes for the last layer)."), required=True,
                      initial=10, minimum=1, maximum=1 << 20),
            ParamSpec("bias", "bool", N_("Add a learned bias per output."), default=True),
        ),
        key_params=("out_features",),
    ),
    LayerSpec(
        "ChannelShuffle", "Reshape", N_("Interleaves the channels of its groups (ShuffleNet), so the next grouped "
                                        "conv mixes information across groups."),
        "channel i·(C/g) + j → j·g + i",
        (ParamSpec("groups", "int", N_("Number of groups whose channels are interleaved (it must divide the "
                                       "channels)."), required=True, initial=2, minimum=1, maximum=65536),),
        key_params=("groups",),
    ),
    LayerSpec(
        "Split", "Reshape",
        N_("Splits the channels into parts, each its own output (ShuffleNet's two halves, a grouped branch): "
           "torch.chunk, or torch.split with sizes."),
        "C = C₀ + C₁ + …",
        (
            ParamSpec("chunks", "int", N_("Number of equal parts (they must divide the channels)."), default=2,
                      minimum=1, maximum=64),
            ParamSpec("sizes", "int_list", N_("The channels of each part, in order (empty: equal chunks); they must "
                                              "add up to the input's channels."), minimum=1),
        ),
        key_params=("chunks", "sizes"),
        outputs=lambda p: len(p["sizes"]) if p["sizes"] else p["chunks"],
    ),
    LayerSpec(
        "Placeholder", "Reshape",
        N_("Stands where an imported operation has no convviz layer: an error until it is replaced by layers "
           "that compute the same (the import never guesses another function)."),
        params=(
            ParamSpec("stands_for", "text", N_("The operation of the imported module it stands for."), default=""),
            ParamSpec("reason", "text", N_("Why it could not be imported."), default=""),
        ),
        min_inputs=0, max_inputs=None, in_palette=False,
    ),
    LayerSpec("Identity", "Reshape", N_("Passes its input through unchanged (a placeholder)."), "y = x"),
    LayerSpec(
        "Add", "Merge", N_("Element-wise sum of its inputs (residual shortcuts); all shapes must match."),
        "y = x₁ + x₂ + …", min_inputs=2, max_inputs=None,
    ),
    LayerSpec(
        "Multiply", "Merge", N_("Element-wise product of its inputs, broadcasting sizes of 1 (a C×1×1 gate scales "
                                "every channel of a C×H×W map: squeeze-and-excitation)."),
        "y = x₁ · x₂ · …", min_inputs=2, max_inputs=None,
    ),
    LayerSpec(
        "Concat", "Merge", N_("Stacks its inputs along channels, in input order (inception blocks); "
        "H×W must match."), "C_out = C₁ + C₂ + …", min_inputs=2, max_inputs=None,
    ),
)

CATALOG: dict[str, LayerSpec] = {spec.type: spec for spec in _SPECS}


def layer_spec(type_name: str) -> LayerSpec:
    """The spec of ``type_name``; KeyError names the known types."""
    try:
        return CATALOG[type_name]
    except KeyError:
        raise KeyError(tr("unknown layer type {type}; known types: {types}").format(
            type=repr(type_name), types=", ".join(CATALOG))) from None


def types_in_family(family: str) -> list[LayerSpec]:
    return [spec for spec in _SPECS if spec.family == family]
