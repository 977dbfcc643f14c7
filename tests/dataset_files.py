"""Write small datasets in the real on-disk formats (idx, CIFAR-10 batches, image folders) for the tests."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, train: int = 40, test: int = 20, gz: bool = False, seed: int = 0) -> dict:
    """The four idx files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) % 10
        for kind, array, dims in (("images", images, 3), ("labels", labels, 1)):
            name = f"{split}-{kind}-idx{dims}-ubyte"
            data = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
            arrays[f"{split}-{kind}"] = array
    return arrays


def cifar_batch(count: int, seed: int, protocol: int = 2) -> tuple[bytes, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    labels = [int(i % 10) for i in range(count)]
    return pickle.dumps({b"batch_label": b"test", b"labels": labels, b"data": data}, protocol=protocol), data, labels


CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def cifar_files(per_batch: int = 6) -> dict[str, bytes]:
    files = {name: cifar_batch(per_batch, seed=i)[0] for i, name in enumerate(CIFAR_NAMES)}
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                  "truck")]
    files["batches.meta"] = pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2)
    return files


def write_cifar_folder(folder: Path, per_batch: int = 6) -> Path:
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name, data in cifar_files(per_batch).items():
        (batches / name).write_bytes(data)
    return batches


def write_cifar_archive(path: Path, per_batch: int = 6) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in cifar_files(per_batch).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_image_folder(root: Path, repeat: int = 1) -> dict[str, dict[Path, int]]:
    """Two classes, "bright" (grey 230) and "dark" (grey 20), each with ``repeat`` images in every mode, size
    and format below; returns each file's expected grey level once decoded."""
    same = lambda v: v  # noqa: E731
    makers = [  # suffix, the image for grey v, the grey it should decode to
        ("png", lambda v: Image.new("L", (20, 30), v), same),
        ("png", lambda v: Image.new("RGBA", (40, 40), (v, v, v, 255)), same),
        ("png", lambda v: Image.new("RGBA", (40, 40), (v, v, v, 0)), lambda v: 255),  # transparent: on white
        ("png", lambda v: Image.new("RGB", (64, 16), (v, v, v)).convert("P", palette=Image.Palette.ADAPTIVE), same),
        ("png", lambda v: Image.fromarray(np.full((12, 12), v * 257, dtype=np.uint16)), same),  # 16-bit grey
        ("png", lambda v: Image.new("LA", (8, 8), (v, 255)), same),
        ("jpg", lambda v: Image.new("RGB", (50, 37), (v, v, v)), same),
        ("jpeg", lambda v: Image.new("L", (33, 33), v), same),
        ("bmp", lambda v: Image.new("RGB", (16, 48), (v, v, v)), same),
        ("bmp", lambda v: Image.new("1", (24, 24), int(v > 127)), lambda v: 255 if v > 127 else 0),  # 1-bit
    ]
    written: dict[str, dict[Path, int]] = {}
    for name, value in (("bright", 230), ("dark", 20)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        written[name] = {}
        for i, (suffix, make, expected) in enumerate(makers * repeat):
            path = folder / f"{name}_{i}.{suffix.upper() if i % 2 else suffix}"
            make(value).save(path)
            written[name][path] = expected(value)
    return written
