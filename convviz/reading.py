"""Reading a file a user named: regular files only, the size checked before a byte is read.

Every reader of user files (designs, checkpoints, images, datasets) opens them here, so none of
them can be made to read forever (``/dev/zero``), wait forever (a FIFO nobody writes to), or fill
memory (a sparse 6 GiB "image"). The file is opened non-blocking and checked with ``fstat`` on
the open descriptor — what was checked is what is read, even if the path is swapped meanwhile.

``read_bytes(..., should_stop=...)`` reads in a daemon thread and gives up when ``should_stop()``
turns true: a read stuck on a dead network drive never keeps a closing app waiting.

Failures raise the caller's own error type (``error=DesignFileError`` …): one family per reader,
one line each. Standard library only: every layer may use it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from .i18n import tr
from .messages import size_in_bytes
from .threads import waited_in_thread

class ReadCancelled(InterruptedError):
    """``should_stop`` turned true before the read ended (the caller is closing)."""


def open_regular(path: str | os.PathLike, limit: int | None, error: type[Exception],
                 what: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file of at most ``limit`` bytes; else
    ``error`` with one line naming the file. ``what`` names the file's kind ("a design file")."""
    name = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        if not hasattr(os, "O_NONBLOCK"):  # Windows: no FIFOs to block on, but look before opening
            _check_kind(name, os.stat(name).st_mode, error, what)
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise error(tr("{path}: no such file").format(path=name)) from None
    except IsADirectoryError:
        raise error(tr("{path}: is a folder, not {what}").format(path=name, what=what)) from None
    except PermissionError:
        raise error(tr("{path}: permission denied").format(path=name)) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise error(tr("{path}: cannot be read ({reason})").format(
            path=name, reason=getattr(exc, "strerror", None) or exc)) from None
    try:
        info = os.fstat(fd)
        _check_kind(name, info.st_mode, error, what)
        if limit is not None and info.st_size > limit:
            raise error(tr("{path}: {size} is too large for {what} (the limit is {limit})").format(
                path=name, size=size_in_bytes(info.st_size), what=what, limit=size_in_bytes(limit)))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, limit: int, error: type[Exception], what: str, *,
               should_stop: Callable[[], bool] | None = None) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (see ``open_regular``). With
    ``should_stop``, the read runs in a daemon thread and ``ReadCancelled`` is raised as soon as
    ``should_stop()`` is true, whether or not the read has returned."""
    if should_stop is None:
        return _read_all(path, limit, error, what)
    return waited_in_thread(_read_all, path, limit, error, what, name="convviz-read", should_stop=should_stop,
                            abandoned=lambda: ReadCancelled(os.fspath(path)))


def read_text(path: str | os.PathLike, limit: int, error: type[Exception], what: str) -> str:
    """A regular UTF-8 text file of at most ``limit`` bytes (``error`` if it is not text)."""
    data = read_bytes(path, limit, error, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(tr("{path}: not a text file ({what} is UTF-8 text)").format(
            path=os.fspath(path), what=what)) from None


def _read_all(path: str | os.PathLike, limit: int, error: type[Exception], what: str) -> bytes:
    with open_regular(path, limit, error, what) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(tr("{path}: cannot be read ({reason})").format(
                path=os.fspath(path), reason=exc.strerror or exc)) from None
    if len(data) > limit:  # it grew since it was measured
        raise error(tr("{path}: more than {limit} is too large for {what}").format(
            path=os.fspath(path), limit=size_in_bytes(limit), what=what))
    return data


def _check_kind(name: str, mode: int, error: type[Exception], what: str) -> None:
    if stat.S_ISDIR(mode):
        raise error(tr("{path}: is a folder, not {what}").format(path=name, what=what))
    if not stat.S_ISREG(mode):
        kind = tr("a pipe") if stat.S_ISFIFO(mode) else tr("a socket") if stat.S_ISSOCK(mode) else tr("a device")
        raise error(tr("{path}: is {kind}, not {what}").format(path=name, kind=kind, what=what))
