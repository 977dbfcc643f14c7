"""Waiting for work in a thread of its own: a read stuck on a dead drive is abandoned when asked."""

import threading

import pytest

from convviz import reading
from convviz.reading import ReadCancelled, read_bytes


def test_a_stuck_read_is_abandoned_once_should_stop_is_true(monkeypatch, tmp_path):
    stuck, release = threading.Event(), threading.Event()

    def hangs(*args):
        stuck.set()
        release.wait(10)
        return b""

    monkeypatch.setattr(reading, "_read_all", hangs)
    try:
        with pytest.raises(ReadCancelled, match="image.png"):
            read_bytes(tmp_path / "image.png", 100, OSError, "an image", should_stop=stuck.is_set)
    finally:
        release.set()


def test_a_read_that_is_not_stopped_returns_its_bytes(tmp_path):
    path = tmp_path / "design.json"
    path.write_bytes(b"{}")
    assert read_bytes(path, 100, OSError, "a design file", should_stop=lambda: False) == b"{}"
