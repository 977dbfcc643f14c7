"""How fast is the live analysis? Full ``analyze`` against a torch-based summary (meta device).

    python bench/analysis_speed.py

Prints, for resnet18 and a generated 500-node design, the median time of ``analyze(design)`` and
of building the same design as a model on the meta device and running it once (what a
torch-based summary such as torchinfo costs), and their ratio. Goals: resnet18 < 2 ms,
500 nodes < 20 ms, and at least 20× faster than the meta-device run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.generated import residual_design  # noqa: E402
from convviz.analysis import analyze  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.model import build_model  # noqa: E402


def median_seconds(fn, runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def meta_summary(design):
    with torch.device("meta"):
        model = build_model(design)
        model(torch.empty((1, *design.input.shape)))


def main() -> None:
    torch.set_grad_enabled(False)
    rows = [("resnet18", load_template("resnet18"), 2.0), ("generated 500", residual_design(500), 20.0)]
    print(f"{'design':<16}{'nodes':>6}{'analyze ms':>12}{'meta ms':>10}{'speed-up':>10}{'goal ms':>9}")
    for name, design, goal in rows:
        assert analyze(design).ok
        ours = median_seconds(lambda: analyze(design), 200)
        theirs = median_seconds(lambda: meta_summary(design), 20)
        print(f"{name:<16}{len(design):>6}{ours * 1e3:>12.3f}{theirs * 1e3:>10.2f}{theirs / ours:>9.1f}×"
              f"{goal:>9.1f}  {'ok' if ours * 1e3 < goal and theirs / ours >= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
