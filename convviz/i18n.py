"""The message catalog: every word a user reads, from every layer (core, CLI and Qt skin alike).

One mechanism for all of them: Python's ``gettext`` (no Qt, so the pure core can use it), with the
catalogs in ``convviz/locale/<language>/LC_MESSAGES/convviz.mo``. Write user-visible text as
``tr("Set padding to {value}").format(value=p)`` — the words translate, the numbers stay — and
``ntr(singular, plural, n)`` where a count decides the form. Text built at import time (tables of
descriptions) is marked with ``N_`` and translated where it is shown, so choosing the language
after import still works. The message strings must be literals: ``tools/translations.py`` finds
them by reading the code (``update`` brings the ``.po`` up to date and compiles the ``.mo``).

Which language: ``--lang``, then (in the app) the one chosen in View ▸ Language, then the system's
(``system_language``); one without a catalog is English.
"""

from __future__ import annotations

import gettext
import locale
import os
from collections.abc import Iterable
from pathlib import Path

DOMAIN = "convviz"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The languages convviz speaks, each named in itself (View ▸ Language, ``--lang``).
LANGUAGES = {"en": "English", "ko": "한국어"}
#: Where gettext looks for the user's languages, in its order (the first one set is the answer).
LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_code(name: str) -> str | None:
    """"ko_KR.UTF-8", "ko-KR", "ko" → "ko" when convviz speaks it; None otherwise ("C", "fr_FR")."""
    code = name.replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def system_language(platform_languages: Iterable[str] = ()) -> str:
    """The user's language, as gettext finds it: the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG
    that is set decides (LANGUAGE may list several, "ko:en"); with none set, ``platform_languages``
    (the app passes Qt's, which reads the system settings of Windows and macOS), then Python's
    locale. The first that convviz speaks, else English."""
    for variable in LANGUAGE_VARIABLES:
        value = os.environ.get(variable)
        if value:
            candidates: list[str] = value.split(":")
            break
    else:
        candidates = list(platform_languages)
        try:
            found = locale.getlocale()[0]
        except ValueError:  # an unparsable locale name
            found = None
        if found:
            candidates.append(locale.normalize(found))
    for candidate in candidates:
        if candidate.split(".")[0] in ("C", "POSIX"):
            return "en"
        code = language_code(candidate)
        if code is not None:
            return code
    return "en"


def set_language(language: str | None) -> str:
    """Use ``language`` ("ko", "en", "ko_KR.UTF-8"; None or "": the system's, ``system_language``).
    Returns the language in use; one without a catalog falls back to English."""
    global _translation, _language
    code = language_code(language) if language else system_language()
    found = gettext.find(DOMAIN, LOCALE_DIR, languages=[code]) if code and code != "en" else None
    if found is None:
        _translation, _language = gettext.NullTranslations(), "en"
    else:
        with open(found, "rb") as handle:
            _translation = gettext.GNUTranslations(handle)
        _language = code
    return _language


def language() -> str:
    """The language messages are shown in ("en" when untranslated)."""
    return _language


def tr(message: str) -> str:
    """``message`` in the chosen language."""
    return _translation.gettext(message)


def ntr(singular: str, plural: str, n: int) -> str:
    """The form of a message for a count ``n``, in the chosen language."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it yet (module-level tables)."""
    return message
