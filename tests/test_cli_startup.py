"""Starting ``convviz``: --version, an unknown word, and a machine that cannot show a window.

Each failure is one line on stderr: exit status 2 for a usage error, 1 for a display that is not
there (never Qt's abort, exit status 134, and never a GUI waiting on a dialog).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

import convviz
from convviz import cli
from convviz.ui import display

#: A display-free environment: what a server or an SSH session without X forwarding gives.
HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}


def run_convviz(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convviz", *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else HEADLESS, stdin=subprocess.DEVNULL)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("convviz: error: ")
    return lines[0]


def test_version_is_the_packages_and_names_torch_and_qt(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"convviz {convviz.__version__} (Python ")
    assert metadata.version("convviz") == convviz.__version__  # one version: pyproject reads __version__
    assert f"torch {metadata.version('torch')}" in out and "PySide6 " in out


def test_version_after_a_command_name_too(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version", "summary"])
    assert capsys.readouterr().out.startswith("convviz ")


def test_an_unknown_word_is_a_usage_error_in_one_line_and_opens_nothing(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_launch_app", lambda args: pytest.fail("the app was opened"))
    assert cli.main(["frobnicate"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "'frobnicate' is not a command" in line and "summary" in line and "convviz --help" in line


def test_an_unknown_word_in_a_real_process_exits_2_without_a_window():
    result = run_convviz("frobnicate", env={**HEADLESS, "QT_QPA_PLATFORM": "offscreen"}, timeout=30)
    assert result.returncode == 2
    one_error_line(result.stderr)


@pytest.mark.parametrize("argv, design", [
    (["resnet18"], "resnet18"),
    (["missing.json"], "missing.json"),        # the app says it cannot open it, then shows the default
    (["model.pt", "--view", "train"], "model.pt"),
    (["--view", "train"], None),               # "train" is the view, not the command
    (["--image", "shape_disk", "--view", "explain-cam", "lenet5"], "lenet5"),
    (["--run", "1", "--view", "train"], None),           # "1" is the run, not a word
    (["--runs", "newdir", "lenet5"], "lenet5"),
    (["--run", "2", "--overlay", "1,3", "--runs", "somewhere"], None),
])
def test_what_the_app_opens_is_told_from_commands(monkeypatch, argv, design):
    opened = []
    monkeypatch.setattr(cli, "_launch_app", lambda args: opened.append(args.design) or 0)
    assert cli.main(argv) == 0
    assert opened == [design]


def test_an_existing_file_of_any_name_opens_in_the_app(monkeypatch, tmp_path):
    design = tmp_path / "net"
    design.write_text("{}")
    monkeypatch.setattr(cli, "_launch_app", lambda args: 0)
    assert cli.main([str(design)]) == 0


def test_no_display_is_one_line_not_an_abort():
    result = run_convviz()
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert "no display" in line and "DISPLAY" in line and "convviz --help" in line


def test_a_display_that_does_not_answer_is_one_line_not_an_abort():
    """Where Qt's X11 plugin cannot load (a fresh machine without libxcb-cursor0 and the like), that
    is found first and named, with the package to install: also one line."""
    result = run_convviz(env={**HEADLESS, "DISPLAY": ":97"})
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    unloadable = display.xcb_problem(display.xcb_plugin())
    if unloadable is not None:
        assert line.endswith(unloadable) and "sudo apt install" in line
    else:
        assert "cannot connect to the display :97" in line


def test_a_screenshot_needs_no_display(tmp_path):
    shot = tmp_path / "shot.png"
    result = run_convviz("--screenshot", str(shot), "lenet5", timeout=120)
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("environ, problem", [
    ({}, "no display"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, None),
    ({"QT_QPA_PLATFORM": "offscreen"}, None),
    ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, None),
])
def test_display_problem_reads_the_environment(environ, problem):
    found = display.display_problem(environ, platform="linux")
    assert (found is None) if problem is None else (problem in found)


def test_windows_and_macos_always_have_a_display():
    assert display.display_problem({}, platform="win32") is None
    assert display.display_problem({}, platform="darwin") is None


def test_the_x11_plugin_loads_here():
    plugin = display.xcb_plugin()
    assert plugin is not None and plugin.name.startswith("libqxcb")
    problem = display.xcb_problem(plugin)
    if problem is not None:  # a machine without Qt's X11 libraries: the check says which, in one line
        assert "sudo apt install" in problem and "\n" not in problem
        pytest.skip(problem)


@pytest.mark.parametrize("loader_error, named", [
    ("libxcb-cursor.so.0: cannot open shared object file: No such file or directory", "sudo apt install libxcb-cursor0"),
    ("libxkbcommon-x11.so.0: cannot open shared object file", "sudo apt install libxkbcommon-x11-0"),
    ("/usr/lib/x86_64-linux-gnu/libxcb-cursor.so.0: file too short", "libxcb-cursor0"),
    ("libweird.so.3: cannot open shared object file", "libxcb-cursor0 libxkbcommon-x11-0"),
])
def test_a_missing_library_names_its_debian_package(loader_error, named):
    line = display.missing_library_message(loader_error)
    assert named in line and "\n" not in line


def _can_hide_a_library() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_hide_a_library(), reason="needs a private mount namespace (root on Linux)")
def test_a_missing_libxcb_cursor_is_named_with_its_package():
    """libxcb-cursor hidden for real (a private mount namespace binds /dev/null over it), as on a
    fresh Ubuntu desktop: one line naming the package, before Qt starts."""
    plugin = display.xcb_plugin()
    found = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    library = next((line.split("=>")[1].split()[0] for line in found.splitlines() if "libxcb-cursor" in line), None)
    if library is None or not os.path.exists(library):
        pytest.skip("libxcb-cursor is not installed here: nothing to hide")
    real = os.path.realpath(library)
    script = f"mount --bind /dev/null {real} && exec {sys.executable} -m convviz"
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60,
                            env={**HEADLESS, "DISPLAY": ":97"}, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr)
    assert "libxcb-cursor.so.0 is missing" in line and "sudo apt install libxcb-cursor0" in line
