"""Does occlusion finish, and as fast as its forward passes allow? Side by side in one run.

    python bench/occlusion_speed.py [--runs N] [--design resnet18] [--threads T]

On resnet18 (random weights) at 3×224×224 with the app's defaults for that size (patch 28, stride
14: 225 occluded copies) and the batch size the app picks (``batch_for``: batches of about a
quarter second), it prints:

- the baseline: (occluded copies ÷ batch, rounded up) × the median time of one batched forward pass;
- ``occlusion_map`` end to end (copies, forwards, probabilities, the heat map), median of the runs,
  and its ratio to the baseline (goal: at most 1.2×); and, timed within the same runs, its time over
  the time of its own batched forward passes (the overhead alone, whatever else the machine runs);
- the estimate the app shows before it starts (``seconds_per_image`` × copies) against the real time;
- how long a cancel takes to land: the work is stopped mid-run and the time until the call returns
  is measured (goal: under 0.5 s).

On a shared machine the times drift: compare ratios, not milliseconds. Runs alternate (baseline,
occlusion) so drift hits both.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from convviz.data.images import sample_images  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.explain import (Cancelled, batch_for, default_patch, network_from_design, occlusion_map,  # noqa: E402
                             position_count, seconds_per_image)
from convviz.explain.hooks import as_batch  # noqa: E402

GOAL = 1.2
CANCEL_GOAL_S = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--design", default="resnet18")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    network = network_from_design(load_template(args.design))
    sample = next(s for s in sample_images() if s.name == "scene_garden")
    image = network.prepare(sample.path)
    height, width = image.tensor.shape[2:]
    patch, stride = default_patch(height, width)
    count = position_count(height, width, patch, stride)
    per_image = seconds_per_image(network, image)
    batch = batch_for(per_image)
    copies = as_batch(image).repeat(batch, 1, 1, 1)
    print(f"{args.design} at {height}×{width}: patch {patch}, stride {stride} → {count} occluded copies, "
          f"batch {batch} ({math.ceil(count / batch)} batches); torch threads {torch.get_num_threads()}")

    def one_batch() -> float:
        with torch.inference_mode():
            start = time.perf_counter()
            network.model(copies)
            return time.perf_counter() - start

    forwards: list[float] = []
    timing: dict[str, float] = {}

    def before(module, inputs):
        timing["start"] = time.perf_counter()

    def after(module, inputs, output):
        forwards.append(time.perf_counter() - timing["start"])

    def occlusion() -> float:
        forwards.clear()
        hooks = [network.model.register_forward_pre_hook(before), network.model.register_forward_hook(after)]
        try:
            start = time.perf_counter()
            occlusion_map(network, image, patch=patch, stride=stride, batch_size=batch)
            total = time.perf_counter() - start
        finally:
            for hook in hooks:
                hook.remove()
        in_run.append(total / sum(forwards[1:]))  # the first forward is the unoccluded image's
        return total

    one_batch()  # warm-up
    baseline_runs, occlusion_runs, in_run = [], [], []
    for _ in range(args.runs):
        baseline_runs.append(math.ceil(count / batch) * statistics.median(one_batch() for _ in range(3)))
        occlusion_runs.append(occlusion())
    baseline, measured = statistics.median(baseline_runs), statistics.median(occlusion_runs)
    ratio = measured / baseline
    print(f"baseline (batches × one batched forward): {baseline:.2f} s  (runs {_span(baseline_runs)})")
    print(f"occlusion_map:                            {measured:.2f} s  (runs {_span(occlusion_runs)})")
    print(f"ratio: {ratio:.2f}×  (goal ≤ {GOAL}×: {'met' if ratio <= GOAL else 'NOT met'})")
    share = statistics.median(in_run)
    print(f"in the same runs, occlusion time ÷ its own batched forwards: {share:.3f}×  (runs {_span(in_run)}; "
          f"robust to a busy machine: both sides are timed together)")
    print(f"estimate shown before it starts: {per_image * count:.2f} s ({per_image * count / measured:.2f}× the real time)")

    latencies = []
    for _ in range(args.runs):
        stop, started = threading.Event(), threading.Event()
        ended: list[float] = []

        def work() -> None:
            try:  # every position (stride 1): long enough to be stopped mid-run
                occlusion_map(network, image, patch=patch, stride=1, batch_size=batch, should_stop=stop.is_set,
                              progress=lambda done, total: started.set())
            except Cancelled:
                pass
            ended.append(time.perf_counter())

        thread = threading.Thread(target=work)
        thread.start()
        started.wait()
        time.sleep(0.3)  # mid-batch, as a user's click would be
        asked = time.perf_counter()
        stop.set()
        thread.join()
        if ended[0] > asked:
            latencies.append(ended[0] - asked)
    if not latencies:
        print("cancel: every run finished before it could be stopped")
        return 0
    worst = max(latencies)
    print(f"cancel lands after: {_span(latencies)} s (worst {worst:.2f} s; goal < {CANCEL_GOAL_S} s: "
          f"{'met' if worst < CANCEL_GOAL_S else 'NOT met'})")
    return 0


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}…{max(values):.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
