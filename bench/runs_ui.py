"""How fast are the Train tab's run views with many runs?

    python bench/runs_ui.py [--runs 500] [--overlay 10] [--repeats 5]

- the Runs panel on ``--runs`` stored runs (each with 5 epochs and 200 reported steps, written
  straight into a temporary run store): from a fresh window to the table filled, then a sort by
  best accuracy. Goal: < 200 ms each.
- ticking ``--overlay`` runs: their curves loaded and drawn on the plots (one tick's redraw, and all
  of them from nothing). Goal: < 100 ms for the ten.
- the replay of a real run of ``default`` (32 snapshots): one slider position drawn and painted,
  first visit and again. Goal: < 50 ms per position.

Offscreen unless a display is set; medians over ``--repeats``, with the range; the machine's other
work shows in the range.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from convviz.data import load_dataset  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.runs import ReplayProbe, RunRecorder, RunStore  # noqa: E402
from convviz.train import DataSpec, TrainConfig, Trainer  # noqa: E402
from convviz.train.records import EndRecord, EpochRecord, StartRecord, StepRecord  # noqa: E402


def fake_runs(folder: Path, count: int, lineage: str) -> None:
    """``count`` runs of ``default`` with made-up numbers (the table and the overlays cannot tell)."""
    design = load_template("default")
    data = load_dataset(DataSpec(), design.input, synthetic_size=200, seed=0)
    store = RunStore(folder)
    rng = np.random.default_rng(0)
    layers = ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "fc")
    for i in range(count):
        config = TrainConfig(epochs=5, lr=float(10 ** rng.uniform(-4, -2)), seed=i)
        trainer = SimpleNamespace(design=design, config=config, dataset=data, mean=[0.1], std=[0.3],
                                  train_split=data.train, steps_per_epoch=40, probe=None)
        recorder = RunRecorder(store, trainer, name=f"run {i}", lineage=lineage)
        recorder.add(StartRecord("cpu", "off", 5, 40, len(data.train), len(data.val), tuple(data.classes), 24058, (),
                                 "conv1", (), layers))
        for step in range(1, 201):
            loss = 2.3 * np.exp(-step / rng.uniform(30, 120)) + 0.05
            recorder.add(StepRecord((step - 1) // 40 + 1, (step - 1) % 40 + 1, 40, step, 200, float(loss),
                                    float(1 - loss / 2.4), 1e-3, 2000.0, 1.0,
                                    rng.uniform(1e-4, 1, (7, 2)).astype(np.float32)))
            if step % 40 == 0:
                epoch = step // 40
                confusion = rng.integers(0, 20, (10, 10))
                recorder.add(EpochRecord(epoch, 5, float(loss), 0.9, float(loss), float(1 - loss / 2.4), confusion,
                                         np.full(10, 0.9), epoch, float(1 - loss / 2.4), 1e-3, 2000.0, 1.0))
        recorder.add(EndRecord("finished", "trained 5 epochs", design, {}, [0.1], [0.3], 5, 5, 0.9, (), 10.0, {}))
    store.close()


def recorded_run(folder: Path, lineage: str) -> str:
    design = load_template("default")
    data = load_dataset(DataSpec(), design.input, synthetic_size=1200, seed=0)
    trainer = Trainer(design, data, TrainConfig(epochs=2, batch_size=16), probe=ReplayProbe(design, data))
    recorder = RunRecorder(RunStore(folder), trainer, name="replayed", lineage=lineage)
    for record in trainer:
        recorder.add(record)
    return recorder.run_id


def ms(seconds: list[float]) -> str:
    values = [1000 * s for s in seconds]
    return f"{statistics.median(values):6.1f} ms (range {min(values):.1f}–{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--overlay", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from convviz.ui.main_window import MainWindow
    from convviz.ui.runs.table_model import BEST

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="convviz-bench-runs-"))
    lineage = "bench"
    started = time.perf_counter()
    fake_runs(folder, args.runs, lineage)
    replayed = recorded_run(folder, lineage)
    print(f"{args.runs} stored runs (+1 recorded) written in {time.perf_counter() - started:.1f} s")

    opened, sorted_, one_tick, all_ticks, first_visit, again = [], [], [], [], [], []
    for _ in range(args.repeats):
        window = MainWindow(load_template("default"), recovery_dir=Path(tempfile.mkdtemp()), persistent=False,
                            runs_dir=folder)
        window.resize(1600, 1000)
        window.show()
        window.runs.adopt_lineage(lineage)
        window.tabs.setCurrentIndex(window.train_tab)
        panel = window.tab_widget(window.train_tab)
        while panel.dataset is None:   # the tab's background work (torch's first imports, the data) done first
            app.processEvents()
        panel.tasks.wait(60000)
        app.processEvents()
        start = time.perf_counter()
        panel.runs_panel.refresh()
        app.processEvents()
        opened.append(time.perf_counter() - start)
        assert panel.runs_panel.proxy.rowCount() == args.runs + 1
        start = time.perf_counter()
        panel.runs_panel.table.sortByColumn(BEST, Qt.SortOrder.DescendingOrder)
        app.processEvents()
        sorted_.append(time.perf_counter() - start)

        ids = [r.id for r in panel.runs_panel.model.runs[:args.overlay]]
        start = time.perf_counter()
        for run_id in ids:
            window.runs.set_ticked(run_id, True)
        t1 = time.perf_counter()
        panel.results.update_overlays()
        t2 = time.perf_counter()
        app.processEvents()
        all_ticks.append(time.perf_counter() - start)
        print(f"    ticks {1000 * (t1 - start):.0f} ms, curves loaded and drawn {1000 * (t2 - t1):.0f} ms, "
              f"painted {1000 * (time.perf_counter() - t2):.0f} ms")
        window.runs.set_ticked(ids[-1], False)
        panel.results.update_overlays()
        start = time.perf_counter()
        window.runs.set_ticked(ids[-1], True)
        panel.results.update_overlays()
        app.processEvents()
        one_tick.append(time.perf_counter() - start)
        assert len(panel.curves.overlay_ids) == len(ids)

        panel.results.show_replay(replayed)
        panel.right_tabs.setCurrentWidget(panel.replay)
        app.processEvents()
        slider = panel.replay.slider
        for positions in (first_visit, again):
            for value in range(slider.maximum() + 1):
                start = time.perf_counter()
                slider.setValue(value)
                panel.replay.repaint()
                app.processEvents()
                positions.append(time.perf_counter() - start)
        window.document.undo_stack.setClean()
        window.close()

    print(f"Runs panel, {args.runs + 1} runs: filled {ms(opened)}, sorted by best accuracy {ms(sorted_)} "
          f"(goal < 200 ms: {'ok' if max(statistics.median(opened), statistics.median(sorted_)) < 0.2 else 'MISSED'})")
    print(f"Overlay: {args.overlay} runs ticked and drawn {ms(all_ticks)}, one more tick {ms(one_tick)} "
          f"(goal < 100 ms: {'ok' if statistics.median(all_ticks) < 0.1 else 'MISSED'})")
    print(f"Replay, {slider.maximum() + 1} positions of default: first visit {ms(first_visit)}, again {ms(again)}; "
          f"slowest {1000 * max(first_visit):.1f} ms (goal < 50 ms: "
          f"{'ok' if statistics.median(first_visit) < 0.05 else 'MISSED'})")


if __name__ == "__main__":
    main()
