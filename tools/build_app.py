"""Build the one-folder convviz application with PyInstaller (``convviz.spec``), then smoke-run it.

    python tools/build_app.py [--dist DIR] [--work DIR] [--no-build]

On Linux the folder also gets ``convviz.desktop``, the icon and ``install-desktop-entry.sh``
(which puts both in ~/.local/share with the folder's path, so the desktop's menu starts it).
The smoke runs happen outside the source tree, so the binary must find everything (templates,
the Qt offscreen platform, torch) inside its own folder:

- ``convviz --version`` must print the version;
- ``convviz --screenshot out.png`` must exit 0 and write a PNG (the start time is measured here);
- ``convviz --screenshot … --view explain-features`` must render the Explain tab (pyqtgraph, torch, samples);
- ``convviz summary lenet5`` must print the template's totals (bundled assets);
- ``convviz export lenet5 --to lenet5.pt2`` must succeed (torch and torch.export bundled);
- ``convviz export default --train-script DIR`` must copy convviz's core beside the script;
- the folder must hold the app icon and none of the build machine's GTK or glib libraries.

Prints the folder's size and the start time; exit status 0 only when everything passed.
Needs PyInstaller in the environment (``pip install pyinstaller``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
APP_ASSETS = ROOT / "assets" / "app"
#: Libraries that must come from the user's desktop, never from the build machine (convviz.spec).
HOST_LIBRARIES = ("libgtk-", "libgdk-", "libglib-2.0", "libgobject-2.0", "libgio-2.0")

INSTALL_DESKTOP_ENTRY = """#!/bin/sh
# Adds convviz to the desktop's application menu, with its icon, for this user.
# Run it again after moving this folder.
set -e
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$apps" "$icons"
cp "$here/convviz.png" "$icons/convviz.png"
sed "s|^Exec=convviz|Exec=\\"$here/convviz\\"|" "$here/convviz.desktop" > "$apps/convviz.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
echo "convviz is in the application menu ($apps/convviz.desktop)"
"""


def build(dist: Path, work: Path) -> None:
    subprocess.run([sys.executable, "-m", "PyInstaller", str(ROOT / "convviz.spec"), "--noconfirm",
                    "--distpath", str(dist), "--workpath", str(work)], check=True, cwd=ROOT)


def add_desktop_entry(folder: Path) -> None:
    """Linux: the desktop entry, its icon and the script that installs both beside the binary."""
    shutil.copy2(APP_ASSETS / "convviz.desktop", folder / "convviz.desktop")
    shutil.copy2(APP_ASSETS / "convviz.png", folder / "convviz.png")
    script = folder / "install-desktop-entry.sh"
    script.write_text(INSTALL_DESKTOP_ENTRY)
    script.chmod(0o755)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def run_binary(binary: Path, args: list[str], cwd: Path, **extra_env: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **extra_env}
    started = time.perf_counter()
    result = subprocess.run([str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return result, time.perf_counter() - started


def smoke(binary: Path) -> tuple[list[str], float]:
    """The problems found (empty: all good) and the seconds from launch to exit of --screenshot."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="convviz-smoke-") as scratch:
        cwd = Path(scratch)
        result, _ = run_binary(binary, ["--version"], cwd)
        if result.returncode != 0 or not result.stdout.startswith("convviz "):
            problems.append(f"--version: exit {result.returncode}: {result.stdout.strip()[:200]}")
        shot = cwd / "out.png"
        result, start_time = run_binary(binary, ["--screenshot", str(shot)], cwd)
        if result.returncode != 0 or not shot.is_file() or shot.read_bytes()[:8] != PNG_SIGNATURE:
            problems.append(f"--screenshot: exit {result.returncode}, no PNG: {result.stderr.strip()[-500:]}")
        explain = cwd / "explain.png"  # the Explain tab: pyqtgraph, torch and the bundled samples
        result, _ = run_binary(binary, ["--screenshot", str(explain), "lenet5", "--view", "explain-features"], cwd)
        if result.returncode != 0 or not explain.is_file():
            problems.append(f"--view explain-features: exit {result.returncode}: {result.stderr.strip()[-500:]}")
        result, _ = run_binary(binary, ["summary", "lenet5"], cwd)
        if result.returncode != 0 or "61,706" not in result.stdout:
            problems.append(f"summary lenet5: exit {result.returncode}: {result.stderr.strip()[-500:]}")
        result, _ = run_binary(binary, ["export", "lenet5", "--to", "lenet5.pt2"], cwd)
        if result.returncode != 0 or not (cwd / "lenet5.pt2").is_file():
            problems.append(f"export lenet5 --to lenet5.pt2: exit {result.returncode}: {result.stderr.strip()[-500:]}")
        result, _ = run_binary(binary, ["export", "default", "--train-script", "cluster"], cwd)
        if result.returncode != 0 or not (cwd / "cluster" / "convviz_runtime" / "data" / "augment.py").is_file():
            problems.append(f"export --train-script: exit {result.returncode}: {result.stderr.strip()[-500:]}")
    return problems, start_time


def bundle_problems(folder: Path) -> list[str]:
    """What the folder must (the icon) and must not (the build machine's GTK and glib) hold."""
    problems = []
    if not list(folder.rglob("assets/app/convviz.png")):
        problems.append("the app icon (convviz/assets/app/convviz.png) is missing")
    host = sorted(p.name for p in folder.rglob("*") if p.name.startswith(HOST_LIBRARIES))
    if host:
        problems.append(f"the build machine's desktop libraries are bundled: {', '.join(host[:5])}")
    if sys.platform.startswith("linux") and not (folder / "convviz.desktop").is_file():
        problems.append("convviz.desktop is missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "build" / "app" / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "app" / "work")
    parser.add_argument("--no-build", action="store_true", help="smoke-run an existing build")
    args = parser.parse_args(argv)
    if not args.no_build:
        started = time.perf_counter()
        build(args.dist, args.work)
        print(f"build time: {time.perf_counter() - started:.0f} s")
    folder = args.dist / "convviz"
    binary = folder / ("convviz-cli.exe" if os.name == "nt" else "convviz")
    if not binary.is_file():
        print(f"no binary at {binary}", file=sys.stderr)
        return 1
    if sys.platform.startswith("linux"):
        add_desktop_entry(folder)
    print(f"folder: {folder} ({folder_size(folder) / 2**20:.0f} MiB)")
    problems, start_time = smoke(binary)
    problems += bundle_problems(folder)
    print(f"launch to exit of --screenshot: {start_time:.2f} s")
    with tempfile.TemporaryDirectory() as scratch:
        _, first_paint = run_binary(binary, [], Path(scratch), CONVVIZ_STARTUP_PROBE="1")
    print(f"start time (launch to the first painted window, then exit): {first_paint:.2f} s")
    for problem in problems:
        print(f"smoke run failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
