"""From a fresh virtual environment, as a user and a packager would (minutes: ``-m slow``).

- ``python -m build`` (in a venv of its own) makes the sdist and the wheel without a warning;
- the wheel installs into a new venv (torch first, the release this suite runs on) and
  ``convviz summary resnet18`` runs from another folder, importing the installed package;
- the sdist's own test suite passes from the unpacked sdist (the README's test command).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def only_when_asked(request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("builds, installs and runs the whole suite in a fresh environment (minutes): run with -m slow")


def fresh_venv(folder: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return folder / ("Scripts" if os.name == "nt" else "bin")


def sh(args: list, cwd: Path, timeout: float = 1800, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**clean, **env}, stdin=subprocess.DEVNULL)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel), built by ``python -m build`` in an isolated venv with ``build`` in it."""
    scratch = tmp_path_factory.mktemp("build")
    tools = fresh_venv(scratch / "venv")
    ok(sh([tools / "python", "-m", "pip", "install", "--quiet", "build"], scratch))
    result = ok(sh([tools / "python", "-m", "build", "--outdir", scratch / "dist", ROOT], scratch))
    noise = ("byte-compiling is disabled",)  # PYTHONDONTWRITEBYTECODE, not the project
    warnings = [line for line in (result.stdout + result.stderr).splitlines()
                if "warning" in line.lower() and not any(n in line for n in noise)]
    assert not warnings, warnings
    (sdist,) = (scratch / "dist").glob("convviz-*.tar.gz")
    (wheel,) = (scratch / "dist").glob("convviz-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def user_env(tmp_path_factory) -> Path:
    """A new venv with this suite's torch release installed first, as the README says to."""
    import torch

    folder = tmp_path_factory.mktemp("user")
    bin_dir = fresh_venv(folder / "venv")
    release = torch.__version__.split("+")[0]
    ok(sh([bin_dir / "python", "-m", "pip", "install", "--quiet", f"torch=={release}"], folder))
    return bin_dir


def test_the_wheel_installs_and_runs_from_anywhere(built, user_env, tmp_path):
    _, wheel = built
    ok(sh([user_env / "python", "-m", "pip", "install", "--quiet", wheel], tmp_path))
    summary = ok(sh([user_env / "convviz", "summary", "resnet18"], tmp_path))
    assert "Total params: 11,689,512" in summary.stdout and "Receptive field: 435" in summary.stdout
    version = ok(sh([user_env / "convviz", "--version"], tmp_path))
    assert version.stdout.startswith("convviz ")
    where = ok(sh([user_env / "python", "-c", "import convviz; print(convviz.__file__)"], tmp_path)).stdout
    assert "site-packages" in where and str(ROOT) not in where
    export = ok(sh([user_env / "convviz", "export", "lenet5", "--to", "lenet5.py"], tmp_path))
    assert (tmp_path / "lenet5.py").is_file(), export.stdout
    icon = ok(sh([user_env / "python", "-c", "from importlib import resources; print(resources.files("
                  "'convviz.assets').joinpath('app', 'convviz.png').is_file())"], tmp_path)).stdout
    assert icon.strip() == "True"
    license = ok(sh([user_env / "python", "-c", "from importlib.metadata import metadata; "
                     "m = metadata('convviz'); print(m['License-Expression'], m.get_all('License-File'))"],
                    tmp_path)).stdout
    assert license.strip() == "MIT AND OFL-1.1 ['LICENSE', 'assets/fonts/OFL.txt']"


def test_the_sdist_passes_its_own_tests(built, user_env, tmp_path):
    """The README's test command, run in the unpacked sdist (its assets/ is convviz.assets only
    through an install, so the source is installed as the README says: editable)."""
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (source,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("convviz-")]
    ok(sh([user_env / "python", "-m", "pip", "install", "--quiet", "-e", ".[test,onnx]"], source))
    result = sh([user_env / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], source, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout.splitlines()[-1] and " failed" not in result.stdout.splitlines()[-1]
