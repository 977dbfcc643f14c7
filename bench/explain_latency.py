"""How long does the Explain panel make the user wait? Against a bare forward pass, side by side.

    python bench/explain_latency.py [--runs N] [--node ID]

Baseline: resnet18 (random weights) on a prepared 3×224×224 tensor, one forward pass under
``torch.inference_mode()`` with no hooks. Measured: the whole path behind the feature-map view —
read and preprocess a sample image, one forward pass capturing every node's output, and the
selected node's mosaic (the array the UI puts on screen; default ``conv1``, the largest map).
The two alternate run by run (ABBA); medians are printed with their ratio (goal: at most 1.3×),
then the latency of the other views for the record. On a shared machine the times drift: compare
the ratio, not the milliseconds. CPU time and page faults per call are printed beside the wall
time: keeping every activation alive costs page faults the bare pass does not have
(``--keep-freed-memory`` shows the figure without them).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from convviz.data.images import sample_images  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.explain import (effective_field, feature_maps, feature_mosaic, filter_mosaic, grad_cam,  # noqa: E402
                             keep_freed_memory, network_from_design, unit_field, window_animation)

GOAL = 1.3


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def costs(fn) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, minor page faults) of one call."""
    before, cpu = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time()
    wall, _ = timed(fn)
    return wall, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--node", default="conv1")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="call convviz.explain.keep_freed_memory() first (what the app does at start)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.keep_freed_memory:
        keep_freed_memory()

    network = network_from_design(load_template("resnet18"))
    sample = next(s for s in sample_images() if s.name == "scene_garden")
    image = network.prepare(sample.path)

    def bare():
        with torch.inference_mode():
            return network.model(image.tensor)

    def explain_view():
        prepared = network.prepare(sample.path)
        acts = feature_maps(network, prepared)
        return feature_mosaic(acts[args.node])

    bare()
    explain_view()  # warm up both paths
    measured: dict = {bare: [], explain_view: []}
    for run in range(args.runs):  # alternate the order (ABBA) so drift in machine load cancels out
        for fn in ((bare, explain_view) if run % 2 == 0 else (explain_view, bare)):
            measured[fn].append(costs(fn))
    (base, base_cpu, base_faults), (view, view_cpu, view_faults) = (
        tuple(statistics.median(column) for column in zip(*measured[fn])) for fn in (bare, explain_view))
    ratio = view / base
    shown = explain_view()
    print(f"resnet18, 3×224×224, CPU, {torch.get_num_threads()} threads, median of {args.runs} runs")
    print(f"  {'':48s} {'wall':>9s} {'CPU':>9s} {'page faults':>12s}")
    print(f"  {'bare forward (no hooks)':48s} {base * 1000:7.1f}ms {base_cpu * 1000:7.1f}ms {base_faults:12.0f}")
    label = f"image → all {len(network.analysis.order)} activations → {args.node} mosaic"
    print(f"  {label:48s} {view * 1000:7.1f}ms {view_cpu * 1000:7.1f}ms {view_faults:12.0f}")
    print(f"  ratio (wall)  {ratio:6.3f}×   goal ≤ {GOAL}×: {'met' if ratio <= GOAL else 'MISSED'}")
    print(f"  ratio (CPU)   {view_cpu / base_cpu:6.3f}×   mosaic {shown.image.shape[0]}×{shown.image.shape[1]}")

    prep = statistics.median(timed(lambda: network.prepare(sample.path))[0] for _ in range(args.runs))
    acts = feature_maps(network, image)
    mosaic_time = statistics.median(timed(lambda: feature_mosaic(acts[args.node]))[0] for _ in range(args.runs))
    print(f"    of which: image load + preprocess {prep * 1000:.1f} ms, mosaic {mosaic_time * 1000:.1f} ms")

    print("other views (one run each):")
    others = {
        "receptive field of layer4_1_out (3, 3)": lambda: unit_field(network, "layer4_1_out", 3, 3),
        "effective field of layer3_1_out (7, 7)": lambda: effective_field(network, image, "layer3_1_out", 7, 7),
        "Grad-CAM, top 3 classes": lambda: grad_cam(network, image, top_k=3),
        "filter mosaic of layer4_1_conv2": lambda: filter_mosaic(network.model.get_submodule("layer4_1_conv2")),
        "sliding window conv1: setup + 1 frame": lambda: window_animation(network, acts, "conv1").frame(500),
    }
    for label, fn in others.items():
        print(f"  {label:45s} {timed(fn)[0] * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
