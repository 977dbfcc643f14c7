"""The exported torchrun script on the built-in shapes: one process against two, same settings.

    python bench/torchrun_scaling.py [--epochs 5] [--repeats 1]

Exports ``default`` with ``TrainConfig()`` (global batch 64, one-cycle), then trains it three
ways from the same starting weights, side by side:

- one process with torch's default thread count (``--threads`` = the cores);
- one process, one thread (the script's default);
- ``torchrun --standalone --nproc_per_node=2``, one thread each (gloo on the CPU).

Prints each run's samples/s and final validation accuracy, and the two-process result against
the one-process one (goal: within 1 percentage point; throughput goal: two processes faster than
one with the default threads). Noisy on a shared machine: run it with nothing else running.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convviz.design import load_template  # noqa: E402
from convviz.export.training_script import script_names, write_training_script  # noqa: E402
from convviz.train import TrainConfig  # noqa: E402


def train(folder: Path, command: list[str], env: dict[str, str]) -> dict:
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env={**os.environ, **env})
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    epochs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    speed = sorted(e["samples_per_s"] for e in epochs)[len(epochs) // 2]
    return {"val_acc": epochs[-1]["val_acc"], "samples_per_s": speed, "epochs": len(epochs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each kind, interleaved")
    args = parser.parse_args()
    design = load_template("default")
    cores = os.cpu_count() or 1
    runs = {
        f"1 process x {cores} threads": (["{python}", "{script}", "--threads", str(cores)], {}),
        "1 process x 1 thread": (["{python}", "{script}"], {}),
        "2 processes x 1 thread": (["{python}", "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                    "{script}"], {"OMP_NUM_THREADS": "1"}),
    }
    results: dict[str, list[dict]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="convviz-torchrun-") as scratch:
        folder = Path(scratch)
        write_training_script(folder, design, None, TrainConfig(epochs=args.epochs))
        script = script_names(design)[1]
        for _ in range(args.repeats):
            for name, (command, env) in runs.items():
                filled = [part.format(python=sys.executable, script=script) for part in command]
                results[name].append(train(folder, filled + ["--out", "out.pt"], env))
    print(f"default on the built-in shapes, {args.epochs} epochs, global batch {TrainConfig().batch_size}, "
          f"{cores} cores, {args.repeats} run(s) each (median speed over epochs)")
    for name, found in results.items():
        accs = ", ".join(f"{r['val_acc']:.2%}" for r in found)
        speeds = ", ".join(f"{r['samples_per_s']:,.0f}" for r in found)
        print(f"  {name:<24} val_acc {accs:<20} samples/s {speeds}")
    one = results["1 process x 1 thread"][-1]["val_acc"]
    two = results["2 processes x 1 thread"][-1]["val_acc"]
    print(f"2 processes vs 1: {100 * (two - one):+.2f} percentage points of validation accuracy (goal: within ±1)")


if __name__ == "__main__":
    main()
