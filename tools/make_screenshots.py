"""Render the README's images with the app itself (``convviz --screenshot``), offscreen.

    python tools/make_screenshots.py

The Train tab's picture comes from a short seeded run; the class-activation picture uses the
``default`` design trained for a few epochs first (``convviz train``), so it shows what a trained
network attends to rather than random weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"

DESIGNER_SHOTS = {"designer_default.png": "default", "designer_resnet18.png": "resnet18",
                  "designer_inception_3a.png": "inception_3a"}
TRAINED = "{trained}"  # stands for the checkpoint trained below
#: (design or checkpoint, view, image). resnet18 has its (seeded) random initial weights.
VIEW_SHOTS = {
    "train_default.png": ("default", "train", None),
    "explain_features.png": ("resnet18", "explain-features", "scene_garden"),
    "explain_filters.png": ("resnet18", "explain-filters", "scene_garden"),
    "explain_field.png": ("resnet18", "explain-field", "scene_garden"),
    "explain_window.png": ("resnet18", "explain-window", "scene_garden"),
    "explain_cam.png": (TRAINED, "explain-cam", "shape_plus"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as scratch:
        trained = str(Path(scratch) / "default_trained.pt")
        subprocess.run([sys.executable, "-m", "convviz", "train", "default", "--epochs", "4", "--out", trained],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        shots = {name: [design] for name, design in DESIGNER_SHOTS.items()}
        for name, (design, view, image) in VIEW_SHOTS.items():
            shots[name] = [trained if design == TRAINED else design, "--view", view] + (["--image", image] if image else [])
        render(shots, env)


def render(shots: dict[str, list[str]], env: dict[str, str]) -> None:
    for name, args in shots.items():
        subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(OUT / name), *args],
                       check=True, env=env, cwd=ROOT)
        print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
