"""What does convviz's training loop cost over a plain PyTorch loop? And the window while it trains?

    python bench/train_overhead.py [--device auto|cpu|cuda|mps] [--amp off|bf16|fp16] [--compile]
                                   [--pairs 5] [--threads N] [--design default] [--no-gui]

The same model (``--design``), the same synthetic data, batch size, optimizer, schedule, device and
precision, trained for ``--epochs`` with a validation pass per epoch, by each loop of ``VARIANTS``:

- plain:   the baseline every ratio is against: a hand-written loop over device-resident float
           tensors (fitted to the design and normalised once, up front), shuffled with ``randperm``
           each epoch, reading the validation accuracy with one ``.item()``;
- convviz: ``Trainer`` with live weight snapshots and step records at the Train tab's rates (10 per second
           each, as ``ui/train/worker.py`` asks), every record passed to a callback that reads it; gradient
           statistics off;
- recorded: what the app and ``convviz train`` do: the same with gradient statistics on every reported
           step, the replay probe (32 snapshots) and every record written to a run store (SQLite in WAL
           mode, the weights files each epoch) in a temporary folder, by the recorder's own thread.

Runs are interleaved in pairs (plain, convviz, then convviz, plain, …) after one warm-up run each;
each pair gives a ratio of training throughput (samples per second over the whole run, and over the
epochs after the first, which excludes ``--compile``'s compilation). Printed: the median and range of
each over ``--pairs`` pairs. Goal: convviz and recorded ≥ 0.95 × plain. Afterwards, the run store alone:
one recorded run's records written again with no training beside them.

Then (``--gui``, on by default) the app itself, in a process of its own, as the app runs (its GUI thread
never ran torch; the loops above ran on this one, and a thread that has run torch keeps an OpenMP team
that slows every other: see ``convviz/ui/tasks.py``), with the collector policy the app adopts at its
first paint: the main window's Train tab trains the same design, recorded, with its live views, in
``--pairs`` pairs interleaved with the plain loop run in a thread of that same process while the window
idles (the machine as that process finds it). Goal: ≥ 0.95 × plain. Then one more in-app run while a
2 ms timer on the app's own event loop (``QEventLoop.exec``, no processEvents spin) records how late it
fires, first idle (the noise floor of a busy machine), then while training (a run of its own: the
timer's 500 wake-ups a second would slow the timed runs). Goal: p99 ≤ 16.7 ms.

The machine is shared: read the ranges, not only the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from convviz.data import conform, load_dataset  # noqa: E402
from convviz.design import load_design_or_template  # noqa: E402
from convviz.model import build_model  # noqa: E402
from convviz.train import (AMP_MODES, DEVICES, DataSpec, EpochRecord, SnapshotRecord, StepRecord,  # noqa: E402
                           TrainConfig, Trainer)
from convviz.train.devices import resolve_device, resolve_precision  # noqa: E402
from convviz.train.optim import make_optimizer, make_schedule  # noqa: E402

#: Step records and weight snapshots per second, as the Train tab's worker asks (``ui/train/worker.py``).
UI_RATE = 10.0
FRAME_MS = 1000 / 60


class Run:
    """One timed run: wall seconds of each epoch (training and its validation pass)."""

    def __init__(self, epoch_seconds: list[float], samples_per_epoch: int, info: str = "") -> None:
        self.epoch_seconds, self.samples_per_epoch, self.info = epoch_seconds, samples_per_epoch, info

    @property
    def throughput(self) -> float:
        return self.samples_per_epoch * len(self.epoch_seconds) / sum(self.epoch_seconds)

    @property
    def steady(self) -> float:
        """Samples per second after the first epoch (compilation, first-touch allocations)."""
        later = self.epoch_seconds[1:] or self.epoch_seconds
        return self.samples_per_epoch * len(later) / sum(later)


def plain_loop(design, data, config: TrainConfig, device: torch.device) -> Run:
    """What someone who knows PyTorch would write for this data."""
    precision = resolve_precision(config.amp, device)
    mean, std = data.mean_std()
    mean_t, std_t = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)

    mean_t, std_t = mean_t.to(device), std_t.to(device)

    def to_float(images: torch.Tensor) -> torch.Tensor:  # fitted and normalised once, on the device, in slices
        return torch.cat([(conform(part.to(device).float() / 255, data.shape) - mean_t) / std_t
                          for part in images.split(1024)])

    x_train, y_train = to_float(data.train.images), data.train.labels.to(device)
    x_val, y_val = to_float(data.val.images), data.val.labels.to(device)
    torch.manual_seed(config.seed)
    model = build_model(design).to(device)
    forward = torch.compile(model) if config.compile else model
    optimizer = make_optimizer(model, config)
    steps = len(y_train) // config.batch_size
    schedule = make_schedule(optimizer, config, steps)
    scaler = precision.grad_scaler(device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    seconds = []
    _sync(device)
    for _ in range(config.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(y_train), device=device, generator=generator)
        for i in range(steps):
            index = order[i * config.batch_size:(i + 1) * config.batch_size]
            with precision.autocast(device):
                loss = F.cross_entropy(forward(x_train[index]), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            if schedule is not None:
                schedule.step()
        model.eval()
        correct = torch.zeros((), dtype=torch.int64, device=device)
        with torch.no_grad(), precision.autocast(device):
            for i in range(0, len(y_val), 2 * config.batch_size):
                logits = forward(x_val[i:i + 2 * config.batch_size])
                correct += (logits.argmax(1) == y_val[i:i + 2 * config.batch_size]).sum()
        correct.item()
        seconds.append(time.perf_counter() - start)
    return Run(seconds, steps * config.batch_size)


def convviz_loop(design, data, config: TrainConfig, device: torch.device, recorded: bool = False) -> Run:
    """The same run through ``Trainer``, with a callback that looks at every record as the UI's worker does;
    ``recorded``: as the app and the CLI train, recorded in a (temporary) run store."""
    recorder = None
    if recorded:
        from convviz.runs import ReplayProbe, RunRecorder, RunStore

        trainer = Trainer(design, data, config, report_rate=UI_RATE, snapshot_rate=UI_RATE, gradient_stats=True,
                          probe=ReplayProbe(design, data, config.seed))
        recorder = RunRecorder(RunStore(STORE, scan=False), trainer, name="bench")
        LAST_RUN[:] = [trainer]
    else:
        trainer = Trainer(design, data, config, report_rate=UI_RATE, snapshot_rate=UI_RATE, gradient_stats=False)
    seen: dict[str, int] = {}
    sink = []
    seconds = []
    _sync(device)
    start = time.perf_counter()
    for record in trainer:
        if recorder is not None:
            recorder.add(record)
            LAST_RUN.append(record)
        seen[type(record).__name__] = seen.get(type(record).__name__, 0) + 1
        if isinstance(record, SnapshotRecord):
            sink.append(float(np.abs(record.weights).max()))
        elif isinstance(record, StepRecord):
            sink.append(record.loss)
        elif isinstance(record, EpochRecord):
            now = time.perf_counter()
            seconds.append(now - start)
            start = now
    return Run(seconds, trainer.steps_per_epoch * config.batch_size,
               " ".join(f"{k.removesuffix('Record')}:{v}" for k, v in seen.items()))


def recorded_loop(design, data, config: TrainConfig, device: torch.device) -> Run:
    return convviz_loop(design, data, config, device, recorded=True)


#: The loops compared, as (name → function(design, data, config, device) → Run). The first is the baseline.
VARIANTS = {
    "plain": plain_loop,
    "convviz": convviz_loop,
    "recorded": recorded_loop,
}
#: The recorded variant's run store (a temporary folder), and its latest run: [trainer, records…].
STORE = Path(tempfile.mkdtemp(prefix="convviz-bench-store-"))
LAST_RUN: list = []


def store_alone() -> str:
    """The latest recorded run's records written again, alone: what the recorder's thread does per run."""
    from convviz.runs import RunRecorder, RunStore

    trainer, records = LAST_RUN[0], LAST_RUN[1:]
    walls, cpus = [], []
    for _ in range(3):
        recorder = RunRecorder(RunStore(STORE, scan=False), trainer, name="alone")
        wall, cpu = time.perf_counter(), time.process_time()
        for record in records:
            recorder.add(record)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (f"the run store alone: one run's {len(records)} records written in {1000 * statistics.median(walls):.0f} ms "
            f"({1000 * statistics.median(cpus):.0f} ms of CPU)")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_range(values: list[float], fmt: str = "{:,.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", default="default")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--amp", choices=AMP_MODES, default="off")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in every loop")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=6000, help="synthetic images (a tenth for validation)")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved runs of every variant")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (the default two spin badly on a busy "
                                                    "machine)")
    parser.add_argument("--gui-epochs", type=int, help="epochs of the in-app run (default: --epochs)")
    parser.add_argument("--no-gui", dest="gui", action="store_false", help="skip the in-app event-loop probe")
    parser.add_argument("--gui-only", action="store_true", help=argparse.SUPPRESS)  # the in-app part's process
    parser.add_argument("--plain-speed", type=float, help=argparse.SUPPRESS)  # the plain loop's training samples/s
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    design = load_design_or_template(args.design)
    device = resolve_device(args.device)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device, amp=args.amp,
                         compile=args.compile)
    if args.gui_only:
        gui_stalls(args, config)
        return
    data = load_dataset(DataSpec(), design.input, synthetic_size=args.images, seed=0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{design.name} on {device} (amp {resolve_precision(args.amp, device).amp}, compile {args.compile}, "
          f"{torch.get_num_threads()} threads), batch {args.batch_size}, {args.epochs} epochs of {len(data.train)} "
          f"images + validation; {os.cpu_count()} CPUs, load average {load:.2f}", flush=True)

    warm = TrainConfig(epochs=1, batch_size=args.batch_size, device=args.device, amp=args.amp, compile=args.compile)
    for loop in VARIANTS.values():
        loop(design, data, warm, device)
    names = list(VARIANTS)
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for pair in range(args.pairs):
        order = names if pair % 2 == 0 else names[::-1]
        for name in order:
            runs[name].append(VARIANTS[name](design, data, config, device))
        print(f"  pair {pair + 1} ({' → '.join(order)}): " + "   ".join(
            f"{name} {runs[name][-1].throughput:9,.0f}/s {runs[name][-1].info}".rstrip() for name in names),
            flush=True)
    baseline = names[0]
    print(f"\n{'loop':<12}{'samples/s, whole run':>30}{'samples/s, after epoch 1':>30}"
          f"{'× ' + baseline + ', whole':>22}{'× ' + baseline + ', after 1':>22}")
    for name in names:
        whole = [r.throughput / b.throughput for r, b in zip(runs[name], runs[baseline])]
        steady = [r.steady / b.steady for r, b in zip(runs[name], runs[baseline])]
        print(f"{name:<12}{_median_range([r.throughput for r in runs[name]]):>30}"
              f"{_median_range([r.steady for r in runs[name]]):>30}"
              f"{_median_range(whole, '{:.3f}'):>22}{_median_range(steady, '{:.3f}'):>22}")
    for name in names[1:]:
        ratio = statistics.median(r.throughput / b.throughput for r, b in zip(runs[name], runs[baseline]))
        print(f"{name}: {ratio:.3f} × {baseline} over the whole run (goal ≥ 0.95: {'ok' if ratio >= 0.95 else 'MISSED'})")
    seconds = statistics.median(sum(r.epoch_seconds) for r in runs["recorded"])
    print(f"{store_alone()}, beside a {seconds:.1f} s run")
    if args.gui:  # in a process of its own, as the app runs: the loops above gave this thread an OpenMP team
        sys.stdout.flush()
        plain = statistics.median(r.throughput for r in runs[baseline])
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--gui-only", "--plain-speed", f"{plain:.3f}"],
                       check=True)


def gui_stalls(args, config: TrainConfig) -> None:
    """Event-loop stalls of the app's window while its Train tab trains (offscreen unless a display is set)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from bench.app_policy import adopt_app_heap_policy
    from bench.loop_probe import LatenessProbe

    from convviz.ui.main_window import MainWindow
    from convviz.ui.train import panel as train_panel

    app = QApplication.instance() or QApplication([])
    train_panel.load_dataset_for = lambda spec, shape, val, seed: load_dataset(
        spec, shape, val_fraction=val, seed=seed, synthetic_size=args.images)
    design = load_design_or_template(args.design)
    window = MainWindow(design.copy(), recovery_dir=Path("/tmp/convviz-bench-recovery"),
                        persistent=False, runs_dir=Path(tempfile.mkdtemp(prefix="convviz-bench-runs-")))
    window.resize(1600, 1000)
    window.show()
    adopt_app_heap_policy(window)  # as the app does at its first paint
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)

    def run_loop(until, limit_s: float) -> None:
        loop = QEventLoop()
        check = QTimer(interval=50)
        check.timeout.connect(lambda: until() and loop.quit())
        check.start()
        QTimer.singleShot(int(limit_s * 1000), loop.quit)
        loop.exec()
        check.stop()

    run_loop(lambda: panel.dataset is not None, 300)
    panel.form.set_config(TrainConfig(epochs=args.gui_epochs or args.epochs, batch_size=config.batch_size,
                                      device=config.device, amp=config.amp, compile=config.compile))
    device = resolve_device(config.device)

    arrivals: list[tuple[str, float, object]] = []  # (record kind, when it reached the GUI thread, record)
    panel.record_received.connect(lambda r: arrivals.append((type(r).__name__, time.perf_counter(), r)))

    def in_app_run(limit_s: float = 1800) -> float:
        """The Train tab's run, start to end on the app's event loop; samples per second, as the loops
        above are timed (epoch to epoch)."""
        arrivals.clear()
        started = []
        QTimer.singleShot(0, lambda: (started.append(True), panel.start()))
        run_loop(lambda: bool(started) and panel.run is None, limit_s)
        begun = next((t for kind, t, _ in arrivals if kind == "StartRecord"), None)
        first = next((r for kind, _, r in arrivals if kind == "StartRecord"), None)
        epochs = [t for kind, t, _ in arrivals if kind == "EpochRecord"]
        if begun is None or not epochs:
            raise SystemExit(f"the in-app run did not train: {re.sub(r'<[^>]+>', '', panel.status.text())}")
        return first.steps_per_epoch * min(config.batch_size, first.train_size) * len(epochs) / (epochs[-1] - begun)

    def plain_beside_the_app() -> float:
        """The plain loop on the same data, in a thread of this process while its window idles: the machine
        as this process finds it, without the app's work."""
        result: list[Run] = []
        thread = threading.Thread(target=lambda: result.append(
            plain_loop(design, panel.dataset, panel.form.config(), device)), name="plain-loop")
        thread.start()
        run_loop(lambda: not thread.is_alive(), 1800)
        thread.join()
        return result[0].throughput

    in_app_run()  # warm-up: the first run imports the rest of the app's training code
    speeds: dict[str, list[float]] = {"plain": [], "in-app": []}
    for pair in range(args.pairs):
        order = ["plain", "in-app"] if pair % 2 == 0 else ["in-app", "plain"]
        for name in order:
            speeds[name].append(plain_beside_the_app() if name == "plain" else in_app_run())
        print(f"  pair {pair + 1} ({' → '.join(order)}): plain {speeds['plain'][-1]:,.0f}/s   "
              f"in-app {speeds['in-app'][-1]:,.0f}/s", flush=True)
    ratios = [a / b for a, b in zip(speeds["in-app"], speeds["plain"])]
    ratio = statistics.median(ratios)
    print(f"the Train tab's run (recorded, gradient statistics, live views): {_median_range(speeds['in-app'])} "
          f"samples/s = {_median_range(ratios, '{:.3f}')} × the plain loop in the same process, interleaved "
          f"(goal ≥ 0.95: {'ok' if ratio >= 0.95 else 'MISSED'})")
    if args.plain_speed:
        print(f"  (the plain loop in the process above: {args.plain_speed:,.0f} samples/s; here "
              f"{statistics.median(speeds['plain']):,.0f})")

    def probe(until, limit_s: float, start=None) -> tuple[np.ndarray, float]:
        lateness = LatenessProbe()
        lateness.start()
        started = time.perf_counter()
        if start is not None:
            QTimer.singleShot(0, start)
        run_loop(until, limit_s)
        return np.array(lateness.stop()), time.perf_counter() - started

    idle, idle_s = probe(lambda: False, 3.0)
    started = []

    def start() -> None:
        started.append(True)
        panel.start()

    # A run of its own: the probe's 500 wake-ups a second would slow the runs timed above.
    busy, seconds = probe(lambda: bool(started) and panel.run is None, 1800, start=start)
    window.document.undo_stack.setClean()
    window.close()

    def line(label: str, stalls: np.ndarray, secs: float) -> str:
        return (f"{label} ({secs:.1f} s, {len(stalls)} ticks): event-loop stall p50 {np.percentile(stalls, 50):.1f} ms, "
                f"p99 {np.percentile(stalls, 99):.1f} ms, max {stalls.max():.1f} ms")

    p99 = float(np.percentile(busy, 99))
    print(line("GUI idle, the noise floor", idle, idle_s))
    print(line(f"GUI while the Train tab trains on {config.device} (recorded, gradient statistics on)", busy, seconds)
          + f" (goal p99 ≤ {FRAME_MS:.1f} ms: {'ok' if p99 <= FRAME_MS else 'MISSED'}; {p99 / FRAME_MS:.2f} frames)")
    print(f"the run: {re.sub(r'<[^>]+>', '', panel.status.text())}")  # the label holds rich text


if __name__ == "__main__":
    main()
