"""How long does the Explain panel make the user wait? Against a bare forward pass, side by side.

    python bench/explain_latency.py [--runs N] [--node ID] [--no-app] [--device cpu|cuda]

Baseline: resnet18 (random weights) on a prepared 3×224×224 tensor, one forward pass under
``torch.inference_mode()`` with no hooks. Measured: the whole path behind the feature-map view —
read and preprocess a sample image, one forward pass capturing every node's output, and the
selected node's mosaic (the array the UI puts on screen; default ``conv1``, the largest map).
The two alternate run by run (ABBA); medians are printed with their ratio (goal: at most 1.3×),
then the latency of the other views for the record. On a shared machine the times drift: compare
the ratio, not the milliseconds. CPU time and page faults per call are printed beside the wall
time: keeping every activation alive costs page faults the bare pass does not have
(``--keep-freed-memory`` shows the figure without them).

In the app (last): the same sample loaded in the Explain tab of the real window (offscreen) until
the feature-map view's ImageItem holds the new mosaic and has painted it — worker threads, signals
and painting included — against a bare forward pass of the same model in the same process on the
app's model thread, timed there (the app has called ``keep_freed_memory()``, as it does when the
tab is first shown), alternating. It runs in a process of its own whose GUI thread never runs
torch, as in the app: a thread that has run torch keeps an OpenMP team, and a second team slows
every pass (see ``convviz.ui.tasks``; a bare pass timed on the GUI thread, as this benchmark did
before, was 1.4–1.6× slower and flattered the ratio). The capture's job in the worker (the forward
pass, then the shown mosaic made and coloured) is printed beside it: the rest is handing work
between threads and painting.

``--device cuda``: the headless figures with the model on the GPU (the image prepared on the CPU and
moved there, as every explain function does; each timing ends with ``torch.cuda.synchronize``); the
app's Explain tab runs on the CPU, so its figure is then skipped.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from convviz.data.images import sample_images  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.explain import (effective_field, feature_maps, feature_mosaic, filter_mosaic, grad_cam,  # noqa: E402
                             keep_freed_memory, network_from_design, unit_field, window_animation)

GOAL = 1.3


DEVICE = torch.device("cpu")


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def timed(fn):
    _sync()
    start = time.perf_counter()
    result = fn()
    _sync()
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
    parser.add_argument("--no-app", action="store_true", help="skip the in-app figure (needs Qt)")
    parser.add_argument("--app-only", action="store_true", help=argparse.SUPPRESS)  # the in-app part's own process
    parser.add_argument("--device", default="cpu", help="where the model runs: cpu or cuda")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.keep_freed_memory:
        keep_freed_memory()
    if args.app_only:
        app_latency(args.runs)
        return 0

    network = network_from_design(load_template("resnet18")).to(DEVICE)
    sample = next(s for s in sample_images() if s.name == "scene_garden")
    image = network.prepare(sample.path)
    on_device = image.tensor.to(DEVICE)

    def bare():
        with torch.inference_mode():
            return network.model(on_device)

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
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"resnet18, 3×224×224, {where}, median of {args.runs} runs")
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
    if DEVICE.type != "cpu":
        print("in the app: skipped (the Explain tab runs on the CPU)")
    elif not args.no_app:  # in a process of its own: the passes above gave this thread an OpenMP team
        sys.stdout.flush()
        command = [sys.executable, __file__, "--app-only", "--runs", str(args.runs)]
        subprocess.run(command + (["--threads", str(args.threads)] if args.threads else []), check=True)
    return 0


def app_latency(runs: int) -> None:
    """Image → every activation → the conv1 mosaic painted, in the real window, vs a bare forward."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from bench.app_policy import adopt_app_heap_policy
    from convviz.ui.explain import controller
    from convviz.ui.main_window import MainWindow
    from convviz.ui.tasks import model_thread

    app = QApplication.instance() or QApplication([])
    window = MainWindow(load_template("resnet18"), recovery_dir=Path(os.environ.get("TMPDIR", "/tmp")) /
                       "convviz-bench-recovery", persistent=False)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    adopt_app_heap_policy(window)
    panel = window.show_explain()
    view = panel.views["features"]
    # Only the previous result is held while waiting (holding them all would keep every capture's
    # 33 MB alive, and the allocator would hand out fresh, page-faulting memory for each new one).
    waiting: dict = {"before": None, "painted_at": None}
    original_paint = pg.ImageItem.paint
    loop = QEventLoop()  # the app's own kind of loop: a processEvents() spin would slow the workers

    def paint(item, *args):  # records when the mosaic's ImageItem has drawn the newest picture
        original_paint(item, *args)
        if item is view.mosaic_plot.image and view.result is not None and view.result is not waiting["before"] \
                and waiting["painted_at"] is None:
            waiting["painted_at"] = time.perf_counter()
            loop.quit()

    captures: list[float] = []
    gui_cpu: list[float] = []  # the GUI thread's CPU time over each in-app load (on two cores it competes with the pass)
    original_capture = controller.capture_image

    def capture_image(*args):  # the worker's share
        start = time.perf_counter()
        result = original_capture(*args)
        captures.append(time.perf_counter() - start)
        return result

    pg.ImageItem.paint = paint
    controller.capture_image = capture_image
    try:
        def in_app() -> float:
            waiting["before"], waiting["painted_at"] = view.result, None
            start, cpu = time.perf_counter(), time.thread_time()
            panel.image_input.load_sample("scene_garden")
            while waiting["painted_at"] is None:
                loop.exec()
            gui_cpu.append(time.thread_time() - cpu)
            waiting["before"] = None
            return waiting["painted_at"] - start

        in_app()
        assert panel.controller.settle(60) and view.result.node_id == "conv1"
        network = panel.controller.network
        image = panel.controller.capture.image

        def bare() -> float:  # on the app's model thread, timed there: no hand-over counted
            took: list[float] = []
            finished = threading.Event()

            def forward() -> None:
                start = time.perf_counter()
                with torch.inference_mode():
                    network.model(image.tensor)
                took.append(time.perf_counter() - start)
                finished.set()

            model_thread().start(forward)
            finished.wait()
            return took[0]

        bare()
        times: dict = {bare: [], in_app: []}
        for run in range(runs):
            for fn in ((bare, in_app) if run % 2 == 0 else (in_app, bare)):
                times[fn].append(fn())
                panel.controller.settle(60)  # the strip and other follow-up work, outside the timing
    finally:
        pg.ImageItem.paint = original_paint
        controller.capture_image = original_capture
        window.document.undo_stack.setClean()
        window.close()
    base, shown = statistics.median(times[bare]), statistics.median(times[in_app])
    print(f"in the app (median of {runs}):")
    print(f"  {'bare forward (no hooks), on the model thread':48s} {base * 1000:7.1f}ms")
    print(f"  {'load image → all activations → conv1 mosaic painted':48s} {shown * 1000:7.1f}ms")
    print(f"  {'  of which the capture job (pass + mosaic)':48s} {statistics.median(captures) * 1000:7.1f}ms")
    print(f"  {'  the GUI thread busy meanwhile (CPU)':48s} {statistics.median(gui_cpu[1:] or gui_cpu) * 1000:7.1f}ms")
    print(f"  ratio  {shown / base:6.3f}×   goal ≤ {GOAL}×: {'met' if shown / base <= GOAL else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
