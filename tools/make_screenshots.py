"""Render the README's images with the app itself (``convviz --screenshot``), offscreen.

    python tools/make_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"

DESIGNER_SHOTS = {"designer_default.png": "default", "designer_resnet18.png": "resnet18",
                  "designer_inception_3a.png": "inception_3a"}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for name, design in DESIGNER_SHOTS.items():
        subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(OUT / name), design],
                       check=True, env=env, cwd=ROOT)
        print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
