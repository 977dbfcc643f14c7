"""User-facing messages are one line: the first line of an exception, or its type when it says nothing;
sizes in bytes read the same in every message ("3.1 MiB")."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else type(exc).__name__


def size_in_bytes(n: int) -> str:
    """Bytes as a message shows them: 17 B, 40 KiB, 3.1 MiB, 6 GiB (three significant digits)."""
    for limit, suffix in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= limit:
            return f"{n / limit:.3g} {suffix}"
    return f"{n} B"
