"""Augmentation of whole batches on the training device, reproducible under a ``torch.Generator``.

Rotation, shear, mirroring, random crop with padding and local (elastic) warping are one
resampling: the affine parts become one matrix per image for ``affine_grid``, the elastic field
(smooth random displacements, upsampled from a coarse grid) is added to that grid, and a single
``grid_sample`` draws the batch. Colour shift (contrast, brightness, per-channel tint) follows.
Images are floats in 0…1; areas moved in from outside the image are black, as with a padded crop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # data sits below train: only the type is needed here
    from ..train.config import AugmentConfig

_ELASTIC_CELL = 8  # pixels per cell of the coarse displacement grid: sets how local the warping is


def augment(x: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """A randomly changed copy of the float batch ``x`` (N×C×H×W, 0…1): same shape, same order."""
    if not config.enabled or len(x) == 0:
        return x
    if config.rotation or config.shear or config.mirror or config.crop_padding or config.elastic:
        x = _resample(x, config, generator)
    if config.color_shift:
        x = _color_shift(x, config.color_shift, generator)
    return x


def preview_augmentation(images: np.ndarray, config: AugmentConfig, seed: int = 0) -> np.ndarray:
    """What augmentation does to sample images: uint8 N×C×H×W (or N×H×W) in, the same shape out (CPU)."""
    x = torch.from_numpy(np.asarray(images, dtype=np.uint8))
    grey = x.ndim == 3
    x = (x.unsqueeze(1) if grey else x).float().div_(255)
    out = augment(x, config, torch.Generator().manual_seed(seed))
    out = out.mul(255).round_().clamp_(0, 255).to(torch.uint8)
    return (out.squeeze(1) if grey else out).numpy()


def _uniform(n: int, magnitude: float, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """U(−magnitude, magnitude), one per image."""
    return (torch.rand(n, device=x.device, generator=gen) * 2 - 1) * magnitude


def _resample(x: torch.Tensor, config: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    n, _, height, width = x.shape
    # The output → input map in pixel units about the centre: rotation · shear · mirror, then a shift.
    matrix = torch.eye(2, device=x.device).expand(n, 2, 2)
    if config.rotation:
        angle = torch.deg2rad(_uniform(n, config.rotation, x, gen))
        cos, sin = torch.cos(angle), torch.sin(angle)
        matrix = matrix @ torch.stack([cos, -sin, sin, cos], 1).view(n, 2, 2)
    if config.shear:
        shear = torch.tan(torch.deg2rad(_uniform(n, config.shear, x, gen)))
        one, zero = torch.ones_like(shear), torch.zeros_like(shear)
        matrix = matrix @ torch.stack([one, shear, zero, one], 1).view(n, 2, 2)
    if config.mirror:
        flip = torch.where(torch.rand(n, device=x.device, generator=gen) < 0.5, -1.0, 1.0)
        matrix = matrix * torch.stack([flip, torch.ones_like(flip)], 1).view(n, 1, 2)
    shift = torch.zeros(n, 2, device=x.device)
    if config.crop_padding:
        pad = int(config.crop_padding)
        shift = torch.randint(-pad, pad + 1, (n, 2), device=x.device, generator=gen).float()
    # To affine_grid's normalised coordinates (−1…1 across each side): scale = diag(W/2, H/2).
    half = torch.tensor([width / 2, height / 2], device=x.device)
    theta = torch.cat([matrix * half.view(1, 1, 2) / half.view(1, 2, 1), (shift / half).unsqueeze(2)], 2)
    grid = F.affine_grid(theta, [n, x.shape[1], height, width], align_corners=False)
    if config.elastic:
        grid = grid + _elastic_field(n, height, width, config.elastic, x, gen) / half
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _elastic_field(n: int, height: int, width: int, strength: float, x: torch.Tensor,
                   gen: torch.Generator) -> torch.Tensor:
    """Smooth random displacements in pixels (N×H×W×2): Gaussian noise on a coarse grid, upsampled."""
    coarse = (max(2, math.ceil(height / _ELASTIC_CELL)), max(2, math.ceil(width / _ELASTIC_CELL)))
    noise = torch.randn(n, 2, *coarse, device=x.device, generator=gen) * strength
    field = F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False)
    return field.permute(0, 2, 3, 1)


def _color_shift(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    n, channels = x.shape[:2]
    contrast = 1 + _uniform(n, strength, x, gen).view(n, 1, 1, 1)
    brightness = _uniform(n, 0.5 * strength, x, gen).view(n, 1, 1, 1)
    if channels > 1:
        tint = (torch.rand(n, channels, device=x.device, generator=gen) * 2 - 1) * 0.2 * strength
        brightness = brightness + tint.view(n, channels, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp_(0, 1)
