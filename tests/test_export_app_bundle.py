"""The packaged app: PyInstaller builds it from convviz.spec and the binary runs (minutes: ``-m slow``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def only_when_asked(request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("builds the whole application (minutes): run with -m slow")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("needs PyInstaller: pip install pyinstaller")


def test_the_app_builds_and_its_smoke_runs_pass(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_app.py"), "--dist", str(tmp_path / "dist"),
                             "--work", str(tmp_path / "work")], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "start time (launch to exit of --screenshot)" in result.stdout
    bundled = tmp_path / "dist" / "convviz" / "_internal"
    assert (bundled / "convviz" / "assets" / "templates" / "lenet5.json").is_file()
    assert list((bundled / "PySide6").rglob("libqoffscreen*"))
    assert not (bundled / "tkinter").exists() and not (bundled / "torch" / "test").exists()
    assert (bundled / "convviz" / "assets" / "app" / "convviz.png").is_file()  # the window icon
    assert (bundled / "convviz" / "data" / "augment.py").is_file()  # the training script's runtime, as source
    assert not [p for p in bundled.rglob("*") if p.name.startswith(("libgtk-", "libglib-2.0", "libgobject-2.0"))]
    folder = tmp_path / "dist" / "convviz"
    if sys.platform.startswith("linux"):
        assert (folder / "convviz.desktop").is_file() and (folder / "install-desktop-entry.sh").is_file()
