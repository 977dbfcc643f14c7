"""Every dataset reader on files written here in the real formats, and the clear errors for bad ones."""

from __future__ import annotations

import gzip
import io
import pickle
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convviz.data import (CIFAR10_CLASSES, FASHION_CLASSES, MNIST_CLASSES, DatasetError, DownloadError, FileImages,
                          TensorImages, download_dataset, load_dataset, make_batches)
from convviz.data import download as download_module
from convviz.train import DataSpec
from dataset_files import (cifar_batch, idx_bytes, write_cifar_archive, write_cifar_folder, write_image_folder,
                           write_mnist)


# --- MNIST / Fashion-MNIST ----------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_plain_and_gz(tmp_path, gz):
    arrays = write_mnist(tmp_path, train=30, test=12, gz=gz)
    data = load_dataset(DataSpec.parse(f"mnist:{tmp_path}"), (1, 32, 32))
    assert data.classes == MNIST_CLASSES and data.val_is_test
    assert data.train.images.shape == (30, 1, 28, 28) and data.val.images.shape == (12, 1, 28, 28)
    assert np.array_equal(data.train.images[:, 0].numpy(), arrays["train-images"])
    assert np.array_equal(data.val.labels.numpy(), arrays["t10k-labels"])
    assert data.sample_images(4).shape == (4, 1, 32, 32)  # fitted to the design on the way out


def test_fashion_in_torchvisions_layout_fitted_to_rgb(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw", gz=True)
    data = load_dataset(DataSpec.parse(f"fashion:{tmp_path}"), (3, 16, 16))
    assert data.classes == FASHION_CLASSES and data.name == "Fashion-MNIST"
    samples = data.sample_images(3)
    assert samples.shape == (3, 3, 16, 16)
    assert np.array_equal(samples[:, 0], samples[:, 2])  # grey copied into every channel


@pytest.mark.parametrize("damage, fragment", [
    (lambda b: b"\x08\x03" + b[2:], "not an idx file"),
    (lambda b: b[:-100], "truncated"),
    (lambda b: b[:6], "truncated inside its header"),
    (lambda b: b[:2] + b"\x0d" + b[3:], "expected unsigned bytes"),
])
def test_corrupt_idx_names_the_file(tmp_path, damage, fragment):
    write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError, match=fragment) as info:
        load_dataset(DataSpec.parse(f"mnist:{tmp_path}"), (1, 28, 28))
    assert "train-images-idx3-ubyte" in str(info.value) and "\n" not in str(info.value)


def test_corrupt_gzip_and_mismatched_labels(tmp_path):
    write_mnist(tmp_path, gz=True)
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:40])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: not a complete gzip file"):
        load_dataset(DataSpec.parse(f"mnist:{tmp_path}"), (1, 28, 28))
    write_mnist(tmp_path, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(7, np.uint8))))
    with pytest.raises(DatasetError, match="7 labels for 40 images"):
        load_dataset(DataSpec.parse(f"mnist:{tmp_path}"), (1, 28, 28))


def test_missing_mnist_files(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(DataSpec.parse(f"mnist:{tmp_path / 'nowhere'}"), (1, 28, 28))
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="no MNIST file t10k-labels-idx1-ubyte"):
        load_dataset(DataSpec.parse(f"mnist:{tmp_path}"), (1, 28, 28))


# --- CIFAR-10 -----------------------------------------------------------------------------------
def test_cifar_batches_folder(tmp_path):
    write_cifar_folder(tmp_path, per_batch=6)
    data = load_dataset(DataSpec.parse(f"cifar10:{tmp_path}"), (3, 32, 32))
    assert data.classes == CIFAR10_CLASSES
    assert data.train.images.shape == (30, 3, 32, 32) and len(data.val) == 6
    _, first, labels = cifar_batch(6, seed=0)
    assert np.array_equal(data.train.images[:6].reshape(6, -1).numpy(), first)
    assert data.train.labels[:6].tolist() == labels


def test_cifar_archive_equals_the_folder(tmp_path):
    archive = write_cifar_archive(tmp_path / "cifar-10-python.tar.gz")
    write_cifar_folder(tmp_path / "unpacked")
    from_archive = load_dataset(DataSpec("cifar10", str(archive)), (1, 24, 24))
    from_parent = load_dataset(DataSpec("cifar10", str(tmp_path)), (1, 24, 24))  # finds the archive inside
    from_folder = load_dataset(DataSpec("cifar10", str(tmp_path / "unpacked")), (1, 24, 24))
    for other in (from_parent, from_folder):
        assert torch.equal(from_archive.train.images, other.train.images)
        assert torch.equal(from_archive.val.labels, other.val.labels)
    assert from_archive.sample_images(2).shape == (2, 1, 24, 24)


def test_cifar_refuses_a_pickle_that_would_run_code(tmp_path):
    batches = write_cifar_folder(tmp_path)

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    (batches / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(DatasetError, match=r"data_batch_3: refused .*builtins\.print"):
        load_dataset(DataSpec("cifar10", str(tmp_path)), (3, 32, 32))


@pytest.mark.parametrize("change, fragment", [
    (lambda d: (d / "test_batch").unlink(), "the batch test_batch is missing"),
    (lambda d: (d / "data_batch_2").write_bytes(b"\x80\x02garbage"), "data_batch_2: refused or corrupt pickle"),
    (lambda d: (d / "data_batch_1").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8),
                                                              b"labels": [0, 1]})), "uint8 N×3072"),
])
def test_damaged_cifar_folder(tmp_path, change, fragment):
    change(write_cifar_folder(tmp_path))
    with pytest.raises(DatasetError, match=fragment):
        load_dataset(DataSpec("cifar10", str(tmp_path)), (3, 32, 32))


def test_damaged_cifar_archive(tmp_path):
    archive = write_cifar_archive(tmp_path / "c.tar.gz")
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(DatasetError, match=r"c\.tar\.gz: not a readable CIFAR-10 archive"):
        load_dataset(DataSpec("cifar10", str(archive)), (3, 32, 32))


# --- image folders -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 20, 20), (3, 8, 12)])
def test_image_folder_of_mixed_modes_sizes_and_formats(tmp_path, shape):
    written = write_image_folder(tmp_path)
    count = sum(map(len, written.values()))
    data = load_dataset(DataSpec("folder", str(tmp_path)), shape, val_fraction=0.25, seed=1)
    assert data.classes == ["bright", "dark"] and not data.val_is_test
    assert isinstance(data.train, TensorImages)
    assert len(data.train) + len(data.val) == count and len(data.val) == round(0.25 * count)
    images = torch.cat([data.train.images, data.val.images])
    assert images.shape == (count, *shape) and images.dtype == torch.uint8
    labels = torch.cat([data.train.labels, data.val.labels])
    # each class holds its files' greys: 16-bit scaled, palette expanded, transparency on white, JPEG close
    for label, name in enumerate(data.classes):
        means = sorted(images[labels == label].float().mean((1, 2, 3)).tolist())
        assert means == pytest.approx(sorted(written[name].values()), abs=3), name


def test_image_folder_with_its_own_split(tmp_path):
    write_image_folder(tmp_path / "train")
    write_image_folder(tmp_path / "val")
    (tmp_path / "val" / "dark").rename(tmp_path / "val" / "zz_dark")
    with pytest.raises(DatasetError, match="zz_dark: a class the training folder does not have"):
        load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8))
    (tmp_path / "val" / "zz_dark").rename(tmp_path / "val" / "dark")
    data = load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8))
    assert data.val_is_test and len(data.train) == len(data.val) == 20


def test_large_folder_streams_with_the_same_images(tmp_path):
    write_image_folder(tmp_path)
    in_memory = load_dataset(DataSpec("folder", str(tmp_path)), (3, 10, 10), seed=2)
    streamed = load_dataset(DataSpec("folder", str(tmp_path)), (3, 10, 10), seed=2, memory_limit=100)
    assert isinstance(streamed.train, FileImages) and isinstance(in_memory.train, TensorImages)
    assert torch.equal(streamed.train.labels, in_memory.train.labels)
    batches = make_batches(streamed.train, 4, torch.device("cpu"), shuffle=False, workers=1)
    images = torch.cat([x for x, _ in batches])
    assert torch.equal(images, in_memory.train.images)
    for streamed_values, memory_values in zip(streamed.mean_std(), in_memory.mean_std()):  # (mean, std)
        assert streamed_values == pytest.approx(memory_values)


def test_unreadable_images_are_skipped_and_named_in_memory_and_streaming(tmp_path):
    write_image_folder(tmp_path)
    count = sum(1 for p in tmp_path.rglob("*") if p.is_file())
    (tmp_path / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = tmp_path / "bright" / next(p.name for p in (tmp_path / "bright").iterdir())
    jpeg = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(jpeg, "JPEG")
    (tmp_path / "bright" / "cut.jpg").write_bytes(jpeg.getvalue()[:len(jpeg.getvalue()) * 2 // 3])  # truncated
    data = load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8))
    assert len(data.train) + len(data.val) == count
    assert sorted(s.path for s in data.skipped) == [str(Path("bright", "cut.jpg")), str(Path("dark", "broken.png"))]
    assert data.skipped_note().startswith("skipped 2 unreadable files: ") and "\n" not in data.skipped_note()
    assert all("\n" not in s.reason for s in data.skipped)
    # streamed: the header check at load finds the file that is no image at all; the truncated JPEG's
    # header is intact, so its batch leaves it out when its pixels fail
    streamed = load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8), memory_limit=0, val_fraction=0.5)
    assert [s.path for s in streamed.skipped] == [str(Path("dark", "broken.png"))]
    seen = sum(len(labels) for split in (streamed.train, streamed.val)
               for _, labels in make_batches(split, 4, torch.device("cpu"), shuffle=False, workers=1))
    assert seen == count
    assert good.exists()


def test_a_folder_with_no_readable_image_fails_in_one_line(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"none of the 2 images can be read \(the first: .*x\.png") as info:
        load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8))
    assert "\n" not in str(info.value)


def test_folder_without_class_folders(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "loose.png")
    (tmp_path / "only").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "only" / "a.png")
    with pytest.raises(DatasetError, match="found 1 class folder"):
        load_dataset(DataSpec("folder", str(tmp_path)), (1, 8, 8))
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(DataSpec("folder", str(tmp_path / "missing")), (1, 8, 8))


# --- downloads (never from the internet here) ----------------------------------------------------
def test_download_offline_says_so(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError, match="are you offline") as info:
        download_dataset("mnist", tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_download_checks_md5_and_skips_intact_files(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_mnist(mirror, gz=True)
    files = [(p.name, __import__("hashlib").md5(p.read_bytes()).hexdigest()) for p in sorted(mirror.iterdir())]
    monkeypatch.setitem(download_module.SOURCES, "mnist", (mirror.as_uri() + "/", files))
    target = download_dataset("mnist", tmp_path / "data")
    assert load_dataset(DataSpec("mnist", str(target)), (1, 28, 28)).classes == MNIST_CLASSES
    # a damaged mirror file is refused, and the intact copy already there is kept, not fetched again
    (mirror / files[0][0]).write_bytes(b"damaged")
    download_dataset("mnist", target)
    (target / files[0][0]).unlink()
    with pytest.raises(DownloadError, match="the download is damaged"):
        download_dataset("mnist", target)
    assert not (target / files[0][0]).exists()
