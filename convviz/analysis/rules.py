"""Every layer type's rule, by catalog type name: the registry the engine runs.

Rules live in small modules by kind (``layers``: the classic CNN layers and merges; ``upsampling``,
``normalization``, ``channels``); each module keeps its own ``RULES`` and this one joins them.
"""

from __future__ import annotations

from collections.abc import Callable

from . import channels, layers, normalization, upsampling
from .layers import Ctx, LayerOut

RULES: dict[str, Callable[[Ctx], LayerOut | None]] = {
    **layers.RULES,
    **upsampling.RULES,
    **normalization.RULES,
    **channels.RULES,
}
