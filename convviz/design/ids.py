"""Node ids: checked identifiers, because they become attribute and variable names in PyTorch code.

A node id names the node's submodule (``model.conv1``), its ``state_dict`` keys (``conv1.weight``)
and, in exported source, a local variable. So an id must be a plain Python identifier that shadows
nothing a module or the generated code relies on. Checking this here is what lets the exporter
write ids into code without quoting them (a design file cannot smuggle code through an id).
"""

from __future__ import annotations

import keyword
import re

from ..i18n import tr

MAX_ID_LENGTH = 64

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

#: Names a node may not take: attributes of ``torch.nn.Module`` and ``torch.fx.GraphModule``
#: (a submodule of that name would shadow them) and names the generated code uses.
#: tests/test_model.py checks this list still covers the installed torch.
RESERVED_IDS = frozenset(
    """
    T_destination add_module add_submodule apply bfloat16 buffers call_super_init children code
    compile cpu cuda delete_all_unused_submodules delete_submodule double dump_patches eval
    extra_repr float forward get_buffer get_extra_state get_parameter get_submodule graph half ipu
    load_state_dict meta modules mtia named_buffers named_children named_modules named_parameters
    parameters print_readable recompile register_backward_hook register_buffer
    register_forward_hook register_forward_pre_hook register_full_backward_hook
    register_full_backward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_module register_parameter
    register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
    set_submodule share_memory state_dict to to_empty to_folder train training type xpu zero_grad
    self torch nn F super x outputs
    """.split()
)

#: Short prefixes for generated ids (conv1, pool2, …).
_PREFIXES = {
    "Input": "input",
    "Conv2d": "conv",
    "ConvTranspose2d": "deconv",
    "MaxPool2d": "pool",
    "AvgPool2d": "avgpool",
    "AdaptiveAvgPool2d": "gap",
    "AdaptiveMaxPool2d": "gmp",
    "BatchNorm2d": "bn",
    "GroupNorm": "gn",
    "LayerNorm": "ln",
    "InstanceNorm2d": "inorm",
    "LocalResponseNorm": "lrn",
    "ReLU": "relu",
    "ReLU6": "relu",
    "LeakyReLU": "lrelu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Hardswish": "hswish",
    "Hardsigmoid": "hsigmoid",
    "PReLU": "prelu",
    "ELU": "elu",
    "Mish": "mish",
    "ZeroPad2d": "pad",
    "Upsample": "up",
    "ChannelShuffle": "shuffle",
    "Split": "split",
    "Multiply": "mul",
    "Softmax": "softmax",
    "Dropout": "drop",
    "Dropout2d": "drop",
    "Flatten": "flatten",
    "Linear": "fc",
    "Identity": "identity",
    "Add": "add",
    "Concat": "cat",
}


def id_problem(node_id: object) -> str | None:
    """Why ``node_id`` cannot name a node, or None when it can."""
    if not isinstance(node_id, str):
        return tr("an id must be text, not {kind}").format(kind=type(node_id).__name__)
    if not node_id:
        return tr("an id cannot be empty")
    if len(node_id) > MAX_ID_LENGTH:
        return tr("an id has at most {n} characters").format(n=MAX_ID_LENGTH)
    if not _IDENTIFIER.match(node_id):
        return tr("{id} is not a valid id: use letters, digits and _, starting with a letter (it becomes a Python "
                  "attribute name)").format(id=repr(node_id))
    if keyword.iskeyword(node_id) or keyword.issoftkeyword(node_id):
        return tr("{id} is a Python keyword").format(id=repr(node_id))
    if node_id in RESERVED_IDS:
        return tr("{id} is reserved (a PyTorch module attribute or a name the generated code uses)").format(
            id=repr(node_id))
    return None


def id_prefix(type_name: str) -> str:
    return _PREFIXES.get(type_name, type_name.lower())


def fresh_id(taken: object, type_name: str = "", prefix: str | None = None) -> str:
    """The first free ``<prefix><n>`` (n ≥ 1) not in ``taken`` (anything supporting ``in``)."""
    stem = prefix if prefix is not None else id_prefix(type_name)
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"
