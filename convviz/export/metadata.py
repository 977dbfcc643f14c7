"""What an exported model says about its input, for whoever runs it without convviz.

One record in every format: the ONNX file's ``metadata_props``, the ``.pt2``'s extra file
``convviz.json``, the ``.py``'s ``MEAN``/``STD``/``CLASSES`` and its ``preprocess()``. Values are
strings (ONNX metadata holds strings); lists are JSON.
"""

from __future__ import annotations

import json

from .. import __version__
from ..design import Design
from .checkpoint import Preprocessing

#: The ``.pt2`` extra file holding the record (``torch.export.load(path, extra_files={NAME: ""})``).
PT2_METADATA_FILE = "convviz.json"

#: How convviz turns an image into the model's input (``convviz.data.images``), in words.
PREPROCESSING_STEPS = ("centre crop to the input's aspect ratio; bilinear resize to height × width; "
                       "transparency composited on white; RGB for 3 channels, ITU-R 601 grey (luma) for 1; "
                       "values scaled to [0, 1]; then (x - mean) / std per channel")


def inference_metadata(design: Design, preprocessing: Preprocessing | None) -> dict[str, str]:
    """The record for ``design`` normalised by ``preprocessing`` (None: not normalised)."""
    channels, height, width = design.input.shape
    mean, std = (preprocessing or Preprocessing()).per_channel(channels)
    return {
        "producer": f"convviz {__version__}",
        "model_name": design.name,
        "classes": json.dumps(list(design.classes), ensure_ascii=False),
        "input_layout": "NCHW",
        "input_shape": json.dumps([channels, height, width]),
        "input_color": {1: "grey", 3: "RGB"}.get(channels, f"{channels} channels"),
        "input_range": "[0, 1]",
        "mean": json.dumps(mean),
        "std": json.dumps(std),
        "preprocessing": PREPROCESSING_STEPS,
    }
