"""Does the app's memory stay flat? Resident memory (RSS) over repeated work in the real window.

    python bench/memory.py [--captures 200] [--cycles 20] [--calibrate]

1. Explain: resnet18 (random weights) in the Explain tab (offscreen), 200 images loaded one after
   another (the bundled samples, in turn), each captured — every activation — and shown before the
   next. RSS is printed every 20 captures; the figure that matters is the growth after warm-up
   (captures 20 → 200). Baseline: before the fix (PySide6 kept every auto-deleted QRunnable's Python
   side, with the arguments of fast view jobs: whole captures), 150 captures grew 475 → 1,270 MB.
2. Training: the default design on the built-in shapes in the Train tab, 20 runs started and stopped
   after their first reported step; RSS after each, growth after the first three.
3. ``--calibrate``: the analysis's training-memory estimate (``convviz.analysis.memory``) against the
   peak RSS of real training steps (``VmHWM`` reset through ``/proc/self/clear_refs``; Linux only),
   the ratio per design and batch size: how far the refusals before training can be trusted.

RSS is noisy while other work runs on the machine; compare the growth, not single readings.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; elsewhere resource's peak, in MB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def explain_captures(count: int) -> list[float]:
    """RSS after each of ``count`` image captures in the Explain tab on resnet18."""
    from PySide6.QtWidgets import QApplication

    from convviz.data.images import sample_images
    from convviz.design import load_template
    from convviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(load_template("resnet18"), recovery_dir=Path(os.environ.get("TMPDIR", "/tmp")) /
                        "convviz-bench-recovery", persistent=False)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    panel = window.show_explain()
    names = [s.name for s in sample_images()]
    readings = []
    try:
        for i in range(count):
            panel.image_input.load_sample(names[i % len(names)])
            if not panel.controller.settle(120):
                raise SystemExit("the Explain tab did not settle within two minutes")
            readings.append(rss_mb())
    finally:
        window.document.undo_stack.setClean()
        window.close()
        app.processEvents()
    return readings


def train_cycles(count: int) -> list[float]:
    """RSS after each of ``count`` training runs started and stopped in the Train tab."""
    from PySide6.QtWidgets import QApplication

    from convviz.design import load_template
    from convviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(load_template("default"), recovery_dir=Path(os.environ.get("TMPDIR", "/tmp")) /
                        "convviz-bench-recovery", persistent=False)
    window.show()
    panel = window.tab_widget(window.train_tab)
    window.tabs.setCurrentIndex(window.train_tab)
    deadline = time.monotonic() + 300
    while panel.dataset is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    readings = []
    try:
        for _ in range(count):
            panel.start()
            stepped = time.monotonic() + 120
            while panel.run is not None and panel.progress.value() < 1 and time.monotonic() < stepped:
                app.processEvents()
                time.sleep(0.005)
            panel.stop()
            while panel.run is not None and time.monotonic() < stepped + 60:
                app.processEvents()
                time.sleep(0.005)
            gc.collect()
            readings.append(rss_mb())
    finally:
        window.document.undo_stack.setClean()
        window.close()
        app.processEvents()
    return readings


def calibrate() -> None:
    """The training-memory estimate against the measured peak of real steps (Adam, float32, CPU)."""
    import ctypes

    import torch
    import torch.nn.functional as F

    from convviz.analysis import analyze
    from convviz.analysis.memory import training_memory
    from convviz.design import InputSpec, load_template
    from convviz.model import build_model

    def peak_bytes() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise OSError("no VmHWM")

    def resident() -> int:
        return int(rss_mb() * 1024 * 1024)

    torch.set_num_threads(1)
    print("training-memory estimate vs the peak of a real step (Adam, CPU, one thread):")
    for name, size, batch in (("lenet5", None, 256), ("resnet18", None, 1), ("resnet18", None, 8),
                              ("resnet18", None, 32), ("resnet18", 448, 4), ("alexnet", None, 8),
                              ("vgg11", None, 4), ("default", 256, 8), ("default", 512, 4)):
        design = load_template(name)
        if size:
            design.set_input_spec(InputSpec(design.input.channels, size, size))
        analysis = analyze(design)
        model = build_model(design, analysis).train()
        x, y = torch.randn(batch, *design.input.shape), torch.zeros(batch, dtype=torch.long)
        optimizer = torch.optim.Adam(model.parameters())

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            optimizer.step()

        step()  # the optimiser's state exists from here on
        optimizer.zero_grad(set_to_none=True)
        persistent = sum(p.numel() * 4 for p in model.parameters()) + sum(
            v.numel() * v.element_size() for state in optimizer.state.values() for v in state.values()
            if torch.is_tensor(v))
        gc.collect()
        ctypes.CDLL(None).malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        base = resident()
        step()
        measured = persistent + peak_bytes() - base
        estimate = training_memory(design, analysis, batch, "adam").total
        label = f"{name}{f' {size}×{size}' if size else ''}, batch {batch}"
        print(f"  {label:28s} measured {measured / 2**20:8.1f} MiB   estimate {estimate / 2**20:8.1f} MiB   "
              f"ratio {estimate / measured:5.2f}")
        del model, optimizer, x


def growth(readings: list[float], warm: int) -> str:
    after = readings[warm:]
    return (f"{readings[warm - 1]:.0f} → {readings[-1]:.0f} MB after warm-up ({readings[-1] - readings[warm - 1]:+.0f} MB; "
            f"max {max(after):.0f}, median {statistics.median(after):.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--calibrate", action="store_true", help="the memory estimate against measured steps")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = rss_mb()
    if args.captures:
        readings = explain_captures(args.captures)
        print(f"Explain, resnet18, {args.captures} captures (RSS in MB, every 20th):")
        print("  " + "  ".join(f"{i + 1}:{r:.0f}" for i, r in enumerate(readings) if i % 20 == 19 or i == 0))
        print(f"  {growth(readings, min(20, len(readings)))}   (process at start: {start:.0f} MB)")
        print("  baseline before the fix: 150 captures grew 475 → 1,270 MB without levelling off")
    if args.cycles:
        readings = train_cycles(args.cycles)
        print(f"Train tab, default design, {args.cycles} runs started and stopped (RSS in MB):")
        print("  " + "  ".join(f"{r:.0f}" for r in readings))
        print(f"  {growth(readings, min(3, len(readings)))}")
    if args.calibrate:
        calibrate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
