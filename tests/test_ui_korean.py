"""The app in Korean: every string the main window, its menus, panels and the Explain tab show is
translated (a walk of the widgets offscreen), and Hangul renders on a machine without Korean fonts.

The canvas's cards and the sliding window are painted, not widgets: their texts are read as QPainter
draws them.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QPainter
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QProgressBar,
    QSpinBox,
    QTabBar,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

from convviz import i18n
from convviz.design import CATALOG, FAMILIES, TEMPLATES
from convviz.design.templates import template_design
from test_i18n import english_words

ROOT = Path(__file__).resolve().parent.parent


def catalog_values() -> set[str]:
    """The catalog's parameter names and their choices (padding_mode's "zeros", "reflect", …): PyTorch's."""
    return {word for spec in CATALOG.values() for param in spec.params for word in (param.name, *param.choices)}


def formulas() -> list[str]:
    """The catalog's formulas, longest first: formulas stay as they are ("(⌈⌉ with ceil_mode)")."""
    return sorted({spec.formula for spec in CATALOG.values() if spec.formula}, key=len, reverse=True)


def plain(text: str) -> str:
    """Rich text as the words it shows."""
    text = re.sub(r"<br\s*/?>", "\n", text or "")
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def action_texts(action: QAction, where: str) -> list[tuple[str, str]]:
    found = [(where, action.text()), (where + " tooltip", action.toolTip()), (where + " status", action.statusTip())]
    menu = action.menu()
    if menu is not None:
        menu.aboutToShow.emit()  # menus filled when shown (Open Recent)
        for sub in menu.actions():
            found += action_texts(sub, f"{where} ▸ {sub.text()}")
    return found


def graphics_texts(view: QGraphicsView, where: str) -> list[tuple[str, str]]:
    """Titles, labels and axis names of a pyqtgraph scene."""
    found = []
    for item in view.scene().items() if view.scene() is not None else []:
        for attribute in ("text", "labelText", "labelUnits"):
            value = getattr(item, attribute, None)
            if isinstance(value, str):
                found.append((f"{where} {type(item).__name__}", value))
        if hasattr(item, "toPlainText"):
            found.append((f"{where} {type(item).__name__}", item.toPlainText()))
    return found


def shown_texts(root: QWidget, skip: tuple[QWidget, ...] = ()) -> list[tuple[str, str]]:
    """Every string ``root`` and its children can show: texts, titles, tooltips, placeholders, items,
    headers, tab names, menus and actions, pyqtgraph titles and labels."""
    found: list[tuple[str, str]] = []
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if any(widget is s or s.isAncestorOf(widget) for s in skip):
            continue
        name = f"{type(widget).__name__} {widget.objectName()}".strip()
        found += [(name + " tooltip", widget.toolTip()), (name + " status", widget.statusTip())]
        if isinstance(widget, (QDockWidget, QGroupBox)) or widget.isWindow():
            found.append((name, widget.windowTitle() if not isinstance(widget, QGroupBox) else widget.title()))
        if isinstance(widget, QLabel):
            found.append((name, widget.text()))
        if isinstance(widget, QAbstractButton):
            found.append((name, widget.text()))
        if isinstance(widget, QTabWidget):
            found += [(name + " tab", widget.tabText(i)) for i in range(widget.count())]
        if isinstance(widget, QTabBar):
            found += [(name + " tab", widget.tabText(i)) for i in range(widget.count())]
        if isinstance(widget, QComboBox):
            found += [(name + " item", widget.itemText(i)) for i in range(widget.count())]
        if isinstance(widget, QLineEdit):
            found.append((name + " placeholder", widget.placeholderText()))
        if isinstance(widget, QAbstractSpinBox):
            found.append((name + " special", widget.specialValueText()))
        if isinstance(widget, QSpinBox):
            found += [(name + " prefix", widget.prefix()), (name + " suffix", widget.suffix())]
        if isinstance(widget, QProgressBar):
            found.append((name + " format", widget.format()))
        if isinstance(widget, QTreeWidget):
            header = widget.headerItem()
            found += [(name + " header", header.text(i)) for i in range(header.columnCount())]
            for i in range(widget.topLevelItemCount()):
                item = widget.topLevelItem(i)
                found += [(name + " item", item.text(c)) for c in range(item.columnCount())]
                found += [(name + " item tooltip", item.toolTip(c)) for c in range(item.columnCount())]
        elif isinstance(widget, QListWidget):
            found += [(name + " item", widget.item(i).text()) for i in range(widget.count())]
        elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
            found += item_view_texts(widget.model(), name)
        if isinstance(widget, QGraphicsView):
            found += graphics_texts(widget, name)
        for action in widget.actions():
            found += action_texts(action, f"{name} action")
        if isinstance(widget, QMenu):
            found.append((name, widget.title()))
    return [(where, plain(text)) for where, text in found if text and text.strip()]


def item_view_texts(model, where: str, rows: int = 40) -> list[tuple[str, str]]:
    """A model's header titles and tips, and its first ``rows`` rows' texts and tips."""
    from PySide6.QtCore import Qt

    found = []
    for c in range(model.columnCount()):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            found.append((where + " header", str(model.headerData(c, Qt_Horizontal(), role) or "")))
    for r in range(min(rows, model.rowCount())):
        for c in range(model.columnCount()):
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.index(r, c).data(role)
                if isinstance(value, str):
                    found.append((f"{where} cell {r},{c}", value))
    return found


def Qt_Horizontal():
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def untranslated(texts: list[tuple[str, str]], allowed: set[str]) -> list[str]:
    bad = []
    kept = formulas()
    for where, text in texts:
        for formula in kept:
            text = text.replace(formula, " ")
        english = english_words(text, allowed)
        if english:
            bad.append(f"{where}: {text!r} ({', '.join(sorted(english))})")
    return sorted(set(bad))


@pytest.fixture
def korean_window(korean, qtbot, tmp_path):
    """The main window as a Korean user starts it: the default template under its Korean title."""
    from convviz.ui.main_window import MainWindow

    win = MainWindow(template_design("default"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    yield win


def design_words(window) -> set[str]:
    """Names the user's design holds (node ids, class names): data, not words to translate."""
    design = window.document.design
    words = set(design.node_ids) | set(design.classes)
    for name in (*design.node_ids, *design.classes):
        words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", name))
    return words


@pytest.fixture
def painted(monkeypatch):
    """The texts QPainter draws while the fixture is in use (cards, the sliding window)."""
    drawn: list[tuple[str, str]] = []
    original = QPainter.drawText

    def record(painter, *args):
        text = next((a for a in args if isinstance(a, str)), None)
        if text:
            drawn.append(("painted", text))
        return original(painter, *args)

    monkeypatch.setattr(QPainter, "drawText", record)
    return drawn


def palette_texts(palette) -> list[tuple[str, str]]:
    """Every family heading of the palette, and each layer's tooltip."""
    model = palette.model
    found = []
    for row in range(model.rowCount()):
        heading = model.item(row)
        found.append(("palette family", heading.text()))
        found += [(f"palette {heading.child(i).text()} tooltip", plain(heading.child(i).toolTip()))
                  for i in range(heading.rowCount())]
    return found


def test_the_designer_shows_no_untranslated_english(korean_window, painted):
    """The window, its menus and panels, the palette, the canvas's cards as painted (and their
    tooltips), the inspector with "the math", an error and its fix."""
    window = korean_window
    texts = shown_texts(window) + palette_texts(window.palette_panel)
    window.view.grab()
    texts += list(painted) + [(f"card {item.node_id} tooltip", plain(item.toolTip()))
                              for item in window.scene.items() if hasattr(item, "node_id")]
    assert any(where == "painted" and "파라미터" in text for where, text in painted)  # a card's numbers line
    texts += [("menu bar", a.text()) for a in window.menuBar().actions()]
    texts += [(f"help row {a!r}", a + " " + b) for a, b in window.help_menu.shortcut_rows()]
    # A layer selected: the inspector's layer page, with "the math".
    window.editing.select_node("conv2")
    texts += shown_texts(window.inspector)
    # An error of the structure (a layer with no input) in the issues list and the inspector.
    from convviz.ui.commands import AddNodesCommand
    from convviz.design import Node

    window.document.push(AddNodesCommand(window.document, [Node("lonely", "ReLU", [], {}, (0.0, 0.0))]))
    window.editing.select_node("lonely")
    texts += shown_texts(window.issues) + shown_texts(window.inspector)
    texts += [("dock", window.issues_dock.windowTitle()), ("undo", window.editing.undo_action.text())]
    assert len(texts) > 150  # the walk reaches the window's widgets, menus and panels
    allowed = design_words(window) | {"lonely"} | catalog_values()
    assert untranslated(texts, allowed) == [], "\n".join(untranslated(texts, allowed))


def test_the_walk_finds_english_left_in_the_window(korean_window):
    """The check fails on an English string that has no translation (so it can catch one)."""
    from PySide6.QtWidgets import QLabel

    label = QLabel("Drag a layer here to start", korean_window.inspector)
    bad = untranslated(shown_texts(korean_window.inspector), design_words(korean_window))
    assert any("Drag a layer here" in line for line in bad), bad
    label.deleteLater()


def test_the_explain_tab_shows_no_untranslated_english(korean_window, painted):
    """Every view of the Explain tab with its results on screen, including what the sliding window
    paints (the texts QPainter draws are recorded while the views are grabbed)."""
    window = korean_window
    panel = window.show_explain()
    assert panel.controller.settle(60)
    panel.image_input.load_sample("shape_plus")
    assert panel.controller.settle(60) and panel.controller.capture is not None
    painted.clear()
    texts = []
    for name, view in panel.views.items():
        panel.show_view(name)
        assert panel.controller.settle(60)
        view.showcase()
        assert panel.controller.settle(120)
        QCoreApplication.processEvents()
        view.grab()
        texts += shown_texts(view)
    texts += shown_texts(panel) + painted
    assert any(where == "painted" for where, _ in texts)  # the sliding window's own drawing was read
    allowed = design_words(window) | {name for name in CATALOG}
    assert untranslated(texts, allowed) == [], "\n".join(untranslated(texts, allowed))


def test_the_korean_menus_keep_their_keys_and_qt_speaks_korean(korean_window):
    """Menu titles carry their &-key the way Korean menus write it ("파일(&F)"), and Qt's own words
    (from qtbase_ko.qm) are Korean: a standard button's text."""
    from PySide6.QtWidgets import QDialogButtonBox

    titles = [a.text() for a in korean_window.menuBar().actions()]
    assert titles[0] == "파일(&F)" and all(re.search(r"\(&[A-Z]\)", t) for t in titles)
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    assert box.button(QDialogButtonBox.StandardButton.Cancel).text() not in ("Cancel", "&Cancel")


def test_view_language_remembers_the_choice_for_the_next_start(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from convviz.ui.language import chosen_language, start_language

    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    menu = window.language_menu
    assert list(menu.choices) == ["", "en", "ko"] and menu.choices[""].isChecked()
    menu.choices["ko"].trigger()
    assert chosen_language() == "ko"
    assert "다음에 시작할 때부터" in shown[0] and "the next time it starts" in shown[0]  # both languages
    assert start_language() == "ko"  # the next start
    assert start_language("en") == "en"  # --lang wins
    menu.choices[""].trigger()
    assert chosen_language() == "" and start_language() == "en"  # the system's (the tests' is English)


# --- Hangul on a machine without Korean fonts ------------------------------------------------------

NO_KOREAN_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont>{rejects}</rejectfont></selectfont>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""

RENDER = textwrap.dedent("""
    import sys
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFontDatabase, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    def picture(text, font):
        image = QImage(120, 40, QImage.Format.Format_Grayscale8)
        image.fill(255)
        painter = QPainter(image)
        painter.setFont(font)
        painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return bytes(image.constBits())

    app = QApplication(sys.argv[:1])
    plain_font = app.font()
    korean = [f for f in QFontDatabase.families() if QFontDatabase.writingSystems(f).count(
        QFontDatabase.WritingSystem.Korean)]
    print("korean families before:", korean)
    before = picture("가", plain_font) == picture("한", plain_font)
    from convviz.ui.app import make_application
    make_application()
    font = app.font()
    print("families:", font.families())
    hangul = {picture(ch, font) for ch in ("가", "한", "\\ue000")}
    print("distinct:", len(hangul))
    print("latin unchanged:", picture("Conv2d 3x3", font) == picture("Conv2d 3x3", plain_font))
    print("tofu before:", before)
""")


def hangul_font_files() -> list[str]:
    """Font files that have Hangul syllables, as fontconfig finds them ('가', U+AC00)."""
    try:
        listing = subprocess.run(["fc-list", ":charset=ac00", "file"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.split(":")[0] for line in listing.stdout.splitlines() if line.strip()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fontconfig decides the fonts on Linux")
def test_hangul_renders_with_the_bundled_font_where_the_system_has_none(tmp_path):
    """With every font that has Hangul hidden from fontconfig, the app still draws Hangul (each
    syllable its own glyph, not one box), from its own Nanum Gothic, and Latin text exactly as the
    system font draws it."""
    rejects = "".join(f"<glob>{Path(f).parent}/*</glob>" for f in sorted(set(hangul_font_files())))
    config = tmp_path / "fonts.conf"
    config.write_text(NO_KOREAN_FONTS.format(rejects=rejects, cache=tmp_path / "cache"), encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "QT_QPA_PLATFORM": "offscreen"}
    hidden = subprocess.run(["fc-list", ":charset=ac00"], capture_output=True, text=True, env=env, timeout=60)
    assert hidden.stdout.strip() == ""  # no font with Hangul left: the machine the issue describes
    result = subprocess.run([sys.executable, "-c", RENDER], capture_output=True, text=True, env=env, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "korean families before: []" in out
    assert "tofu before: True" in out  # without the bundled font: "가" and "한" are the same box
    assert "NanumGothic" in out.split("families:")[1].splitlines()[0]
    assert "distinct: 3" in out  # 가, 한 and the box of an unknown character all differ
    assert "latin unchanged: True" in out


@pytest.fixture
def small_data(monkeypatch):
    """The built-in shapes, 1,200 of them: a run of one epoch takes seconds."""
    import torch

    from convviz.data import load_dataset
    from convviz.ui.train import panel as train_panel

    def small(spec, shape, val_fraction, seed):
        return load_dataset(spec, shape, val_fraction=0.25, seed=seed, synthetic_size=1200)

    monkeypatch.setattr(train_panel, "load_dataset_for", small)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(2)


def test_the_train_tab_shows_no_untranslated_english(korean_window, qtbot, small_data, monkeypatch):
    """The Train tab in Korean before a run, and after two: the settings, the live views, the runs
    table with its cells and its context menu, the comparison, the trade-off plot, the replay and
    the gradient flow, each shown (they draw when shown)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    from convviz.ui.runs.table_model import NAME

    window = korean_window
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
    texts = shown_texts(panel)  # before any run: the placeholders and the empty views
    for lr in ("0.003", "0.01"):
        panel.form.epochs.setValue(1)
        panel.form.lr.setText(lr)
        panel.form.lr.editingFinished.emit()
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.run is None, timeout=120000)
    assert len(panel.runs.runs()) == 2
    for run in panel.runs.runs():
        panel.runs.set_ticked(run.id, True)
    for tabs in (panel.lower_tabs, panel.right_tabs):
        for i in range(tabs.count()):
            tabs.setCurrentIndex(i)
            QCoreApplication.processEvents()
            texts += shown_texts(tabs.currentWidget())
    texts += shown_texts(panel) + [("status", plain(panel.status.text()))]
    menus = []

    class RecordingMenu(QMenu):
        def exec(self, *args):  # noqa: A003 — QMenu's own name
            menus.append([a.text() for a in self.actions()])

    from convviz.ui.runs import runs_panel

    monkeypatch.setattr(runs_panel, "QMenu", RecordingMenu)
    table = panel.runs_panel.table
    panel.lower_tabs.setCurrentWidget(panel.runs_panel)
    table.customContextMenuRequested.emit(table.visualRect(panel.runs_panel.proxy.index(0, NAME)).center())
    texts += [("runs menu", text) for menu in menus for text in menu]
    assert len(menus) == 1 and len(texts) > 150
    assert any("실행" in text for _, text in texts) and any("검증" in text for _, text in texts)
    allowed = design_words(window) | catalog_values() | {"adam", "onecycle"}
    allowed |= {word for run in panel.runs.runs() for word in re.findall(r"[A-Za-z]+", run.name + run.design_name)}
    assert untranslated(texts, allowed) == [], "\n".join(untranslated(texts, allowed))
