"""Templates: every one loads, analyses cleanly, and is exactly what tools/make_templates.py writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from convviz.analysis import analyze
from convviz.design import TEMPLATES, dumps, load_template
from convviz.design.templates import template_path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("make_templates", ROOT / "tools" / "make_templates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_template_has_a_file_and_a_builder():
    generator = _generator()
    assert list(generator.TEMPLATE_BUILDERS) == list(TEMPLATES)
    files = {p.stem for p in (ROOT / "assets" / "templates").glob("*.json")}
    assert files == set(TEMPLATES)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_file_matches_its_definition(name):
    build = _generator().TEMPLATE_BUILDERS[name]
    assert template_path(name).read_text(encoding="utf-8") == dumps(build()), \
        f"assets/templates/{name}.json is stale: run python tools/make_templates.py"


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_is_valid_without_warnings(name):
    analysis = analyze(load_template(name))
    assert analysis.ok, analysis.first_error()
    assert not analysis.issues(), analysis.issues()


def test_resnet18_uses_add_shortcuts_and_strided_1x1_downsampling():
    design = load_template("resnet18")
    adds = [n for n in design if n.type == "Add"]
    assert len(adds) == 8
    downs = [n for n in design if n.id.endswith("_down")]
    assert [(n.params["kernel_size"], n.params["stride"]) for n in downs] == [(1, 2)] * 3


def test_inception_3a_output():
    analysis = analyze(load_template("inception_3a"))
    assert analysis.output_shape == (256, 28, 28)


def test_default_fits_the_builtin_dataset():
    design = load_template("default")
    assert design.input.shape == (1, 32, 32) and len(design.classes) == 10
    assert analyze(design).output_shape == (10,)


# --- the reference networks, to the parameter and the multiply-accumulate ---------------------------------

import reference_nets  # noqa: E402  (tests/ is on the path: the reference implementations written there)

#: Template → its reference module and input; MACs are PyTorch's own flop counter's on it (its FLOPs / 2).
REFERENCES = {
    "googlenet": (reference_nets.GoogLeNet, "googlenet"),
    "googlenet_aux": (lambda: reference_nets.GoogLeNet(aux_logits=True), "googlenet_aux"),
    "resnet50": (reference_nets.ResNet50, "resnet50"),
    "densenet121": (reference_nets.DenseNet121, "densenet121"),
    "mobilenet_v2": (reference_nets.MobileNetV2, "mobilenet_v2"),
    "mobilenet_v3_small": (reference_nets.MobileNetV3Small, "mobilenet_v3_small"),
    "efficientnet_b0": (reference_nets.EfficientNetB0, "efficientnet_b0"),
    "squeezenet1_1": (reference_nets.SqueezeNet11, "squeezenet1_1"),
}

#: torchvision's published figures: parameters exactly, and its "GFLOPS" column (multiply-accumulates, in G, rounded).
PUBLISHED_GMACS = {"googlenet": 1.50, "resnet50": 4.09, "densenet121": 2.83, "mobilenet_v2": 0.30,
                   "mobilenet_v3_small": 0.06, "efficientnet_b0": 0.39, "squeezenet1_1": 0.35}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_reference_templates_have_the_published_totals(name, one_torch_thread):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    make, key = REFERENCES[name]
    analysis = analyze(load_template(name))
    assert analysis.params == reference_nets.PUBLISHED_PARAMS[key]
    module = make().train() if name == "googlenet_aux" else make().eval()  # the aux heads run in training only
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, *load_template(name).input.shape))
    assert analysis.macs == counter.get_total_flops() // 2
    if name in PUBLISHED_GMACS:
        assert round(analysis.macs / 1e9, 2) == PUBLISHED_GMACS[name]
    assert analysis.output_shape == (1000,)


def test_resnet50_matches_its_published_receptive_field_and_macs():
    analysis = analyze(load_template("resnet50"))
    assert (analysis.params, analysis.macs) == (25_557_032, 4_089_184_256)
    assert analysis.receptive_field.size == (427, 427)


def test_googlenet_aux_trains_on_three_heads_and_infers_with_one():
    design = load_template("googlenet_aux")
    assert [(h.node, h.loss_weight) for h in design.heads] == [("fc", 1.0), ("aux1_fc2", 0.3), ("aux2_fc2", 0.3)]
    analysis = analyze(design)
    assert analysis.output == "fc" and analysis.heads == ("fc", "aux1_fc2", "aux2_fc2")
    main = analyze(load_template("googlenet"))
    assert analysis.params - main.params == 13_004_888 - 6_624_904  # the two auxiliary classifiers


def test_unet_is_an_encoder_decoder_with_a_class_per_pixel():
    design = load_template("unet_small")
    analysis = analyze(design)
    assert analysis.output_shape == (2, 128, 128)
    assert [n.type for n in design if n.id.startswith("up")] == ["ConvTranspose2d"] * 3
    assert [analysis.nodes[f"skip{i}"].output_shape for i in (3, 2, 1)] == [(128, 32, 32), (64, 64, 64), (32, 128, 128)]
