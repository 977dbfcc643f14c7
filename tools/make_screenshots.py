"""Render the README's images with the app itself (``convviz --screenshot``), offscreen.

    python tools/make_screenshots.py [NAME.png …]      # all of them, or only these
    python tools/make_screenshots.py --korean           # only the Korean ones

The Train tab's picture comes from a short seeded run; the class-activation picture uses the
``default`` design trained for a few epochs first (``convviz train``), so it shows what a trained
network attends to rather than random weights. The run-store pictures come from a few runs
trained first into a temporary run store (``convviz train --runs``): ``default`` beside a narrower
and a wider variant, and the plain and residual deep stacks.

The Korean pictures (``docs/images/ko_*.png``) are rendered with ``--lang ko`` on what a machine
without Korean fonts has: fontconfig is pointed at a configuration that hides every font with
Hangul in it, so the Hangul on them comes from the font convviz bundles. Their runs carry Korean
names, as a Korean user would name them.
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
#: The Korean README's pictures (``--lang ko``, no system Korean font): the designer and the Explain tab.
KOREAN_SHOTS = {
    "ko_designer_default.png": ["default"],
    "ko_train_default.png": ["default", "--view", "train"],
    "ko_explain_features.png": ["resnet18", "--view", "explain-features", "--image", "scene_garden"],
    "ko_explain_window.png": ["resnet18", "--view", "explain-window", "--image", "scene_garden"],
}
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


#: The names the runs of ``train_runs`` carry: English, and Korean for the Korean pictures.
RUN_NAMES = {"en": {**{name: name for name in ("narrow", "wide", "plain", "residual", "default")},
                    "design": "Shapes CNN"},
             "ko": {"design": "도형 CNN", "narrow": "좁은 층", "wide": "넓은 층", "plain": "평범한 20층", "residual": "잔차 20층",
                    "default": "기본"}}


#: The Korean pictures of the run store, as ``RUN_SHOTS``.
KOREAN_RUN_SHOTS = {
    "ko_train_compare.png": ("widths", "default", ["narrow", "wide"], "train-compare"),
    "ko_train_gradients_plain.png": ("depth", "plain", ["residual"], "train-gradients"),
}


def train_runs(folder: Path, scratch: Path, env: dict[str, str], names: dict[str, str]) -> None:
    """The runs the run-store pictures show, recorded into two stores in ``folder``: ``widths`` (default
    beside a narrower and a wider variant) and ``depth`` (the plain and the residual deep stack),
    named ``names[...]``."""
    from convviz.design import load_template, save_design

    variants = {}
    for name, widths in (("narrow", (8, 16, 32)), ("wide", (32, 64, 128))):
        design = load_template("default")
        for i, width in enumerate(widths, start=1):
            design.set_param(f"conv{i}", "out_channels", width)
        design.set_name(f"{names['design']}, {names[name]}")
        variants[name] = scratch / f"{name}.json"
        save_design(design, variants[name])
    for store, name, design in (("widths", "narrow", str(variants["narrow"])), ("widths", "wide", str(variants["wide"])),
                                ("depth", "plain", "deep_plain"), ("depth", "residual", "deep_residual"),
                                ("widths", "default", "default")):
        subprocess.run([sys.executable, "-m", "convviz", "train", design, "--epochs", "4", "--name", names[name],
                        "--runs", str(folder / store)], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def run_shot_args(store: Path, shot: tuple[str, str, list[str], str], names: dict[str, str]) -> list[str]:
    folder, run, overlay, view = shot
    return (["--runs", str(store / folder), "--run", names[run], "--view", view]
            + (["--overlay", ",".join(names[o] for o in overlay)] if overlay else []))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    korean_only = "--korean" in sys.argv[1:]
    wanted = {arg for arg in sys.argv[1:] if arg != "--korean"}

    def want(name: str) -> bool:
        return (not wanted or name in wanted) and (not korean_only or name.startswith("ko_"))

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        runs = scratch / "runs"
        env["CONVVIZ_RUNS"] = str(runs)   # nothing of this lands in the user's run store
        shots = {name: [design] for name, design in DESIGNER_SHOTS.items()}
        trained = str(scratch / "default_trained.pt")
        if want("explain_cam.png"):
            subprocess.run([sys.executable, "-m", "convviz", "train", "default", "--epochs", "4", "--out", trained],
                           check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for name, (design, view, image) in VIEW_SHOTS.items():
            shots[name] = [trained if design == TRAINED else design, "--view", view] + (["--image", image] if image else [])
        for language, table in (("en", RUN_SHOTS), ("ko", KOREAN_RUN_SHOTS)):
            if any(want(name) for name in table):
                store = scratch / f"shots-{language}"
                # The Korean runs are trained in Korean: their recorded outcomes read as the app shows them.
                train_runs(store, scratch, {**env, "LANGUAGE": language}, RUN_NAMES[language])
                shots.update({name: run_shot_args(store, shot, RUN_NAMES[language]) for name, shot in table.items()})
        korean = {name: [*args, "--lang", "ko"] for name, args in {**KOREAN_SHOTS, **shots}.items()
                  if name.startswith("ko_")}
        render({name: args for name, args in shots.items() if want(name) and name not in korean}, env)
        render({name: args for name, args in korean.items() if want(name)}, {**env, **without_korean_fonts(scratch)})


def hangul_font_folders() -> list[str]:
    """The folders of every font fontconfig knows with Hangul syllables in it (U+AC00, "가")."""
    try:
        found = subprocess.run(["fc-list", ":charset=ac00", "file"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted({str(Path(line.split(":")[0]).parent) for line in found.stdout.splitlines() if line.strip()})


def without_korean_fonts(scratch: Path) -> dict[str, str]:
    """Environment for a fontconfig that shows the system's fonts except those with Hangul."""
    config = scratch / "fonts.conf"
    rejects = "".join(f"<glob>{folder}/*</glob>" for folder in hangul_font_folders())
    config.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
                      '<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                      f"<selectfont><rejectfont>{rejects}</rejectfont></selectfont>"
                      f"<cachedir>{scratch / 'fontcache'}</cachedir></fontconfig>\n", encoding="utf-8")
    env = {"FONTCONFIG_FILE": str(config)}
    left = subprocess.run(["fc-list", ":charset=ac00"], capture_output=True, text=True, env={**os.environ, **env},
                          timeout=60).stdout.strip() if hangul_font_folders() else ""
    if left:
        raise SystemExit(f"fonts with Hangul are still visible: {left}")
    return env


def render(shots: dict[str, list[str]], env: dict[str, str]) -> None:
    for name, args in shots.items():
        subprocess.run([sys.executable, "-m", "convviz", "--screenshot", str(OUT / name), *args],
                       check=True, env=env, cwd=ROOT)
        print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
