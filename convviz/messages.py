"""User-facing messages are one line: the first line of an exception, or its type when it says nothing."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else type(exc).__name__
