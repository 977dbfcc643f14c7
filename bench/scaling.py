"""No super-linear work on user input: time against input size, ×10 at a time, side by side.

    python bench/scaling.py [--repeats 5]

- the analysis of a design whose MaxPool2d kernel is 10³ … 10¹² (the fix "Set kernel_size to …" was a
  linear search: 10⁹ took >30 s, 10¹² never ended; now closed form: the time must not grow at all);
- ``top_predictions`` over 2,000 … 200,000 classes, every class ranked (was quadratic: 20,000 took
  85 s; now argpartition, linear: ×10 classes should cost about ×10, the ranking's sort aside).

Medians of ``--repeats`` runs; the ratio column is each row over the one above (goal ≈ 1 for the
kernel, ≈ 10 for the classes). Noisy on a shared machine: read the ratios, not the milliseconds.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from convviz.analysis import analyze  # noqa: E402
from convviz.design import load_template  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up: first-call costs (imports, caches) are not the input's size
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(title: str, rows: list[tuple[str, float]], goal: str) -> None:
    print(f"{title} (goal: ratio {goal})")
    previous = None
    for label, seconds in rows:
        ratio = f"{seconds / previous:6.2f}×" if previous else "       "
        print(f"  {label:>22s}  {seconds * 1000:9.3f} ms  {ratio}")
        previous = seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rows = []
    for exponent in (3, 6, 9, 12):
        design = load_template("default")
        design.set_param("pool1", "kernel_size", 10 ** exponent)
        rows.append((f"kernel 10^{exponent}", median_time(lambda d=design: analyze(d), args.repeats)))
    table("analyze(default) with an oversized MaxPool2d kernel", rows, "≈ 1")

    import torch  # noqa: F401  (explain needs it; imported here so the first table runs without it)

    from convviz.explain import network_from_design, top_predictions

    # As in the app: start-up objects frozen and no automatic collection inside a call (the app collects
    # on the GUI thread's timer, convviz.ui.gc_guard); otherwise ranking 200,000 classes makes 200,000
    # result objects, and the generation-2 collections they trigger walk every object in the process.
    gc.collect()
    gc.freeze()
    gc.disable()
    rng = np.random.default_rng(0)
    networks = []
    for classes in (2_000, 20_000, 200_000):
        design = load_template("default")
        design.set_param("fc", "out_features", classes)
        networks.append((classes, network_from_design(design), rng.random(classes).astype(np.float32)))
    for title, top in (("top_predictions, the top 5 (what the app shows)", lambda p: 5),
                       ("top_predictions, every class ranked (n log n: a little over 10)", len)):
        rows = [(f"{classes:,} classes", median_time(lambda n=network, p=probs: top_predictions(n, p, top(p)),
                                                     args.repeats))
                for classes, network, probs in networks]
        table(title, rows, "≈ 10")
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
