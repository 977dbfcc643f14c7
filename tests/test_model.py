"""Designs as PyTorch modules: per-node submodules, identical round trips, weight carry-over."""

from __future__ import annotations

import keyword

import pytest
import torch
import torch.fx
from torch import nn

from convviz.analysis import analyze
from convviz.design import TEMPLATES, load_template, loads, dumps
from convviz.design.ids import RESERVED_IDS
from convviz.model import ModelBuildError, build_model, carry_over_weights

SMALL_TEMPLATES = ["default", "lenet5", "inception_3a", "mobilenet_block", "conv5x5_vs_bottleneck", "two3x3_vs_5x5",
                   "dilated", "grouped"]


def test_reserved_ids_cover_installed_torch():
    """A node id becomes an attribute; it must not shadow any Module or GraphModule member."""
    members = {n for n in dir(nn.Module) + dir(torch.fx.GraphModule) if not n.startswith("_")}
    assert members <= RESERVED_IDS | set(keyword.kwlist), sorted(members - RESERVED_IDS)


@pytest.mark.parametrize("name", SMALL_TEMPLATES)
def test_model_matches_the_analysis(name):
    design = load_template(name)
    analysis = analyze(design)
    model = build_model(design, analysis)
    seen = {}
    for node_id in analysis.order:
        getattr(model, node_id).register_forward_hook(lambda m, i, o, node_id=node_id: seen.__setitem__(node_id, o))
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, *design.input.shape))
    assert tuple(out.shape[1:]) == analysis.output_shape
    for node_id in analysis.order:  # every node hooked, every shape as analysed
        assert tuple(seen[node_id].shape[1:]) == analysis.nodes[node_id].output_shape, node_id
        module_params = sum(p.numel() for p in getattr(model, node_id).parameters())
        assert module_params == analysis.nodes[node_id].params, node_id


@pytest.mark.parametrize("name", ["resnet18", "vgg16"])
def test_large_templates_build_with_the_right_parameter_count(name):
    design = load_template(name)
    with torch.device("meta"):
        model = build_model(design)
    assert sum(p.numel() for p in model.parameters()) == analyze(design).params


def test_state_dict_keys_are_node_ids():
    model = build_model(load_template("lenet5"))
    assert list(model.state_dict())[:4] == ["c1.weight", "c1.bias", "c3.weight", "c3.bias"]


def test_loaded_design_gives_identical_outputs_with_the_same_weights():
    design = load_template("default")
    original = build_model(design).eval()
    reloaded = build_model(loads(dumps(design))).eval()
    reloaded.load_state_dict(original.state_dict())
    x = torch.randn(4, *design.input.shape)
    with torch.no_grad():
        assert torch.equal(original(x), reloaded(x))


def test_design_with_errors_does_not_build():
    design = load_template("lenet5")
    design.set_param("c1", "kernel_size", 40)
    with pytest.raises(ModelBuildError, match="c1"):
        build_model(design)


def test_weights_carry_over_for_unchanged_layers():
    design = load_template("default")
    before = build_model(design)
    design.set_param("conv2", "out_channels", 48)  # conv2, bn2 and conv3 change shape
    after = build_model(design)
    carried = carry_over_weights(after, before.state_dict())
    assert "conv1" in carried and "bn1" in carried and "fc" in carried
    assert "conv2" not in carried and "bn2" not in carried and "conv3" not in carried
    assert torch.equal(after.conv1.weight, before.conv1.weight)
    assert not torch.equal(after.bn3.running_var, torch.zeros(1)) and torch.equal(after.fc.weight, before.fc.weight)


def test_carry_over_is_all_or_nothing_per_node():
    design = load_template("default")
    before = build_model(design)
    design.set_param("bn1", "affine", False)  # weight/bias gone, running stats stay
    after = build_model(design)
    assert "bn1" not in carry_over_weights(after, before.state_dict())


def test_all_templates_listed_are_buildable_on_meta():
    for name in TEMPLATES:
        with torch.device("meta"):
            build_model(load_template(name))


def test_catalog_names_and_defaults_are_pytorchs():
    """Every layer type a module builds is ``nn.<type>``, every parameter one of its constructor's, and every
    default PyTorch's own (align_corners: convviz's false is PyTorch's None, as the builder translates)."""
    import inspect

    from torch import nn

    from convviz.design import CATALOG
    from convviz.model import MERGE_MODULES

    for name, spec in CATALOG.items():
        if name in ("Input", "Placeholder", "Split") or name in MERGE_MODULES:  # convviz's own (no nn module)
            continue
        signature = inspect.signature(getattr(nn, name))
        for param in spec.params:
            assert param.name in signature.parameters, (name, param.name)
            default = signature.parameters[param.name].default
            if not param.required and default is not inspect.Parameter.empty:
                expected = False if (name, param.name) == ("Upsample", "align_corners") else default
                assert param.default == expected or (name, param.name) == ("Softmax", "dim"), (name, param.name)
