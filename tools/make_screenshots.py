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
#: The Explain tab's views: (design, view, image). The models have their random initial weights.
EXPLAIN_SHOTS = {
    "explain_features.png": ("resnet18", "explain-features", "scene_garden"),
    "explain_filters.png": ("resnet18", "explain-filters", "scene_garden"),
    "explain_field.png": ("resnet18", "explain-field", "scene_garden"),
    "explain_window.png": ("resnet18", "explain-window", "scene_garden"),
    "explain_cam.png": ("default", "explain-cam", "shape_plus"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shots = {name: [design] for name, design in DESIGNER_SHOTS.items()}
    shots.update({name: [design, "--view", view, "--image", image]
                  for name, (design, view, image) in EXPLAIN_SHOTS.items()})
    for name, args in shots.items():
        subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(OUT / name), *args],
                       check=True, env=env, cwd=ROOT)
        print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
