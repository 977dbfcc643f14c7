"""What pip, PyPI and a packager read: pyproject's metadata, the packages listed, the sdist's contents,
the app's icon and desktop entry. ``tests/test_fresh_install.py`` (slow) builds and installs for real."""

from __future__ import annotations

import configparser
import importlib.util
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = CONFIG["project"]


def requirement(name: str) -> str:
    return next(d for d in PROJECT["dependencies"] if d.split(">")[0].split("<")[0].split("=")[0] == name)


def test_every_subpackage_and_asset_folder_is_listed():
    listed = set(CONFIG["tool"]["setuptools"]["packages"])
    code = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "convviz").rglob("__init__.py")}
    assets = {"convviz.assets"} | {f"convviz.assets.{p.name}" for p in (ROOT / "assets").iterdir()
                                   if p.is_dir() and p.name != "__pycache__"}
    # The compiled catalogs' folders are data packages too (setuptools warns about one it is not told of).
    catalogs = {f"convviz.locale.{p.parent.parent.name}.LC_MESSAGES" for p in (ROOT / "convviz" / "locale").glob(
        "*/LC_MESSAGES/*.mo")}
    assert catalogs and code | assets | catalogs == listed
    data = CONFIG["tool"]["setuptools"]["package-data"]
    assert (assets - {"convviz.assets"}) | catalogs <= set(data)  # each data folder says which files it ships


def test_torch_has_a_floor_and_no_cap():
    torch_req = requirement("torch")
    assert ">=" in torch_req and "<" not in torch_req  # a cap makes pip downgrade a newer torch
    assert "<6.12" in requirement("PySide6-Essentials")  # 6.12.0 aborts on Python 3.11 (DEVELOPERS.md)


def test_pep_639_license_metadata_with_its_file():
    assert PROJECT["license"] == "MIT AND OFL-1.1"  # the code, and the bundled Hangul font
    assert PROJECT["license-files"] == ["LICENSE", "assets/fonts/OFL.txt"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "SIL OPEN FONT LICENSE" in (ROOT / "assets" / "fonts" / "OFL.txt").read_text()
    backend = CONFIG["build-system"]["requires"]
    assert backend == ["setuptools>=77"]  # the first setuptools with license expressions and license-files
    setuptools = pytest.importorskip("setuptools")
    assert int(setuptools.__version__.split(".")[0]) >= 77


def test_classifiers_urls_and_one_version():
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in PROJECT["classifiers"])
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # PEP 639: the expression says it
    assert {"Homepage", "Source", "Issues"} <= set(PROJECT["urls"])
    assert PROJECT["dynamic"] == ["version"]
    assert CONFIG["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "convviz.__version__"}
    assert "version" not in PROJECT


def test_the_sdist_holds_what_its_tests_and_the_app_build_read(tmp_path):
    """Built here with setuptools (no network): every file the tests and tools read is inside."""
    result = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "sdist",
                             "--dist-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning" not in result.stderr.lower(), result.stderr
    (archive,) = tmp_path.glob("convviz-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    needed = {"LICENSE", "README.md", "DEVELOPERS.md", "convviz.spec", "pyproject.toml"}
    for folder, patterns in (("tests", ("*.py", "*.json")), ("tools", ("*.py",)), ("assets", ("*",))):
        for pattern in patterns:
            needed |= {str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob(pattern)
                       if p.is_file() and "__pycache__" not in p.parts}
    assert not needed - names, sorted(needed - names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_app_icon_files_are_what_the_tool_draws():
    expected = _load_tool("make_icon").icon_files()
    folder = ROOT / "assets" / "app"
    assert set(expected) <= {p.name for p in folder.iterdir()}
    for name, data in expected.items():
        drawn = Image.open(io.BytesIO(data))
        kept = Image.open(folder / name)
        assert drawn.size == kept.size, name
        difference = np.abs(np.asarray(drawn.convert("RGBA"), np.int16) - np.asarray(kept.convert("RGBA"), np.int16))
        assert difference.mean() < 1.0, name
    assert set(Image.open(folder / "convviz.ico").info["sizes"]) >= {(16, 16), (32, 32), (48, 48), (256, 256)}


def test_the_desktop_entry_starts_the_app_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "assets" / "app" / "convviz.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] == "convviz"
    assert desktop["Icon"] == "convviz" and desktop["Terminal"] == "false"
    assert desktop["StartupWMClass"] == "convviz"  # the window's class: the dock shows this icon for it
    assert "Education" in desktop["Categories"].split(";")


def test_the_window_icon_is_the_app_icon(qapp):
    from convviz.ui.app import make_application
    from convviz.ui.icons import app_icon

    icon = app_icon()
    assert not icon.isNull() and icon.availableSizes()[0].width() == 256
    app = make_application()
    assert app.desktopFileName() == "convviz"
    assert app.windowIcon().cacheKey() != 0 and not app.windowIcon().isNull()



def test_the_readme_says_how_to_get_the_cpu_build_and_what_qt_needs():
    from convviz.ui.display import QT_SYSTEM_PACKAGES

    readme = (ROOT / "README.md").read_text()
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in readme
    assert f"sudo apt install {' '.join(QT_SYSTEM_PACKAGES)}" in readme  # the packages the app names too


def test_the_bundles_desktop_entry_installs_with_the_folders_path(tmp_path):
    """tools/build_app.py's Linux extras: the entry, its icon and the installer (run here for real)."""
    import shutil

    if shutil.which("sh") is None:
        pytest.skip("needs a POSIX shell")
    folder = tmp_path / "dist dir" / "convviz"
    folder.mkdir(parents=True)
    _load_tool("build_app").add_desktop_entry(folder)
    home = tmp_path / "data"
    result = subprocess.run(["sh", str(folder / "install-desktop-entry.sh")], capture_output=True, text=True,
                            env={"XDG_DATA_HOME": str(home), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    entry = (home / "applications" / "convviz.desktop").read_text()
    assert f'Exec="{folder}/convviz" %f' in entry  # quoted: the folder may have spaces
    assert (home / "icons" / "hicolor" / "256x256" / "apps" / "convviz.png").read_bytes()[:4] == b"\x89PNG"
