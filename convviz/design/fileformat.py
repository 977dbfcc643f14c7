"""Design files: format "convviz-design", versioned, migrated, validated, written atomically.

Loading runs the chain of ``vN → vN+1`` migrations before validating, refuses versions newer than
this code, and reports any problem as one ``DesignFileError`` whose message names the node and
field at fault, so a user can find the mistake in a file they edited by hand.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..i18n import tr
from ..reading import read_text
from .catalog import CATALOG, ParamTypeError
from .graph import Design, Head, InputSpec, Node
from .ids import id_problem
from .ports import node_of, ref_problem

FORMAT = "convviz-design"
#: 2: an input may name one output of a node with several ("split1:1"), and a design may list its
#: output heads with their loss weights ("heads").
VERSION = 2


def _v1_to_v2(doc: dict) -> dict:
    """Version 1 had neither numbered outputs nor heads: every v1 document means the same in v2."""
    return doc


#: ``MIGRATIONS[n]`` turns a version-n document into version n + 1 (tests keep one file per version).
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}

#: A design file larger than this is refused before it is read (a 10,000-node design is about 1.5 MB).
MAX_FILE_BYTES = 64 << 20
#: Whole numbers in a design file have at most this many digits (no size, count or position needs more;
#: Python refuses to parse more than 4,300, and larger ones overflow every float they meet).
MAX_DIGITS = 15
#: Canvas positions stay within ±this (further out, a view cannot show them).
MAX_POSITION = 1e7

_NODE_KEYS = ("id", "type", "inputs", "params", "pos")
_TOP_KEYS = ("format", "version", "name", "input", "classes", "heads", "nodes")
_HEAD_KEYS = ("node", "loss_weight")


class DesignFileError(ValueError):
    """Why a design file cannot be read, in one line a user can act on."""

    def __init__(self, message: str, *, node: str | None = None, field: str | None = None) -> None:
        where = []
        if node is not None:
            where.append(tr('node {node}').format(node=node))
        if field is not None:
            where.append(tr('field {field!r}').format(field=field))
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.node = node
        self.field = field


# --- writing -------------------------------------------------------------------------------------

def design_to_dict(design: Design) -> dict[str, Any]:
    nodes = []
    for node in design:
        entry: dict[str, Any] = {"id": node.id, "type": node.type}
        if node.inputs or node.type != "Input":
            entry["inputs"] = list(node.inputs)
        if node.params:
            entry["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in node.params.items()}
        if node.pos is not None:
            entry["pos"] = [_tidy(node.pos[0]), _tidy(node.pos[1])]
        nodes.append(entry)
    heads = {"heads": [{"node": h.node, "loss_weight": h.loss_weight} for h in design.heads]} if design.heads else {}
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": design.name,
        "input": {"channels": design.input.channels, "height": design.input.height, "width": design.input.width},
        "classes": list(design.classes),
        **heads,
        "nodes": nodes,
    }


def dumps(design: Design) -> str:
    """JSON text with one node per line: diffs of design files stay readable."""
    data = design_to_dict(design)
    nodes = data.pop("nodes")
    head = "".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n" for k, v in data.items())
    body = ",\n".join("    " + json.dumps(n, ensure_ascii=False) for n in nodes)
    return f'{{\n{head}  "nodes": [\n{body}\n  ]\n}}\n'


def save_design(design: Design, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps(design))


def _tidy(value: float) -> float | int:
    rounded = round(value, 1)
    return int(rounded) if rounded.is_integer() else rounded


# --- reading -------------------------------------------------------------------------------------

def load_design(path: str | os.PathLike) -> Design:
    """Read a design file: a regular file of at most ``MAX_FILE_BYTES`` (never a pipe or a device)."""
    text = read_text(path, MAX_FILE_BYTES, DesignFileError, tr("a design file"))
    try:
        return loads(text)
    except DesignFileError as exc:
        raise DesignFileError(f"{Path(path).name}: {exc}") from None


def loads(text: str) -> Design:
    return design_from_dict(parse_json(text))


class _TooManyDigits(Exception):
    pass


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _TooManyDigits(digits)
    return int(digits)


def parse_json(text: str) -> Any:
    """JSON text as Python data, or a ``DesignFileError`` saying where it is broken. Whole numbers
    longer than ``MAX_DIGITS`` digits are refused with their line and column."""
    if not isinstance(text, str):
        raise DesignFileError(tr("not valid JSON (expected text, got {kind})").format(kind=type(text).__name__))
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise DesignFileError(tr('not valid JSON (line {lineno}, column {colno}: {msg})').format(lineno=exc.lineno, colno=exc.colno, msg=exc.msg)) from None
    except RecursionError:
        raise DesignFileError(tr("not valid JSON (nested too deeply)")) from None
    except _TooManyDigits as exc:
        digits = str(exc.args[0])
        found = re.search(rf"-?\d{{{len(digits.lstrip('-'))}}}", text)
        where = ""
        if found:
            line = text.count("\n", 0, found.start()) + 1
            column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
            where = tr("line {line}, column {column}: ").format(line=line, column=column)
        raise DesignFileError(tr("{where}a whole number of {count} digits ({start}…) is too large to be a size "
                                 "or a count (at most {limit} digits)").format(
            where=where, count=f"{len(digits.lstrip('-')):,}", start=digits[:8], limit=MAX_DIGITS)) from None


def design_from_dict(data: Any) -> Design:
    data = migrate(data)
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise DesignFileError(tr('unknown key {unknown!r} (a design file has {_TOP_KEYS})').format(unknown=unknown[0], _TOP_KEYS=', '.join(_TOP_KEYS)))
    name = data.get("name", "Untitled")
    if not isinstance(name, str):
        raise DesignFileError(tr('expected text, got {show}').format(show=_show(name)), field="name")
    input_spec = _read_input(data.get("input"))
    classes = data.get("classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DesignFileError(tr('expected a list of class names, got {show}').format(show=_show(classes)), field="classes")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list):
        raise DesignFileError(tr('expected a list of nodes, got {show}').format(show=_show(raw_nodes)), field="nodes")
    nodes: list[Node] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_nodes):
        node = read_node(raw, number)
        if node.id in seen:
            raise DesignFileError(tr("this id is used by another node too"), node=repr(node.id), field="id")
        seen.add(node.id)
        nodes.append(node)
    return Design(name, input_spec, classes, nodes, _read_heads(data.get("heads", []), seen))


def _read_heads(raw: Any, ids: set[str]) -> list[Head]:
    if not isinstance(raw, list):
        raise DesignFileError(tr('expected a list of heads, got {show}').format(show=_show(raw)), field="heads")
    heads = []
    for number, entry in enumerate(raw):
        where = f"heads[{number}]"
        if not isinstance(entry, dict) or any(key not in _HEAD_KEYS for key in entry):
            raise DesignFileError(tr('expected {{"node", "loss_weight"}}, got {show}').format(show=_show(entry)), field=where)
        node = entry.get("node")
        if not isinstance(node, str) or ref_problem(node) or node_of(node) not in ids:
            raise DesignFileError(tr('no node {show} to be a head').format(show=_show(node)), field=f"{where}.node")
        weight = entry.get("loss_weight", 1.0)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or weight < 0:
            raise DesignFileError(tr('expected a loss weight ≥ 0, got {show}').format(show=_show(weight)), field=f"{where}.loss_weight")
        if any(h.node == node for h in heads):
            raise DesignFileError(tr('{node!r} is a head twice').format(node=node), field=f"{where}.node")
        heads.append(Head(node, float(weight)))
    return heads


def migrate(data: Any) -> dict[str, Any]:
    """Check format and version, then bring an older document up to ``VERSION``."""
    if not isinstance(data, dict):
        raise DesignFileError(tr('expected a JSON object at the top, got {show}').format(show=_show(data)))
    if data.get("format") != FORMAT:
        raise DesignFileError(tr('not a convviz design (its "format" is {show}, expected {FORMAT!r})').format(show=_show(data.get('format')), FORMAT=FORMAT))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise DesignFileError(tr('expected a version number, got {show}').format(show=_show(version)), field="version")
    if version > VERSION:
        raise DesignFileError(tr('this file is version {version}, written by a newer convviz; this one reads versions up to {VERSION}. Update convviz to open it.').format(version=version, VERSION=VERSION))
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise DesignFileError(tr('version {version} files are no longer supported (no migration to {value})').format(version=version, value=version + 1))
        data = step(dict(data))
        version += 1
        data["version"] = version
    return data


def _read_input(raw: Any) -> InputSpec:
    if not isinstance(raw, dict):
        raise DesignFileError(tr('expected {{"channels", "height", "width"}}, got {show}').format(show=_show(raw)), field="input")
    values = {}
    for key in ("channels", "height", "width"):
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 10 ** MAX_DIGITS:
            raise DesignFileError(tr('expected a positive integer, got {show}').format(show=_show(value)), field=f"input.{key}")
        values[key] = value
    extra = [k for k in raw if k not in values]
    if extra:
        raise DesignFileError(tr('unknown key {extra!r}').format(extra=extra[0]), field="input")
    return InputSpec(**values)


def read_node(raw: Any, number: int) -> Node:
    label = f"#{number + 1}"
    if not isinstance(raw, dict):
        raise DesignFileError(tr('expected an object, got {show}').format(show=_show(raw)), node=label)
    node_id = raw.get("id")
    problem = id_problem(node_id)
    if problem:
        raise DesignFileError(problem, node=label, field="id")
    label = repr(node_id)
    type_name = raw.get("type")
    if not isinstance(type_name, str) or type_name not in CATALOG:
        raise DesignFileError(tr('unknown layer type {show}; known types: {CATALOG}').format(show=_show(type_name), CATALOG=', '.join(CATALOG)),
                              node=label, field="type")
    label = f"{node_id!r} ({type_name})"
    for key in raw:
        if key not in _NODE_KEYS:
            raise DesignFileError(tr('unknown key (a node has {_NODE_KEYS})').format(_NODE_KEYS=', '.join(_NODE_KEYS)), node=label, field=key)
    inputs = raw.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise DesignFileError(tr('expected a list of node ids, got {show}').format(show=_show(inputs)), node=label, field="inputs")
    for ref in inputs:
        problem = ref_problem(ref)
        if problem:
            raise DesignFileError(problem, node=label, field="inputs")
    params_raw = raw.get("params", {})
    if not isinstance(params_raw, dict):
        raise DesignFileError(tr('expected an object, got {show}').format(show=_show(params_raw)), node=label, field="params")
    spec = CATALOG[type_name]
    params: dict[str, Any] = {}
    for name, value in params_raw.items():
        if name not in spec.param_index:
            known = ", ".join(spec.param_index) or "none"
            raise DesignFileError(tr('{type_name} has no such parameter (its parameters: {known})').format(type_name=type_name, known=known),
                                  node=label, field=f"params.{name}")
        try:
            params[name] = spec.param(name).coerce(value)
        except ParamTypeError as exc:
            raise DesignFileError(str(exc), node=label, field=f"params.{name}") from None
    missing = [p.name for p in spec.params if p.required and p.name not in params]
    if missing:
        raise DesignFileError(tr('{type_name} needs this parameter (PyTorch has no default)').format(type_name=type_name),
                              node=label, field=f"params.{missing[0]}")
    pos = raw.get("pos")
    if pos is not None:
        if (not isinstance(pos, list) or len(pos) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_POSITION
                           for v in pos)):
            raise DesignFileError(tr("expected [x, y] with coordinates within ±{limit:,.0f}, got {value}").format(
                limit=MAX_POSITION, value=_show(pos)), node=label, field="pos")
        pos = (float(pos[0]), float(pos[1]))
    return Node(node_id, type_name, list(inputs), params, pos)


def _show(value: Any) -> str:
    """A short rendering of a bad value for a message."""
    text = json.dumps(value, ensure_ascii=False) if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
