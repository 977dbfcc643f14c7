"""Which runs belong together: a design's fingerprint (its structure, nothing else) and lineages.

A lineage is the line of designs one document went through (the template, then each edit): the
app gives a design the lineage of the latest run whose fingerprint it has (so reopening a file
or a template finds its runs again) and keeps it through edits.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from ..design import Design


def design_fingerprint(design: Design) -> str:
    """The same for two designs that build the same network (ids, types, parameters, wiring and
    input); positions, the name and the class names do not count."""
    structure = {
        "input": list(design.input.shape),
        "nodes": [[node.id, node.type, list(node.inputs),
                   sorted((k, list(v) if isinstance(v, tuple) else v) for k, v in node.params.items())]
                  for node in design],
    }
    text = json.dumps(structure, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def new_lineage() -> str:
    return uuid.uuid4().hex[:16]
