"""Designs as PyTorch modules (torch lives here and above; no Qt)."""

from .builder import (MERGE_MODULES, ModelBuildError, build_model, class_name, main_output, make_module,
                      module_arguments, seeded_model)
from .layers import Add, Concat, Multiply, Split
from .weights import carry_over_weights, tensors_by_node

__all__ = ["Add", "Concat", "MERGE_MODULES", "ModelBuildError", "Multiply", "Split", "build_model", "carry_over_weights",
           "class_name", "main_output", "make_module", "module_arguments", "seeded_model", "tensors_by_node"]
