"""Render the README's images with the app itself (``convviz --screenshot``), offscreen.

    python tools/make_screenshots.py [NAME.png …]      # all of them, or only these

The Train tab's picture comes from a short seeded run; the class-activation picture uses the
``default`` design trained for a few epochs first (``convviz train``), so it shows what a trained
network attends to rather than random weights. The run-store pictures come from a few runs
trained first into a temporary run store (``convviz train --runs``): ``default`` beside a narrower
and a wider variant, and the plain and residual deep stacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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


#: (run store, run to open, runs to overlay, view): runs named as in ``train_runs``.
RUN_SHOTS = {
    "train_compare.png": ("widths", "default", ["narrow", "wide"], "train-compare"),
    "train_replay.png": ("widths", "default", [], "train-replay"),
    "train_gradients_plain.png": ("depth", "plain", ["residual"], "train-gradients"),
    "train_gradients_residual.png": ("depth", "residual", ["plain"], "train-gradients"),
}


def train_runs(folder: Path, scratch: Path, env: dict[str, str]) -> None:
    """The runs the run-store pictures show, recorded into two stores in ``folder``: ``widths`` (default
    beside a narrower and a wider variant) and ``depth`` (the plain and the residual deep stack)."""
    from convviz.design import load_template, save_design

    variants = {}
    for name, widths in (("narrow", (8, 16, 32)), ("wide", (32, 64, 128))):
        design = load_template("default")
        for i, width in enumerate(widths, start=1):
            design.set_param(f"conv{i}", "out_channels", width)
        design.set_name(f"Shapes CNN, {name}")
        variants[name] = scratch / f"{name}.json"
        save_design(design, variants[name])
    for store, name, design in (("widths", "narrow", str(variants["narrow"])), ("widths", "wide", str(variants["wide"])),
                                ("depth", "plain", "deep_plain"), ("depth", "residual", "deep_residual"),
                                ("widths", "default", "default")):
        subprocess.run([sys.executable, "-m", "convviz", "train", design, "--epochs", "4", "--name", name,
                        "--runs", str(folder / store)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    wanted = set(sys.argv[1:])
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        runs = scratch / "runs"
        env["CONVVIZ_RUNS"] = str(runs)   # nothing of this lands in the user's run store
        shots = {name: [design] for name, design in DESIGNER_SHOTS.items()}
        trained = str(scratch / "default_trained.pt")
        if not wanted or "explain_cam.png" in wanted:
            subprocess.run([sys.executable, "-m", "convviz", "train", "default", "--epochs", "4", "--out", trained],
                           check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for name, (design, view, image) in VIEW_SHOTS.items():
            shots[name] = [trained if design == TRAINED else design, "--view", view] + (["--image", image] if image else [])
        if not wanted or wanted & set(RUN_SHOTS):
            store = scratch / "shots"
            train_runs(store, scratch, env)
            for name, (folder, run, overlay, view) in RUN_SHOTS.items():
                shots[name] = ["--runs", str(store / folder), "--run", run, "--view", view] + (
                    ["--overlay", ",".join(overlay)] if overlay else [])
        render({name: args for name, args in shots.items() if not wanted or name in wanted}, env)


def render(shots: dict[str, list[str]], env: dict[str, str]) -> None:
    for name, args in shots.items():
        subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(OUT / name), *args],
                       check=True, env=env, cwd=ROOT)
        print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
