"""How long does the app's first training take? The ``default`` design on the built-in shapes with
every setting at its default (``TrainConfig()``), timed from drawing the data to the last epoch.

    python bench/train_default.py [--seeds 0 1 2] [--threads N]

Prints each epoch's validation accuracy with the time so far, and when it first passed 95%.
Goal: above 95% within a minute on a laptop-class CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from convviz.data import load_dataset  # noqa: E402
from convviz.design import load_template  # noqa: E402
from convviz.train import EpochRecord, TrainConfig, Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{TrainConfig()}\n{torch.get_num_threads()} threads")
    for seed in args.seeds:
        config = TrainConfig(seed=seed)
        design = load_template("default")
        start = time.perf_counter()
        data = load_dataset(config.data, design.input, val_fraction=config.val_fraction, seed=config.seed)
        passed = None
        line = []
        for record in Trainer(design, data, config):
            if isinstance(record, EpochRecord):
                elapsed = time.perf_counter() - start
                line.append(f"{record.val_acc:.2%} @ {elapsed:.1f} s")
                if passed is None and record.val_acc > 0.95:
                    passed = elapsed
        total = time.perf_counter() - start
        verdict = f"passed 95% after {passed:.1f} s" if passed is not None else "never passed 95%"
        print(f"seed {seed}: {', '.join(line)}; total {total:.1f} s; {verdict} "
              f"({'ok' if passed is not None and passed < 60 else 'MISSED'})")


if __name__ == "__main__":
    main()
