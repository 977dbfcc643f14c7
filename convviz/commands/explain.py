"""``convviz explain``: feature maps, filters, Grad-CAM and predictions for one image, as files."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

from ..cli import CommandError
from ..i18n import tr


def register(commands) -> None:
    parser = commands.add_parser(
        "explain", help=tr("write feature maps, filters, Grad-CAM and predictions for an image"),
        description=tr("Run MODEL_OR_DESIGN on IMAGE and write into --out: features_<node>.png (every node's output as a mosaic), filters_<node>.png (conv weights), gradcam.png (the top class's Grad-CAM over the image) and predictions.json. A design or template runs with random initial weights; a .pt checkpoint with its trained ones."))
    parser.add_argument("model", metavar="MODEL_OR_DESIGN", help=tr("a .pt checkpoint, a design file or a template name"))
    parser.add_argument("image", metavar="IMAGE", help=tr("an image file (PNG, JPEG, …)"))
    parser.add_argument("--out", required=True, metavar="DIR", help=tr("folder for the files (created if missing)"))
    parser.add_argument("--node", action="append", metavar="ID", help=tr("only these nodes' feature maps (repeatable)"))
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help=tr("classes listed first (default 5)"))
    parser.add_argument("--cam-node", metavar="ID", help=tr("the Grad-CAM layer (default: the last conv feature map)"))
    parser.add_argument("--background", choices=("white", "black"), default="white",
                        help=tr("what transparent pixels become (default white)"))
    parser.set_defaults(run=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from ..atomic import atomic_write_text
    from ..explain import (ExplainError, feature_maps, feature_mosaic, filter_mosaic, grad_cam, score_node,
                           top_predictions)
    from ..explain.render import overlay, save_png

    if args.top_k < 1:
        raise CommandError(tr("--top-k must be at least 1"))
    network = open_network(args.model)
    prepared = network.prepare(args.image, background=args.background)
    nodes = args.node or list(network.analysis.order)
    for node_id in nodes:
        if node_id not in network.analysis.nodes:
            raise CommandError(tr("no node {node_id} in {name} (see `convviz summary {model}`)").format(node_id=repr(node_id), name=repr(network.design.name), model=args.model))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    acts = feature_maps(network, prepared)
    for node_id in nodes:
        shown = feature_mosaic(acts[node_id])
        written.append(save_png(shown.image, out / f"features_{node_id}.png", levels=shown.levels,
                                scale=_scale(shown.image)))
    for node_id in network.analysis.order:
        if network.design.node(node_id).type == "Conv2d":
            filters = filter_mosaic(network.model.get_submodule(node_id)).mosaic
            written.append(save_png(filters.image, out / f"filters_{node_id}.png", levels=filters.levels,
                                    cmap="gray", scale=_scale(filters.image)))

    report = {"network": network.design.name, "image": str(args.image), "trained": network.trained,
              "weights": "trained" if network.trained else "random initial weights (untrained)",
              "top_k": args.top_k, "predictions": [], "grad_cam": None}
    try:
        score_node(network)
    except ExplainError as exc:
        print(tr("no class predictions: {exc}").format(exc=exc))
    else:
        cams = grad_cam(network, prepared, node_id=args.cam_node, top_k=1)
        ranked = top_predictions(network, cams.probabilities, len(cams.probabilities))
        report["predictions"] = [_json_safe(asdict(p)) for p in ranked]
        if any(p["probability"] is None for p in report["predictions"]):
            print(tr("note: the network's output holds NaN or infinity (its weights?): those probabilities are null"))
        top = cams.predictions[0]
        written.append(save_png(overlay(prepared.display, cams.maps[0]), out / "gradcam.png"))
        report["grad_cam"] = {"node": cams.node_id, "class": top.name, "index": top.index, "file": "gradcam.png"}
        for p in ranked[:args.top_k]:
            print(f"{p.probability:8.2%}  {p.name}")
    atomic_write_text(out / "predictions.json", json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    written.append(out / "predictions.json")
    if not network.trained:
        print(tr("note: random initial weights (no trained checkpoint): the views show an untrained network"))
    print(tr("wrote {count} files to {out}").format(count=len(written), out=out))
    return 0


def _json_safe(entry: dict) -> dict:
    """NaN and infinity are not JSON: such a probability is written as null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in entry.items()}


def _scale(image) -> int:
    """Enlarge small mosaics so that they are at least about 256 pixels across."""
    return max(1, min(8, 256 // max(image.shape[:2])))


def open_network(spec: str):
    """A ``.pt`` checkpoint (design + weights + preprocessing), or a design file / template name
    (random weights)."""
    from ..design import load_design_or_template
    from ..explain import network_from_design

    if Path(spec).suffix != ".pt":
        return network_from_design(load_design_or_template(spec))
    from ..export.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(spec)
    pre = checkpoint.preprocessing
    network = network_from_design(checkpoint.design, checkpoint.state_dict, mean=pre.mean, std=pre.std)
    # The file's weights, but initial ones: say so, as for a design.
    return network if checkpoint.trained else replace(network, trained=False)
