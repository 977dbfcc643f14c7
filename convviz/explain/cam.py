"""Class predictions and Grad-CAM: which classes the network sees, and where it sees them.

Grad-CAM (Selvaraju et al.): for class c and a feature map A (C×h×w) of the target node,
α_k = mean over (i, j) of ∂s_c/∂A_k(i, j), with s_c the class score before softmax, and
CAM = ReLU(Σ_k α_k·A_k). The CAM is upsampled bilinearly (align_corners=False) to the input size
and divided by its maximum, so it lies in [0, 1] (all zeros when no location speaks for c).

The target node by default is the last node with a spatial map (H·W > 1) among the nodes that
feed the class scores, passing over pooling layers: after conv → BN → ReLU (→ pooling) → global
pooling or Flatten, that is the ReLU — the rectified output of the last conv, which is what the
classifier reads (pooling only subsamples it, losing resolution). It is the layer Grad-CAM uses
for torchvision's ResNets (``layer4``) and VGGs (the last conv's ReLU). A network whose only maps
are pooling outputs gets the last of those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..i18n import tr
from ..data.images import PreparedImage
from ..design import layer_spec
from ..design.ports import node_of
from .errors import ExplainError
from .hooks import Activations, as_batch, capture, leaf_at
from .network import Network, require_node

@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    probability: float


def score_node(network: Network) -> tuple[str, bool]:
    """(the node whose output holds the class scores, whether the output node is a Softmax of them)."""
    output = network.analysis.output
    node = network.design.node(node_of(output))
    is_softmax = node.type == "Softmax" and len(node.inputs) == 1
    scores = node.inputs[0] if is_softmax else output
    shape = network.analysis.shape_of(scores)
    if shape is None or len(shape) != 1:
        raise ExplainError(tr("class predictions need a network that ends in a vector of class scores; {scores} gives {shape}").format(scores=repr(scores), shape='×'.join(map(str, shape or ()))))
    return scores, is_softmax


def probabilities(network: Network, output: torch.Tensor | np.ndarray) -> np.ndarray:
    """Class probabilities from the model's output (a batch (N, K) or one image (K,)): the output
    itself when the network ends in a Softmax, else the softmax of it."""
    _, is_softmax = score_node(network)
    t = torch.tensor(output, dtype=torch.float32) if isinstance(output, np.ndarray) else output.detach().float()
    return (t if is_softmax else torch.softmax(t, dim=-1)).cpu().numpy()


def top_predictions(network: Network, probs: np.ndarray, k: int = 5) -> list[Prediction]:
    """The ``k`` most probable classes, most probable first (ties in class order, NaN last), with
    the design's class names. Linear in the number of classes, plus k·log k to order the k."""
    probs = np.asarray(probs)
    count = len(probs)
    k = min(max(1, k), count)
    if count == 0:
        return []
    scores = np.nan_to_num(probs.astype(np.float64), nan=-np.inf)
    if k < count:
        threshold = np.partition(scores, count - k)[count - k]  # the k-th largest
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)[:k - len(above)]
        chosen = np.concatenate([above, tied])
    else:
        chosen = np.arange(count)
    order = chosen[np.lexsort((chosen, -scores[chosen]))].tolist()
    values = probs[order].tolist()  # plain Python numbers, for the k chosen only
    return [Prediction(i, network.class_name(i), value) for i, value in zip(order, values)]


def prediction(network: Network, probs: np.ndarray, index: int) -> Prediction:
    return Prediction(index, network.class_name(index), float(probs[index]))


def predictions(network: Network, activations: Activations, k: int = 5) -> tuple[np.ndarray, list[Prediction]]:
    """(probabilities of every class, the top ``k``) from a ``feature_maps`` result."""
    probs = probabilities(network, activations[network.analysis.output])
    return probs, top_predictions(network, probs, k)


def cam_nodes(network: Network) -> list[str]:
    """Every node Grad-CAM can explain with: the C×H×W maps that feed the class scores, in order."""
    scores, _ = score_node(network)
    feeding = network.design.ancestors(scores)
    return [nid for nid in network.analysis.order if nid in feeding and _is_map(network, nid, need_area=False)]


def default_cam_node(network: Network) -> str:
    """The last spatial map feeding the class scores (see the module docstring)."""
    candidates = [nid for nid in cam_nodes(network) if _is_map(network, nid)]
    if not candidates:
        raise ExplainError(tr("Grad-CAM needs a convolutional feature map (H·W > 1) before the classifier, and this network has none"))
    unpooled = [nid for nid in candidates if layer_spec(network.design.node(nid).type).family != "Pooling"]
    return (unpooled or candidates)[-1]


@dataclass(frozen=True)
class ClassMaps:
    node_id: str
    #: Softmax probability of every class, float32 (K,).
    probabilities: np.ndarray
    #: The classes explained, most probable first (or as asked).
    predictions: list[Prediction]
    #: One (H, W) float32 map in [0, 1] per prediction, the input's size, for overlay.
    maps: list[np.ndarray]
    #: The same maps at the node's resolution (h, w), each divided by its own maximum.
    coarse: list[np.ndarray]


def grad_cam(network: Network, image: torch.Tensor | PreparedImage, *, node_id: str | None = None,
             top_k: int = 3, classes: list[int] | None = None) -> ClassMaps:
    """Grad-CAM of the ``top_k`` predicted classes (or of ``classes``) at ``node_id`` (default:
    ``default_cam_node``). One forward pass and one short backward pass per class."""
    scores_id, _ = score_node(network)
    node_id = node_id or default_cam_node(network)
    require_node(network, node_id)
    if node_id not in cam_nodes(network):
        raise ExplainError(tr("Grad-CAM needs a node with a C×H×W map that feeds the class scores; {node_id} is not one").format(node_id=repr(node_id)))
    model = network.model
    batch = as_batch(image, model)
    with torch.inference_mode(False), torch.enable_grad():
        with leaf_at(model, node_id) as leaf, capture(model, [scores_id]) as store:
            model(batch.clone())
        activation, scores = leaf["leaf"], store[scores_id][0]
        probs = torch.softmax(scores.detach().float(), dim=0).cpu().numpy()
        chosen = (top_predictions(network, probs, top_k) if classes is None else
                  [prediction(network, probs, c) for c in _checked_classes(classes, len(probs))])
        grads = [torch.autograd.grad(scores[p.index], activation, retain_graph=True, allow_unused=True)[0]
                 for p in chosen]
    size = tuple(batch.shape[2:])
    maps, coarse = [], []
    a = activation.detach()[0].float()
    for grad in grads:
        weights = grad[0].float().mean(dim=(1, 2)) if grad is not None else a.new_zeros(a.shape[0])
        cam = torch.relu((weights[:, None, None] * a).sum(0))
        up = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
        maps.append(_unit_max(up))
        coarse.append(_unit_max(cam))
    return ClassMaps(node_id, probs.astype(np.float32), chosen, maps, coarse)


def _checked_classes(classes: list[int], count: int) -> list[int]:
    for c in classes:
        if not 0 <= c < count:
            raise ExplainError(tr("class {c} is out of range: the network has {count} classes (0…{last})").format(c=c, count=count, last=count - 1))
    return list(classes)


def _unit_max(t: torch.Tensor) -> np.ndarray:
    peak = float(t.max()) if t.numel() else 0.0
    return np.ascontiguousarray((t / peak if peak > 0 else torch.zeros_like(t)).cpu().numpy(), dtype=np.float32)


def _is_map(network: Network, node_id: str, need_area: bool = True) -> bool:
    shape = network.analysis.nodes[node_id].output_shape
    if shape is None or len(shape) != 3 or network.design.node(node_id).type == "Input":
        return False
    return not need_area or shape[1] * shape[2] > 1

