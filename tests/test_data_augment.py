"""Augmentation: shapes and labels kept, images really changed, the same under the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convviz.data import DeviceBatches, Preprocess, TensorImages, augment, make_shapes, preview_augmentation
from convviz.train import AugmentConfig

CONFIGS = {
    "rotation": AugmentConfig(rotation=20),
    "shear": AugmentConfig(shear=15),
    "elastic": AugmentConfig(elastic=1.5),
    "mirror": AugmentConfig(mirror=True),
    "crop": AugmentConfig(crop_padding=3),
    "color": AugmentConfig(color_shift=0.4),
    "all": AugmentConfig(rotation=10, shear=5, elastic=1, mirror=True, crop_padding=2, color_shift=0.2),
}


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    return make_shapes(24, channels=3, height=28, width=36, seed=5)[0].numpy()


@pytest.mark.parametrize("name", CONFIGS)
def test_shape_kept_images_changed_seed_reproduces(samples, name):
    config = CONFIGS[name]
    out = preview_augmentation(samples, config, seed=1)
    assert out.shape == samples.shape and out.dtype == np.uint8
    changed = (out != samples).reshape(len(samples), -1).any(1)
    assert changed.mean() >= 0.4  # mirror leaves about half as they were
    assert np.array_equal(out, preview_augmentation(samples, config, seed=1))
    assert not np.array_equal(out, preview_augmentation(samples, config, seed=2))


@pytest.mark.parametrize("name, tolerance", [("rotation", 1), ("shear", 1), ("elastic", 1), ("crop", 0),
                                             ("mirror", 0), ("color", 72), ("all", 72)])
def test_each_image_stays_with_its_label(name, tolerance):
    """Solid images of 24 different greys: after augmenting, image i's centre still has grey i (colour shift
    moves it by at most 0.7 · 0.4 · 255), so the batch order, and with it the labels, hold."""
    values = np.arange(10, 250, 10, dtype=np.uint8)
    images = np.broadcast_to(values.reshape(-1, 1, 1, 1), (24, 3, 20, 20)).copy()
    out = preview_augmentation(images, CONFIGS[name], seed=0)
    centre = out[:, :, 10, 10].astype(int)
    assert (np.abs(centre - values.reshape(-1, 1)) <= tolerance).all()


def test_crop_with_padding_is_a_whole_pixel_shift_with_black_fill(samples):
    out = preview_augmentation(samples, AugmentConfig(crop_padding=3), seed=4)
    shifts = set()
    for original, shifted in zip(samples, out, strict=True):
        match = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if np.array_equal(_shift(original, dy, dx),
                                                                                        shifted)]
        assert match, "not a shift of at most 3 pixels"
        shifts.add(match[0])
    assert len(shifts) > 5


def test_mirror_flips_some_and_keeps_the_others(samples):
    out = preview_augmentation(samples, AugmentConfig(mirror=True), seed=0)
    flipped = [np.array_equal(o, s[..., ::-1]) for o, s in zip(out, samples, strict=True)]
    kept = [np.array_equal(o, s) for o, s in zip(out, samples, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 4 < sum(flipped) < 20


def test_grey_previews_take_n_h_w_arrays():
    grey = make_shapes(5, seed=0)[0][:, 0].numpy()
    out = preview_augmentation(grey, AugmentConfig(rotation=30), seed=0)
    assert out.shape == grey.shape and not np.array_equal(out, grey)
    assert np.array_equal(preview_augmentation(grey, AugmentConfig(), seed=0), grey)


def test_augment_uses_only_its_generator():
    x = torch.rand(8, 1, 16, 16)
    torch.manual_seed(0)
    first = augment(x, CONFIGS["all"], torch.Generator().manual_seed(9))
    torch.manual_seed(1)  # the global random state must not matter
    assert torch.equal(first, augment(x, CONFIGS["all"], torch.Generator().manual_seed(9)))


def test_device_batches_keep_images_and_labels_together():
    labels = torch.arange(50) % 7
    images = labels.view(-1, 1, 1, 1).expand(50, 1, 4, 4).to(torch.uint8).clone()
    batches = DeviceBatches(TensorImages(images, labels), 8, torch.device("cpu"), shuffle=True,
                            generator=torch.Generator().manual_seed(0))
    seen = []
    assert len(batches) == 6  # the ragged last batch is dropped while training
    for x, y in batches:
        assert torch.equal(x[:, 0, 0, 0].long(), y)
        seen.append(y)
    assert not torch.equal(torch.cat(seen), labels[:48])  # shuffled


def test_preprocess_normalises_fits_and_augments_only_training_batches():
    images = torch.randint(0, 256, (6, 1, 20, 20), dtype=torch.uint8)
    plain = Preprocess((1, 20, 20), [0.5], [0.25], torch.device("cpu"))
    assert torch.allclose(plain(images, train=True), (images.float() / 255 - 0.5) / 0.25, atol=1e-5)
    fitted = Preprocess((3, 10, 10), [0.5] * 3, [0.25] * 3, torch.device("cpu"), CONFIGS["rotation"], seed=0)
    val = fitted(images, train=False)
    assert val.shape == (6, 3, 10, 10)
    assert torch.equal(val, fitted(images, train=False))
    assert not torch.allclose(fitted(images, train=True), val)


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` (C×H×W) moved so that output (y, x) shows input (y + dy, x + dx); black outside."""
    _, h, w = image.shape
    out = np.zeros_like(image)
    ys, xs = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
    out[:, ys, xs] = image[:, max(0, dy):min(h, h + dy), max(0, dx):min(w, w + dx)]
    return out
