"""Training settings as plain data: what the app's form edits, the CLI parses, checkpoints record,
and exported torchrun scripts replay. No torch here, so the UI can edit it before torch loads."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..i18n import N_, tr

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")
DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("off", "bf16", "fp16")
DATA_KINDS = ("synthetic", "mnist", "fashion", "cifar10", "folder")


#: The built-in data's name, as run records and checkpoints keep it (English); ``dataset_title`` shows it.
SYNTHETIC_NAME = N_("synthetic shapes")


def dataset_title(name: str) -> str:
    """A dataset's name as the user reads it: the built-in shapes' in the user's language; any other
    (MNIST, a folder's name) as it is."""
    return tr(name) if name == SYNTHETIC_NAME else name


class ConfigError(ValueError):
    """A setting that cannot be used, named with the reason."""


@dataclass(frozen=True)
class DataSpec:
    """Where the images come from: ``synthetic``, ``mnist:DIR``, ``fashion:DIR``, ``cifar10:DIR`` or ``folder:DIR``."""

    kind: str = "synthetic"
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> DataSpec:
        kind, _, path = text.partition(":")
        kind = kind.strip().lower()
        if kind not in DATA_KINDS:
            raise ConfigError(tr("unknown data source {text}: use synthetic, mnist:DIR, fashion:DIR, cifar10:DIR "
                                 "or folder:DIR").format(text=repr(text)))
        if kind == "synthetic":
            if path:
                raise ConfigError(tr("the synthetic dataset takes no folder"))
            return cls("synthetic", "")
        if not path:
            raise ConfigError(tr("{kind} needs a folder: {kind}:DIR").format(kind=kind))
        return cls(kind, path)

    def __str__(self) -> str:
        return self.kind if self.kind == "synthetic" else f"{self.kind}:{self.path}"


@dataclass(frozen=True)
class AugmentConfig:
    """Random changes applied to each training batch on the training device (never to validation).

    0 / False switches an augmentation off. Angles are maximum magnitudes in degrees.
    """

    rotation: float = 0.0       # rotate by U(−r, r) degrees
    shear: float = 0.0          # shear by U(−s, s) degrees
    elastic: float = 0.0        # local warping: displacement strength in pixels
    mirror: bool = False        # flip left–right with probability 1/2
    crop_padding: int = 0       # pad by p pixels, then crop back at a random offset
    color_shift: float = 0.0    # brightness/contrast (and, for RGB, per-channel) jitter strength, 0…1

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.rotation <= 180, N_("rotation must be between 0 and 180 degrees")),
            (0 <= self.shear < 90, N_("shear must be at least 0 and below 90 degrees")),
            (0 <= self.elastic < math.inf, N_("elastic warping must be a number of pixels, at least 0")),
            (self.crop_padding >= 0 and float(self.crop_padding).is_integer(),
             N_("crop padding must be a whole number of pixels, at least 0")),
            (0 <= self.color_shift <= 1, N_("colour shift must be between 0 and 1")),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(tr(message))

    @property
    def enabled(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @classmethod
    def parse(cls, text: str) -> AugmentConfig:
        """"rotation=15,mirror,crop=4" → AugmentConfig (the CLI's ``--augment``); "" or "none" → all off."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            if item.lower() == "none":
                continue
            name, has_value, value = (p.strip() for p in item.partition("="))
            key = _AUGMENT_NAMES.get(name.lower().replace("-", "_"))
            if key is None:
                raise ConfigError(tr("unknown augmentation {name}: use {choices}").format(
                    name=repr(name), choices=", ".join(_AUGMENT_EXAMPLES.values())))
            if key == "mirror":
                if value.lower() not in _SWITCH:
                    raise ConfigError(tr("mirror takes no value (or on/off), got {value}").format(value=repr(value)))
                values[key] = _SWITCH[value.lower()]
                continue
            if not has_value:
                raise ConfigError(tr("{name} needs a value, as in {example}").format(
                    name=name, example=_AUGMENT_EXAMPLES[key]))
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(tr("{name}={value}: not a number").format(name=name, value=repr(value))) from None
            values[key] = int(number) if key == "crop_padding" and number.is_integer() else number
        return cls(**values)


_AUGMENT_NAMES = {"rotation": "rotation", "shear": "shear", "elastic": "elastic", "warp": "elastic",
                  "mirror": "mirror", "flip": "mirror", "crop": "crop_padding", "crop_padding": "crop_padding",
                  "color": "color_shift", "colour": "color_shift", "color_shift": "color_shift"}
_SWITCH = {"": True, "on": True, "1": True, "true": True, "yes": True, "off": False, "0": False, "false": False,
           "no": False}
_AUGMENT_EXAMPLES = {"rotation": "rotation=15", "shear": "shear=10", "elastic": "elastic=2", "mirror": "mirror",
                     "crop_padding": "crop=4", "color_shift": "color=0.2"}


@dataclass(frozen=True)
class TrainConfig:
    data: DataSpec = field(default_factory=DataSpec)
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 3e-3
    momentum: float = 0.9           # SGD only
    weight_decay: float = 0.0
    schedule: str = "onecycle"      # warm up to lr, then anneal: reliable in few epochs
    step_size: int = 10             # "step": epochs between decays
    gamma: float = 0.1              # "step": decay factor
    device: str = "auto"
    amp: str = "off"                # mixed precision on CUDA
    compile: bool = False           # torch.compile the model
    seed: int = 0
    val_fraction: float = 0.1       # used when the dataset has no test split of its own
    normalize: bool = True          # subtract the training set's mean, divide by its std
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    #: Train on only this many of the training images (0: all), drawn with the seed, classes balanced:
    #: a small set overfits on purpose, so dropout, batch norm, weight decay and augmentation show.
    train_images: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, N_("epochs must be at least 1"), ()),
            (self.batch_size >= 1, N_("batch size must be at least 1"), ()),
            (self.optimizer in OPTIMIZERS, N_("optimizer must be one of {choices}"), OPTIMIZERS),
            (self.lr > 0, N_("the learning rate must be positive"), ()),
            (self.weight_decay >= 0, N_("weight decay cannot be negative"), ()),
            (self.schedule in SCHEDULES, N_("schedule must be one of {choices}"), SCHEDULES),
            (self.device in DEVICES, N_("device must be one of {choices}"), DEVICES),
            (self.amp in AMP_MODES, N_("mixed precision must be one of {choices}"), AMP_MODES),
            (0 < self.val_fraction < 1, N_("the validation fraction must be between 0 and 1"), ()),
            (self.step_size >= 1, N_("the step schedule's step size must be at least 1 epoch"), ()),
            (self.train_images >= 0, N_("the number of training images cannot be negative (0 uses them all)"), ()),
        ]
        for ok, message, choices in checks:
            if not ok:
                raise ConfigError(tr(message).format(choices=", ".join(choices)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (checkpoints store this; ``torch.load(weights_only=True)`` reads it)."""
        data = asdict(self)
        data["data"] = str(self.data)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Settings as ``to_dict`` wrote them (a checkpoint's, a pasted JSON's); anything malformed is a
        ``ConfigError`` naming it, whatever its type."""
        if not isinstance(data, dict):
            raise ConfigError(tr("training settings must be a JSON object, not {type}").format(type=type(data).__name__))
        known = {f.name for f in fields(cls)}
        unknown = set(map(str, data)) - known
        if unknown:
            raise ConfigError(tr("unknown training setting {name}").format(name=repr(sorted(unknown)[0])))
        values = dict(data)
        try:
            if "data" in values:
                values["data"] = DataSpec.parse(values["data"])
            if "augment" in values:
                values["augment"] = AugmentConfig(**values["augment"])
            return cls(**values)
        except ConfigError:
            raise
        except (TypeError, AttributeError, ValueError) as exc:
            raise ConfigError(tr("malformed training settings ({error})").format(
                error=f"{type(exc).__name__}: {str(exc)[:120]}")) from None
