"""Atomic file writes: a crash or a full disk mid-save never leaves a half-written file behind.

The data goes to a temporary file beside the target (``.<name>.<random>.<pid>.tmp``), is flushed
to disk, and is renamed over the target only when complete. Saving keeps what the user set up:

- through a symlink, the file it points to is replaced and the link stays a link;
- an existing file keeps its permission bits (a 0600 file stays private); a new one gets what any
  new file would (0666 less the umask);
- a save killed midway (``kill -9``, a power cut) leaves its temporary file; the next save of the
  same file removes such leftovers of processes that are no longer running, and
  ``remove_stale_temporaries`` does it for a whole folder (the app at start-up).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# Read once, at import: os.umask can only be read by setting it, which is not thread-safe later.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

#: A leftover without a process id (older convviz) or from a process we cannot check is removed
#: once it is this old: no save takes an hour.
STALE_AFTER_S = 3600.0
#: ``.<name>.<random>.<pid>.tmp``, and the older ``.<name>.<random>.tmp``.
_TEMPORARIES = (re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,}\.(?P<pid>\d+)\.tmp$"),
                re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,}\.tmp$"))


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", *,
                 sync: bool = True) -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success.

    ``sync=False`` skips the fsync: still all-or-nothing if the process dies (a kill, a crash), not if
    the machine loses power; for files written many times a minute (the run store's)."""
    target = Path(os.path.realpath(path))  # a symlink stays a link: its target is what gets replaced
    binary = "b" in mode
    remove_stale_temporaries(target.parent, target.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{os.getpid()}.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the permissions of the file it replaces, or
        # those any new file would get.
        os.chmod(tmp, _permissions(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporary files that interrupted saves left in ``folder`` (of ``name`` only, when
    given): those of processes no longer running, and any older than ``STALE_AFTER_S``. Returns
    what was removed; never raises (a folder that cannot be read has nothing to clean)."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        found = next((m for m in (p.match(entry.name) for p in _TEMPORARIES) if m), None)
        if not found or (name is not None and found.group("name") != name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            pid = found.groupdict().get("pid")
            dead = pid is not None and not _running(int(pid))
            if dead or now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _permissions(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (on Windows, where signal 0 would kill it, assume it does: the
    age rule cleans up there)."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
