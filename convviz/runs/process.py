"""Which process is recording a run: its PID, its host and its start time.

A PID alone is not an identity: after a kill the system hands the number to another process, and a
run would then stay "running" forever. With the process's start time (Linux: ``/proc/PID/stat``,
in clock ticks since boot) a reused PID is told apart; where the start time cannot be read (other
systems) the PID's liveness is all there is. A run recorded on another host (a shared folder) is
trusted as its index says: its process cannot be asked.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessId:
    pid: int | None
    host: str = ""
    started: int | None = None   # the process's start time (clock ticks since boot), None when unknown

    @property
    def here(self) -> bool:
        return not self.host or self.host == socket.gethostname()

    def alive(self) -> bool:
        """Is this process still running? (another host's: assumed so)"""
        if not self.here:
            return True
        if not _pid_alive(self.pid):
            return False
        if self.started is None:
            return True
        now = start_time(self.pid)
        return now is None or now == self.started


def this_process() -> ProcessId:
    return ProcessId(os.getpid(), socket.gethostname(), start_time(os.getpid()))


def start_time(pid: int | None) -> int | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), None where there is no /proc."""
    if not pid or pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = text[text.rfind(b")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it there
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
