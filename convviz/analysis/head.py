"""Warnings about the end of a classifier, where a teacher looks first: an activation after the
final Linear, and class scores that do not match the classes of the data.

Training applies cross-entropy to the output, which needs raw scores (logits) free to take any
value, one per class. A ReLU after the final Linear clips them at 0 (a Sigmoid or Tanh squashes
them), so the wrong classes cannot be pushed down; a final layer with 10 outputs cannot learn a
3-class folder. (A final Softmax has its own warning in the engine.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..design.catalog import layer_spec
from ..design.edits import Bridge, SetParam
from ..design.graph import Design
from ..design.ports import node_of
from ..i18n import tr
from .results import Fix, Issue, NodeAnalysis

#: Layers the class scores may pass through after the final Linear without changing what they are.
PASS_THROUGH = ("Dropout", "Identity", "Softmax")


def head_warnings(design: Design, nodes: dict[str, NodeAnalysis], output: str | None,
                  classes: Sequence[str] | None) -> list[tuple[str, Issue]]:
    """(node id, warning) pairs for the network's head; ``classes``: the classes of the data it is
    to be trained on (or the design's own class names)."""
    result = nodes.get(node_of(output)) if output else None
    shape = result.shape_of(output) if result is not None and result.valid else None
    if shape is None or len(shape) != 1:
        return []
    found: list[tuple[str, Issue]] = []
    linear, after = _final_linear(design, node_of(output))
    if linear is not None:
        for node_id in after:
            node = design.node(node_id)
            if layer_spec(node.type).family == "Activation" and node.type != "Softmax":
                found.append((node_id, Issue(
                    tr("{node} ({type}) comes after the final Linear {linear!r}: it {effect} the class scores, "
                       "but cross-entropy needs them free to take any value, so the network learns worse "
                       "or not at all.").format(node=repr(node_id), type=node.type, linear=linear,
                                                effect=_effect(node.type)),
                    tr("Remove it: the final Linear's outputs are the scores."),
                    Fix(tr("Remove {node}").format(node=repr(node_id)), (Bridge(node_id),)), "warning")))
    width = shape[0]
    if classes and len(classes) != width:
        names = ", ".join(list(classes)[:6]) + ("…" if len(classes) > 6 else "")
        fix = None
        if linear is not None:
            fix = Fix(tr("Set out_features of {node} to {n}").format(node=repr(linear), n=len(classes)),
                      (SetParam(linear, "out_features", len(classes)),))
        found.append((linear or node_of(output), Issue(
            tr("The network gives {width} class scores, but the data has {n} classes ({names}): training "
               "needs one score per class.").format(width=width, n=len(classes), names=names),
            tr("Give the final Linear {n} outputs.").format(n=len(classes)), fix, "warning")))
    return found


def main_head_successor(design: Design, nodes: dict[str, NodeAnalysis], removed: Collection[str]) -> str | None:
    """What takes the main head when the nodes ``removed`` go (``design.heads``' first among them): the
    layer that fed it, found up its chain of removed single-input layers, when it is then a sink that gives
    the same scores (a vector as long as the head's: a final Softmax deleted leaves the Linear). None: no
    such layer (deleting the final Linear leaves features, not scores), and the heads are cleared."""
    if not design.heads or node_of(design.heads[0].node) not in removed:
        return None
    main = design.heads[0].node
    head = nodes.get(node_of(main))
    if head is None or not head.valid or len(head.output_shape) != 1:
        return None
    current = node_of(main)
    while current in removed:
        node = design.node(current)
        if len(node.inputs) != 1:
            return None
        source = node.inputs[0]
        current = node_of(source)
    fed = nodes.get(current)
    if source != current or fed is None or not fed.valid or fed.output_shape != head.output_shape:
        return None
    if any(consumer not in removed for consumer, _ in design.consumers(current)):
        return None  # it feeds a layer that stays: not an output
    return current


def _final_linear(design: Design, output: str) -> tuple[str | None, list[str]]:
    """The Linear that makes the class scores, and the single-input layers after it (output first)."""
    after: list[str] = []
    current = output
    while True:
        node = design.node(current)
        if node.type == "Linear":
            return current, after
        family = layer_spec(node.type).family
        if len(node.inputs) != 1 or (family != "Activation" and node.type not in PASS_THROUGH):
            return None, after
        after.append(current)
        current = node_of(node.inputs[0])


def _effect(type_name: str) -> str:
    return {"ReLU": tr("clips at 0"), "ReLU6": tr("clips to 0…6"), "Sigmoid": tr("squashes into 0…1"),
            "Tanh": tr("squashes into −1…1")}.get(type_name, tr("bends"))
