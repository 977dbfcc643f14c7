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
#: size-checked reads of user files, the machine's free memory.
HELPERS = {"atomic", "messages", "i18n", "reading", "sysmem"}

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
