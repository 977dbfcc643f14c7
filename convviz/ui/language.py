"""The app's language and its Hangul: which language (``--lang``, View ▸ Language, the system's), Qt's
own translations for its standard dialogs, and the bundled Korean font as the fallback for Hangul.

The words are convviz's one catalog (``convviz.i18n``), the same the core and the CLI speak; Qt's
``qtbase_<lang>.qm`` (shipped with PySide6) translates only what Qt draws itself: the buttons of
message boxes and file dialogs, a line edit's context menu.

A machine without a Korean font would show Hangul (a class name, a folder, the Korean interface)
as boxes: ``add_hangul_font`` registers Nanum Gothic (SIL Open Font License, ``assets/fonts``) and
puts it after the system's font in the application font's families, so Qt takes a glyph from it
only where the system font has none — Latin text keeps the system's font.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QAction, QActionGroup, QFont, QFontDatabase, QFontInfo
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from .. import i18n
from ..i18n import tr
from .settings import app_settings

#: QSettings key: the language chosen in View ▸ Language ("" or missing: the system's).
LANGUAGE_KEY = "language"
#: The bundled font's family once registered (its file: ``assets/fonts/NanumGothic.ttf``).
HANGUL_FAMILY = "NanumGothic"
HANGUL_FONT_FILE = ("fonts", "NanumGothic.ttf")


def chosen_language() -> str:
    """The language View ▸ Language saved ("" for the system's)."""
    value = app_settings().value(LANGUAGE_KEY, "")
    return str(value) if value and i18n.language_code(str(value)) else ""


def save_language(code: str) -> None:
    """Remember ``code`` ("" for the system's) for the next start."""
    app_settings().setValue(LANGUAGE_KEY, code)


def start_language(requested: str | None = None) -> str:
    """The language the app starts in: ``--lang``, else View ▸ Language's, else the system's (the
    environment's as gettext reads it, then Qt's, which knows Windows' and macOS's settings)."""
    if requested:
        return i18n.set_language(requested)
    saved = chosen_language()
    if saved:
        return i18n.set_language(saved)
    system = i18n.system_language(QLocale.system().uiLanguages())
    return i18n.set_language(system)


def install_qt_translations(app: QCoreApplication, code: str) -> QTranslator | None:
    """Qt's own words (standard buttons, dialogs) in ``code``; None for English or when PySide6 has none."""
    if code == "en":
        return None
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(QLocale(code), "qtbase", "_", folder):
        translator.deleteLater()
        return None
    app.installTranslator(translator)
    return translator


def add_hangul_font(app: QApplication) -> bool:
    """Register the bundled Korean font and make it the application font's fallback (after the
    system family). False when the font cannot be registered (the app then relies on the system's)."""
    font_file = resources.files("convviz.assets").joinpath(*HANGUL_FONT_FILE)
    if isinstance(font_file, Path):  # a file on disk (a wheel, an editable install, the bundle): Qt maps it
        registered = QFontDatabase.addApplicationFont(str(font_file))
    else:  # inside an archive: Qt keeps its own copy of the bytes
        registered = QFontDatabase.addApplicationFontFromData(font_file.read_bytes())
    if registered < 0:
        return False
    app.setFont(with_hangul_fallback(app.font()))
    return True


def with_hangul_fallback(font: QFont) -> QFont:
    """``font`` with the bundled Korean family after its own (Latin text keeps ``font``'s glyphs).

    The family Qt really draws with comes first: the default is often a fontconfig alias ("Sans
    Serif") that a family list does not resolve, so with the alias alone Qt would go on to the next
    family and draw Latin text in Nanum Gothic too."""
    font = QFont(font)
    families = [f for f in [QFontInfo(font).family(), *(font.families() or [font.family()])] if f != HANGUL_FAMILY]
    font.setFamilies([*dict.fromkeys(families), HANGUL_FAMILY])
    return font


def plain_label(text: str) -> str:
    """A menu text without its &-key and ellipsis, for tooltips and lists: "Save &As…" → "Save As",
    "다른 이름으로 저장(&A)…" → "다른 이름으로 저장" (the key in brackets is how CJK menus show it)."""
    return re.sub(r"\(&\w\)", "", text).replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


class LanguageMenu(QMenu):
    """View ▸ Language: the system's or one of convviz's languages, remembered for the next start
    (the window's words are made once, so a change applies when convviz starts again)."""

    def __init__(self, parent: QWidget, persistent: bool = True) -> None:
        super().__init__(tr("&Language"), parent)
        self.persistent = persistent
        group = QActionGroup(self)
        saved = chosen_language()
        system = i18n.system_language(QLocale.system().uiLanguages())
        self.choices: dict[str, QAction] = {}
        for code, label in [("", tr("System Default ({language})").format(language=i18n.LANGUAGES[system])),
                            *i18n.LANGUAGES.items()]:
            action = QAction(label, self, checkable=True, checked=code == saved)
            action.setData(code)
            action.triggered.connect(lambda _=False, c=code: self.choose(c))
            group.addAction(action)
            self.addAction(action)
            self.choices[code] = action

    def choose(self, code: str) -> None:
        """Remember ``code`` and say, in that language and in the current one, when it applies."""
        if self.persistent:
            save_language(code)
        target = code or i18n.system_language(QLocale.system().uiLanguages())
        if target == i18n.language():
            return
        current = i18n.language()
        lines = []
        for language in dict.fromkeys([target, current]):
            i18n.set_language(language)
            lines.append(tr("convviz will be in {language} the next time it starts.").format(
                language=i18n.LANGUAGES[target]))
        i18n.set_language(current)
        QMessageBox.information(self.parentWidget(), tr("Language"), "\n\n".join(lines))
