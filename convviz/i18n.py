"""The message catalog: every word a user reads, from every layer (core, CLI and Qt skin alike).

One mechanism for all of them: Python's ``gettext`` (no Qt, so the pure core can use it), with the
catalogs in ``convviz/locale/<language>/LC_MESSAGES/convviz.mo``. Write user-visible text as
``tr("Set padding to {value}").format(value=p)`` — the words translate, the numbers stay — and
``ntr(singular, plural, n)`` where a count decides the form. Text built at import time (tables of
descriptions) is marked with ``N_`` and translated where it is shown, so choosing the language
after import still works.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "convviz"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def set_language(language: str | None) -> str:
    """Use ``language`` ("ko", "en", "ko_KR.UTF-8"; None: the system's, from LANGUAGE, LC_ALL,
    LC_MESSAGES or LANG). Returns the language in use; one without a catalog falls back to English."""
    global _translation, _language
    languages = [language] if language else None
    found = gettext.find(DOMAIN, LOCALE_DIR, languages=languages)
    if found is None:
        _translation, _language = gettext.NullTranslations(), "en"
    else:
        with open(found, "rb") as handle:
            _translation = gettext.GNUTranslations(handle)
        _language = Path(found).parent.parent.name
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
