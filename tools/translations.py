"""The translations' tooling: find every message in the code, keep the ``.po`` files in step, compile them.

    python tools/translations.py update     # extract, merge into every .po, compile every .mo
    python tools/translations.py check      # what tests/test_i18n.py checks: untranslated, fuzzy, stale
    python tools/translations.py stats

The messages are the literal first arguments of ``tr(...)``, ``N_(...)`` and the first two of
``ntr(...)`` anywhere under ``convviz/``, found by reading the code (``ast``), so nothing has to
run or import. No gettext binaries and no Babel: the ``.po`` reader and writer and the ``.mo``
compiler below are small, deterministic (the committed ``.mo`` is compared byte for byte with a
fresh compile by the tests) and read exactly the subset of the format they write.

``update`` keeps every translation whose message is unchanged, adds new messages untranslated,
and drops messages the code no longer has; a new message close to a dropped one (a reworded
sentence) starts from the old translation, marked fuzzy, with the old message as ``#|``, for the
translator to check. A fuzzy or empty entry is not compiled: the app shows the English text.
"""

from __future__ import annotations

import ast
import difflib
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "convviz"
LOCALE = PACKAGE / "locale"
DOMAIN = "convviz"
#: Per language: its Plural-Forms header (Korean has one form for every count).
PLURAL_FORMS = {"ko": "nplurals=1; plural=0;"}
#: A reworded message at least this close to a dropped one starts from the dropped one's translation.
FUZZY_RATIO = 0.8

PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z_0-9]*)(?:[!:][^{}]*)?\}(?!\})")
MNEMONIC = re.compile(r"&(?=[A-Za-z0-9])(?![A-Za-z]+;|#\d+;)")


# --- extraction -----------------------------------------------------------------------------------
@dataclass
class Message:
    msgid: str
    plural: str | None = None
    references: set[str] = field(default_factory=set)


@dataclass
class Problem:
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


CALLS = {"tr": 1, "N_": 1, "ntr": 2}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "i18n":
        return func.attr
    return None


class _Extractor(ast.NodeVisitor):
    """Every ``tr``/``ntr``/``N_`` call of one module: its literal messages, and the calls that break the rules
    (an f-string or an expression as the message; ``tr`` run at import time, before the language is chosen)."""

    def __init__(self, reference: str, messages: dict[tuple[str, str | None], Message], problems: list[Problem]):
        self.reference = reference
        self.messages = messages
        self.problems = problems
        self.depth = 0  # functions and lambdas we are inside

    def _in_function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _in_function

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        count = CALLS.get(name or "")
        if count is not None and len(node.args) >= count:
            where = f"{self.reference}:{node.lineno}"
            texts = node.args[:count]
            if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts):
                values = [a.value for a in texts]
                key = (values[0], values[1] if count == 2 else None)
                message = self.messages.setdefault(key, Message(*key))
                message.references.add(self.reference)
                if name != "N_" and self.depth == 0:
                    self.problems.append(Problem(where, f"{name}() runs at import time, before the language is "
                                                        "chosen: mark the text with N_() and translate it where shown"))
            elif any(isinstance(a, ast.JoinedStr) for a in texts):
                self.problems.append(Problem(where, f"an f-string in {name}() cannot be translated: "
                                                    "write tr(\"… {x} …\").format(x=…)"))
            elif name in ("N_", "ntr"):
                self.problems.append(Problem(where, f"{name}() needs literal text"))
            # tr(expression) is the translation of text marked elsewhere (N_), found there.
        self.generic_visit(node)


def extract(package: Path = PACKAGE) -> tuple[list[Message], list[Problem]]:
    """The messages of every module under ``package``, sorted by where they first appear."""
    messages: dict[tuple[str, str | None], Message] = {}
    problems: list[Problem] = []
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        reference = path.relative_to(package.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _Extractor(reference, messages, problems).visit(tree)
    return list(messages.values()), problems


# --- .po files ------------------------------------------------------------------------------------
@dataclass
class Entry:
    msgid: str
    plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    flags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # "# ..." translator comments, kept as written
    previous: str | None = None  # "#| msgid" of a fuzzy entry: the message it was translated from
    obsolete: bool = False

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.msgid, self.plural)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return all(self.msgstr) and not self.fuzzy


@dataclass
class Catalog:
    header: dict[str, str]
    entries: list[Entry]
    header_comments: list[str] = field(default_factory=list)

    def by_key(self) -> dict[tuple[str, str | None], Entry]:
        return {e.key: e for e in self.entries if not e.obsolete}


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise ValueError(f"{where}: unknown escape in {text!r}")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def read_po(text: str, name: str = "<po>") -> Catalog:
    """The entries of a ``.po`` file (the subset of the format this module writes, plus obsolete ``#~``)."""
    entries: list[Entry] = []
    current: dict = {}
    comments: list[str] = []
    flags: list[str] = []
    references: list[str] = []
    previous: list[str] = []
    obsolete = False
    field_name: str | None = None

    def finish() -> None:
        nonlocal current, comments, flags, references, previous, obsolete, field_name
        if "msgid" in current:
            plural = current.get("msgid_plural")
            if plural is not None:
                count = max((int(k[7:-1]) for k in current if k.startswith("msgstr[")), default=-1) + 1
                msgstr = [current.get(f"msgstr[{i}]", "") for i in range(count)] or [""]
            else:
                msgstr = [current.get("msgstr", "")]
            entries.append(Entry(current["msgid"], plural, msgstr, flags, references, comments,
                                 "".join(previous) if previous else None, obsolete))
        elif comments or flags or references:
            entries.append(Entry("\0comments-only", None, [""], flags, references, comments))
        current, comments, flags, references, previous, obsolete, field_name = {}, [], [], [], [], False, None

    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        line = raw.rstrip("\n")
        if not line.strip():
            finish()
            continue
        if line.startswith("#~"):
            obsolete = True
            line = line[2:].lstrip()
            if not line:
                continue
        elif line.startswith("#"):
            if "msgid" in current:
                finish()
            if line.startswith("#,"):
                flags += [f.strip() for f in line[2:].split(",") if f.strip()]
            elif line.startswith("#:"):
                references += line[2:].split()
            elif line.startswith("#|"):
                rest = line[2:].strip()
                if rest.startswith("msgid "):
                    previous.append(_unquote(rest[6:], where))
                elif rest.startswith('"'):
                    previous.append(_unquote(rest, where))
            else:
                comments.append(line)
            continue
        match = re.match(r"(msgid_plural|msgid|msgstr\[\d+\]|msgstr|msgctxt)\s+(.*)$", line)
        if match:
            keyword, rest = match.groups()
            if keyword == "msgctxt":
                raise ValueError(f"{where}: msgctxt is not used by convviz")
            if keyword == "msgid" and "msgid" in current:
                finish()
                if obsolete:  # "#~ msgid" right after another obsolete entry
                    obsolete = True
            field_name = keyword
            current[keyword] = _unquote(rest, where)
        elif line.lstrip().startswith('"') and field_name is not None:
            current[field_name] += _unquote(line, where)
        else:
            raise ValueError(f"{where}: cannot read {line!r}")
    finish()
    header: dict[str, str] = {}
    header_comments: list[str] = []
    body = []
    for entry in entries:
        if entry.msgid == "" and entry.plural is None and not entry.obsolete:
            for item in entry.msgstr[0].splitlines():
                key, _, value = item.partition(":")
                header[key.strip()] = value.strip()
            header_comments = entry.comments
        elif entry.msgid != "\0comments-only":
            body.append(entry)
    return Catalog(header, body, header_comments)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r") \
        .replace("\n", "\\n") + '"'


def _field(keyword: str, text: str, prefix: str = "") -> list[str]:
    """``msgid "..."``; text with newlines is written one line per line, as gettext's tools do."""
    if "\n" not in text[:-1]:
        return [f"{prefix}{keyword} {_quote(text)}"]
    parts = text.splitlines(keepends=True)
    return [f'{prefix}{keyword} ""'] + [prefix + _quote(part) for part in parts]


def write_po(catalog: Catalog) -> str:
    header = "".join(f"{key}: {value}\n" for key, value in catalog.header.items())
    lines = list(catalog.header_comments) + _field("msgid", "") + _field("msgstr", header) + [""]
    for entry in catalog.entries:
        prefix = "#~ " if entry.obsolete else ""
        lines += entry.comments
        if entry.references:
            lines.append("#: " + " ".join(entry.references))
        if entry.flags:
            lines.append("#, " + ", ".join(entry.flags))
        if entry.previous is not None:
            lines += ["#| " + line for line in _field("msgid", entry.previous)]
        lines += _field("msgid", entry.msgid, prefix)
        if entry.plural is not None:
            lines += _field("msgid_plural", entry.plural, prefix)
            for i, text in enumerate(entry.msgstr):
                lines += _field(f"msgstr[{i}]", text, prefix)
        else:
            lines += _field("msgstr", entry.msgstr[0], prefix)
        lines.append("")
    return "\n".join(lines)


# --- .mo files ------------------------------------------------------------------------------------
def compile_mo(catalog: Catalog) -> bytes:
    """The GNU ``.mo`` of ``catalog``: its header and every translated, non-fuzzy entry, sorted by message
    (the layout Python's ``gettext.GNUTranslations`` reads; no hash table, which it does not use)."""
    header = "".join(f"{key}: {value}\n" for key, value in catalog.header.items())
    pairs = {"": header}
    for entry in catalog.entries:
        if entry.obsolete or not entry.translated:
            continue
        original = entry.msgid if entry.plural is None else f"{entry.msgid}\0{entry.plural}"
        pairs[original] = "\0".join(entry.msgstr)
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in pairs.items())
    count = len(items)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    tables, data = [b"", b""], bytearray()
    for column in (0, 1):
        for item in items:
            text = item[column]
            tables[column] += struct.pack("<2I", len(text), data_at + len(data))
            data += text + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    return head + tables[0] + tables[1] + bytes(data)


# --- keeping .po files in step with the code ------------------------------------------------------
def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def new_catalog(language: str) -> Catalog:
    return Catalog({"Project-Id-Version": "convviz", "Language": language,
                    "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                    "Content-Transfer-Encoding": "8bit",
                    "Plural-Forms": PLURAL_FORMS.get(language, "nplurals=2; plural=(n != 1);")},
                   [], [f"# convviz's messages in {language}. Keep in step with the code: python tools/translations.py update"])


def merge(catalog: Catalog, messages: list[Message]) -> Catalog:
    """``catalog`` with exactly ``messages``: translations kept, new ones empty (or fuzzy from a dropped,
    similar message), gone ones dropped; in the order the code has them."""
    known = catalog.by_key()
    wanted = {(m.msgid, m.plural) for m in messages}
    dropped = [e for e in catalog.entries if e.key not in wanted and e.translated]
    plurals = int(re.search(r"nplurals\s*=\s*(\d+)", catalog.header.get("Plural-Forms", "nplurals=2")).group(1))
    entries = []
    for message in messages:
        entry = known.get((message.msgid, message.plural))
        if entry is None:
            entry = Entry(message.msgid, message.plural, [""] * (plurals if message.plural is not None else 1))
            close = max(dropped, key=lambda e: difflib.SequenceMatcher(None, e.msgid, message.msgid).ratio(),
                        default=None)
            if close is not None and (close.plural is None) == (message.plural is None) and \
                    difflib.SequenceMatcher(None, close.msgid, message.msgid).ratio() >= FUZZY_RATIO:
                entry.msgstr = list(close.msgstr)
                entry.flags = ["fuzzy"]
                entry.previous = close.msgid
                entry.comments = list(close.comments)
        entry.references = sorted(message.references)
        flags = [f for f in entry.flags if f != "python-brace-format"]
        if PLACEHOLDER.search(message.msgid) or (message.plural and PLACEHOLDER.search(message.plural)):
            flags.append("python-brace-format")
        entry.flags = flags
        entry.obsolete = False
        entries.append(entry)
    return Catalog(catalog.header, entries, catalog.header_comments)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def entry_problems(entry: Entry) -> list[str]:
    """What is wrong with one entry: untranslated, fuzzy, or a translation whose ``{placeholders}`` or
    Qt mnemonic (``&File``) do not match the message's."""
    problems = []
    if entry.obsolete:
        return [f"obsolete entry {entry.msgid!r}"]
    if entry.fuzzy:
        problems.append(f"fuzzy {entry.msgid!r}")
    if not all(entry.msgstr):
        problems.append(f"untranslated {entry.msgid!r}")
        return problems
    wanted = placeholders(entry.msgid) | placeholders(entry.plural or "")
    for text in entry.msgstr:
        found = placeholders(text)
        if found - wanted:
            problems.append(f"{entry.msgid!r}: the translation has {sorted(found - wanted)}, which the message has not")
        if placeholders(entry.plural or entry.msgid) - found:
            problems.append(f"{entry.msgid!r}: the translation lacks {sorted(placeholders(entry.plural or entry.msgid) - found)}")
        if MNEMONIC.search(entry.msgid) and not MNEMONIC.search(text):
            problems.append(f"{entry.msgid!r}: the translation lacks the menu's &-key (write 파일(&F))")
    return problems


def check(language: str) -> list[str]:
    """Everything that keeps the ``.po`` of ``language`` from matching the code and its ``.mo``."""
    messages, problems = extract()
    found = [str(p) for p in problems]
    catalog = read_po(po_path(language).read_text(encoding="utf-8"), str(po_path(language)))
    known = catalog.by_key()
    wanted = {(m.msgid, m.plural) for m in messages}
    found += [f"missing from the .po: {key[0]!r}" for key in wanted - set(known)]
    found += [f"no longer in the code (run update): {e.msgid!r}" for e in catalog.entries
              if e.key not in wanted and not e.obsolete]
    for entry in catalog.entries:
        found += entry_problems(entry)
    mo = mo_path(language)
    if not mo.exists() or mo.read_bytes() != compile_mo(catalog):
        found.append(f"{mo.relative_to(ROOT)} is not the compiled .po: run python tools/translations.py update")
    return found


def update() -> None:
    messages, problems = extract()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    for language in languages() or ["ko"]:
        path = po_path(language)
        catalog = read_po(path.read_text(encoding="utf-8"), str(path)) if path.exists() else new_catalog(language)
        merged = merge(catalog, messages)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(write_po(merged), encoding="utf-8")
        mo_path(language).write_bytes(compile_mo(merged))
        done = sum(e.translated for e in merged.entries)
        print(f"{path.relative_to(ROOT)}: {done} of {len(merged.entries)} translated, "
              f"{sum(e.fuzzy for e in merged.entries)} fuzzy")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "update"
    if command == "update":
        update()
        return 0
    if command == "compile":
        for language in languages():
            catalog = read_po(po_path(language).read_text(encoding="utf-8"))
            mo_path(language).write_bytes(compile_mo(catalog))
        return 0
    if command in ("check", "stats"):
        status = 0
        for language in languages():
            problems = check(language)
            if command == "check":
                for problem in problems:
                    print(f"{language}: {problem}")
            print(f"{language}: {len(problems)} problems")
            status |= bool(problems)
        return status
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
