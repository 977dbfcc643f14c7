"""The layers of the code: no torch or Qt in the pure core, no Qt outside convviz/ui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "convviz"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")

BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('blocked by the boundary test: ' + name)
sys.meta_path.insert(0, Blocker())
import {module}
{check}
print('ok')
"""


def run_blocked(module: str, blocked: tuple[str, ...], check: str = "") -> subprocess.CompletedProcess:
    code = BLOCKER.format(blocked=set(blocked), module=module, check=check)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_design_and_analysis_import_without_torch_or_qt():
    check = ("from convviz.design import load_template\n"
             "from convviz.analysis import analyze\n"
             "assert analyze(load_template('resnet18')).params == 11689512")
    result = run_blocked("convviz.analysis", ("torch", "numpy", *QT_MODULES), check)
    assert result.returncode == 0, result.stderr


def test_cli_summary_runs_without_torch_or_qt():
    result = run_blocked("convviz.cli", ("torch", *QT_MODULES), "convviz.cli.main(['summary', 'lenet5'])")
    assert result.returncode == 0, result.stderr


def test_the_train_tabs_first_look_at_the_data_imports_without_torch():
    """The Train tab shows the cached shapes before torch has loaded: these data modules must not need it."""
    for module in ("convviz.data", "convviz.data.first_look", "convviz.data.keys", "convviz.data.splits",
                   "convviz.data.shapes_cache", "convviz.data.synthetic", "convviz.data.errors",
                   "convviz.ui.train.data_loading"):
        result = run_blocked(module, ("torch",), "from convviz.data import SHAPE_CLASSES, SYNTHETIC_SIZE, source_key")
        assert result.returncode == 0, (module, result.stderr)


def test_core_packages_import_without_qt():
    for module in ("convviz.model", "convviz.runs", "convviz.runs.recorder"):
        result = run_blocked(module, QT_MODULES)
        assert result.returncode == 0, (module, result.stderr)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_outside_ui_imports_qt():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "ui" in path.relative_to(PACKAGE).parts:
            continue
        if _imports(path) & set(QT_MODULES):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders


def test_pure_core_never_imports_torch():
    offenders = []
    for sub in ("design", "analysis"):
        for path in (PACKAGE / sub).rglob("*.py"):
            if _imports(path) & {"torch", "numpy", *QT_MODULES}:
                offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders


#: The standard-library helpers every layer may use: atomic writes, one-line messages, the message catalog,
#: size-checked reads of user files, the machine's free memory, waiting for work in a thread of its own.
HELPERS = {"atomic", "messages", "i18n", "reading", "sysmem", "threads"}

#: What each torch package may import from convviz, besides the helpers at the top (``HELPERS``).
#: ``train.config`` is a plain settings record (no torch): the data pipeline and the exported
#: training script read it.
LAYERS = {
    "model": {"analysis", "design"},
    "data": {"design", "train.config"},
    "train": {"model", "data", "analysis", "design"},
    "explain": {"model", "data", "analysis", "design"},
    "export": {"model", "data", "analysis", "design", "train.config"},
    "runs": {"train", "train.config", "explain", "export", "model", "data", "analysis", "design"},
}


def _package_imports(path: Path) -> set[str]:
    """The convviz packages a module imports (``..model.weights`` → "model"; ``..train.config`` kept whole)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            parts = node.module.split(".")
            names.add(".".join(parts[:2]) if parts[:2] == ["train", "config"] else parts[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 2 and node.module is None:
            # ``from .. import runs``: a package is a layer; ``from .. import __version__`` is not
            names |= {alias.name for alias in node.names if (PACKAGE / alias.name).is_dir()}
    return names


def test_torch_packages_import_only_the_layers_below():
    offenders = []
    for package, allowed in LAYERS.items():
        for path in (PACKAGE / package).rglob("*.py"):
            wrong = _package_imports(path) - allowed - HELPERS
            if wrong:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}")
    assert not offenders, offenders


def test_the_message_catalog_imports_nothing_but_the_standard_library():
    assert _imports(PACKAGE / "i18n.py") <= {"__future__", "collections", "gettext", "locale", "os", "pathlib"}


def test_the_helpers_import_only_the_standard_library_and_each_other():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for name in sorted(HELPERS):
        path = PACKAGE / f"{name}.py"
        outside = _imports(path) - stdlib
        inside = _package_imports(path) | {n.module for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                                           if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
        assert not outside, (name, outside)
        assert inside <= HELPERS, (name, inside - HELPERS)


def _module_name(path: Path) -> str:
    parts = ["convviz", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_time_nodes(body: list[ast.stmt]):
    """The import statements that run when a module is imported: at its top, in its classes, under
    ``if``/``try``/``with``; not in functions (run later) nor under ``if TYPE_CHECKING:`` (never run)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from _import_time_nodes(node.orelse)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _import_time_nodes(getattr(node, field, []))


def import_graph() -> dict[str, set[str]]:
    """Which convviz modules each convviz module imports while it is being imported. Importing
    ``a.b.c`` runs the packages ``a`` and ``a.b`` first: those count too (a package's ``__init__``
    that imports its modules is how a cycle through a package arises), except the importer's own
    packages (already running when it is)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        here = name if name in packages else name.rpartition(".")[0]
        targets = set()
        for node in _import_time_nodes(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[:len(here.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)} | {name}
        edges = set()
        for target in targets:
            parts = target.split(".")
            edges |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[name] = {t for t in edges if t in modules and t not in own}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), as one cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while not group or group_top != node:
                group_top = stack.pop()
                group.add(group_top)
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(graph, group) for group in groups]


def _cycle_through(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """One cycle inside ``group`` (a breadth-first path from its first module back to itself)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle in {group}")


def test_the_import_graph_resolves_relative_imports_and_their_packages():
    graph = import_graph()
    # ``from ...train.config import dataset_title`` runs convviz.train's __init__, then its config
    assert {"convviz.train", "convviz.train.config", "convviz.i18n"} <= graph["convviz.ui.runs.compare_view"]
    # ``from .shown import DrawnWhenShown`` inside convviz.ui.runs, not its own package
    assert "convviz.ui.runs.shown" in graph["convviz.ui.runs.replay_view"]
    assert not {"convviz", "convviz.ui", "convviz.ui.runs"} & graph["convviz.ui.runs.replay_view"]
    # imports inside functions run later (torch, on first use): not edges
    assert "convviz.explain.filters" not in graph["convviz.ui.runs.replay_view"]


def test_import_cycles_are_found_and_listed():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert sorted(import_cycles(graph)) == [["a", "b", "c", "a"], ["e", "e2", "e"]]


def test_no_import_cycles():
    """Importing any module first, in a fresh interpreter, must work: no cycle of import-time imports."""
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)
