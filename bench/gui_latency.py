"""How responsive is the app? Every figure of issue 16 for this code and a baseline, side by side.

    python bench/gui_latency.py [--baseline DIR] [--rounds 3] [--threads 1] [--skip memory,startup]

``--baseline DIR``: a checkout of the code to compare with (``git archive main | tar -x -C DIR``);
without it only this tree is measured. Each figure is measured in fresh processes, the two trees
interleaved round by round (A B, B A, …), and printed as the median with its range over rounds and
as a ratio to one 16.7 ms frame. The machine may be busy: the idle event-loop stall is printed as the
noise floor, and figures should be read against it.

1. command → painted, with every number current (the changed cards, their summary rows, the
   totals and the issues list): ResNet-18's first conv (kernel 7 ↔ 5: valid, every downstream shape
   changes), the same conv's out_channels 64 ↔ 32 (an erroring edit: the Adds break), a middle conv's
   out_channels on a 500-node residual DAG, and the same edit at 100 … 2,000 nodes (growth).
   Goals: ResNet-18 ≤ 1 frame, 500 nodes ≤ 1 frame, 2,000 nodes ≤ 3 frames, growth at most linear.
2. the event loop's stall while the inspector's spin box edits the 500-node design 10 times a second:
   a 2 ms timer on the app's own event loop (``QEventLoop.exec``, no processEvents spin) records how
   late it fires. Goals: p99 ≤ 1 frame, max ≤ 3 frames. Python's garbage collections during it are
   counted with ``gc.callbacks``, and over 100 edits with the analysis replayed from a cache (what the
   GUI side alone allocates: it should cause none).
3. the Train tab's first visit → the built-in data shown (a fresh process, clicked as soon as the
   window has painted, while torch is still loading; with an empty data cache, and with the cache of an
   earlier launch; and clicked once the status bar names the device, torch loaded). Goal ≤ 2 s.
4. peak memory (maximum resident set) of a session that visits the Train tab and then opens ResNet-18
   and returns to the Train tab, against one that stays on ``default``. Goal ≤ 1.2×.
5. process start → first painted window, in English and in Korean (LANGUAGE=ko: the catalog, Qt's
   qtbase_ko.qm and the bundled Hangul font loaded), interleaved. Goal: Korean ≤ 1.1× English.

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAME_MS = 1000 / 60
GROWTH = (100, 250, 500, 1000, 2000)


# --- which code is measured ----------------------------------------------------------------------
def use_code(tree: Path) -> None:
    """Import convviz from ``tree``, whatever the virtual environment's editable install points at."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    sys.path_importer_cache.clear()
    sys.path.insert(0, str(tree))
    # This benchmark's own helpers (bench.generated uses only the Design API, the same in both trees),
    # whatever bench/ the measured tree has.
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", HERE / "__init__.py", submodule_search_locations=[str(HERE)])
    sys.modules["bench"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules["bench"])
    import convviz

    assert Path(convviz.__file__).resolve().is_relative_to(tree.resolve()), convviz.__file__
    # pyproject.toml installs the top-level assets/ as convviz.assets: do the same for a plain checkout.
    overlay = Path(tempfile.mkdtemp(prefix="convviz-bench-assets-"))
    (overlay / "assets").symlink_to(tree.resolve() / "assets")
    convviz.__path__.append(str(overlay))


# --- the child side: one process measures one thing and prints one JSON line ------------------------
def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _window():
    from bench.app_policy import adopt_app_heap_policy
    from convviz.ui.main_window import MainWindow

    window = MainWindow(recovery_dir=Path(tempfile.mkdtemp(prefix="convviz-bench-")), persistent=False)
    window.resize(1600, 1000)
    window.show()
    spin(50)
    adopt_app_heap_policy(window)
    return window


def spin(ms: float) -> None:
    """Run the app's event loop for ``ms`` (timers, paints, queued signals: what the user's session does)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(ms), loop.quit)
    loop.exec()


def _files(window):
    """The window's file actions: its FileController, or the window itself in a baseline from before it."""
    return getattr(window, "files", window)


def _open(window, design) -> None:
    _files(window).open_design(design, None)
    spin(50)
    window.view.fit_all()
    spin(300)


class Shown:
    """What the user sees of some nodes: their cards, their summary rows, the totals, the issues list."""

    def __init__(self, window) -> None:
        self.window = window
        model = window.summary.model
        self.rows = {model.data(model.index(r, 0)): r for r in range(model.rowCount())}

    def state(self, ids) -> tuple:
        window, model = self.window, self.window.summary.model
        cards = tuple(window.scene.nodes[nid].text for nid in ids)
        rows = tuple(tuple(model.data(model.index(self.rows[nid], c)) for c in range(model.columnCount()))
                     for nid in ids if nid in self.rows)
        issues = window.issues.tree
        listed = tuple(issues.topLevelItem(i).text(2) for i in range(issues.topLevelItemCount()))
        return cards, rows, window.totals_label.text(), window.summary.totals.text(), listed


class PaintWatch:
    """Calls ``check`` when the canvas is about to paint; ``on_painted`` once a paint that began with
    ``check()`` true has finished (the next turn of the event loop). ``overhead``: seconds spent in
    ``check``, which the measurement subtracts (reading every affected cell is not the app's work)."""

    def __init__(self, widget, check, on_painted) -> None:
        from PySide6.QtCore import QEvent, QObject, QTimer

        watch = self

        class Filter(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint and watch.armed:
                    started = time.perf_counter()
                    current = check()
                    watch.overhead += time.perf_counter() - started
                    if current:
                        watch.armed = False
                        QTimer.singleShot(0, on_painted)
                return False

        self.armed = False
        self.overhead = 0.0
        self.filter = Filter()
        widget.installEventFilter(self.filter)
        self.widget = widget

    def remove(self) -> None:
        self.widget.removeEventFilter(self.filter)


def edit_to_paint(window, node_id: str, name: str, values: tuple, edits: int, breaks: bool = False,
                  cpu: list | None = None) -> list[float]:
    """Milliseconds from pushing ``SetParamCommand`` to the end of the first canvas paint that shows
    every affected number; values alternate. ``breaks``: the second value makes the design invalid.
    ``cpu``: gets the GUI thread's CPU milliseconds of each (``time.thread_time``: what a busy machine
    does not inflate, unlike the wall time)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from convviz.ui.commands import SetParamCommand

    document = window.document
    shown = Shown(window)
    everything = list(window.scene.nodes)
    settled = {}
    for value in values:  # what the window shows once each value has settled
        document.undo_stack.push(SetParamCommand(document, node_id, name, value))
        spin(300)
        assert document.analysis.ok == (not breaks or value == values[0]), (node_id, name, value)
        settled[value] = shown.state(everything)
    a, b = (settled[v] for v in values)
    affected = [nid for nid, x, y in zip(everything, a[0], b[0]) if x != y]
    targets = {}
    for value in values:  # what the affected part shows for each value; ends on the last one
        document.undo_stack.push(SetParamCommand(document, node_id, name, value))
        spin(300)
        targets[value] = shown.state(affected)
    times = []
    for i in range(edits):
        value = values[i % len(values)]
        loop = QEventLoop()
        result = {}

        def painted() -> None:
            result["ms"] = (time.perf_counter() - result["start"] - watch.overhead) * 1e3
            result["cpu"] = (time.thread_time() - result["cpu start"] - watch.overhead) * 1e3
            loop.quit()

        watch = PaintWatch(window.view.viewport(), lambda v=value: shown.state(affected) == targets[v], painted)

        def push(v=value) -> None:
            result["start"] = time.perf_counter()
            result["cpu start"] = time.thread_time()
            watch.armed = True
            document.undo_stack.push(SetParamCommand(document, node_id, name, v))

        QTimer.singleShot(0, push)
        QTimer.singleShot(10_000, loop.quit)
        loop.exec()
        watch.remove()
        if "ms" not in result:
            raise RuntimeError(f"{node_id}.{name} = {value}: the window never showed the new numbers")
        times.append(result["ms"])
        if cpu is not None:
            cpu.append(result["cpu"])
        spin(30)
    return times


def child_edits(args) -> dict:
    _app()
    from bench.generated import residual_design
    from convviz.design import load_template

    window = _window()
    spin(200)
    out = {}
    _open(window, load_template("resnet18"))
    cpu = []
    out["resnet18 conv1 kernel 7↔5 (valid)"] = edit_to_paint(window, "conv1", "kernel_size", (7, 5), args.edits,
                                                            cpu=cpu)
    out["resnet18 conv1 kernel 7↔5 (valid), GUI-thread CPU"] = cpu
    out["resnet18 conv1 out_channels 64↔32 (error)"] = edit_to_paint(
        window, "conv1", "out_channels", (64, 32), args.edits, breaks=True)
    for size in GROWTH:
        design = residual_design(size)
        blocks = sorted({n.id.split("_")[0] for n in design if n.id.startswith("b") and "_" in n.id},
                        key=lambda b: int(b[1:]))
        middle = f"{blocks[len(blocks) // 2]}_c1"
        _open(window, design)
        count = max(8, args.edits // (2 if size >= 1000 else 1))
        out[f"{len(design)} nodes: middle conv out_channels 32↔48"] = edit_to_paint(
            window, middle, "out_channels", (32, 48), count)
    window.document.undo_stack.setClean()
    window.close()
    return out


def child_stall(args) -> dict:
    """Lateness of a 2 ms timer while the inspector edits the 500-node design at ``--rate`` edits/s."""
    import gc

    from PySide6.QtCore import QEventLoop, QTimer

    _app()
    from bench.generated import residual_design
    from bench.loop_probe import LatenessProbe, quantiles

    window = _window()
    spin(200)
    design = residual_design(500)
    _open(window, design)
    getattr(window, "editing", window).select_node("b35_c1")
    spin(100)
    editor = window.inspector.editors["out_channels"]
    out = {}
    for phase, rate in (("idle", 0.0), ("editing", args.rate)):
        pauses: list[tuple[int, float]] = []
        started = {}

        def on_gc(what, info) -> None:
            if what == "start":
                started["t"] = time.perf_counter()
            elif "t" in started:
                pauses.append((info["generation"], (time.perf_counter() - started.pop("t")) * 1e3))

        probe = LatenessProbe()
        step = {"i": 0}

        def on_edit() -> None:
            step["i"] += 1
            editor.spin.setValue(48 if step["i"] % 2 else 32)

        editing = QTimer(interval=int(1000 / rate)) if rate else None
        if editing is not None:
            editing.timeout.connect(on_edit)
        loop = QEventLoop()
        gc.callbacks.append(on_gc)
        probe.start()
        if editing is not None:
            editing.start()
        QTimer.singleShot(int(args.seconds * 1000), loop.quit)
        loop.exec()
        lateness = probe.stop()
        if editing is not None:
            editing.stop()
        gc.callbacks.remove(on_gc)
        out[phase] = {**quantiles(lateness), "edits": step["i"],
                      "gc": {g: sum(1 for gen, _ in pauses if gen == g) for g in (0, 1, 2)},
                      "gc_max_ms": max((ms for _, ms in pauses), default=0.0),
                      "gc_total_ms": sum(ms for _, ms in pauses)}
    window.document.undo_stack.setClean()
    window.close()
    return out


def child_gc(args) -> dict:
    """Python's garbage collections during 100 edits of the 500-node design (``gc.callbacks``): as the
    app runs, and with the analysis replayed from a cache (what the GUI side alone allocates)."""
    import gc

    _app()
    from bench.generated import residual_design
    import convviz.ui.document as document_module
    from convviz.ui.commands import SetParamCommand

    window = _window()
    _open(window, residual_design(500))
    document = window.document
    analyze = document_module.analyze
    out = {}
    for phase in ("with the analysis", "GUI side alone"):
        if phase == "GUI side alone":
            replayed = {}

            def cached(design):
                key = design.node("b35_c1").params.get("out_channels")
                if key not in replayed:
                    replayed[key] = analyze(design)
                return replayed[key]

            document_module.analyze = cached
        for value in (48, 32, 48, 32):
            document.undo_stack.push(SetParamCommand(document, "b35_c1", "out_channels", value))
            spin(20)
        pauses, started = [], {}

        def on_gc(what, info) -> None:
            if what == "start":
                started["t"] = time.perf_counter()
            elif "t" in started:
                pauses.append((info["generation"], (time.perf_counter() - started.pop("t")) * 1e3))

        gc.collect()
        gc.callbacks.append(on_gc)
        for i in range(100):
            document.undo_stack.push(SetParamCommand(document, "b35_c1", "out_channels", 48 if i % 2 == 0 else 32))
            spin(5)
        gc.callbacks.remove(on_gc)
        out[phase] = {"runs": [sum(1 for g, _ in pauses if g == k) for k in (0, 1, 2)],
                      "longest_ms": max((ms for _, ms in pauses), default=0.0),
                      "total_ms": sum(ms for _, ms in pauses)}
    document_module.analyze = analyze
    window.document.undo_stack.setClean()
    window.close()
    return out


def child_train_visit(args) -> dict:
    """Seconds from switching to the Train tab (right after the first paint) to its data being shown (the
    counts and sample images: ``TrainPanel.data_shown``; a tree without it shows them with the dataset) and
    to the dataset being in (the Train button can start a run: torch loaded), and the GUI thread's CPU
    seconds meanwhile."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    app = _app()
    window = _window()
    result = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and "visiting" not in result:
                QTimer.singleShot(0, visit)
            return False

    def visit() -> None:
        if "visiting" in result:
            return
        result["visiting"] = True
        window.start_device_probe()  # what run_app does after the first paint
        if args.wait_probe:  # a user who looks at the window until the status bar names the device
            while "loading" in window.device_label.text():
                spin(10)
        result["start"] = time.perf_counter()
        result["cpu start"] = time.thread_time()
        window.tabs.setCurrentIndex(window.train_tab)
        result["tab built"] = time.perf_counter() - result["start"]

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.update()
    deadline = time.perf_counter() + 120
    panel = None
    while time.perf_counter() < deadline:
        spin(5)
        if "start" in result:
            panel = window.tab_widget(window.train_tab)
            if "s" not in result and getattr(panel, "data_shown", panel.dataset is not None):
                result["s"] = time.perf_counter() - result["start"]
                result["gui cpu"] = time.thread_time() - result["cpu start"]
            if panel.dataset is not None:
                break
    if panel is None or panel.dataset is None:
        raise RuntimeError("the Train tab never showed its data")
    result["ready"] = time.perf_counter() - result["start"]
    for key in ("start", "cpu start", "visiting"):
        result.pop(key)
    window.document.undo_stack.setClean()
    window.close()
    del app
    return result


def child_memory(args) -> dict:
    """Peak resident memory (MiB) of a session: Train tab, then (``--open resnet18``) that template."""
    import resource

    _app()
    from convviz.design import load_template

    window = _window()
    spin(300)

    def wait_for_data(panel, limit: float = 600, data: bool = True) -> None:
        """Until the panel has data (``data``) and no background work is left."""
        deadline = time.perf_counter() + limit
        while data and panel.dataset is None and time.perf_counter() < deadline:
            spin(20)
        tasks = getattr(panel, "tasks", None)
        while tasks is not None and tasks.busy and time.perf_counter() < deadline:
            spin(20)

    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    wait_for_data(panel)
    window.tabs.setCurrentIndex(0)
    spin(300)
    started = time.perf_counter()
    if args.open:
        _files(window).open_design(load_template(args.open), None)
        spin(1000)
        wait_for_data(panel, data=False)  # work the old code starts on its own while the Design tab is shown
        window.tabs.setCurrentIndex(window.train_tab)
        spin(100)
        wait_for_data(panel)
    spin(500)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    window.document.undo_stack.setClean()
    window.close()
    return {"peak_mib": peak, "after_open_s": time.perf_counter() - started,
            "cpu_s": cpu.ru_utime + cpu.ru_stime}


def child_startup(args) -> dict:
    os.environ["CONVVIZ_STARTUP_PROBE"] = "1"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from convviz.ui.app import run_app

    run_app()
    return {}


CHILDREN = {"edits": child_edits, "stall": child_stall, "gc": child_gc, "train_visit": child_train_visit,
            "memory": child_memory, "startup": child_startup}


def child_main(args) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = CHILDREN[args.child](args)
    if args.child != "startup":
        print("RESULT " + json.dumps(result), flush=True)


# --- the parent side: interleave trees, collect, print ------------------------------------------------
def run_child(tree: Path, name: str, args, env: dict | None = None, extra: tuple = ()) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--code", str(tree),
               "--edits", str(args.edits), "--rate", str(args.rate), "--seconds", str(args.seconds), *extra]
    if args.threads:
        command += ["--threads", str(args.threads)]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env={**os.environ, **(env or {})})
    if name == "startup":
        line = next((l for l in done.stdout.splitlines() if l.startswith("first-paint")), None)
        if line is None:
            raise RuntimeError(f"no first-paint line from {tree}:\n{done.stdout}\n{done.stderr[-2000:]}")
        return {"s": float(line.rsplit("epoch", 1)[1]) - started}
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{name} on {tree} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(line[len("RESULT "):])


def _summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _cell(values: list[float] | None, unit: str, scale: float = 1.0) -> str:
    if not values:
        return "—"
    mid, low, high = (v * scale for v in _summary(values))
    return f"{mid:8.1f} {unit} [{low:.1f}–{high:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--edits", type=int, default=24, help="timed edits per design and round")
    parser.add_argument("--rate", type=float, default=10.0, help="edits per second in the stall probe")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each stall probe")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads in every measuring process")
    parser.add_argument("--skip", default="", help="comma-separated: edits,stall,gc,train_visit,memory,startup")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--open", help=argparse.SUPPRESS)
    parser.add_argument("--wait-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        use_code(args.code)
        child_main(args)
        return
    here = HERE.parent
    trees = {"this": here} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, dict[str, list]] = {name: {} for name in trees}

    def add(tree: str, key: str, value) -> None:
        results[tree].setdefault(key, []).append(value)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"convviz GUI latency: {', '.join(f'{k} = {v}' for k, v in trees.items())}; {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs, load average {load:.2f} at the start", flush=True)
    caches = {name: Path(tempfile.mkdtemp(prefix=f"convviz-bench-cache-{name}-")) for name in trees}
    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in order:
            tree = trees[name]
            if "edits" not in skip:
                for key, times in run_child(tree, "edits", args).items():
                    add(name, key, statistics.median(times))
            if "stall" not in skip:
                stall = run_child(tree, "stall", args)
                for phase, figures in stall.items():
                    for figure in ("p99", "max"):
                        add(name, f"stall {phase} {figure}", figures[figure])
                    add(name, f"gc {phase}", figures)
            if "gc" not in skip:
                for phase, figures in run_child(tree, "gc", args).items():
                    add(name, f"gc {phase}", figures)
            if "train_visit" not in skip:
                empty = tempfile.mkdtemp(prefix="convviz-bench-empty-cache-")
                cold = run_child(tree, "train_visit", args, env={"CONVVIZ_CACHE_DIR": empty})
                add(name, "train visit, empty cache", cold["s"])
                run_child(tree, "train_visit", args, env={"CONVVIZ_CACHE_DIR": str(caches[name])})  # fills it
                warm = run_child(tree, "train_visit", args, env={"CONVVIZ_CACHE_DIR": str(caches[name])})
                add(name, "train visit, cached", warm["s"])
                add(name, "train visit, cached, dataset in", warm["ready"])
                add(name, "train visit, cached, GUI CPU", warm["gui cpu"])
                add(name, "train visit, tab built (cached)", warm["tab built"])
                later = run_child(tree, "train_visit", args, env={"CONVVIZ_CACHE_DIR": str(caches[name])},
                                  extra=("--wait-probe",))
                add(name, "train visit, cached, torch loaded", later["s"])
            if "startup" not in skip:
                for _ in range(3):  # English and Korean interleaved: the catalog, qtbase_ko.qm, the Hangul font
                    for language in ("en", "ko"):
                        key = "startup" if language == "en" else "startup ko"
                        add(name, key, run_child(tree, "startup", args, env={"LANGUAGE": language})["s"])
            if "memory" not in skip and round_ == 0:  # the old code needs minutes for this: once
                env = {"CONVVIZ_CACHE_DIR": str(caches[name])}
                add(name, "memory default", run_child(tree, "memory", args, env=env))
                add(name, "memory resnet18", run_child(tree, "memory", args, env=env, extra=("--open", "resnet18")))
            print(f"  round {round_ + 1}: {name} measured", flush=True)
    report(results, list(trees), args)


def report(results: dict, trees: list[str], args) -> None:
    columns = "".join(f"{name:>30}" for name in trees)
    print(f"\n{'figure':<52}{columns}   goal          this, frames")
    edit_keys = [k for k in results[trees[0]] if "↔" in k]

    def row(label: str, key: str, unit: str, goal: str, scale: float = 1.0, frames: bool = True) -> None:
        if not any(results[name].get(key) for name in trees):
            return  # skipped
        cells = "".join(f"{_cell(results[name].get(key), unit, scale):>30}" for name in trees)
        values = results["this"].get(key)
        ratio = f"{statistics.median(values) * scale / FRAME_MS:6.2f}" if values and frames else ""
        print(f"{label:<52}{cells}   {goal:<13} {ratio}")

    goals = {"resnet18 conv1 kernel": "≤ 16.7 ms", "500": "≤ 16.7 ms", "2000": "≤ 50 ms"}
    for key in edit_keys:
        goal = next((g for k, g in goals.items() if key.startswith(k) or key.split(" ")[0] == k), "")
        row(key, key, "ms", goal)
    growth = [k for k in edit_keys if "nodes:" in k]
    for name in trees:
        if len(growth) >= 2 and all(results[name].get(k) for k in (growth[0], growth[-1])):
            small, large = (statistics.median(results[name][k]) for k in (growth[0], growth[-1]))
            n_small, n_large = (int(k.split(" ")[0]) for k in (growth[0], growth[-1]))
            print(f"{'growth ' + growth[0].split(':')[0] + ' → ' + growth[-1].split(':')[0]:<40}{name:>12}: "
                  f"{large / small:5.1f}× the time for {n_large / n_small:.0f}× the nodes "
                  f"(goal: at most linear, ≤ {n_large / n_small:.0f}×)")
    for phase in ("idle", "editing"):
        label = "stall, no edits (noise floor)" if phase == "idle" else f"stall at {args.rate:g} edits/s, 500 nodes"
        row(f"{label} p99", f"stall {phase} p99", "ms", "≤ 16.7 ms" if phase == "editing" else "")
        row(f"{label} max", f"stall {phase} max", "ms", "≤ 50 ms" if phase == "editing" else "")
    for name in trees:
        stats = results[name].get("gc editing")
        if stats:
            gen2 = [s["gc"]["2"] if "2" in s["gc"] else s["gc"].get(2, 0) for s in stats]
            worst = max(s["gc_max_ms"] for s in stats)
            total = statistics.median(s["gc_total_ms"] for s in stats)
            edits = statistics.median(s["edits"] for s in stats)
            print(f"{'garbage collections, stall probe':<40}{name:>12}: generation-2 runs {gen2}, longest pause "
                  f"{worst:.1f} ms, {total:.0f} ms in all per {edits:.0f} edits")
        for phase in ("with the analysis", "GUI side alone"):
            stats = results[name].get(f"gc {phase}")
            if stats:
                runs = [s["runs"] for s in stats]
                print(f"{'collections per 100 edits, ' + phase:<40}{name:>12}: generations 0/1/2 "
                      f"{', '.join('/'.join(map(str, r)) for r in runs)}; longest "
                      f"{max(s['longest_ms'] for s in stats):.1f} ms")
    row("Train tab first visit → data shown, empty cache", "train visit, empty cache", "s", "≤ 2 s", frames=False)
    row("Train tab first visit → data shown, cached", "train visit, cached", "s", "≤ 2 s", frames=False)
    row("  of which building the tab", "train visit, tab built (cached)", "s", "", frames=False)
    row("  GUI thread's CPU until the data is shown", "train visit, cached, GUI CPU", "s", "", frames=False)
    row("… until the dataset is in (Train can start a run)", "train visit, cached, dataset in", "s", "", frames=False)
    row("… clicked once the status bar names the device", "train visit, cached, torch loaded", "s", "≤ 2 s",
        frames=False)
    for name in trees:
        base, big = results[name].get("memory default"), results[name].get("memory resnet18")
        if base and big:
            print(f"{'peak memory, default → resnet18 vs default':<40}{name:>12}: {big[0]['peak_mib']:,.0f} MiB vs "
                  f"{base[0]['peak_mib']:,.0f} MiB = {big[0]['peak_mib'] / base[0]['peak_mib']:.2f}× (goal ≤ 1.2×); "
                  f"CPU {big[0]['cpu_s']:.0f} s vs {base[0]['cpu_s']:.0f} s")
    row("process start → first painted window", "startup", "s", "", frames=False)
    row("  the same in Korean (LANGUAGE=ko)", "startup ko", "s", "≤ 1.1× en", frames=False)
    for name in trees:
        en, ko = results[name].get("startup"), results[name].get("startup ko")
        if en and ko:
            print(f"{'  Korean ÷ English, median':<52}{name:>30}: {statistics.median(ko) / statistics.median(en):.3f} "
                  f"({1000 * statistics.median(ko):.0f} ms ÷ {1000 * statistics.median(en):.0f} ms, "
                  f"{len(en)} launches each)")


if __name__ == "__main__":
    main()
