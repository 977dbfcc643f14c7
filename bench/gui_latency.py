"""How responsive is the designer? Prints three figures against the issue's goals.

    python bench/gui_latency.py

1. Change one parameter near the top of resnet18 → every footer and the summary updated and
   repainted (median of 40 edits; goal < 30 ms).
2. Open a generated 200-node design, lay it out and paint it (median of 5; goal < 0.5 s).
3. First painted window after process start, ``python -m convviz`` (median of 5; goal < 1.5 s).

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.generated import residual_design  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.ui.commands import SetParamCommand  # noqa: E402


def flush(app: QApplication, window) -> None:
    """Until the screen shows the edit: the scene's batched update, then the viewports' paint events."""
    for _ in range(3):
        app.processEvents()


def edit_latency(app, window) -> float:
    window.open_design(load_template("resnet18"), None)
    flush(app, window)
    times = []
    for i in range(40):
        start = time.perf_counter()
        window.document.undo_stack.push(SetParamCommand(window.document, "conv1", "out_channels", 32 + (i % 2) * 32))
        flush(app, window)
        times.append(time.perf_counter() - start)
    assert window.scene.nodes["layer1_0_conv1"].text is not None
    return statistics.median(times)


def open_latency(app, window) -> float:
    times = []
    for _ in range(5):
        design = residual_design(200)
        start = time.perf_counter()
        window.open_design(design, None)
        window.view.fit_all()
        flush(app, window)
        times.append(time.perf_counter() - start)
    assert len(window.scene.nodes) == 200
    return statistics.median(times)


def first_paint() -> float:
    times = []
    env = {**os.environ, "CONVVIZ_STARTUP_PROBE": "1"}
    for _ in range(5):
        start = time.time()
        result = subprocess.run([sys.executable, "-m", "convviz"], env=env, capture_output=True, text=True, timeout=60)
        line = next((l for l in result.stdout.splitlines() if l.startswith("first-paint")), None)
        if line is None:
            raise RuntimeError(f"no first-paint line: {result.stdout}\n{result.stderr}")
        painted_at = float(line.rsplit("epoch", 1)[1])
        times.append(painted_at - start)
    return statistics.median(times)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    from convviz.ui.main_window import MainWindow

    window = MainWindow(recovery_dir=Path(os.environ.get("TMPDIR", "/tmp")) / "convviz-bench-recovery")
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    edit = edit_latency(app, window)
    opened = open_latency(app, window)
    window.document.undo_stack.setClean()
    window.close()
    paint = first_paint()
    rows = [("edit a resnet18 parameter → all footers + summary", edit, 0.030),
            ("open + lay out + paint a 200-node design", opened, 0.5),
            ("process start → first painted window", paint, 1.5)]
    for label, value, goal in rows:
        print(f"{label:<52} {value * 1e3:8.1f} ms   goal < {goal * 1e3:.0f} ms   "
              f"{'ok' if value < goal else 'MISSED'}  ({value / goal:.2f} of the goal)")


if __name__ == "__main__":
    main()
