"""Downloading MNIST, Fashion-MNIST and CIFAR-10 for users who are online (the app never needs it).

Files are fetched from the mirrors torchvision uses, checked against their published MD5 sums
and written atomically, so an interrupted download leaves nothing half-written behind.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..atomic import atomic_write
from ..i18n import tr
from .cifar import ARCHIVE as CIFAR_ARCHIVE
from .idx import idx_file_names

_IDX_FILES = [f"{name}.gz" for split in ("train", "t10k") for name in idx_file_names(split)]


def _idx(*md5s: str) -> list[tuple[str, str]]:
    return list(zip(_IDX_FILES, md5s, strict=True))


#: kind → (base URL, [(file name, md5)]).
SOURCES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", _idx(
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
    "fashion": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", _idx(
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
    "cifar10": ("https://www.cs.toronto.edu/~kriz/", [(CIFAR_ARCHIVE, "c58f30108f718f92721af3b95e74349a")]),
}
_CHUNK = 1 << 20


class DownloadError(OSError):
    """A download that failed, with what to do instead, in one line."""


def download_dataset(kind: str, folder: str | Path, progress: Callable[[str, int, int], None] | None = None,
                     timeout: float = 30.0) -> Path:
    """Fetch ``kind``'s files into ``folder`` (skipping files already there and intact); returns ``folder``.

    ``progress(file name, bytes so far, total bytes or 0)`` is called as data arrives.
    """
    if kind not in SOURCES:
        raise DownloadError(tr("no download for {kind}: choose one of {names}").format(kind=repr(kind), names=', '.join(SOURCES)))
    base, files = SOURCES[kind]
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for name, md5 in files:
        path = target / name
        if path.is_file() and _md5(path) == md5:
            continue
        _fetch(base + name, path, md5, progress, timeout)
    return target


def _fetch(url: str, path: Path, md5: str, progress, timeout: float) -> None:
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_write(path, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(path.name, done, total)
            if digest.hexdigest() != md5:
                raise DownloadError(tr("{url}: the download is damaged (MD5 {digest}, expected {md5}); try again").format(url=url, digest=digest.hexdigest(), md5=md5))
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(tr("cannot download {url} ({reason}): are you offline? Download it by hand into {parent}").format(url=url, reason=reason, parent=path.parent)) from None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
