"""Render the README's images with the app itself (``convviz --screenshot``), offscreen.

    python tools/make_screenshots.py            # every image
    python tools/make_screenshots.py --korean   # only the Korean ones

The Train tab's picture comes from a short seeded run; the class-activation picture uses the
``default`` design trained for a few epochs first (``convviz train``), so it shows what a trained
network attends to rather than random weights.

The Korean pictures (``docs/images/ko_*.png``) are rendered with ``--lang ko`` on what a machine
without Korean fonts has: fontconfig is pointed at a configuration that hides every font with
Hangul in it, so the Hangul on them comes from the font convviz bundles.
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
#: The Korean README's pictures (``--lang ko``, no system Korean font): the designer and the Explain tab.
KOREAN_SHOTS = {
    "ko_designer_default.png": ["default"],
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as scratch:
        render({name: [*args, "--lang", "ko"] for name, args in KOREAN_SHOTS.items()},
               {**env, **without_korean_fonts(Path(scratch))})
        if "--korean" in sys.argv[1:]:
            return
        trained = str(Path(scratch) / "default_trained.pt")
        subprocess.run([sys.executable, "-m", "convviz", "train", "default", "--epochs", "4", "--out", trained],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        shots = {name: [design] for name, design in DESIGNER_SHOTS.items()}
        for name, (design, view, image) in VIEW_SHOTS.items():
            shots[name] = [trained if design == TRAINED else design, "--view", view] + (["--image", image] if image else [])
        render(shots, env)


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
