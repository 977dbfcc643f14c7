"""Where and in what precision a run trains: "auto" takes CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ..i18n import tr
from .config import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """The device for a ``TrainConfig.device`` setting; a chosen device that is missing is a ``ConfigError``."""
    cuda, mps = torch.cuda.is_available(), _mps_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise ConfigError(tr("device cuda was chosen, but PyTorch sees no CUDA GPU here: choose auto or cpu"))
    if name == "mps" and not mps:
        raise ConfigError(tr("device mps was chosen, but Apple's MPS is not available here: choose auto or cpu"))
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(tr("unknown device {name}: choose auto, cpu, cuda or mps").format(name=repr(name)))
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


@dataclass(frozen=True)
class Precision:
    """Mixed precision as used: autocast's dtype (None: float32), and whether fp16 needs a GradScaler."""

    amp: str                       # "off", "bf16" or "fp16"
    dtype: torch.dtype | None
    note: str = ""                 # why a requested mode was not used

    def autocast(self, device: torch.device):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)

    def grad_scaler(self, device: torch.device) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(device.type) if self.amp == "fp16" else None


def resolve_precision(amp: str, device: torch.device) -> Precision:
    if amp == "off":
        return Precision("off", None)
    if device.type != "cuda":
        return Precision("off", None, tr("mixed precision ({amp}) is for CUDA GPUs: training in float32 on "
                                         "{device}").format(amp=amp, device=device.type))
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        return Precision("fp16", torch.float16, tr("this GPU has no bfloat16: using fp16 with a gradient scaler"))
    return Precision(amp, torch.bfloat16 if amp == "bf16" else torch.float16)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
