"""Test-wide settings: Qt offscreen, English, deterministic hypothesis runs, and the Qt exception guard."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests read English unless one asks for Korean (the ``korean`` fixture): a developer's Korean locale
# must not change what they see. LANGUAGE comes first for gettext, so the commands and the app that
# tests start as subprocesses speak English too.
os.environ["LANGUAGE"] = "en"

from convviz import i18n  # noqa: E402

i18n.set_language("en")

from hypothesis import HealthCheck, settings  # noqa: E402

# CI runs the same examples every time (a red run can be reproduced); locally, HYPOTHESIS_PROFILE=dev explores.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

import sys  # noqa: E402
import traceback  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def qt_event_loop_exceptions(request):
    """Fail any test in which an exception reaches the Qt event loop (PySide6 hands those to sys.excepthook).

    The app must catch what it expects and show it; anything arriving here is a bug. A test that
    provokes one on purpose takes this fixture and empties the list.
    """
    caught: list[str] = []
    previous = sys.excepthook
    sys.excepthook = lambda kind, value, tb: caught.append("".join(traceback.format_exception(kind, value, tb)))
    yield caught
    sys.excepthook = previous
    if caught:
        pytest.fail("exception(s) reached the Qt event loop:\n" + "\n".join(caught), pytrace=False)


@pytest.fixture(autouse=True)
def english():
    """Every test starts in English, whatever the one before chose."""
    if i18n.language() != "en":
        i18n.set_language("en")
    yield


@pytest.fixture
def korean(qapp):
    """The app's words in Korean for one test (convviz's catalog and Qt's own), English again after it."""
    from convviz.ui.language import install_qt_translations

    assert i18n.set_language("ko") == "ko"
    translator = install_qt_translations(qapp, "ko")
    yield
    if translator is not None:
        qapp.removeTranslator(translator)
    i18n.set_language("en")


@pytest.fixture
def one_torch_thread():
    """Two OpenMP threads on two busy cores can stall each other tenfold; one thread keeps training
    tests' time steady."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """QSettings, recovery files and the run store go to a temporary folder, never to the user's."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("CONVVIZ_RUNS", str(tmp_path / "runs"))
    yield


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """The built-in shapes are cached in a folder of this test session, never in the user's (shared
    by the session's tests, so each set is drawn once)."""
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def window(qtbot, tmp_path):
    """The main window on the default design, shown offscreen, with its own recovery folder."""
    from convviz.design import load_template
    from convviz.ui.main_window import MainWindow

    win = MainWindow(load_template("default"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    qtbot.waitExposed(win)
    yield win


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A modal dialog in a test would wait forever: any unexpected one fails the test instead.

    Tests that expect a dialog replace the function they expect with their own answer.
    """
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected modal dialog: {args[1:3]}")

    for name in ("question", "warning", "information", "critical", "about", "exec"):
        monkeypatch.setattr(QMessageBox, name, refuse)
    for name in ("getOpenFileName", "getSaveFileName", "getExistingDirectory"):
        monkeypatch.setattr(QFileDialog, name, refuse)


def pytest_terminal_summary(terminalreporter):
    """The hostile corpus's counts (tests/test_hostile.py), one line, when it ran."""
    module = sys.modules.get("hostile_files")
    tally = getattr(module, "TALLY", None)
    if not tally:
        return
    entries = sorted({entry for entry, _ in tally})
    runs = sum(tally.values())
    counts = {outcome: sum(n for (_, o), n in tally.items() if o == outcome) for outcome in {o for _, o in tally}}
    shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items(), key=lambda item: -item[1]))
    terminalreporter.write_line(f"hostile corpus: {runs} runs through {len(entries)} entry points: {shown}; "
                                "0 tracebacks, 0 hangs (each run is checked: one would fail its test)")
