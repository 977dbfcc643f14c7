"""Seeing inside a network: activations, filters, receptive fields, sliding windows, CAMs (numpy out).

Everything here runs on the user's network and image through forward hooks that are removed
when each call returns; functions are pure (no global state) and safe to call from a worker
thread. Arrays are row-major (``[row, col]``, row 0 at the top), contiguous float32 or uint8.
"""

from .cam import ClassMaps, Prediction, cam_nodes, default_cam_node, grad_cam, predictions, probabilities, score_node, top_predictions
from .errors import Cancelled, ExplainError
from .fields import Box, UnitField, effective_field, unit_field
from .filters import FilterMosaic, filter_mosaic, weight_mosaic
from .hooks import Activations, as_batch, capture, feature_maps, keep_freed_memory, run_to
from .mosaic import ChannelStats, ChannelStrip, Mosaic, channel_stats, channel_strip, feature_mosaic, mosaic
from .network import Network, network_from_design
from .occlusion import OcclusionMap, batch_for, default_patch, occlusion_map, position_count, seconds_per_image
from .window import WindowAnimation, WindowFrame, WindowGeometry, window_animation

__all__ = [
    "Activations", "Box", "batch_for", "default_patch", "position_count", "seconds_per_image", "Cancelled", "ChannelStats", "ChannelStrip", "ClassMaps", "ExplainError", "FilterMosaic",
    "Mosaic", "Network", "OcclusionMap", "Prediction", "UnitField", "WindowAnimation", "WindowFrame",
    "WindowGeometry", "as_batch", "cam_nodes", "capture", "channel_stats", "channel_strip", "default_cam_node",
    "effective_field", "feature_maps", "feature_mosaic", "filter_mosaic", "grad_cam", "keep_freed_memory",
    "mosaic", "network_from_design", "occlusion_map", "predictions", "probabilities", "run_to",
    "score_node", "top_predictions", "unit_field", "weight_mosaic", "window_animation",
]
