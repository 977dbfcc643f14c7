"""A design as readable PyTorch source: one ``nn.Module`` that runs without convviz.

The class builds with no arguments, names its submodules after the node ids (so its
``state_dict`` keys are the checkpoint's), and its ``forward`` reads like hand-written code: a
chain threads ``x`` through (``x = self.conv1(x)``), a value used twice or later gets a variable
named after its node, merges are ``a + b`` and ``torch.cat([...], dim=1)``, and every line says
the shape it produces. The layout is black's (88 columns), so the text is stable and a formatter
leaves it alone.

User text is never written as code: node ids are checked identifiers (``convviz.design.ids``);
the design's name and file names go into docstrings with quotes and backslashes escaped and
control characters removed, and class names into string literals built by ``py_string``.
"""

from __future__ import annotations

import inspect
import keyword
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..analysis import Analysis, analyze
from ..analysis.text import grouped, shape
from ..data.fitting import LUMA
from ..design import Design, layer_spec
from ..design.ports import node_of
from ..i18n import tr
from ..model import MERGE_MODULES, ModelBuildError, class_name, module_arguments
from .checkpoint import Preprocessing

LINE_LENGTH = 88

#: Types written as expressions (``a + b``, ``torch.cat``, ``torch.chunk``), not as modules.
FUNCTIONAL_TYPES = frozenset({*MERGE_MODULES, "Split"})
INDENT = "    "

#: Module-level names the generated file defines; a class must not take one of them.
_FILE_NAMES = frozenset({"torch", "nn", "INPUT_SHAPE", "CLASSES", "MEAN", "STD", "preprocess"})

#: Leading constructor arguments written positionally, as PyTorch's docs do (``nn.Conv2d(1, 16, …)``);
#: every other argument is written as a keyword.
_POSITIONAL = frozenset({"in_channels", "out_channels", "in_features", "out_features", "num_features", "size",
                         "output_size", "num_groups", "num_channels", "normalized_shape", "padding"})

#: How many class names the docstring lists before referring to ``CLASSES``.
_CLASSES_SHOWN = 20


def source_class_name(design: Design) -> str:
    """The generated class's name: the design's name in CamelCase, never a keyword or a file-level name."""
    name = class_name(design.name)
    return f"{name}Net" if keyword.iskeyword(name) or name in _FILE_NAMES else name


def module_source(design: Design, analysis: Analysis | None = None, weights_file: str | None = None,
                  preprocessing: Preprocessing | None = None, aux_heads: bool = False) -> str:
    """The whole ``.py`` file for ``design``; ``weights_file`` names the ``.pt`` the docstring loads.

    With ``preprocessing`` (an empty one: not normalised), the file also defines ``MEAN``, ``STD``
    and ``preprocess(image)``: an image as the model's input, exactly as convviz prepares it. A
    design with auxiliary heads returns them in training mode only, unless ``aux_heads``.
    """
    analysis = analysis or analyze(design)
    if not analysis.ok:
        raise ModelBuildError(f"the design cannot be exported: {analysis.first_error()}")
    name = source_class_name(design)
    forward = _forward_lines(design, analysis, aux_heads)
    uses_torch = preprocessing is not None or any("torch." in line for line in forward)
    parts = [
        _file_docstring(design, analysis, name, weights_file, preprocessing),
        "",
        *(["import torch"] if uses_torch else []),
        "from torch import nn",
        "",
        f"INPUT_SHAPE = {_value(design.input.shape)}",
        *_statement("", "CLASSES = ", "", _Seq("[", [py_string(c) for c in design.classes], "]", explode=True)),
        *(_preprocess_lines(design, preprocessing) if preprocessing is not None else []),
        "",
        "",
        f"class {name}(nn.Module):",
        f'{INDENT}"""{doc_text(design.name.strip() or "Untitled")}: '
        f'{shape(design.input.shape)} → {shape(analysis.output_shape)}."""',
        "",
        *([f"{INDENT}#: True: every head in eval mode too (convviz's validation weighs all their losses).",
           f"{INDENT}all_heads = False", ""] if len(analysis.heads) > 1 and not aux_heads else []),
        f"{INDENT}def __init__(self):",
        f"{INDENT * 2}super().__init__()",
        *_init_lines(design, analysis),
        "",
        *forward,
    ]
    return "\n".join(parts) + "\n"


# --- __init__ ----------------------------------------------------------------------------------

def _init_lines(design: Design, analysis: Analysis) -> list[str]:
    lines: list[str] = []
    for node_id in analysis.order:
        node = design.node(node_id)
        if node.type == "Input" or node.type in FUNCTIONAL_TYPES:
            continue  # no module: the input is forward's argument, merges and splits are expressions
        args = constructor_arguments(node.type, module_arguments(node.type, analysis.nodes[node_id].inferred,
                                                                 node.resolved_params()))
        call = _Seq("(", args, ")")
        lines += _statement(INDENT * 2, f"self.{node_id} = ", f"nn.{node.type}", call)
    return lines


def constructor_arguments(type_name: str, values: dict[str, Any]) -> list[str]:
    """``nn.<type_name>``'s arguments as PyTorch users write them: sizes first, then non-defaults by keyword."""
    signature = inspect.signature(getattr(nn, type_name))
    args: list[str] = []
    positional = True
    for param in signature.parameters.values():
        if param.name not in values:
            continue
        value = canonical_size(values[param.name])
        if param.default is not inspect.Parameter.empty and value == canonical_size(param.default):
            positional = False
            continue
        positional = positional and param.name in _POSITIONAL
        args.append(_value(value) if positional else f"{param.name}={_value(value)}")
    return args


def canonical_size(value: Any) -> Any:
    """(3, 3) → 3: a square pair reads as one number and means the same to every layer."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
        return value[0]
    return tuple(value) if isinstance(value, list) else value


# --- forward -----------------------------------------------------------------------------------

def _forward_lines(design: Design, analysis: Analysis, aux_heads: bool = False) -> list[str]:
    """``forward``: the main head's layers in order; a design's auxiliary heads after them, computed and
    returned only in training mode as torchvision's GoogLeNet does, or when ``all_heads`` is set
    (``aux_heads``: always)."""
    main = design.ancestors(analysis.output) if analysis.heads else None
    order = [nid for nid in analysis.order if main is None or nid in main]
    auxiliary = [nid for nid in analysis.order if main is not None and nid not in main]
    ids = set(analysis.order)
    uses: dict[str, int] = {nid: 0 for nid in analysis.order}
    for nid in analysis.order:
        for src in design.node(nid).inputs:
            uses[node_of(src)] += 1
    sequence = order + auxiliary

    def variable(position: int) -> str:
        """Where node ``sequence[position]`` leaves its value: ``x`` when only the next line reads it."""
        nid = sequence[position]
        if nid == analysis.output:
            return "x" if not auxiliary else nid  # with heads after it, the main result keeps a name of its own
        follower = sequence[position + 1] if position + 1 < len(sequence) else None
        if uses[nid] == 1 and follower is not None and nid in design.node(follower).inputs \
                and (follower in order) == (nid in order):
            return "x"
        return nid

    held = {nid: variable(i) for i, nid in enumerate(sequence)}
    for nid in sequence:
        node = design.node(nid)
        if layer_spec(node.type).multi_output:  # one variable per output: split1_0, split1_1, …
            for k in range(len(analysis.nodes[nid].output_shapes)):
                name = f"{nid}_{k}"
                while name in ids or name in held.values():
                    name += "_"
                held[f"{nid}:{k}"] = name
    input_id = design.input_nodes()[0].id
    lines = [f"{INDENT}def forward(self, {held[input_id]}):"]
    body = INDENT * 2
    lines += _statements(design, analysis, order, held, uses, body)
    results = [held[nid] for nid in analysis.heads]
    if auxiliary and aux_heads:
        lines += _statements(design, analysis, auxiliary, held, uses, body)
        lines.append(f"{body}return {', '.join(results)}")
    elif auxiliary:
        lines.append(f"{body}if self.training or self.all_heads:  # the auxiliary heads: their losses help "
                     "training, inference needs none")
        lines += _statements(design, analysis, auxiliary, held, uses, body + INDENT)
        lines.append(f"{body}{INDENT}return {', '.join(results)}")
        lines.append(f"{body}return {held[analysis.output]}")
    else:
        lines.append(f"{body}return {held[analysis.output]}")
    return lines


def _statements(design: Design, analysis: Analysis, order: list[str], held: dict[str, str], uses: dict[str, int],
                body: str) -> list[str]:
    lines = []
    heads = {node_of(ref) for ref in (*analysis.heads, analysis.output)}
    for nid in order:
        node = design.node(nid)
        if node.type == "Input":
            continue
        args = [held[src] for src in node.inputs]
        record = analysis.nodes[nid]
        if record.output_shapes:
            out = ", ".join(shape(s) for s in record.output_shapes)
        else:
            out = shape(record.output_shape)
        comment = out if node.type not in FUNCTIONAL_TYPES else f"{nid}: {out}"
        if uses[nid] == 0 and nid not in heads:
            comment += " (unused: not on the way to the output)"
        target = f"{held[nid]} = "
        if node.type in ("Add", "Multiply"):
            lines += _sum_statement(body, target, args, comment, " + " if node.type == "Add" else " * ")
        elif node.type == "Concat":
            cat = _Seq("(", [_Seq("[", args, "]", explode=True), "dim=1"], ")")
            lines += _statement(body, target, "torch.cat", cat, comment)
        elif node.type == "Split":
            targets = ", ".join(held[f"{nid}:{k}"] for k in range(len(record.output_shapes))) + " = "
            params = node.resolved_params()
            if params["sizes"]:
                call = _Seq("(", [args[0], _value(list(params["sizes"])), "dim=1"], ")")
                lines += _statement(body, targets, "torch.split", call, comment)
            else:
                lines += _statement(body, targets, "torch.chunk", _Seq("(", [args[0], str(params["chunks"]), "dim=1"], ")"),
                                    comment)
        else:
            lines += _statement(body, target, f"self.{nid}", _Seq("(", args, ")"), comment)
    return lines


# --- layout: black's rules for the few shapes of statement the file has -------------------------

@dataclass(frozen=True)
class _Seq:
    """A bracketed, comma-separated sequence: a call's arguments or a list literal.

    ``explode``: once split, one item per line with a trailing comma (black does this for
    collection literals, and keeps a call's arguments on one line when they fit).
    """

    open: str
    items: list[Any]
    close: str
    explode: bool = False

    def flat(self) -> str:
        return self.open + ", ".join(_flat(i) for i in self.items) + self.close


def _flat(item: str | _Seq) -> str:
    return item if isinstance(item, str) else item.flat()


def _fits(line: str) -> bool:
    return len(line) <= LINE_LENGTH


def _statement(indent: str, target: str, call: str, seq: _Seq, comment: str = "") -> list[str]:
    """``target`` + ``call`` + ``seq`` as one line if it fits (comment included), else split as black does."""
    suffix = f"  # {comment}" if comment else ""
    one_line = f"{indent}{target}{call}{seq.flat()}"
    if _fits(one_line + suffix):
        return [one_line + suffix]
    above = [f"{indent}# {comment}"] if comment else []
    inner = indent + INDENT
    if not _fits(f"{indent}{target}{call}{seq.open}") and _fits(f"{inner}{call}{seq.flat()}"):
        # A long target leaves no room to open the call: black wraps the whole right-hand side instead.
        return above + [f"{indent}{target}(", f"{inner}{call}{seq.flat()}", f"{indent})"]
    return above + _split(indent, target + call, seq, "")


def _split(indent: str, head: str, seq: _Seq, tail: str) -> list[str]:
    line = f"{indent}{head}{seq.flat()}{tail}"
    if _fits(line) or not seq.items:
        return [line]
    inner = indent + INDENT
    body = ", ".join(_flat(i) for i in seq.items)
    if not seq.explode and _fits(inner + body):
        middle = [inner + body]
    else:
        middle = [piece for item in seq.items for piece in
                  (_split(inner, "", item, ",") if isinstance(item, _Seq) else [f"{inner}{item},"])]
    return [f"{indent}{head}{seq.open}", *middle, f"{indent}{seq.close}{tail}"]


def _sum_statement(indent: str, target: str, terms: list[str], comment: str, operator: str = " + ") -> list[str]:
    """``a + b + …`` (or ``a * b * …``), split as black splits a long binary expression."""
    expression = operator.join(terms)
    if _fits(f"{indent}{target}{expression}  # {comment}"):
        return [f"{indent}{target}{expression}  # {comment}"]
    inner = indent + INDENT
    middle = [inner + expression] if _fits(inner + expression) else \
        [inner + terms[0], *(f"{inner}{operator.lstrip()}{t}" for t in terms[1:])]
    return [f"{indent}# {comment}", f"{indent}{target}(", *middle, f"{indent})"]


# --- preprocessing -----------------------------------------------------------------------------

#: ``preprocess()``: convviz.data.images' fitting and normalisation in plain torch and Pillow. Kept
#: black-formatted by hand (tests/test_export_source.py checks); ``{luma}`` is ``LUMA``.
_PREPROCESS = '''

def preprocess(image):
    """An image (a path or a PIL image) as this model's input: a (1, C, H, W) tensor.

    As convviz prepares it: centre-cropped to the input's aspect ratio, resized to
    INPUT_SHAPE (bilinear), transparency on white, RGB for 3 channels or ITU-R 601 grey
    for 1, values in [0, 1], then normalised per channel as (x - MEAN) / STD.
    Needs Pillow; the model itself needs only torch.
    """
    from PIL import Image, ImageOps

    if not isinstance(image, Image.Image):
        image = Image.open(image)
    image = ImageOps.exif_transpose(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        modes = {{"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA"}}
        image = image.convert(modes.get(image.mode, "RGB"))
    channels, height, width = INPUT_SHAPE
    w, h = image.size
    if w * height > h * width:  # wider than the input: crop the sides
        side = max(1, round(h * width / height))
        box = ((w - side) // 2, 0, (w - side) // 2 + side, h)
    else:
        side = max(1, round(w * height / width))
        box = (0, (h - side) // 2, w, (h - side) // 2 + side)
    image = image.crop(box)
    image = image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
    dtype, scale = {{"I": (torch.int32, 65535.0), "F": (torch.float32, 1.0)}}.get(
        image.mode, (torch.uint8, 255.0)
    )
    x = torch.frombuffer(bytearray(image.tobytes()), dtype=dtype).float() / scale
    x = x.clamp(0, 1).reshape(height, width, -1)
    if image.mode in ("LA", "RGBA"):  # transparency on white
        x = x[..., :-1] * x[..., -1:] + (1 - x[..., -1:])
    if channels == 1 and x.shape[2] == 3:
        x = (x @ torch.tensor({luma}))[..., None]
    elif channels == 3 and x.shape[2] == 1:
        x = x.expand(height, width, 3)
    mean = torch.tensor(MEAN).view(-1, 1, 1)
    std = torch.tensor(STD).view(-1, 1, 1)
    return ((x.permute(2, 0, 1) - mean) / std).unsqueeze(0)'''


def _preprocess_lines(design: Design, preprocessing: Preprocessing) -> list[str]:
    """``MEAN``, ``STD`` and, for an image input (1 or 3 channels), ``preprocess()``."""
    mean, std = preprocessing.per_channel(design.input.channels)
    lines = [*_constant("MEAN", mean), *_constant("STD", std)]
    if design.input.channels in (1, 3):
        lines += _PREPROCESS.format(luma=_value(list(LUMA))).split("\n")
    return lines


def _constant(name: str, values: list[float]) -> list[str]:
    if len(values) == 1:
        return [f"{name} = ({values[0]!r},)"]
    return _statement("", f"{name} = ", "", _Seq("(", [repr(v) for v in values], ")"))


def _normalisation_line(design: Design, preprocessing: Preprocessing) -> str:
    mean, std = preprocessing.per_channel(design.input.channels)
    fits = "preprocess(image) fits an image to the input" if design.input.channels in (1, 3) else \
        "the input is"
    if not preprocessing.mean and not preprocessing.std:
        return f"Preprocessing: {fits}; not normalised (MEAN is 0, STD is 1)."
    verb = "normalises it" if design.input.channels in (1, 3) else "normalised"
    return (f"Preprocessing: {fits} and {verb} with mean {_plain(mean)} and std {_plain(std)} per "
            "channel, as in training (MEAN and STD below).")


def _plain(values: list[float]) -> str:
    return ", ".join(f"{v:.4g}" for v in values)


# --- text --------------------------------------------------------------------------------------

def _file_docstring(design: Design, analysis: Analysis, name: str, weights_file: str | None,
                    preprocessing: Preprocessing | None = None) -> str:
    c, h, w = design.input.shape
    facts = [
        f"Input: {c}×{h}×{w} (channels × height × width); a batch is (N, {c}, {h}, {w}).",
        f"Output: {shape(analysis.output_shape)} per image.",
        *_heads_lines(design, analysis),
        _classes_line(design.classes),
        f"Parameters: {grouped(analysis.params)}; multiply-accumulates per image: {grouped(analysis.macs)}.",
        *([_normalisation_line(design, preprocessing)] if preprocessing is not None else []),
    ]
    text = [f"{design.name.strip() or 'Untitled'}: exported from convviz as plain PyTorch.", ""]
    text += [wrapped for fact in facts for wrapped in textwrap.wrap(fact, LINE_LENGTH - 4, subsequent_indent=INDENT)]
    weights = py_string(weights_file or "weights.pt")
    text += [
        "",
        "Build it and load the weights exported with it (no convviz needed):",
        "",
        f"    model = {name}()",
        f"    checkpoint = torch.load({weights}, weights_only=True)",
        '    model.load_state_dict(checkpoint["state_dict"])',
        "    model.eval()",
    ]
    if preprocessing is not None:
        text += [
            '    probabilities = model(preprocess("photo.png")).softmax(1)',
            "    print(CLASSES[probabilities.argmax()])" if design.classes else
            "    print(int(probabilities.argmax()))",
        ]
    return '"""' + "\n".join(doc_text(line) for line in text) + '\n"""'


def _heads_lines(design: Design, analysis: Analysis) -> list[str]:
    if len(analysis.heads) < 2:
        return []
    weights = {h.node: h.loss_weight for h in design.heads}
    named = ", ".join(f"{nid} (loss weight {weights[nid]:g})" for nid in analysis.heads)
    return [tr("Heads: {named}; the first is the output. In training mode forward returns every head's scores, "
               "main first, for the weighted sum of their losses; in eval mode only the main one.").format(named=named)]


def _classes_line(classes: list[str]) -> str:
    if not classes:
        return "Classes: not named."
    shown = ", ".join(c.strip() for c in classes[:_CLASSES_SHOWN])
    more = f", … ({len(classes)} in all, see CLASSES)" if len(classes) > _CLASSES_SHOWN else ""
    return f"Classes ({len(classes)}): {shown}{more}."


def doc_text(text: str) -> str:
    """One line of user text, safe inside a triple-quoted docstring: it reads back exactly as shown."""
    text = "".join(ch if ch.isprintable() else " " for ch in text).replace("\\", "\\\\")
    return re.sub(r'"(?=")', r'\\"', text)  # no run of quotes can close the docstring


def py_string(text: str) -> str:
    """A Python string literal for ``text`` (``ast.literal_eval`` gives ``text`` back).

    Quotes as black would choose them: double, unless single quotes need fewer escapes.
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for ch in text:
        if ch in ("\\", quote):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])  # \n, \t, \x00, \u2028, a lone surrogate: all escaped
    return quote + "".join(out) + quote


def _value(value: Any) -> str:
    if isinstance(value, str):
        return py_string(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)
