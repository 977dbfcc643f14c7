"""How long does the Explain panel make the user wait? Against a bare forward pass, side by side.

    python bench/explain_latency.py [--runs N] [--node ID]

Baseline: resnet18 (random weights) on a prepared 3×224×224 tensor, one forward pass under
``torch.inference_mode()`` with no hooks. Measured: the whole path behind the feature-map view —
read and preprocess a sample image, one forward pass capturing every node's output, and the
selected node's mosaic (the array the UI puts on screen; default ``conv1``, the largest map).
The two alternate run by run (ABBA); medians are printed with their ratio (goal: at most 1.3×),
then the latency of the other views for the record. On a shared machine the times drift: compare
the ratio, not the milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from convviz.data.images import sample_images  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.explain import (effective_field, feature_maps, feature_mosaic, filter_mosaic, grad_cam,  # noqa: E402
                             network_from_design, unit_field, window_animation)

GOAL = 1.3


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--node", default="conv1")
    args = parser.parse_args()

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
    baseline, views = [], []
    for run in range(args.runs):  # alternate the order (ABBA) so drift in machine load cancels out
        for fn in ((bare, explain_view) if run % 2 == 0 else (explain_view, bare)):
            (baseline if fn is bare else views).append(timed(fn)[0])
    base, view = statistics.median(baseline), statistics.median(views)
    ratio = view / base
    paired = statistics.median(v / b for v, b in zip(views, baseline))
    shown = explain_view()
    print(f"resnet18, 3×224×224, CPU, {torch.get_num_threads()} threads, median of {args.runs} runs")
    print(f"  bare forward (no hooks)                         {base * 1000:8.1f} ms")
    print(f"  image → all {len(network.analysis.order)} activations → {args.node} mosaic "
          f"{shown.image.shape[0]}×{shown.image.shape[1]}   {view * 1000:8.1f} ms")
    print(f"  ratio                                           {ratio:8.3f}×  (goal ≤ {GOAL}×: "
          f"{'met' if ratio <= GOAL else 'MISSED'}; median of per-run ratios {paired:.3f}×)")

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
