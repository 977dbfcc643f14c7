"""pyproject.toml lists every sub-package (setuptools is given an explicit list; see its comment)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def test_every_subpackage_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "convviz").rglob("__init__.py")}
    assert found | {"convviz.assets"} == listed


def test_torch_range_keeps_2_13_the_newest():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    torch_req = next(d for d in config["project"]["dependencies"] if d.startswith("torch"))
    assert "<2.14" in torch_req
    qt_req = next(d for d in config["project"]["dependencies"] if d.startswith("PySide6-Essentials"))
    assert "<6.12" in qt_req
