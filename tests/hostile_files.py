"""A corpus of hostile files, written by the tests themselves (nothing large is committed or written:
a "6 GiB" file is sparse, a bomb is a few megabytes that would inflate).

Each entry is ``Hostile(name, kind, path, accepted)``: ``kind`` says which readers take it (design,
image, checkpoint, mnist, cifar, folder); ``accepted`` marks the few that are legitimate but odd
(a NaN float TIFF; a design that reads but has errors, which File ▸ Open shows at their nodes):
they must work, not fail. ``accepted=None``: a random mutation, which may go either way.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import os
import random
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dataset_files import idx_bytes, write_image_folder

TEMPLATE = Path(__file__).resolve().parent.parent / "assets" / "templates" / "default.json"

#: (entry point, outcome) → how many: printed at the end of the session (conftest.pytest_terminal_summary).
TALLY: collections.Counter = collections.Counter()


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str
    path: Path
    accepted: bool = False


def _template() -> dict:
    return json.loads(TEMPLATE.read_text(encoding="utf-8"))


def _with(change) -> str:
    data = _template()
    change(data)
    return json.dumps(data)


def _node(data: dict, type_name: str) -> dict:
    return next(n for n in data["nodes"] if n["type"] == type_name)


def _sparse(path: Path, size: int = 6 << 30) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _fifo(path: Path) -> Path | None:
    if not hasattr(os, "mkfifo"):
        return None
    os.mkfifo(path)
    return path


def _specials(folder: Path, suffix: str, kind: str) -> list[Hostile]:
    """What every reader must refuse without reading: a pipe, a device, a sparse 6 GiB file, a folder,
    a link to nowhere, a link loop, an empty file."""
    found = [Hostile(f"{kind}: sparse 6 GiB", kind, _sparse(folder / f"sparse{suffix}"))]
    fifo = _fifo(folder / f"fifo{suffix}")
    if fifo is not None:
        found.append(Hostile(f"{kind}: FIFO", kind, fifo))
    if Path("/dev/zero").exists():
        found.append(Hostile(f"{kind}: /dev/zero", kind, Path("/dev/zero")))
    (folder / f"folder{suffix}").mkdir()
    found.append(Hostile(f"{kind}: a folder", kind, folder / f"folder{suffix}"))
    empty = folder / f"empty{suffix}"
    empty.write_bytes(b"")
    found.append(Hostile(f"{kind}: empty", kind, empty))
    try:
        (folder / f"dangling{suffix}").symlink_to(folder / "nowhere")
        (folder / f"loop_a{suffix}").symlink_to(folder / f"loop_b{suffix}")
        (folder / f"loop_b{suffix}").symlink_to(folder / f"loop_a{suffix}")
        found += [Hostile(f"{kind}: dangling link", kind, folder / f"dangling{suffix}"),
                  Hostile(f"{kind}: link loop", kind, folder / f"loop_a{suffix}")]
    except OSError:  # no symlinks here (Windows without the privilege)
        pass
    return found


# --- designs -------------------------------------------------------------------------------------

def design_files(folder: Path) -> list[Hostile]:
    folder.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.read_text(encoding="utf-8")
    entries: dict[str, str | bytes] = {
        "5,000-digit out_channels": text.replace('"out_channels": 16', '"out_channels": 1' + "0" * 5000, 1),
        "5,000-digit negative position": _with(lambda d: d["nodes"][1].update(pos=[0, 0])).replace(
            '"pos": [0, 0]', '"pos": [-' + "9" * 5000 + ", 0]"),
        "20-digit input height": text.replace('"height": 32', '"height": 12345678901234567890'),
        "+out_channels 10^10": _with(lambda d: _node(d, "Conv2d")["params"].update(out_channels=10 ** 10)),
        "+MaxPool2d kernel 10^9": _with(lambda d: _node(d, "MaxPool2d")["params"].update(kernel_size=10 ** 9)),
        "+MaxPool2d kernel 10^12": _with(lambda d: _node(d, "MaxPool2d")["params"].update(kernel_size=10 ** 12)),
        "NaN parameter": _with(lambda d: d["nodes"].insert(4, {"id": "leaky", "type": "LeakyReLU", "inputs": ["bn1"],
                                                                "params": {"negative_slope": float("nan")}})),
        "infinite position": _with(lambda d: d["nodes"][1].update(pos=[float("inf"), 0])),
        "1e400 position": text.replace('{"id": "input", "type": "Input"}',
                                       '{"id": "input", "type": "Input", "pos": [1e400, 0]}'),
        "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
        "not UTF-8": b'{"format": "convviz-design", "name": "\xff\xfe\xfa"}',
        "binary junk": bytes(random.Random(0).randrange(256) for _ in range(4096)),
        "a JSON list": "[1, 2, 3]",
        "future version": _with(lambda d: d.update(version=99)),
        "version true": _with(lambda d: d.update(version=True)),
        "NUL in an id": _with(lambda d: d["nodes"][1].update(id="con\u0000v1")),
        "+100,000-character name": _with(lambda d: d.update(name="x" * 100_000)),
        "wrong parameter types": _with(lambda d: _node(d, "Conv2d")["params"].update(kernel_size={"a": [1, 2, 3]})),
        "pair of three": _with(lambda d: _node(d, "Conv2d")["params"].update(kernel_size=[1, 2, 3])),
        "a list of a million items": _with(lambda d: _node(d, "Conv2d")["params"].update(stride=[1] * 1_000_000)),
        "nodes of nulls": _with(lambda d: d.update(nodes=[None] * 1000)),
        "+a cycle": _with(lambda d: d["nodes"][1].update(inputs=["fc"])),
        "+self loop": _with(lambda d: d["nodes"][1].update(inputs=["conv1"])),
        "+missing input": _with(lambda d: d["nodes"][1].update(inputs=["nowhere"])),
        "truncated": text[: len(text) // 2],
    }
    found = []
    for name, content in entries.items():  # "+": a readable design (File ▸ Open shows its errors at their nodes)
        path = folder / f"{len(found):02d}.json"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        found.append(Hostile(f"design: {name.lstrip('+')}", "design", path, accepted=name.startswith("+")))
    rng = random.Random(15)
    raw = TEMPLATE.read_bytes()
    for i in range(12):  # byte flips of a real design
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(32, 127)
        path = folder / f"flip{i:02d}.json"
        path.write_bytes(bytes(mutated))
        found.append(Hostile(f"design: byte flips #{i}", "design", path, accepted=None))  # either outcome is fine
    huge = folder / "huge_input.json"
    huge.write_text(_with(lambda d: d.update(input={"channels": 1, "height": 8192, "width": 8192})))
    found.append(Hostile("design: 8192×8192 input (a memory warning)", "design", huge, accepted=True))
    return found + _specials(folder, ".json", "design")


# --- images --------------------------------------------------------------------------------------

def _dds(dxgi_format: int = 1) -> bytes:
    """A DDS header with the DX10 extension naming a format Pillow does not decode (NotImplementedError)."""
    header = struct.pack("<4s7I", b"DDS ", 124, 0x1007, 16, 16, 0, 0, 1) + b"\0" * 44
    pixel_format = struct.pack("<2I4s5I", 32, 0x4, b"DX10", 0, 0, 0, 0, 0)
    caps = struct.pack("<5I", 0x1000, 0, 0, 0, 0)
    dx10 = struct.pack("<5I", dxgi_format, 3, 0, 1, 0)
    return header + pixel_format + caps + dx10 + b"\0" * 512


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR announcing ``width``×``height``, then nothing: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def image_files(folder: Path) -> list[Hostile]:
    folder.mkdir(parents=True, exist_ok=True)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8))
    nan = np.full((24, 24), np.nan, dtype=np.float32)
    nan[0, 0], nan[1, 1] = np.inf, -np.inf
    gif = _encoded(Image.new("P", (4, 4)), "GIF")
    entries: dict[str, tuple[str, bytes, bool]] = {
        "DDS of an unsupported DXGI format": (".dds", _dds(), False),
        "NaN float TIFF": (".tif", _encoded(Image.fromarray(nan, mode="F"), "TIFF"), True),
        "truncated PNG": (".png", _encoded(noise, "PNG")[:2000], False),
        "truncated JPEG": (".jpg", _encoded(noise, "JPEG")[:1500], False),
        "PNG announcing 100,000×100,000": (".png", _png_claiming(100_000, 100_000), False),
        "PNG announcing 0×0": (".png", _png_claiming(0, 0), False),
        "GIF announcing 65,535×65,535": (".gif", gif[:6] + struct.pack("<HH", 65535, 65535) + gif[10:], False),
        "text named .png": (".png", b"this is not an image\n" * 10, False),
        "BMP with a huge header": (".bmp", b"BM" + struct.pack("<IHHIIiiHH", 10 ** 6, 0, 0, 54, 40, 1 << 30,
                                                               1 << 30, 1, 24) + b"\0" * 64, False),
        "ICO junk": (".ico", b"\0\0\1\0\1\0" + bytes(range(256)) * 4, False),
        "16-bit PNG": (".png", _encoded(Image.fromarray(np.full((8, 8), 40000, dtype=np.uint16)), "PNG"), True),
    }
    found = []
    for name, (suffix, data, accepted) in entries.items():
        path = folder / f"{len(found):02d}{suffix}"
        path.write_bytes(data)
        found.append(Hostile(f"image: {name}", "image", path, accepted))
    return found + _specials(folder, ".png", "image")


# --- checkpoints ---------------------------------------------------------------------------------

def _checkpoint_dict(edit=None, **changes):
    import torch

    from convviz.design import dumps, load_template
    from convviz.model import seeded_model

    design = load_template("default")
    state = seeded_model(design, 0).state_dict()
    data = {"format": "convviz-checkpoint", "version": 1, "design": dumps(design), "state_dict": dict(state),
            "classes": list(design.classes),
            "preprocessing": {"input_size": [1, 32, 32], "mean": [0.5], "std": [0.25]}, "training": {}}
    data.update(changes)
    if edit is not None:
        edit(data)
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def _nan_weights(data: dict) -> None:
    key = next(k for k in data["state_dict"] if k.endswith("weight"))
    data["state_dict"][key] = data["state_dict"][key].clone().fill_(float("nan"))


def _zip_claiming(good: bytes, size: int) -> bytes:
    """``good`` with its first member's uncompressed size in the central directory set to ``size``."""
    buffer = bytearray(good)
    at = buffer.rfind(b"PK\x01\x02", 0, len(buffer))
    while at > 0 and buffer.rfind(b"PK\x01\x02", 0, at) > 0:
        at = buffer.rfind(b"PK\x01\x02", 0, at)
    buffer[at + 24:at + 28] = struct.pack("<I", min(size, 0xFFFFFFFF))
    return bytes(buffer)


def _mutated_pickles(good: bytes, count: int, seed: int) -> list[bytes]:
    """Archives whose data.pkl is mutated a little: the kind of file that made PyTorch's reader raise
    KeyError, IndexError, TypeError or AssertionError."""
    source = zipfile.ZipFile(io.BytesIO(good))
    names = source.namelist()
    contents = {n: source.read(n) for n in names}
    pickle_name = next(n for n in names if n.endswith("data.pkl"))
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(contents[pickle_name])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.6:
                data[at] = rng.randrange(256)
            elif action < 0.8:
                del data[at:at + rng.randint(1, 8)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as target:
            for name in names:
                target.writestr(name, bytes(data) if name == pickle_name else contents[name])
        out.append(buffer.getvalue())
    return out


def checkpoint_files(folder: Path, fuzzed: int = 60) -> list[Hostile]:
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    good = _checkpoint_dict()
    entries: dict[str, bytes] = {
        "mean NaN": _checkpoint_dict(preprocessing={"mean": [float("nan")], "std": [0.25]}),
        "std inf": _checkpoint_dict(preprocessing={"mean": [0.5], "std": [float("inf")]}),
        "std 0": _checkpoint_dict(preprocessing={"mean": [0.5], "std": [0.0]}),
        "std of 7 channels": _checkpoint_dict(preprocessing={"mean": [0.5], "std": [0.25] * 7}),
        "preprocessing a string": _checkpoint_dict(preprocessing="fast"),
        "NaN weights": _checkpoint_dict(_nan_weights),
        "training a list": _checkpoint_dict(training=[1, 2]),
        "version '1'": _checkpoint_dict(version="1"),
        "version 99": _checkpoint_dict(version=99),
        "design a number": _checkpoint_dict(design=42),
        "design with a 5,000-digit number": _checkpoint_dict(
            design=TEMPLATE.read_text().replace('"out_channels": 16', '"out_channels": 1' + "0" * 5000, 1)),
        "state_dict of strings": _checkpoint_dict(state_dict={"conv1.weight": "x"}),
        "state_dict with an int key": _checkpoint_dict(state_dict={1: __import__("torch").zeros(1)}),
        "a plain state_dict": pickle.dumps({"conv1.weight": [1, 2]}),
        "junk": b"not a zip file at all" * 3,
        "truncated": good[: len(good) // 2],
        "a member claiming 4 GiB": _zip_claiming(good, 4 << 30),
    }
    found = []
    for name, data in entries.items():
        path = folder / f"{len(found):02d}.pt"
        path.write_bytes(data)
        found.append(Hostile(f"checkpoint: {name}", "checkpoint", path))
    for i, data in enumerate(_mutated_pickles(good, fuzzed, seed=34)):
        path = folder / f"fuzz{i:03d}.pt"
        path.write_bytes(data)
        found.append(Hostile(f"checkpoint: mutated pickle #{i}", "checkpoint", path, accepted=None))
    return found + _specials(folder, ".pt", "checkpoint")


# --- datasets ------------------------------------------------------------------------------------

def _gzip_stream(path: Path, header: bytes, zeros: int) -> None:
    """A .gz of ``header`` then ``zeros`` zero bytes, written in pieces (a bomb: a few MB on disk)."""
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header)
        block = bytes(1 << 20)
        for _ in range(zeros >> 20):
            handle.write(block)


def mnist_folders(folder: Path) -> list[Hostile]:
    """MNIST folders whose training images are hostile (the other three files are fine)."""
    found = []
    labels = {"train": np.arange(40, dtype=np.uint8) % 10, "t10k": np.arange(20, dtype=np.uint8) % 10}
    cases = {
        "a .gz inflating far beyond its header": lambda p: _gzip_stream(
            Path(str(p) + ".gz"), bytes([0, 0, 8, 3]) + struct.pack(">3I", 40, 28, 28), 256 << 20),
        "a header announcing 7.8 GB": lambda p: Path(str(p) + ".gz").write_bytes(gzip.compress(
            bytes([0, 0, 8, 3]) + struct.pack(">3I", 10_000_000, 28, 28) + bytes(1000))),
        "a truncated file": lambda p: p.write_bytes(idx_bytes(np.zeros((40, 28, 28), np.uint8))[:5000]),
        "not gzip": lambda p: Path(str(p) + ".gz").write_bytes(b"\x1f\x8b\x08" + b"junk" * 100),
        "a FIFO": lambda p: _fifo(p),
    }
    for i, (name, write) in enumerate(cases.items()):
        root = folder / f"mnist{i}"
        root.mkdir(parents=True)
        for split, label in labels.items():
            (root / f"{split}-labels-idx1-ubyte").write_bytes(idx_bytes(label))
            if split == "t10k":
                (root / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((20, 28, 28), np.uint8)))
        write(root / "train-images-idx3-ubyte")
        if name == "a FIFO" and not (root / "train-images-idx3-ubyte").exists():
            continue
        found.append(Hostile(f"mnist: {name}", "mnist", root))
    return found


def cifar_archives(folder: Path) -> list[Hostile]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-python.tar.gz"
    info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    info.size = 10 << 30  # announces 10 GiB; holds a kilobyte
    path.write_bytes(gzip.compress(info.tobuf() + b"\0" * 1024))
    junk = folder / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b" + b"\0" * 100)
    return [Hostile("cifar: a member announcing 10 GiB", "cifar", path),
            Hostile("cifar: junk archive", "cifar", junk)]


def image_folders(folder: Path) -> list[Hostile]:
    good = folder / "one_truncated"
    write_image_folder(good)
    jpeg = _encoded(Image.fromarray(np.random.default_rng(1).integers(0, 256, (96, 96, 3), dtype=np.uint8)), "JPEG")
    (good / "dark" / "cut.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    bad = folder / "none_readable"
    for name in ("a", "b"):
        (bad / name).mkdir(parents=True)
        (bad / name / "x.png").write_bytes(b"not a png")
    return [Hostile("folder: one truncated JPEG among good images", "folder", good, accepted=True),
            Hostile("folder: no readable image", "folder", bad)]
