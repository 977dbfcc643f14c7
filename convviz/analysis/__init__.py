"""The live analysis: shapes, parameters, MACs, receptive fields, errors with fixes, derivations.

Pure arithmetic over a ``Design`` (no torch, no Qt), fast enough to rerun on every edit.
"""

from .engine import analyze
from .layers import pooled_size
from .results import Analysis, Derivation, Fix, Issue, NodeAnalysis, ReceptiveField, node_json
from . import text

__all__ = ["Analysis", "Derivation", "Fix", "Issue", "NodeAnalysis", "ReceptiveField", "analyze", "node_json",
           "pooled_size", "text"]
