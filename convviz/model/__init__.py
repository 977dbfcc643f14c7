"""Designs as PyTorch modules (torch lives here and above; no Qt)."""

from .builder import ModelBuildError, build_model, class_name, make_module, seeded_model
from .layers import Add, Concat
from .weights import carry_over_weights, tensors_by_node

__all__ = ["Add", "Concat", "ModelBuildError", "build_model", "carry_over_weights", "class_name", "make_module", "seeded_model",
           "tensors_by_node"]
