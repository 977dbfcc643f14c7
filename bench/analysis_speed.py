"""How fast is the live analysis, against the strongest ways PyTorch itself gives the same numbers?

    python bench/analysis_speed.py [--threads 1] [--rounds 5] [--clock cpu|wall]

Side by side in one run, for the ResNet-18 and ResNet-50 templates, and generated residual designs of
100, 500 and 2,000 nodes, the median time (and range over rounds) of:

- ``analyze``: convviz's full analysis (shapes, parameters, MACs, receptive fields, errors);
- a CPU forward with a forward hook on every module recording its output shape, on a model that
  already exists (the strongest baseline: no rebuild), and the same with the model built first
  (what an edit costs a torch-based summary: the model must be rebuilt);
- torchinfo's ``summary`` of the built model (column skipped, with a note, when torchinfo is not
  installed: ``pip install torchinfo``; never a dependency of convviz);
- a model built and run on the meta device (no arithmetic, only dispatch: the weakest baseline).

The generated designs use small maps (16 channels, 32×32), which makes PyTorch's forward as cheap
as it gets; the analysis does not care about sizes. Then incremental analysis (``reanalyze``) of
one-node edits in the middle of a 2,000-node chain: a valid edit (out_channels 16↔24), an edit
that breaks the chain (kernel_size 3 → 99: 1,000 nodes become blocked) and the edit that fixes it.

Rounds interleave the methods, so a busy machine slows them alike; start-up garbage is frozen
(``gc.freeze()``) as the app does after start-up. The clock is this process's CPU time by default
(every method runs on one thread): on a shared machine, wall time also counts the time other
processes hold the core, more often the longer a run lasts, which bends every growth ratio
upwards; ``--clock wall`` measures what a user waits (on an idle machine the two agree). Goals: ResNet-50 < 5 ms; 2,000 nodes < 40 ms and
≤ 4× the time of 500 nodes (with caches as an edit in the app finds them: a repeated run of a
500-node design finds it all in the L2 cache, which a 2,000-node one outgrows; and with the
collector as the app runs it, automatic collection off; both of each are printed);
a valid one-node edit of the 2,000-node chain ≤ 2 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.generated import chain_design, residual_design  # noqa: E402
from convviz.analysis import analyze, reanalyze  # noqa: E402
from convviz.design import Design, load_template  # noqa: E402
from convviz.model import build_model  # noqa: E402

try:
    import torchinfo
except ImportError:  # the column is skipped, with a note
    torchinfo = None


#: The clock every figure is read from (``--clock``).
clock = time.process_time


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median seconds of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


class Methods:
    """Every way of getting one design's numbers, each a function of no arguments."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self.analysis = analyze(design)
        assert self.analysis.ok, self.analysis.first_error()
        self.input = torch.zeros((1, *design.input.shape))
        self.model = build_model(design, self.analysis).eval()

    def convviz(self) -> None:
        analyze(self.design)

    def hooked_forward(self, model: torch.nn.Module | None = None) -> dict:
        model = model if model is not None else self.model
        shapes: dict[str, tuple] = {}
        handles = [module.register_forward_hook(lambda m, args, out, name=name: shapes.__setitem__(name, out.shape))
                   for name, module in model.named_children()]
        try:
            model(self.input)
        finally:
            for handle in handles:
                handle.remove()
        return shapes

    def build_and_forward(self) -> None:
        self.hooked_forward(build_model(self.design, self.analysis).eval())

    def torchinfo(self) -> None:
        torchinfo.summary(self.model, input_data=self.input, verbose=0, device="cpu")

    def meta(self) -> None:
        with torch.device("meta"):
            build_model(self.design, self.analysis)(torch.empty((1, *self.design.input.shape)))


COLUMNS = [("convviz", "convviz"), ("hooked_forward", "CPU fwd+hooks"), ("build_and_forward", "CPU build+fwd"),
           ("torchinfo", "torchinfo"), ("meta", "meta build+fwd")]


def compare(rows: list[tuple[str, Design, float | None]], rounds: int) -> dict[str, float]:
    columns = [(key, title) for key, title in COLUMNS if key != "torchinfo" or torchinfo is not None]
    header = f"{'design':<16}{'nodes':>6}" + "".join(f"{title:>27}" for _, title in columns) + f"{'goal':>11}"
    print(header)
    print(f"{'':<22}" + "".join(f"{'ms (range) ×convviz':>27}" for _ in columns))
    medians: dict[str, float] = {}
    for name, design, goal in rows:
        methods = Methods(design)
        ours_runs = 30 if len(design) < 1000 else 10
        times: dict[str, list[float]] = {key: [] for key, _ in columns}
        for fn in (getattr(methods, key) for key, _ in columns):
            fn()  # warm up
        for _ in range(rounds):  # interleaved: each round runs every method
            for key, _ in columns:
                times[key].append(timed(getattr(methods, key), ours_runs if key == "convviz" else 1))
        ours = statistics.median(times["convviz"])
        medians[name] = ours
        cells = []
        for key, _ in columns:
            median, low, high = statistics.median(times[key]), min(times[key]), max(times[key])
            text = f"{median * 1e3:.2f} ({low * 1e3:.1f}–{high * 1e3:.1f})"
            text += f" {median / ours:4.0f}×" if key != "convviz" else "      "
            cells.append(f"{text:>27}")
        verdict = "" if goal is None else f"< {goal:.0f} ms {'ok' if ours * 1e3 < goal else 'MISSED'}"
        print(f"{name:<16}{len(design):>6}" + "".join(cells) + f"  {verdict}")
    if torchinfo is None:
        print("(torchinfo is not installed: its column is skipped; `pip install torchinfo` to add it)")
    return medians


#: Small objects, more than the L2 cache holds (1 MiB per core here): walking them evicts what a
#: previous run left there, as the app's painting and event handling do between two edits.
_ELSEWHERE = [bytearray(64) for _ in range(100_000)]


def evict_caches() -> None:
    for block in _ELSEWHERE:
        block[0] ^= 1


def growth(rows: list[tuple[str, Design, float | None]], rounds: int) -> None:
    """Full analysis at each size, interleaved round by round, with the caches as a repeated run
    leaves them (warm: a 500-node design then lives in L2, a 2,000-node one does not) and as an edit
    in the app finds them (cold); and under two collector policies: the app's (automatic collection
    off, ``ui/gc_guard.GuiThreadCollector``: the GUI thread collects on a 500 ms timer, between
    events, never inside an analysis; the young-generation collection that its next tick makes of
    what the analysis allocated is timed beside it), and a plain script's (automatic collection,
    which scans the young objects every 700 allocations: the super-linear part)."""
    times: dict[tuple[str, str, str], list[float]] = {}
    ticks: dict[tuple[str, str], list[float]] = {}
    for _ in range(4 * rounds):
        for name, design, _ in rows:
            for state in ("warm", "cold"):
                for policy in ("app", "automatic"):
                    samples = times.setdefault((name, state, policy), [])
                    for _ in range(5):
                        if state == "cold":
                            evict_caches()
                        if policy == "app":
                            gc.disable()
                        start = clock()
                        analyze(design)
                        samples.append(clock() - start)
                        if policy == "app":
                            start = clock()
                            gc.collect(0)
                            ticks.setdefault((name, state), []).append(clock() - start)
                            gc.enable()
    small, large = rows[-2], rows[-1]
    print()
    for policy in ("app", "automatic"):
        for state in ("warm", "cold"):
            medians = {name: statistics.median(times[(name, state, policy)]) for name, _, _ in rows}
            cells = [f"{len(design):,} nodes {medians[name] * 1e3:.2f} ms" for name, design, _ in rows]
            ratio = medians[large[0]] / medians[small[0]]
            verdict = f"(goal ≤ 4×: {'ok' if ratio <= 4 else 'MISSED'})" if state == "cold" and policy == "app" else ""
            label = "the app's collector" if policy == "app" else "automatic collection"
            print(f"full analysis, {state} caches, {label}: {', '.join(cells)}; "
                  f"{len(large[1]):,} / {len(small[1]):,} nodes = {ratio:.2f}× {verdict}")
            if policy == "app":
                tick = {name: statistics.median(ticks[(name, state)]) for name, _, _ in rows}
                print(f"  then the collector's next tick (generation 0) of its garbage: "
                      + ", ".join(f"{len(design):,} nodes {tick[name] * 1e3:.2f} ms" for name, design, _ in rows))


def edit_times(design: Design, node: str, name: str, values: tuple, rounds: int, runs: int = 50) -> list[list[float]]:
    """Seconds of ``reanalyze`` for the edits ``node.name``: values[0] → values[1] → values[0] …,
    per direction, over rounds (the design ends as it started)."""
    analysis = analyze(design)
    heard = []
    design.subscribe(heard.append)
    directions: list[list[float]] = [[], []]
    for _ in range(rounds):
        batch: list[list[float]] = [[], []]
        for _ in range(runs):
            for i, value in enumerate((values[1], values[0])):
                design.set_param(node, name, value)
                start = clock()
                analysis = reanalyze(analysis, design, heard[-1])
                batch[i].append(clock() - start)
        for i in (0, 1):
            directions[i].append(statistics.median(batch[i]))
    design.unsubscribe(heard.append)
    return directions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the baselines (default 1: two threads spin badly on a busy machine)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="this process's CPU time (default; one thread only) or wall time")
    args = parser.parse_args()
    global clock
    if args.clock == "wall" or args.threads > 1:  # CPU time would add up the threads of a parallel forward
        clock = time.perf_counter
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    rows = [("resnet18", load_template("resnet18"), 2.0), ("resnet50", load_template("resnet50"), 5.0)]
    rows += [(f"generated {n}", residual_design(n, channels=16, size=32), 40.0 if n == 2000 else None)
             for n in (100, 500, 2000)]
    chain = chain_design(2000)
    gc.collect()
    gc.freeze()  # as the app does after start-up: what exists now is never scanned again
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{'CPU' if clock is time.process_time else 'wall'} time; medians of {args.rounds} interleaved rounds, "
          "(fastest–slowest round), × = times convviz's time\n")
    compare(rows, args.rounds)
    growth(rows[2:], args.rounds)

    full = statistics.median(timed(lambda: analyze(chain), 5) for _ in range(args.rounds))
    middle = f"c{len(chain) // 6}"
    print(f"\nincremental analysis of a one-node edit of {middle!r}, mid-way along a {len(chain):,}-node chain "
          f"(full analysis {full * 1e3:.1f} ms):")
    valid = edit_times(chain, middle, "out_channels", (16, 24), args.rounds)
    broken = edit_times(chain, middle, "kernel_size", (3, 99), args.rounds, runs=10)
    for label, samples, goal in (("valid: out_channels 16 → 24", valid[0], 2.0),
                                 ("valid: out_channels 24 → 16", valid[1], 2.0),
                                 ("error: kernel_size 3 → 99 (blocks 1,000 nodes)", broken[0], None),
                                 ("fix: kernel_size 99 → 3 (unblocks them)", broken[1], None)):
        median = statistics.median(samples)
        verdict = f"goal ≤ {goal:.0f} ms: {'ok' if median * 1e3 <= goal else 'MISSED'}" if goal else ""
        print(f"  {label:<48}{median * 1e3:>8.3f} ms ({min(samples) * 1e3:.3f}–{max(samples) * 1e3:.3f})"
              f"  {full / median:>6.0f}× faster than a full analysis  {verdict}")


if __name__ == "__main__":
    main()
