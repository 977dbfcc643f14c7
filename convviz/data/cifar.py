"""CIFAR-10: the "python version" batches, from their folder or straight from the .tar.gz.

The batches are pickles; they are read with an unpickler that admits nothing but numpy arrays and
plain containers, so a tampered file cannot run code.
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..i18n import tr
from ..messages import first_line, size_in_bytes
from ..reading import open_regular, read_bytes
from .dataset import DatasetError, TensorImages

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
#: A batch file is about 30 MB (10,000 images of 3,072 bytes, pickled); a member or file announcing
#: more is refused before it is read, and an archive is read no further than this in all.
MAX_BATCH_BYTES = 256 << 20
MAX_ARCHIVE_BYTES = 1 << 30
_WANTED = frozenset((*TRAIN_BATCHES, TEST_BATCH, META))


def read_cifar10(source: str | Path) -> tuple[TensorImages, TensorImages, list[str]]:
    """(train, test, class names) from a folder of batches, a folder holding one, or the .tar.gz."""
    path = Path(source)
    if path.is_file():
        return _read_archive(path)
    if not path.is_dir():
        raise DatasetError(tr("{path}: no such file or folder (expected the CIFAR-10 batches or {ARCHIVE})").format(path=path, ARCHIVE=ARCHIVE))
    for folder in (path, path / FOLDER):
        if (folder / TEST_BATCH).is_file() or (folder / TRAIN_BATCHES[0]).is_file():
            return _read_batches(lambda name, folder=folder: _read_file(folder / name), str(folder))
    if (path / ARCHIVE).is_file():
        return _read_archive(path / ARCHIVE)
    raise DatasetError(tr("{path}: no CIFAR-10 batches ({FOLDER}/data_batch_1 …) and no {ARCHIVE}").format(path=path, FOLDER=FOLDER, ARCHIVE=ARCHIVE))


def _read_file(path: Path) -> bytes | None:
    if not path.exists():
        return None
    return read_bytes(path, MAX_BATCH_BYTES, DatasetError, tr("a CIFAR-10 batch"))


def _read_archive(path: Path) -> tuple[TensorImages, TensorImages, list[str]]:
    """The batches straight from the .tar.gz, each member's declared size checked before it is read;
    the archive is read only as far as the seven files it needs (or ``MAX_ARCHIVE_BYTES``)."""
    try:
        with open_regular(path, None, DatasetError, tr("a CIFAR-10 archive")) as raw, \
                tarfile.open(fileobj=raw, mode="r:*") as archive:
            found: dict[str, bytes] = {}
            announced = 0
            for member in archive:
                name = Path(member.name).name
                announced += max(member.size, 0)
                if announced > MAX_ARCHIVE_BYTES:
                    raise DatasetError(tr("{path}: the archive holds more than {limit} before all of the CIFAR-10 "
                                          "batches are found").format(path=path, limit=size_in_bytes(MAX_ARCHIVE_BYTES)))
                if not member.isfile() or name not in _WANTED or name in found:
                    continue
                if member.size > MAX_BATCH_BYTES:
                    raise DatasetError(tr("{path}: {name} announces {size}, more than a CIFAR-10 batch can be").format(
                        path=path, name=member.name, size=size_in_bytes(member.size)))
                found[name] = archive.extractfile(member).read()
                if len(found) == len(_WANTED):
                    break
            return _read_batches(found.get, str(path))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DatasetError(tr("{path}: not a readable CIFAR-10 archive ({reason})").format(path=path, reason=first_line(exc))) from None


def _read_batches(read: Callable[[str], bytes | None], where: str) -> tuple[TensorImages, TensorImages, list[str]]:
    def batch(name: str) -> TensorImages:
        data = read(name)
        if data is None:
            raise DatasetError(tr("{where}: the batch {name} is missing").format(where=where, name=name))
        return _decode_batch(data, f"{where}/{name}")

    train = [batch(name) for name in TRAIN_BATCHES]
    test = batch(TEST_BATCH)
    meta = read(META)
    classes = CIFAR10_CLASSES if meta is None else _label_names(meta, f"{where}/{META}")
    merged = TensorImages(torch.cat([b.images for b in train]), torch.cat([b.labels for b in train]))
    for part, name in ((merged, "training"), (test, TEST_BATCH)):
        if len(part) and (int(part.labels.max()) >= len(classes) or int(part.labels.min()) < 0):
            bad = int(part.labels.max()) if int(part.labels.max()) >= len(classes) else int(part.labels.min())
            raise DatasetError(tr("{where}: a {name} label is {bad}, outside the {count} classes (0…{last})").format(
                where=where, name=name, bad=bad, count=len(classes), last=len(classes) - 1))
    return merged, test, classes


def _decode_batch(data: bytes, name: str) -> TensorImages:
    content = _unpickle(data, name)
    images, labels = content.get("data"), content.get("labels")
    if not isinstance(images, np.ndarray) or labels is None:
        raise DatasetError(tr("{name}: not a CIFAR-10 batch (no 'data' array and 'labels' list)").format(name=name))
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DatasetError(tr("{name}: 'data' should be uint8 N×3072, found {dtype} {shape}").format(name=name, dtype=images.dtype, shape='×'.join(map(str, images.shape))))
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(images),):
        raise DatasetError(tr("{name}: {size} labels for {count} images").format(name=name, size=labels.size, count=len(images)))
    return TensorImages(torch.from_numpy(images.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels))


def _label_names(data: bytes, name: str) -> list[str]:
    names = _unpickle(data, name).get("label_names")
    if not isinstance(names, list) or not names:
        raise DatasetError(tr("{name}: no 'label_names' list").format(name=name))
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _unpickle(data: bytes, name: str) -> dict:
    try:
        content = _ArraysOnly(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        raise DatasetError(tr("{name}: refused or corrupt pickle ({reason})").format(name=name, reason=first_line(exc))) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise DatasetError(tr("{name}: corrupt pickle ({reason})").format(name=name, reason=first_line(exc))) from None
    if not isinstance(content, dict):
        raise DatasetError(tr("{name}: not a CIFAR-10 batch (a pickled {kind}, not a dict)").format(name=name, kind=type(content).__name__))
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in content.items()}


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The functions numpy itself pickles arrays with (their module moved between numpy versions), and the
    one Python 3 writes bytes with under protocol 2."""
    allowed: dict[tuple[str, str], object] = {("_codecs", "encode"): codecs.encode}
    for reducer in (np.zeros(1).__reduce__()[0], np.zeros(1).__reduce_ex__(5)[0], np.ndarray, np.dtype):
        for module in {reducer.__module__, reducer.__module__.replace("numpy._core", "numpy.core"),
                       reducer.__module__.replace("numpy.core", "numpy._core")}:
            allowed[(module, reducer.__name__)] = reducer
    return allowed


class _ArraysOnly(pickle.Unpickler):
    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR batch never holds") from None
