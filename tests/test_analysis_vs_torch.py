"""The analysis against PyTorch itself, on thousands of random layers, chains and DAGs.

For every case the pure-Python analysis and PyTorch must agree: the same output shapes (PyTorch
on the meta device), the same parameter counts, MACs equal to ``torch.utils.flop_counter`` / 2 on
a real tiny input, and "invalid" together. PyTorch runs each node eagerly in a small reference
interpreter written here, independently of ``convviz.model``.

convviz is deliberately stricter than PyTorch in a few cases where PyTorch would silently do
something other than what a CNN designer means; ``deliberate_rejection`` lists them, and
test_analysis.py checks that each is reported with a fix.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convviz.analysis import analyze
from convviz.design import CATALOG, Design, Head, InputSpec
from convviz.design.ports import node_of

BATCH = 2
SPATIAL = ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm2d",
           "ConvTranspose2d", "InstanceNorm2d", "ZeroPad2d", "Upsample", "ChannelShuffle")
MERGES = ("Add", "Concat", "Multiply")


# --- the reference: PyTorch, node by node ---------------------------------------------------------

class Rejected(Exception):
    """PyTorch refused the case, or it is one convviz rejects on purpose."""


def deliberate_rejection(type_name: str, params: dict, inputs: list[torch.Tensor]) -> str | None:
    """Cases PyTorch runs but convviz reports as mistakes (each with a fix or hint)."""
    x = inputs[0]
    if type_name == "Linear" and x.dim() != 2:
        return "Linear on a map applies to the last axis only: convviz asks for a Flatten"
    if type_name in SPATIAL and x.dim() != 4:
        return "a 3-D tensor would be read as one unbatched image"
    if type_name == "Add" and any(t.shape != x.shape for t in inputs):
        return "broadcasting between branches hides a wiring mistake"
    if type_name == "Multiply" and any(t.dim() != x.dim() for t in inputs):
        return "broadcasting inputs of different rank aligns the batch with a map axis"
    if type_name == "ConvTranspose2d" and min(_pair(params["dilation"])) < 1:
        return "PyTorch ignores a dilation of 0 where the kernel is 1 wide: still a typo"
    if type_name in ("GroupNorm", "LayerNorm", "InstanceNorm2d") and params["eps"] <= 0:
        return "eps ≤ 0 divides by zero on a constant map (BatchNorm2d's own check, applied to every norm)"
    if type_name == "Split" and not params["sizes"] and params["chunks"] > 0 and x.shape[1] % params["chunks"]:
        return "torch.chunk gives unequal (or fewer) parts: convviz asks for sizes"
    if type_name == "Split" and params["sizes"] and min(params["sizes"]) < 1:
        return "torch.split gives an empty part for a size of 0"
    if type_name == "ZeroPad2d" and min(_four(params["padding"])) < 0:
        return "negative padding crops: a typo, not a design"
    if type_name == "Flatten" and params["start_dim"] % x.dim() == 0:
        return "start_dim 0 flattens the batch"
    if type_name == "Unflatten" and (x.dim() != 2 or len(params["unflattened_size"]) > 3):
        return "a design's maps have at most three dimensions (C×H×W): Unflatten folds vectors only"
    if type_name == "Conv2d" and not isinstance(params["padding"], str) and min(_pair(params["padding"])) < 0:
        return "negative padding crops (with non-zero padding modes): a typo, not a design"
    return None


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _four(value) -> tuple[int, ...]:
    return (value,) * 4 if isinstance(value, int) else tuple(value)


def empty_output(output: torch.Tensor) -> bool:
    """PyTorch returns an empty map where a transposed conv's padding crops everything; convviz reports it."""
    return output.numel() == 0

def torch_module(type_name: str, params: dict, inputs: list[torch.Tensor]) -> nn.Module | None:
    """The module PyTorch builds for one node, sized from the actual input (None for merges)."""
    if type_name in (*MERGES, "Input", "Split"):
        return None
    x = inputs[0]
    sizes = {}
    if type_name in ("Conv2d", "ConvTranspose2d"):
        sizes["in_channels"] = x.shape[1]
    elif type_name in ("BatchNorm2d", "InstanceNorm2d"):
        sizes["num_features"] = x.shape[1]
    elif type_name == "GroupNorm":
        sizes["num_channels"] = x.shape[1]
    elif type_name == "LayerNorm":
        sizes["normalized_shape"] = tuple(x.shape[1:])
    elif type_name == "Linear":
        sizes["in_features"] = x.shape[-1]
    if type_name == "Upsample" and not params["align_corners"]:
        params = {**params, "align_corners": None}  # convviz's false is PyTorch's default (None)
    if type_name == "Unflatten":
        params = {**params, "dim": 1}
    return getattr(nn, type_name)(**sizes, **params)


def run_node(type_name: str, params: dict, inputs: list[torch.Tensor], module: nn.Module | None) -> torch.Tensor:
    if type_name == "Input":
        return inputs[0]
    if type_name == "Add":
        return torch.stack(torch.broadcast_tensors(*inputs)).sum(0)
    if type_name == "Concat":
        return torch.cat(inputs, dim=1)
    if type_name == "Split":
        if params["sizes"]:
            return torch.split(inputs[0], list(params["sizes"]), dim=1)
        return torch.chunk(inputs[0], params["chunks"], dim=1)
    if type_name == "Multiply":
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out
    return module(*inputs)


def torch_reference(design: Design) -> dict | None:
    """Per node: shape (meta), parameter count; in total: MACs from the flop counter. None if invalid."""
    order, cycles = design.topological_order()
    assert not cycles
    meta: dict[str, torch.Tensor] = {}
    real: dict[str, torch.Tensor] = {}
    evals: dict[str, torch.Tensor] = {}  # every output in eval mode, after the training-mode pass
    modules: dict[str, nn.Module] = {}
    shapes, params, parts = {}, {}, {}
    macs = 0
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for nid in order:
            node = design.node(nid)
            resolved = CATALOG[node.type].resolve(node.params)
            if node.type == "Input":
                meta[nid] = torch.zeros((BATCH, *design.input.shape), device="meta")
                real[nid] = evals[nid] = torch.randn((BATCH, *design.input.shape))
            else:
                meta_in = [meta[s] for s in node.inputs]
                if deliberate_rejection(node.type, resolved, meta_in):
                    return None
                try:
                    module = torch_module(node.type, resolved, meta_in)
                    meta[nid] = run_node(node.type, resolved, meta_in, module and module.to("meta"))
                    module = torch_module(node.type, resolved, meta_in)
                    module = module.train() if module is not None else None
                    with FlopCounterMode(display=False) as counter:
                        real[nid] = run_node(node.type, resolved, [real[s] for s in node.inputs], module)
                    if module is not None:
                        modules[nid] = module.eval()
                    with torch.no_grad():
                        evals[nid] = run_node(node.type, resolved, [evals[s] for s in node.inputs], module)
                except (RuntimeError, ValueError, IndexError, TypeError, ZeroDivisionError):
                    return None
                macs += counter.get_total_flops() // 2 // BATCH
                params[nid] = sum(p.numel() for p in module.parameters()) if module is not None else 0
                if isinstance(real[nid], tuple):  # a Split: its outputs, as the inputs that read them name them
                    parts[nid] = tuple(tuple(t.shape[1:]) for t in meta[nid])
                    for k, (part_meta, part_real, part_eval) in enumerate(zip(meta[nid], real[nid], evals[nid])):
                        meta[f"{nid}:{k}"], real[f"{nid}:{k}"], evals[f"{nid}:{k}"] = part_meta, part_real, part_eval
                    meta[nid], real[nid], evals[nid] = meta[nid][0], real[nid][0], torch.cat(evals[nid], dim=1)
                if tuple(real[nid].shape) != tuple(meta[nid].shape):
                    raise AssertionError(f"meta and CPU disagree on {nid}")
                if empty_output(real[nid]):
                    return None
            shapes[nid] = tuple(meta[nid].shape[1:])
    sinks = [nid for nid in order if not any(nid in map(node_of, n.inputs) for n in design)]
    if not design.heads and sinks and design.node(sinks[-1]).type == "Split":
        return None  # deliberate: a model's output is one tensor, and a Split's are a tuple (name one: split:0)
    return {"shapes": shapes, "params": params, "macs": macs, "parts": parts, "outputs": evals, "modules": modules}


def assert_agree(design: Design) -> None:
    analysis = analyze(design)
    reference = torch_reference(design)
    if reference is None:
        assert not analysis.ok, f"PyTorch rejects this design but convviz accepts it:\n{_describe(design)}"
        return
    assert analysis.ok, (f"PyTorch accepts this design but convviz says: {analysis.first_error()}\n"
                         f"{_describe(design)}")
    for nid, shape in reference["shapes"].items():
        assert analysis.nodes[nid].output_shape == shape, f"{nid}: shape\n{_describe(design)}"
    for nid, shapes in reference["parts"].items():
        assert analysis.nodes[nid].output_shapes == shapes, f"{nid}: the outputs' shapes\n{_describe(design)}"
    for nid, count in reference["params"].items():
        assert analysis.nodes[nid].params == count, f"{nid}: params\n{_describe(design)}"
    assert analysis.macs == reference["macs"], f"MACs\n{_describe(design)}"
    assert_same_outputs(design, analysis, reference)


def assert_same_outputs(design: Design, analysis, reference: dict) -> None:
    """The built model, holding the reference modules' weights and statistics, computes every node's
    output (each output of a Split too) as PyTorch's own modules do, in eval mode."""
    from convviz.explain.hooks import capture
    from convviz.model import build_model

    model = build_model(design, analysis, heads="all").eval()
    for nid, module in reference["modules"].items():
        model.get_submodule(nid).load_state_dict(module.state_dict())
    outputs = reference["outputs"]
    with torch.no_grad(), warnings.catch_warnings(), capture(model) as got:
        warnings.simplefilter("ignore")
        model(outputs["input"])
    for ref, want in outputs.items():
        if node_of(ref) in got or ref in got:
            torch.testing.assert_close(got[ref], want, rtol=1e-5, atol=1e-6, equal_nan=True,
                                       msg=lambda m, ref=ref: f"{ref}: output\n{m}\n{_describe(design)}")


def _describe(design: Design) -> str:
    lines = [f"input {design.input.shape}"]
    lines += [f"  {n.id} = {n.type}({n.params}) <- {n.inputs}" for n in design]
    return "\n".join(lines)


# --- random parameters within each parameter's type ---------------------------------------------

def sizes(low: int, high: int) -> st.SearchStrategy:
    """An int, or an (h, w) pair: both forms a design file allows."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


def params_for(type_name: str) -> st.SearchStrategy[dict]:
    floats = st.sampled_from
    strategies = {
        "Conv2d": st.fixed_dictionaries(
            {"out_channels": st.integers(1, 8), "kernel_size": sizes(0, 6)},
            optional={"stride": sizes(0, 3), "padding": st.one_of(sizes(-1, 4), st.sampled_from(["same", "valid"])),
                      "dilation": sizes(0, 3), "groups": st.integers(0, 4), "bias": st.booleans(),
                      "padding_mode": st.sampled_from(["zeros", "reflect", "replicate", "circular"])}),
        "MaxPool2d": st.fixed_dictionaries(
            {"kernel_size": sizes(0, 5)},
            optional={"stride": st.one_of(st.none(), sizes(0, 3)), "padding": sizes(-1, 3),
                      "dilation": sizes(0, 3), "ceil_mode": st.booleans()}),
        "AvgPool2d": st.fixed_dictionaries(
            {"kernel_size": sizes(0, 5)},
            optional={"stride": st.one_of(st.none(), sizes(0, 3)), "padding": sizes(-1, 3),
                      "ceil_mode": st.booleans(), "count_include_pad": st.booleans()}),
        # output_size 0 gives PyTorch an empty tensor; convviz requires ≥ 1 (generated from 1).
        "AdaptiveAvgPool2d": st.fixed_dictionaries({"output_size": sizes(1, 9)}),
        "AdaptiveMaxPool2d": st.fixed_dictionaries({"output_size": sizes(1, 9)}),
        "BatchNorm2d": st.fixed_dictionaries(
            {}, optional={"eps": floats([-1e-3, 0.0, 1e-5, 0.1]), "momentum": floats([0.0, 0.1, 1.0]),
                          "affine": st.booleans(), "track_running_stats": st.booleans()}),
        "LocalResponseNorm": st.fixed_dictionaries(
            {"size": st.integers(0, 6)},
            optional={"alpha": floats([1e-4, 1.0]), "beta": floats([0.75, 2.0]), "k": floats([1.0, 2.0])}),
        "LeakyReLU": st.fixed_dictionaries({}, optional={"negative_slope": floats([0.01, -0.5, 2.0])}),
        "GELU": st.fixed_dictionaries({}, optional={"approximate": st.sampled_from(["none", "tanh"])}),
        "Softmax": st.fixed_dictionaries({}, optional={"dim": st.integers(-5, 4)}),
        "Dropout": st.fixed_dictionaries({}, optional={"p": floats([-0.5, 0.0, 0.3, 1.0, 1.5])}),
        "Dropout2d": st.fixed_dictionaries({}, optional={"p": floats([-0.5, 0.0, 0.3, 1.0, 1.5])}),
        "Flatten": st.fixed_dictionaries({}, optional={"start_dim": st.integers(-3, 4), "end_dim": st.integers(-4, 4)}),
        "Linear": st.fixed_dictionaries({"out_features": st.integers(1, 8)}, optional={"bias": st.booleans()}),
        "ConvTranspose2d": st.fixed_dictionaries(
            {"out_channels": st.integers(1, 8), "kernel_size": sizes(0, 5)},
            optional={"stride": sizes(0, 3), "padding": sizes(-1, 3), "output_padding": sizes(-1, 2),
                      "dilation": sizes(0, 3), "groups": st.integers(0, 4), "bias": st.booleans()}),
        "GroupNorm": st.fixed_dictionaries(
            {"num_groups": st.integers(0, 6)},
            optional={"eps": floats([-1e-3, 0.0, 1e-5]), "affine": st.booleans()}),
        "LayerNorm": st.fixed_dictionaries(
            {}, optional={"eps": floats([0.0, 1e-5]), "elementwise_affine": st.booleans(), "bias": st.booleans()}),
        "InstanceNorm2d": st.fixed_dictionaries(
            {}, optional={"eps": floats([0.0, 1e-5]), "momentum": floats([0.0, 0.1, 1.0]), "affine": st.booleans(),
                          "track_running_stats": st.booleans()}),
        "PReLU": st.fixed_dictionaries({}, optional={"num_parameters": st.integers(0, 8),
                                                     "init": floats([0.25, -1.0])}),
        "ELU": st.fixed_dictionaries({}, optional={"alpha": floats([1.0, 0.5, -1.0])}),
        "ZeroPad2d": st.fixed_dictionaries({"padding": st.one_of(
            st.integers(-1, 3), st.tuples(*[st.integers(-1, 3)] * 4))}),
        "Upsample": st.fixed_dictionaries(
            {}, optional={"size": st.one_of(st.none(), sizes(0, 9)),
                          "scale_factor": st.one_of(st.none(), floats([0.4, 1.0, 1.5, 2.0, 3.0]),
                                                    st.tuples(floats([0.5, 1.0, 2.0]), floats([1.0, 2.5]))),
                          "mode": st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]),
                          "align_corners": st.booleans()}),
        "ChannelShuffle": st.fixed_dictionaries({"groups": st.integers(0, 5)}),
        "Unflatten": st.fixed_dictionaries({"unflattened_size": st.lists(st.integers(1, 6), min_size=1, max_size=4)}),
        "Split": st.one_of(st.fixed_dictionaries({}, optional={"chunks": st.integers(0, 4)}),
                           st.fixed_dictionaries({"sizes": st.lists(st.integers(0, 5), min_size=1, max_size=3)})),
    }
    return strategies.get(type_name, st.just({}))


map_shapes = st.tuples(st.integers(1, 8), st.integers(1, 12), st.integers(1, 12))
flat_shapes = st.tuples(st.integers(1, 24))
SINGLE_INPUT_TYPES = [t for t, spec in CATALOG.items() if spec.min_inputs == 1 and spec.max_inputs == 1]


def single_layer(type_name: str, shape: tuple[int, ...], params: dict) -> Design:
    if len(shape) == 1:  # a flat input: Input(1×1×F) → Flatten → layer
        design = Design("case", InputSpec(shape[0], 1, 1))
        design.add_node("Input", "input")
        design.add_node("Flatten", "flat", ["input"])
        source = "flat"
    else:
        design = Design("case", InputSpec(*shape))
        design.add_node("Input", "input")
        source = "input"
    design.add_node(type_name, "layer", [source], params)
    if type_name == "Split":  # the model's output is one of its outputs
        design.set_heads([Head("layer:0")])
    return design


EXAMPLES = {"Conv2d": 1500, "MaxPool2d": 1000, "AvgPool2d": 1000, "AdaptiveAvgPool2d": 300,
            "AdaptiveMaxPool2d": 300, "Flatten": 300, "Softmax": 200, "Linear": 200, "ConvTranspose2d": 1000,
            "Upsample": 600, "ZeroPad2d": 200, "Unflatten": 300, "GroupNorm": 200, "PReLU": 200, "ChannelShuffle": 200}


@pytest.mark.parametrize("type_name", SINGLE_INPUT_TYPES)
def test_single_layer_agrees_with_pytorch(type_name):
    @settings(max_examples=EXAMPLES.get(type_name, 100))
    @given(shape=st.one_of(map_shapes, flat_shapes), params=params_for(type_name))
    def check(shape, params):
        assert_agree(single_layer(type_name, shape, params))

    check()


@st.composite
def networks(draw, max_nodes: int = 8, dag: bool = True) -> Design:
    """Random chains (and with ``dag``, branches joined by Add/Concat) on a small input."""
    design = Design("random", InputSpec(*draw(st.tuples(st.integers(1, 6), st.integers(2, 16), st.integers(2, 16)))))
    design.add_node("Input", "input")
    ids = ["input"]
    kinds = SINGLE_INPUT_TYPES + (list(MERGES) if dag else [])
    for i in range(draw(st.integers(1, max_nodes))):
        type_name = draw(st.sampled_from(kinds))
        if type_name in MERGES:
            inputs = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3))
        elif dag:
            inputs = [draw(st.sampled_from(ids[-3:]))]
        else:
            inputs = [ids[-1]]
        params = draw(params_for(type_name))
        if type_name == "Flatten":  # partial flattens would make 3-D tensors (see deliberate_rejection)
            params = {}
        node_id = f"n{i}"
        design.add_node(type_name, node_id, inputs, params)
        if type_name == "Split":  # later layers read its outputs: n3:0, n3:1, …
            count = len(params["sizes"]) if params.get("sizes") else params.get("chunks", 2)
            ids += [f"{node_id}:{k}" for k in range(count)] or [node_id]
        else:
            ids.append(node_id)
    if design.node(node_id).type == "Split" and draw(st.booleans()):  # its first output as the model's
        design.set_heads([Head(f"{node_id}:0")])
    return design


@settings(max_examples=600)
@given(networks(dag=False))
def test_random_chains_agree_with_pytorch(design):
    assert_agree(design)


@settings(max_examples=600)
@given(networks(dag=True))
def test_random_dags_agree_with_pytorch(design):
    assert_agree(design)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)), min_size=2, max_size=3),
       st.sampled_from(MERGES))
def test_merges_agree_with_pytorch(shapes, merge):
    """Branches of different shapes: Concat needs equal H×W, Add equal everything, Multiply equal or 1."""
    design = Design("merge", InputSpec(4, 12, 12))
    design.add_node("Input", "input")
    branches = []
    for i, (channels, h, w) in enumerate(shapes):
        design.add_node("Conv2d", f"b{i}", ["input"], {"out_channels": channels, "kernel_size": 1})
        design.add_node("AdaptiveAvgPool2d", f"p{i}", [f"b{i}"], {"output_size": [h, w]})
        branches.append(f"p{i}")
    design.add_node(merge, "merge", branches)
    assert_agree(design)


# --- the built model against the same reference ----------------------------------------------------

def reference_forward(design: Design, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The design run node by node with modules PyTorch builds here, holding the built model's weights."""
    values: dict[str, torch.Tensor] = {}
    order, _ = design.topological_order()
    for nid in order:
        node = design.node(nid)
        if node.type == "Input":
            values[nid] = x
            continue
        inputs = [values[s] for s in node.inputs]
        module = torch_module(node.type, CATALOG[node.type].resolve(node.params), inputs)
        if module is not None:
            module.load_state_dict(model.get_submodule(nid).state_dict())
            module.eval()
        values[nid] = run_node(node.type, CATALOG[node.type].resolve(node.params), inputs, module)
        if isinstance(values[nid], tuple):
            values.update({f"{nid}:{k}": part for k, part in enumerate(values[nid])})
    return values[analyze(design).output]


@settings(max_examples=150, deadline=None)
@given(networks(dag=True))
def test_built_models_compute_what_pytorch_does(design):
    """Every layer type (the new ones included) built from its design computes, with the same weights,
    exactly what PyTorch's own module does."""
    from convviz.model import build_model

    analysis = analyze(design)
    if not analysis.ok:
        return
    torch.manual_seed(0)
    model = build_model(design, analysis).eval()
    x = torch.randn(BATCH, *design.input.shape)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = model(x), reference_forward(design, model, x)
        if isinstance(want, tuple):  # the design ends in a Split
            assert len(got) == len(want) and all(map(torch.equal, got, want)), _describe(design)
        else:
            assert torch.equal(got, want), _describe(design)
