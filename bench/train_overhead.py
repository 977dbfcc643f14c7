"""What does convviz's training loop cost over a plain PyTorch loop?

    python bench/train_overhead.py [--device auto|cpu|cuda|mps] [--amp off|bf16|fp16] [--batch-size 64]

The same model (``--design``, default "default"), the same synthetic data, batch size, optimizer,
schedule, device and precision, trained for ``--epochs`` with a validation pass per epoch:

- plain:   a hand-written loop over device-resident float tensors (already normalised), shuffled
           with ``randperm`` each epoch, reading the validation accuracy with one ``.item()``;
- convviz: ``Trainer`` with live weight snapshots at the UI's rate (20 per second) and step
           records (20 per second), every record passed to a callback that reads it; gradient
           statistics off, nothing recorded;
- recorded: what the app and ``convviz train`` do: the same, plus gradient statistics on every
           reported step, the replay probe (32 snapshots) and every record written to a run store
           (SQLite in WAL mode, weights files each epoch) in a temporary folder.

Runs alternate (plain, convviz, recorded, plain, …) after one warm-up each; the medians of
``--repeats`` runs give the training samples per second and their ratios to plain.
Goal: convviz and recorded ≥ 0.95 × plain.

Then (``--gui``, on by default) the app itself: the main window's Train tab trains the same design
while a 5 ms QTimer on the GUI thread measures how late each of its ticks fires; the event loop's
stalls are that lateness. Goal: p99 < 30 ms and max < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from convviz.data import load_dataset  # noqa: E402
from convviz.design import load_design_or_template  # noqa: E402
from convviz.model import build_model  # noqa: E402
from convviz.train import (AMP_MODES, DEVICES, DataSpec, SnapshotRecord, StepRecord, TrainConfig,  # noqa: E402
                           Trainer)
from convviz.train.devices import resolve_device, resolve_precision  # noqa: E402
from convviz.train.optim import make_optimizer, make_schedule  # noqa: E402

UI_RATE = 20.0
#: What the loops are timed with: the process's CPU time (default: other programs on a busy machine do not
#: count, the recorder's writer thread does) or the wall clock (``--clock wall``, for a GPU or an idle machine).
CLOCK = [time.process_time]
#: Seconds spent writing the run store and in the replay probe (the recorded variant), summed over its runs.
SPENT = {"store": 0.0, "probe": 0.0}
#: The records of the latest recorded run (written again alone, to time the store without a training beside it).
LAST_RUN: list = []
LAST_TRAINER: list = []


def plain_loop(design, data, config: TrainConfig, device: torch.device) -> float:
    """Seconds for a hand-written run: what someone who knows PyTorch would write for this data."""
    precision = resolve_precision(config.amp, device)
    mean, std = data.mean_std()
    to_float = lambda images: ((images.float() / 255 - torch.tensor(mean).view(1, -1, 1, 1))  # noqa: E731
                               / torch.tensor(std).view(1, -1, 1, 1)).to(device)
    x_train, y_train = to_float(data.train.images), data.train.labels.to(device)
    x_val, y_val = to_float(data.val.images), data.val.labels.to(device)
    torch.manual_seed(config.seed)
    model = build_model(design).to(device)
    optimizer = make_optimizer(model, config)
    steps = len(y_train) // config.batch_size
    schedule = make_schedule(optimizer, config, steps)
    scaler = precision.grad_scaler(device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    _sync(device)
    start = CLOCK[0]()
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(y_train), device=device, generator=generator)
        for i in range(steps):
            index = order[i * config.batch_size:(i + 1) * config.batch_size]
            with precision.autocast(device):
                loss = F.cross_entropy(model(x_train[index]), y_train[index])
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
                logits = model(x_val[i:i + 2 * config.batch_size])
                correct += (logits.argmax(1) == y_val[i:i + 2 * config.batch_size]).sum()
        correct.item()
    return CLOCK[0]() - start


def convviz_loop(design, data, config: TrainConfig, device: torch.device,
                 store_folder: Path | None = None) -> tuple[float, dict[str, int]]:
    """Seconds for the same run through ``Trainer``, and how many records of each kind the callback saw;
    with ``store_folder``, recorded there as the app records (gradient statistics, replay, run store)."""
    recorder = None
    if store_folder is None:
        trainer = Trainer(design, data, config, report_rate=UI_RATE, snapshot_rate=UI_RATE, gradient_stats=False)
    else:
        from convviz.runs import ReplayProbe, RunRecorder, RunStore

        probe = ReplayProbe(design, data, config.seed)

        def timed_probe(*args):   # the replay probe's own time, summed
            start = time.perf_counter()
            try:
                return probe(*args)
            finally:
                SPENT["probe"] += time.perf_counter() - start

        trainer = Trainer(design, data, config, report_rate=UI_RATE, snapshot_rate=UI_RATE, gradient_stats=True,
                          probe=timed_probe)
        recorder = RunRecorder(RunStore(store_folder, scan=False), trainer, name="bench")
        LAST_RUN.clear()
        LAST_TRAINER[:] = [trainer]
    seen: dict[str, int] = {}
    sink = []

    def on_record(record) -> None:  # what the UI's worker does: look at the numbers, keep the arrays
        seen[type(record).__name__] = seen.get(type(record).__name__, 0) + 1
        if isinstance(record, SnapshotRecord):
            sink.append(float(np.abs(record.weights).max()))
        elif isinstance(record, StepRecord):
            sink.append(record.loss)

    _sync(device)
    start = CLOCK[0]()
    for record in trainer:
        if recorder is not None:
            started = time.perf_counter()
            recorder.add(record)
            SPENT["store"] += time.perf_counter() - started
            LAST_RUN.append(record)
        on_record(record)
    if recorder is not None and recorder.problem:
        raise SystemExit(f"recording failed: {recorder.problem}")
    return CLOCK[0]() - start, seen


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", default="default")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--amp", choices=AMP_MODES, default="off")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=6000, help="synthetic images (a tenth for validation)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (CPU)")
    parser.add_argument("--no-gui", dest="gui", action="store_false", help="skip the in-app event-loop probe")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="time the loops by the process's CPU time (default; robust on a busy machine) or the "
                             "wall clock (a GPU's work is not the process's CPU time: use wall there)")
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    design = load_design_or_template(args.design)
    device = resolve_device(args.device)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device, amp=args.amp)
    data = load_dataset(DataSpec(), design.input, synthetic_size=args.images, seed=0)
    samples = args.epochs * (len(data.train) // args.batch_size) * args.batch_size
    print(f"{design.name} on {device} (amp {resolve_precision(args.amp, device).amp}, {torch.get_num_threads()} "
          f"threads), batch {args.batch_size}, {args.epochs} epochs of {len(data.train)} images + validation; "
          f"timed by {'CPU time' if args.clock == 'cpu' else 'the wall clock'}")

    warm = TrainConfig(epochs=1, batch_size=args.batch_size, device=args.device, amp=args.amp)
    store_folder = Path(tempfile.mkdtemp(prefix="convviz-bench-store-"))
    plain_loop(design, data, warm, device)
    convviz_loop(design, data, warm, device)
    convviz_loop(design, data, warm, device, store_folder)
    plain_times, convviz_times, recorded_times = [], [], []
    SPENT.update(store=0.0, probe=0.0)
    for run in range(args.repeats):
        plain_times.append(plain_loop(design, data, config, device))
        seconds, seen = convviz_loop(design, data, config, device)
        convviz_times.append(seconds)
        recorded, _ = convviz_loop(design, data, config, device, store_folder)
        recorded_times.append(recorded)
        print(f"  run {run + 1}: plain {samples / plain_times[-1]:9,.0f} samples/s   convviz "
              f"{samples / seconds:9,.0f} samples/s   recorded {samples / recorded:9,.0f} samples/s   records {seen}")
    plain = samples / statistics.median(plain_times)
    for name, times in (("convviz", convviz_times), ("recorded (run store + gradient statistics + replay)",
                                                     recorded_times)):
        ours = samples / statistics.median(times)
        ratio = ours / plain
        spread = [samples / t / (samples / p) for t, p in zip(times, plain_times)]
        print(f"median: plain {plain:,.0f} samples/s, {name} {ours:,.0f} samples/s, ratio {ratio:.3f} "
              f"(pairs {min(spread):.3f}–{max(spread):.3f}; goal ≥ 0.95: {'ok' if ratio >= 0.95 else 'MISSED'})")
    total = sum(recorded_times)
    print(f"inside the recorded runs, on the training thread: the run store {1000 * SPENT['store'] / args.repeats:.0f} ms "
          f"(queueing, and the wait at the end for its writer thread) and the replay probe "
          f"{1000 * SPENT['probe'] / args.repeats:.0f} ms per run of {total / args.repeats:.1f} s "
          f"({100 * (SPENT['store'] + SPENT['probe']) / total:.1f} %); gradient statistics: recorded vs convviz above")
    from convviz.runs import RunRecorder, RunStore

    walls, cpus = [], []
    for _ in range(3):
        recorder = RunRecorder(RunStore(Path(tempfile.mkdtemp(prefix="convviz-bench-store-")), scan=False),
                               LAST_TRAINER[0], name="alone")
        wall, cpu = time.perf_counter(), time.process_time()
        for record in LAST_RUN:
            recorder.add(record)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"the run store alone, writing one run's {len(LAST_RUN)} records: {1000 * statistics.median(walls):.0f} ms wall, "
          f"{1000 * statistics.median(cpus):.0f} ms CPU ({100 * statistics.median(walls) / (total / args.repeats):.1f} % "
          f"of the run's time)")
    if args.gui:
        gui_stalls(args)


def gui_stalls(args) -> None:
    """Event-loop stalls of the app's window while its Train tab trains (offscreen unless a display is set)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from convviz.ui.main_window import MainWindow
    from convviz.ui.train import panel as train_panel

    app = QApplication.instance() or QApplication([])
    train_panel.load_dataset_for = lambda spec, shape, val, seed: load_dataset(
        spec, shape, val_fraction=val, seed=seed, synthetic_size=args.images)
    window = MainWindow(load_design_or_template(args.design), recovery_dir=Path("/tmp/convviz-bench-recovery"),
                        persistent=False, runs_dir=Path(tempfile.mkdtemp(prefix="convviz-bench-runs-")))
    window.resize(1600, 1000)
    window.show()
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    while panel.dataset is None:
        app.processEvents()
    panel.form.epochs.setValue(args.epochs)
    panel.form.device.setCurrentText(args.device)
    lateness: list[float] = []
    clock = QElapsedTimer()
    tick = QTimer(interval=5)

    def on_tick() -> None:
        if clock.isValid():
            lateness.append(max(0.0, clock.nsecsElapsed() / 1e6 - 5.0))
        clock.restart()

    tick.timeout.connect(on_tick)
    tick.start()
    started = time.perf_counter()
    panel.start()
    while panel.run is not None:
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - started
    tick.stop()
    window.document.undo_stack.setClean()
    window.close()
    stalls = np.array(lateness)
    p99, worst = float(np.percentile(stalls, 99)), float(stalls.max())
    ok = p99 < 30 and worst < 100
    print(f"GUI while training, recorded with gradient statistics ({args.epochs} epochs, {seconds:.1f} s, "
          f"{len(stalls)} ticks): event-loop stall "
          f"p50 {np.percentile(stalls, 50):.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms "
          f"(goal p99 < 30, max < 100: {'ok' if ok else 'MISSED'})")


if __name__ == "__main__":
    main()
