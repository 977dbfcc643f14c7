"""The training loss of a design, in one place: one head's cross-entropy, or several heads' weighted sum.

A design with several heads (GoogLeNet's auxiliary classifiers) trains on
``Σ weight_h · cross_entropy(scores_h, labels)`` and reports each head's own loss; accuracy,
the confusion matrix and everything after training read the main head (the first).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..analysis import Analysis
from ..design import Design
from ..model import main_output


def compute_loss(scores: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """One head's objective, for the training steps and the validation pass alike: cross-entropy,
    computed in float32 under autocast."""
    return F.cross_entropy(scores.float(), labels, reduction=reduction)


@dataclass(frozen=True)
class HeadLoss:
    """The loss of a model built with ``build_model(design, heads=...)`` for these heads."""

    #: Head node ids, main first; one entry for a design with one output.
    names: tuple[str, ...]
    weights: tuple[float, ...]

    @property
    def several(self) -> bool:
        """The model returns a tuple of every head's scores (``build_model(..., heads="all")``)."""
        return len(self.names) > 1

    @property
    def build(self) -> str:
        """``build_model``'s ``heads`` argument for the model this loss reads."""
        return "all" if self.several else "main"

    def __call__(self, outputs: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor,
                 reduction: str = "mean") -> tuple[torch.Tensor, torch.Tensor]:
        """(the weighted total, each head's loss as a 1-D tensor): both stay on the device, unsynchronised."""
        scores = outputs if isinstance(outputs, tuple) else (outputs,)
        parts = torch.stack([compute_loss(s, labels, reduction) for s in scores])
        if not self.several:
            return parts[0], parts
        weights = torch.tensor(self.weights, device=parts.device, dtype=parts.dtype)
        return (parts * weights).sum(), parts


#: The main head's scores: what accuracy and predictions read.
main_scores = main_output


def head_loss(design: Design, analysis: Analysis) -> HeadLoss:
    """The loss for ``design``: its heads with their weights, or its one output with weight 1."""
    if len(analysis.heads) > 1:
        weights = {head.node: head.loss_weight for head in design.heads}
        return HeadLoss(tuple(analysis.heads), tuple(weights[nid] for nid in analysis.heads))
    return HeadLoss((analysis.output,), (1.0,))
