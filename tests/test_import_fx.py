"""``torch.fx`` import: a hand-written module becomes a design whose model computes the same thing."""

from __future__ import annotations

import textwrap

import pytest
import torch

from convviz.analysis import analyze
from convviz.cli import main
from convviz.design import InputSpec, load_design
from convviz.export import ModuleImportError, import_module, import_python_file, load_checkpoint, load_module
from convviz.model import build_model

RESNET = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn


    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            return F.relu(out)


    class TinyResNet(nn.Module):
        def __init__(self, num_classes=5):
            super().__init__()
            self.input = nn.Conv2d(3, 8, 3, padding=1, bias=False)  # clashes with the Input node's id
            self.bn = nn.BatchNorm2d(8)
            self.layer1 = BasicBlock(8, 8)
            self.layer2 = BasicBlock(8, 16, stride=2)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, num_classes)

        def forward(self, x):
            x = F.relu(self.bn(self.input(x)))
            x = F.max_pool2d(x, 2)
            x = self.layer2(self.layer1(x))
            x = torch.flatten(self.pool(x), 1)
            return self.fc(x)


    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Conv2d(3, 2, 3, padding=1)
            self.head = nn.Linear(6 * 4 * 4, 3)
            self.softmax = nn.Softmax()

        def forward(self, x):
            x = torch.cat([F.leaky_relu(self.a(x), 0.2), torch.sigmoid(self.b(x))], dim=1)
            x = F.avg_pool2d(x, kernel_size=2).contiguous()
            x = x.view(x.size(0), -1)
            return self.softmax(self.head(x))


    class Unsupported(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.scale = nn.Parameter(torch.ones(1))
            self.fc = nn.Linear(4 * 8 * 8, 2)

        def forward(self, x):
            x = self.conv(x)
            x = torch.mul(x, 2.0)
            y = x * self.scale
            x = torch.cat([x, y], dim=2)
            x = x[:, :, :8]
            return self.fc(x.reshape(x.size(0), -1))


    class Looping(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x


    class NeedsArguments(nn.Module):
        def __init__(self, width):
            super().__init__()
''')


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(RESNET)
    return path


def randomise_batch_norm(module: torch.nn.Module) -> None:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.copy_(torch.randn(layer.num_features, generator=generator))
                layer.running_var.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)
                layer.weight.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)
                layer.bias.copy_(torch.randn(layer.num_features, generator=generator))


def assert_same_outputs(original: torch.nn.Module, result, spec: InputSpec) -> None:
    model = build_model(result.design)
    model.load_state_dict(result.state_dict)
    x = torch.randn(3, *spec.shape)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), original.eval()(x))


def test_a_resnet_imports_with_its_weights(source):
    original = load_module(source, "TinyResNet")
    randomise_batch_norm(original)
    spec = InputSpec(3, 16, 16)
    result = import_module(original, spec)
    assert result.issues == [] and result.complete
    design = result.design
    assert analyze(design).ok
    types = {n.id: n.type for n in design}
    assert types["input"] == "Input" and types["input_1"] == "Conv2d"  # the clash got a suffix
    assert types["layer2_shortcut_0"] == "Conv2d" and types["layer2_shortcut_1"] == "BatchNorm2d"
    assert design.node("layer2_conv1").params == {"out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1,
                                                  "bias": False}
    assert design.node("max_pool2d").type == "MaxPool2d" and design.node("max_pool2d").params == {"kernel_size": 2}
    assert design.node("flatten").type == "Flatten" and design.node("flatten").params == {}
    adds = [n for n in design if n.type == "Add"]
    assert [n.inputs for n in adds] == [["layer1_bn2", "max_pool2d"], ["layer2_bn2", "layer2_shortcut_1"]]
    assert sum(n.type == "ReLU" for n in design) == 5  # every F.relu
    assert torch.equal(result.state_dict["layer2_shortcut_1.running_mean"],
                       original.layer2.shortcut[1].running_mean)
    assert all(n.pos is None for n in design)
    assert original.training  # the import traced a copy: the caller's module is left as it was
    assert_same_outputs(original, result, spec)


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")  # the original's nn.Softmax()
def test_functional_forms_concat_and_view_flatten(source):
    original = load_module(source, "Branchy")
    spec = InputSpec(3, 8, 8)
    result = import_module(original, spec)
    assert result.issues == []
    types = [(n.id, n.type) for n in result.design]
    assert types == [("input", "Input"), ("a", "Conv2d"), ("leaky_relu", "LeakyReLU"), ("b", "Conv2d"),
                     ("sigmoid", "Sigmoid"), ("cat", "Concat"), ("avg_pool2d", "AvgPool2d"), ("view", "Flatten"),
                     ("head", "Linear"), ("softmax", "Softmax")]
    assert result.design.node("leaky_relu").params == {"negative_slope": 0.2}
    assert result.design.node("softmax").params == {}  # the implicit dim of a batch of vectors is 1
    assert_same_outputs(original, result, spec)


def test_unsupported_operations_are_listed_with_their_fx_node(source):
    result = import_python_file(source, "Unsupported", InputSpec(3, 8, 8))
    issues = {i.node: i for i in result.issues}
    assert issues["mul"].target == "torch.mul"
    assert issues["mul"].reason == "only the product of two layer outputs is supported (not with a constant)"
    assert "self.scale, a parameter or buffer used directly" in issues["mul_1"].reason
    assert issues["cat"].reason.startswith("concatenation along dim=2 is not supported")
    assert issues["getitem"].target == "operator.getitem"
    assert issues["getitem"].reason == "convviz has no layer for this operation"
    assert str(issues["mul"]).startswith("mul (torch.mul): ")
    # Placeholders stand where the operations stood, wired as they were: errors, never another function.
    mul = result.design.node("mul")
    assert mul.type == "Placeholder" and mul.inputs == ["conv"]
    assert mul.params == {"stands_for": "torch.mul", "reason": issues["mul"].reason}
    assert result.design.node("mul_1").inputs == ["mul"]  # self.scale is lost: only the tensor input remains
    assert result.design.node("reshape").type == "Flatten"
    analysis = analyze(result.design)
    assert not analysis.ok and "'mul' stands for torch.mul, which could not be imported" in analysis.nodes["mul"].errors[0].message
    assert analysis.nodes["fc"].blocked_by is not None
    assert not result.complete


@pytest.mark.parametrize("name, spec, message", [
    ("Missing", InputSpec(3, 8, 8), "has no nn.Module class 'Missing' (it has: BasicBlock, TinyResNet, Branchy"),
    ("NeedsArguments", InputSpec(3, 8, 8), "NeedsArguments() cannot be built without arguments"),
    ("Looping", InputSpec(3, 8, 8), "torch.fx cannot trace Looping.forward"),
    ("TinyResNet", InputSpec(1, 16, 16), "TinyResNet does not run on 1×16×16 images"),
])
def test_modules_that_cannot_be_imported_say_why(source, name, spec, message):
    with pytest.raises(ModuleImportError) as info:
        import_python_file(source, name, spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_file_that_fails_to_run(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import torch\nraise RuntimeError('no GPU here')\n")
    with pytest.raises(ModuleImportError, match="broken.py: running it failed: RuntimeError: no GPU here"):
        load_module(path, "Net")
    with pytest.raises(ModuleImportError, match="no such file"):
        load_module(tmp_path / "absent.py", "Net")


def test_cli_import_writes_a_design_or_a_checkpoint(source, tmp_path, capsys):
    assert main(["import", str(source), "--class", "TinyResNet", "--input", "3x16x16",
                 "--to", str(tmp_path / "net.json")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert analyze(load_design(tmp_path / "net.json")).ok
    assert main(["import", str(source), "--class", "TinyResNet", "--input", "3x16x16",
                 "--to", str(tmp_path / "net.pt")]) == 0
    checkpoint = load_checkpoint(tmp_path / "net.pt")
    assert checkpoint.state_dict.keys() == build_model(checkpoint.design).state_dict().keys()


def test_cli_import_refuses_partial_results_unless_asked(source, tmp_path, capsys):
    out = tmp_path / "partial.json"
    args = ["import", str(source), "--class", "Unsupported", "--input", "3x8x8", "--to", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error: 4 operations could not be imported, first mul (torch.mul)")
    assert "\n" not in err and not out.exists()
    assert main([*args, "--partial"]) == 0
    assert "convviz: warning: mul (torch.mul)" in capsys.readouterr().err
    assert load_design(out).node("mul").type == "Placeholder"


def test_cli_import_needs_the_input_shape_and_a_known_output(source, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["import", str(source), "--class", "TinyResNet", "--to", str(tmp_path / "x.json")])
    assert main(["import", str(source), "--class", "TinyResNet", "--input", "3x16x16",
                 "--to", str(tmp_path / "x.onnx")]) == 1
    assert "import writes a design (.json) or a checkpoint (.pt)" in capsys.readouterr().err
