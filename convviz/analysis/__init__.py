"""The live analysis: shapes, parameters, MACs, receptive fields, errors with fixes, derivations.

Pure arithmetic over a ``Design`` (no torch, no Qt): ``analyze`` once, then ``reanalyze`` after each
edit, which re-runs only the nodes the edit reaches and hands on the records of the rest.
"""

from .engine import analyze, reanalyze
from .layers import pooled_size
from .results import Analysis, Basis, Derivation, Fix, Issue, NodeAnalysis, ReceptiveField, node_json
from . import text

__all__ = ["Analysis", "Basis", "Derivation", "Fix", "Issue", "NodeAnalysis", "ReceptiveField", "analyze", "node_json",
           "pooled_size", "reanalyze", "text"]
