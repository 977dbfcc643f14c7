"""The machine's free memory, from the standard library alone (every layer may ask).

Linux: ``MemAvailable`` from ``/proc/meminfo``, and the cgroup's limit less its usage when a
container or a systemd slice sets one; Windows: ``GlobalMemoryStatusEx``; elsewhere unknown (None).
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path


def free_memory() -> int | None:
    """Available RAM (Linux: ``MemAvailable`` and the cgroup's limit; Windows: the available
    physical memory); None where unknown."""
    if sys.platform.startswith("linux"):
        found = [v for v in (_meminfo_available(), _cgroup_room()) if v is not None]
        return min(found) if found else None
    if sys.platform == "win32":
        return _windows_available()
    return None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """The cgroup (v2, else v1) limit less its usage, when one is set."""
    try:
        cgroup = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in cgroup:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        folder = Path("/sys/fs/cgroup") / parts[2].lstrip("/")
        for limit_name, usage_name in (("memory.max", "memory.current"),
                                       ("memory.limit_in_bytes", "memory.usage_in_bytes")):
            for base in (folder, Path("/sys/fs/cgroup/memory") / parts[2].lstrip("/"), Path("/sys/fs/cgroup"),
                         Path("/sys/fs/cgroup/memory")):
                try:
                    limit = (base / limit_name).read_text().strip()
                    usage = int((base / usage_name).read_text().strip())
                except (OSError, ValueError):
                    continue
                if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:
                    return None
                return max(0, int(limit) - usage)
    return None


def _windows_available() -> int | None:  # pragma: no cover - Windows only
    class Status(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                    ("available", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                    ("page_available", ctypes.c_ulonglong), ("virtual_total", ctypes.c_ulonglong),
                    ("virtual_available", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]

    status = Status()
    status.length = ctypes.sizeof(Status)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.available)
    except (AttributeError, OSError):
        pass
    return None


def glibc() -> ctypes.CDLL | None:
    """The process's C library where it is glibc (Linux), for its ``mallopt``/``malloc_trim``; else None."""
    if not sys.platform.startswith("linux"):
        return None
    global _GLIBC
    if _GLIBC is None:
        try:
            library = ctypes.CDLL(None)
            library.malloc_trim  # (absent from musl)
        except (OSError, AttributeError):
            library = False
        _GLIBC = library
    return _GLIBC or None


_GLIBC: ctypes.CDLL | bool | None = None


def return_freed_memory() -> bool:
    """Give the memory the C library keeps from freed blocks back to the system (glibc's
    ``malloc_trim``). For a loop whose every step frees large temporaries (drawing the built-in shapes
    a chunk at a time in a worker thread): glibc raises its thresholds after such frees and keeps
    them, so the process grew by a chunk's temporaries again and again. True where it was asked;
    False (and nothing done) where the C library is not glibc."""
    library = glibc()
    if library is None:
        return False
    library.malloc_trim(0)  # (1 if it released some: either way, asked)
    return True
