"""The built-in shapes dataset: the default template's classes, balanced, reproducible, any input size."""

from __future__ import annotations

import torch

from convviz.data import SHAPE_CLASSES, load_dataset, make_shapes
from convviz.design import load_template
from convviz.train import DataSpec


def test_classes_are_the_default_templates():
    assert list(SHAPE_CLASSES) == load_template("default").classes
    assert len(SHAPE_CLASSES) == 10 and SHAPE_CLASSES[4:6] == ("circle", "disk")


def test_same_seed_same_images_other_seed_other_images():
    a_images, a_labels = make_shapes(300, seed=3)
    b_images, b_labels = make_shapes(300, seed=3)
    c_images, _ = make_shapes(300, seed=4)
    assert torch.equal(a_images, b_images) and torch.equal(a_labels, b_labels)
    assert not torch.equal(a_images, c_images)
    assert a_images.dtype == torch.uint8 and a_images.shape == (300, 1, 32, 32)
    assert torch.bincount(a_labels).tolist() == [30] * 10


def test_sizes_and_channels_follow_the_request():
    images, _ = make_shapes(20, channels=3, height=24, width=40, seed=0)
    assert images.shape == (20, 3, 24, 40)
    assert (images[:, 0] != images[:, 1]).any()  # colour, not grey copied three times


def test_shapes_differ_by_class_in_the_way_their_names_say():
    """Mean images per class: a vertical bar's ink is tall, a horizontal one's wide; a disk has ink where
    a circle has a hole."""
    images, labels = make_shapes(2000, height=33, width=33, seed=1)

    def mean_ink(k: int) -> torch.Tensor:
        x = images[labels == k].float()
        return (x - x.amin(dim=(2, 3), keepdim=True)).mean(0)[0]

    vertical, horizontal = mean_ink(0), mean_ink(1)
    assert _extent(vertical, dim=1) < _extent(vertical, dim=0)        # taller than wide
    assert _extent(horizontal, dim=0) < _extent(horizontal, dim=1)    # wider than tall
    circle_hole = _centre_ink(images[labels == 4])
    disk_centre = _centre_ink(images[labels == 5])
    assert disk_centre > circle_hole + 30


def _extent(mean_image: torch.Tensor, dim: int) -> float:
    """Standard deviation of the ink's position along ``dim`` (0: rows, 1: columns)."""
    profile = mean_image.sum(dim=1 - dim)
    pos = torch.arange(len(profile), dtype=torch.float32)
    centre = (profile * pos).sum() / profile.sum()
    return float(((profile * (pos - centre) ** 2).sum() / profile.sum()).sqrt())


def _centre_ink(images: torch.Tensor) -> float:
    """Mean brightness, above the background (darkest decile), at each image's ink centroid."""
    x = images[:, 0].float()
    x = x - x.flatten(1).quantile(0.1, dim=1).view(-1, 1, 1)
    ys, xs = torch.meshgrid(torch.arange(33.0), torch.arange(33.0), indexing="ij")
    weight = x.clamp(min=0)
    cy = ((weight * ys).sum((1, 2)) / weight.sum((1, 2))).round().long()
    cx = ((weight * xs).sum((1, 2)) / weight.sum((1, 2))).round().long()
    return float(x[torch.arange(len(x)), cy, cx].mean())


def test_load_dataset_splits_the_synthetic_set():
    data = load_dataset(DataSpec(), (1, 32, 32), val_fraction=0.2, synthetic_size=500, seed=0)
    assert (len(data.train), len(data.val)) == (400, 100)
    assert data.classes == list(SHAPE_CLASSES) and data.name == "synthetic shapes"
    mean, std = data.mean_std()
    assert 0.05 < mean[0] < 0.6 and 0.05 < std[0] < 0.5


def test_the_freed_memory_of_a_chunk_is_given_back_where_the_c_library_is_glibc():
    import platform
    import sys

    from convviz import sysmem

    given_back = sysmem.return_freed_memory()
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert given_back is True  # malloc_trim found and called
    else:
        assert given_back is False
