"""Keyboard shortcuts: every key in Help ▸ Keyboard Shortcuts does its action, on every platform's key map.

Run under a Linux desktop's key map too (offscreen Qt uses the Windows-like one; GNOME's primary
Redo is Ctrl+Shift+Z, the key that was registered twice and did nothing):

    XDG_CURRENT_DESKTOP=GNOME QT_QPA_PLATFORM=xcb xvfb-run -a python -m pytest tests/test_ui_shortcuts.py
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from convviz.ui.shortcuts import SHORTCUTS, key_sequences

K = QKeySequence.StandardKey

#: Qt's primary-first bindings of the standard keys used (QKeySequence::StandardKey's table; "Ctrl"
#: is Cmd and "Meta" Control on macOS).
KEYMAPS = {
    "windows": {K.New: ["Ctrl+N"], K.Open: ["Ctrl+O"], K.Save: ["Ctrl+S"], K.SaveAs: [], K.Quit: [],
                K.Undo: ["Ctrl+Z", "Alt+Backspace"], K.Redo: ["Ctrl+Y", "Shift+Ctrl+Z", "Alt+Shift+Backspace"],
                K.Cut: ["Ctrl+X", "Shift+Del"], K.Copy: ["Ctrl+C", "Ctrl+Ins"], K.Paste: ["Ctrl+V", "Shift+Ins"],
                K.Delete: ["Del"], K.SelectAll: ["Ctrl+A"], K.ZoomIn: ["Ctrl++"], K.ZoomOut: ["Ctrl+-"]},
    "macos": {K.New: ["Ctrl+N"], K.Open: ["Ctrl+O"], K.Save: ["Ctrl+S"], K.SaveAs: ["Ctrl+Shift+S"],
              K.Quit: ["Ctrl+Q"], K.Undo: ["Ctrl+Z"], K.Redo: ["Ctrl+Shift+Z"], K.Cut: ["Ctrl+X", "Meta+K"],
              K.Copy: ["Ctrl+C"], K.Paste: ["Ctrl+V", "Meta+Y"], K.Delete: ["Del", "Meta+D"],
              K.SelectAll: ["Ctrl+A"], K.ZoomIn: ["Ctrl++"], K.ZoomOut: ["Ctrl+-"]},
    "gnome": {K.New: ["Ctrl+N"], K.Open: ["Ctrl+O"], K.Save: ["Ctrl+S"], K.SaveAs: ["Ctrl+Shift+S"],
              K.Quit: ["Ctrl+Q"], K.Undo: ["Ctrl+Z", "F14"], K.Redo: ["Ctrl+Shift+Z"],
              K.Cut: ["Ctrl+X", "Shift+Del", "F20"], K.Copy: ["Ctrl+C", "Ctrl+Ins", "F16"],
              K.Paste: ["Ctrl+V", "Ctrl+Shift+Ins", "Shift+Ins", "F18"], K.Delete: ["Del", "Ctrl+D"],
              K.SelectAll: ["Ctrl+A"], K.ZoomIn: ["Ctrl++"], K.ZoomOut: ["Ctrl+-"]},
}
KEYMAPS["kde"] = dict(KEYMAPS["gnome"])
PLATFORMS = {"windows": "win32", "macos": "darwin", "gnome": "linux", "kde": "linux"}


@pytest.mark.parametrize("keymap", KEYMAPS)
def test_every_action_has_its_own_keys_on_every_platform(keymap):
    table = KEYMAPS[keymap]

    def bindings(standard):
        return [QKeySequence(k) for k in table[standard]]

    owners: dict[str, str] = {}
    for name in SHORTCUTS:
        keys = key_sequences(name, bindings, PLATFORMS[keymap])
        assert keys, f"{name} has no key on {keymap}"
        texts = [k.toString() for k in keys]
        assert len(set(texts)) == len(texts), f"{name} registers a key twice on {keymap}: {texts}"
        for text in texts:
            assert text not in owners, f"{text} is both {owners[text]} and {name} on {keymap}"
            owners[text] = name
    assert key_sequences("redo", bindings, PLATFORMS[keymap])[0].toString() == table[K.Redo][0]


def test_redo_on_gnome_is_registered_once():
    """GNOME's primary Redo is Ctrl+Shift+Z; with Ctrl+Shift+Z added on top it was registered twice."""
    keys = [k.toString() for k in key_sequences("redo", lambda s: [QKeySequence(k) for k in KEYMAPS["gnome"][s]],
                                                "linux")]
    assert keys == ["Ctrl+Shift+Z", "Ctrl+Y"]


@pytest.fixture
def keyed_window(monkeypatch, qtbot, tmp_path):
    """The window, active, with the actions that would open dialogs or files or close it made into
    no-ops (their QActions are connected to these methods when the window is made), and both Undo
    and Redo enabled."""
    from convviz.design import load_template
    from convviz.ui.commands import SetParamCommand
    from convviz.ui.edit_controller import EditController
    from convviz.ui.file_controller import FileController
    from convviz.ui.main_window import MainWindow

    for owner, names in ((FileController, ("new_design", "open_dialog", "save", "save_as")),
                         (MainWindow, ("close", "_focus_rename", "show_tab")), (EditController, ("paste",))):
        for name in names:
            monkeypatch.setattr(owner, name, lambda self, *a, **k: None)
    win = MainWindow(load_template("default"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    doc = win.document
    for node_id in ("conv1", "conv2"):  # something to undo and something to redo: both actions enabled
        doc.push(SetParamCommand(doc, node_id, "out_channels", 12))
    doc.undo_stack.undo()
    assert win.editing.undo_action.isEnabled() and win.editing.redo_action.isEnabled()
    return win


def test_every_listed_shortcut_does_its_action_and_only_it(keyed_window):
    window = keyed_window
    fired: list[str] = []
    for action in window.action_maker.shortcut_actions:
        action.triggered.connect(lambda _=False, a=action: fired.append(a))
    rows = dict(window.help_menu.shortcut_rows())
    for action in window.action_maker.shortcut_actions:
        keys = action.shortcuts()
        name = action.property("help_label")
        assert keys and name in rows, name
        for key in keys:
            assert key.toString(QKeySequence.SequenceFormat.NativeText) in rows[name]
            if window.document.undo_stack.index() != 1:  # undo/redo move it: back to one done, one to redo
                window.document.undo_stack.setIndex(1)
            window.view.setFocus()
            combination = key[0]
            fired.clear()
            QTest.keyClick(window.view.viewport(), combination.key(), combination.keyboardModifiers())
            assert fired == [action], f"{key.toString()} fired {[a.text() for a in fired]}, not {name!r}"


def test_redo_works_with_ctrl_shift_z_and_ctrl_y(keyed_window):
    window = keyed_window
    doc = window.document
    for key in (Qt.Key.Key_Z, Qt.Key.Key_Y):
        doc.undo_stack.setIndex(1)
        modifiers = Qt.KeyboardModifier.ControlModifier | (Qt.KeyboardModifier.ShiftModifier
                                                           if key == Qt.Key.Key_Z else Qt.KeyboardModifier.NoModifier)
        window.view.setFocus()
        QTest.keyClick(window.view.viewport(), key, modifiers)
        assert doc.undo_stack.index() == 2, f"redo did not happen on {key}"


def test_help_lists_the_shortcuts_in_the_tables_order_whichever_controller_made_them(window):
    """Files, editing and viewing each make their own actions: Help's list keeps one order anyway."""
    labels = [label for label, _ in window.help_menu.shortcut_rows()][:len(SHORTCUTS)]
    assert labels == ["New", "Open", "Save", "Save As", "Quit", "Undo", "Redo", "Copy", "Cut", "Paste", "Duplicate",
                      "Delete", "Select All", "Rename", "Fit to View", "Auto-Layout", "Zoom In", "Zoom Out",
                      "Actual Size", "Design", "Train", "Explain"]


def test_ctrl_and_a_number_shows_that_tab_from_any_tab(window, qtbot):
    """View ▸ Design / Train / Explain: Ctrl+1…3, wherever the focus is (a tab's own page included)."""
    from convviz.ui.train import TrainPanel

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    for number, index in ((2, window.train_tab), (3, window.explain_tab), (1, window.tabs.indexOf(window.view)),
                          (2, window.train_tab)):
        focus = QApplication.focusWidget() or window
        QTest.keyClick(focus, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index, f"Ctrl+{number} from {type(focus).__name__}"
    panel = window.tab_widget(window.train_tab)
    assert isinstance(panel, TrainPanel)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
    assert panel.tasks.wait()  # (the training modules' background import: not cut short by the process's end)
    assert [a.text() for a in window.tab_actions] == ["&Design", "&Train", "E&xplain"]
