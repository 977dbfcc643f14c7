"""The network as data: layer catalog, the ``Design`` graph, design files and templates.

No torch, no Qt here (tests/test_boundaries.py enforces it): this is what every other part shares.
"""

from .catalog import CATALOG, FAMILIES, LayerSpec, ParamSpec, layer_spec, types_in_family
from .fileformat import FORMAT, VERSION, DesignFileError, design_from_dict, design_to_dict, dumps, load_design, loads, save_design
from .graph import UNSET, Change, Design, DesignError, Head, InputSpec, Node, Removal, StructuralIssue
from .ids import fresh_id, id_problem
from .templates import TEMPLATES, load_design_or_template, load_template, template_title

__all__ = [
    "CATALOG", "FAMILIES", "FORMAT", "VERSION", "TEMPLATES", "UNSET",
    "Change", "Design", "DesignError", "DesignFileError", "Head", "InputSpec", "LayerSpec", "Node", "ParamSpec",
    "Removal", "StructuralIssue",
    "design_from_dict", "design_to_dict", "dumps", "fresh_id", "id_problem", "layer_spec", "load_design",
    "load_design_or_template", "load_template", "loads", "save_design", "template_title", "types_in_family",
]
