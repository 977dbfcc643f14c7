"""Import that just works on torchvision-style code (written in tests/reference_nets.py): ResNet-50,
DenseNet-121, Inception-v3, MobileNetV3, ShuffleNetV2 and GoogLeNet with its auxiliary heads import
completely, with torch's parameter count, output shape and, on a random input, output values."""

from __future__ import annotations

import textwrap

import pytest
import torch

import reference_nets as nets
from convviz.analysis import analyze
from convviz.design import InputSpec
from convviz.export import ModuleImportError, import_module, import_python_file, load_module
from convviz.model import build_model


def imported_model(result):
    model = build_model(result.design, heads="all")
    model.load_state_dict(result.state_dict)
    return model.eval()


def randomised(module: torch.nn.Module) -> torch.nn.Module:
    """Batch-norm statistics and scales that matter (fresh ones are 0 and 1 and would hide a mix-up)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.copy_(torch.randn(layer.num_features, generator=generator) * 0.1)
                layer.running_var.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)
                layer.weight.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)
    return module.eval()


CASES = {
    "resnet50": (nets.ResNet50, (3, 224, 224)),
    "densenet121": (nets.DenseNet121, (3, 128, 128)),
    "inception_v3": (nets.InceptionV3, (3, 299, 299)),  # its auxiliary head needs 17×17 maps there
    "mobilenet_v3_small": (nets.MobileNetV3Small, (3, 128, 128)),
    "shufflenet_v2_x1_0": (nets.ShuffleNetV2, (3, 128, 128)),
    "googlenet_aux": (lambda: nets.GoogLeNet(aux_logits=True), (3, 128, 128)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_torchvision_style_networks_import_completely_and_compute_the_same(name, one_torch_thread):
    make, shape = CASES[name]
    original = randomised(make())
    result = import_module(original, InputSpec(*shape))
    assert result.issues == [] and result.complete
    analysis = analyze(result.design)
    assert analysis.ok and not [i for _, i in analysis.issues() if i.severity == "error"]
    assert analysis.params == nets.parameter_count(original) == nets.PUBLISHED_PARAMS[name]
    assert not any(n.type in ("Placeholder", "Identity") for n in result.design)
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))
    model = imported_model(result)
    with torch.no_grad():
        want, got = original(x), model(x)
        heads = got if isinstance(got, tuple) else (got,)
        assert heads[0].shape == want.shape == (2, 1000)
        torch.testing.assert_close(heads[0], want, rtol=1e-5, atol=1e-5)
        if len(heads) > 1:  # GoogLeNet, Inception-v3: in training mode the module returns every head, main first
            trained = original.train()(x)
            assert len(heads) == len(trained) and [t.shape for t in heads] == [t.shape for t in trained]


def test_resnet50_imports_with_its_published_macs_and_one_node_per_relu_call(one_torch_thread):
    result = import_module(nets.ResNet50(), InputSpec(3, 224, 224))
    analysis = analyze(result.design)
    assert analysis.macs == 4_089_184_256
    relus = [n.id for n in result.design if n.type == "ReLU"]
    assert len(relus) == 1 + 16 * 3  # one self.relu per block, called three times: three nodes
    assert {"layer1_0_relu", "layer1_0_relu_1", "layer1_0_relu_2"} <= set(relus)


def test_inception_v3_gets_its_auxiliary_head_with_a_loss_weight(one_torch_thread):
    result = import_module(nets.InceptionV3(), InputSpec(3, 299, 299))
    assert [(h.node, h.loss_weight) for h in result.design.heads] == [("fc", 1.0), ("AuxLogits_fc", 0.3)]
    assert result.notes == ["its auxiliary head AuxLogits_fc starts with loss weight 0.3"]
    assert analyze(result.design).params == 27_161_264


SOURCE = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn


    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            x = self.conv(x)
            return self.conv(x)


    class Patterns(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.act = nn.Hardswish()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            x = torch.cat([self.act(self.conv(x))], 1)
            gate = torch.sigmoid(F.adaptive_avg_pool2d(x, 1))
            x = self.act(x * gate)
            x = F.dropout(x, p=0.25, training=self.training)
            return self.fc(x.mean((2, 3)))


    class NeverDrops(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            x = F.dropout(self.conv(x), 0.5, False)
            x = F.dropout2d(x, p=0.5, training=False)
            return F.dropout(x, 0.2, self.training)


    class SizedDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1)
            self.up2 = nn.ConvTranspose2d(3, 3, (3, 2), stride=(2, 3), padding=1)

        def forward(self, x):
            y = self.up(self.down(x), output_size=x.size())
            return self.up2(y, [2 * x.shape[2], 3 * x.shape[3] - 1])


    class GatedDecoder(nn.Module):
        """Squeeze-and-excitation as it is usually written, and a decoder upsampling to a skip's size."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Sequential(nn.Linear(8, 2), nn.ReLU(inplace=True), nn.Linear(2, 8), nn.Sigmoid())
            self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)

        def forward(self, x):
            x = self.conv(x)
            b, c, _, _ = x.size()
            y = self.pool(x).view(b, c)
            y = self.fc(y).view(b, c, 1, 1)
            x = x * y.expand_as(x)
            up = F.interpolate(self.down(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
            return x + up


    class AlwaysDrops(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            return F.dropout(self.conv(x), p=0.5, training=True)
''')


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "patterns.py"
    path.write_text(SOURCE)
    return path


def test_weight_sharing_is_refused_naming_both_call_sites(source):
    with pytest.raises(ModuleImportError) as info:
        import_python_file(source, "Shared", InputSpec(3, 8, 8))
    message = str(info.value)
    assert "self.conv (Conv2d) is called twice, at patterns.py:13 and at patterns.py:14" in message
    assert "\n" not in message


def test_the_patterns_practitioners_write_import_as_layers(source):
    result = import_python_file(source, "Patterns", InputSpec(3, 8, 8))
    assert result.issues == []
    types = [(n.id, n.type) for n in result.design]
    assert ("cat", "Concat") not in types  # a cat of one tensor is that tensor
    assert types == [("input", "Input"), ("conv", "Conv2d"), ("act", "Hardswish"),
                     ("adaptive_avg_pool2d", "AdaptiveAvgPool2d"), ("sigmoid", "Sigmoid"), ("mul", "Multiply"),
                     ("act_1", "Hardswish"), ("dropout", "Dropout"), ("mean", "AdaptiveAvgPool2d"),
                     ("mean_flatten", "Flatten"), ("fc", "Linear")]
    assert result.design.node("act").inputs == ["conv"] and result.design.node("act_1").inputs == ["mul"]
    assert result.design.node("dropout").params == {"p": 0.25}
    assert result.design.node("mean").params == {"output_size": 1}


def test_an_import_that_computes_another_function_is_refused_before_anything_is_written(source, tmp_path):
    from convviz.cli import main

    out = tmp_path / "drops.json"
    assert main(["import", str(source), "--class", "AlwaysDrops", "--input", "3x8x8", "--to", str(out)]) == 1
    assert not out.exists()
    with pytest.raises(ModuleImportError, match="the import does not compute what AlwaysDrops computes, so nothing "
                                                "is written: 'dropout' computes something else than the module"):
        import_python_file(source, "AlwaysDrops", InputSpec(3, 8, 8))


def test_dropout_with_training_false_is_a_pass_through(source):
    """``training=False`` never drops (it imported as Dropout(0.5), dropping in training); ``self.training`` does."""
    result = import_python_file(source, "NeverDrops", InputSpec(3, 8, 8))
    assert result.issues == []
    assert [n.type for n in result.design] == ["Input", "Conv2d", "Identity", "Identity", "Dropout"]
    assert result.design.node("dropout_1").params == {"p": 0.2}


def test_a_transposed_convs_output_size_at_the_call_becomes_its_output_padding(source):
    """``self.up(y, output_size=x.size())`` imported without it: 7×7 where the module gives 8×8."""
    module = load_module(source, "SizedDecoder").eval()
    result = import_module(module, InputSpec(3, 8, 8))
    assert result.issues == []
    assert result.design.node("up").params["output_padding"] == 1
    assert tuple(result.design.node("up2").params["output_padding"]) == (1, 2)
    model = imported_model(result)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), module(x))


def test_squeeze_and_excitation_and_a_size_from_a_skip_import_as_layers(source):
    """``y.view(b, c, 1, 1)``, ``x * y.expand_as(x)`` and ``F.interpolate(y, size=x.shape[-2:])`` were placeholders."""
    module = load_module(source, "GatedDecoder").eval()
    result = import_module(module, InputSpec(3, 8, 8))
    assert result.issues == []
    types = {n.id: n.type for n in result.design}
    assert types["view_1"] == "Unflatten" and result.design.node("view_1").params == {"unflattened_size": (8, 1, 1)}
    assert types["mul"] == "Multiply" and "expand_as" not in types
    assert result.design.node("interpolate").params["size"] == 8
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(imported_model(result)(x), module(x))
