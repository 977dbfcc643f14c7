"""The exported ``.py``: valid, formatted, reads like hand-written PyTorch, and carries no user text as code."""

from __future__ import annotations

import ast
import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convviz.design import Design, InputSpec, dumps, load_template, loads
from convviz.export import module_source, py_string, source_class_name
from convviz.model import build_model

TEMPLATES = ("lenet5", "resnet18", "inception_3a", "grouped", "dilated")


def run_source(source: str) -> types.ModuleType:
    module = types.ModuleType("exported")
    exec(compile(source, "exported.py", "exec"), module.__dict__)
    return module


def the_class(source: str, design: Design) -> type:
    return getattr(run_source(source), source_class_name(design))


def assert_formatted(source: str, long_ids: bool = False) -> None:
    """The layout rules black applies and that need no black to check."""
    lines = source.split("\n")
    assert source.endswith("\n") and not source.endswith("\n\n")
    assert long_ids or all(len(line) <= 88 for line in lines), max(lines, key=len)
    assert not any(line != line.rstrip() for line in lines)
    assert "\t" not in source
    assert all((len(line) - len(line.lstrip(" "))) % 4 == 0 for line in lines if line.strip())


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_give_valid_formatted_source_with_the_checkpoint_keys(name):
    design = load_template(name)
    source = module_source(design, weights_file=f"{name}.pt")
    assert_formatted(source)
    model = the_class(source, design)()
    assert list(model.state_dict()) == list(build_model(design).state_dict())
    assert source == module_source(loads(dumps(design)), weights_file=f"{name}.pt")  # stable


@pytest.mark.parametrize("name", TEMPLATES)
def test_black_leaves_the_source_alone(name):
    black = pytest.importorskip("black")
    source = module_source(load_template(name))
    assert black.format_str(source, mode=black.Mode()) == source


def lines_of(name: str) -> list[str]:
    return [line.strip() for line in module_source(load_template(name)).splitlines()]


def test_lenet5_reads_as_a_chain():
    lines = lines_of("lenet5")
    assert "def forward(self, x):" in lines
    assert "x = self.c1(x)  # 6×28×28" in lines
    assert "x = self.flatten(x)  # 400" in lines
    assert "self.c1 = nn.Conv2d(1, 6, kernel_size=5)" in lines
    assert "self.c5 = nn.Linear(400, 120)" in lines
    assert "self.s2 = nn.AvgPool2d(kernel_size=2)" in lines
    assert lines[-1] == "return x"
    assert "import torch" not in lines  # nothing in forward needs it
    assert 'CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]' in lines


def test_resnet18_names_values_at_branches_and_adds_them():
    lines = lines_of("resnet18")
    assert "self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)" in lines
    assert "self.bn1 = nn.BatchNorm2d(64)" in lines
    assert "self.avgpool = nn.AdaptiveAvgPool2d(1)" in lines
    assert "maxpool = self.maxpool(x)  # 64×56×56" in lines
    assert "x = self.layer1_0_conv1(maxpool)  # 64×56×56" in lines
    assert "x = x + maxpool  # layer1_0_add: 64×56×56" in lines
    # The downsampling block: the main path is named, the shortcut flows through x.
    assert "layer2_0_bn2 = self.layer2_0_bn2(x)  # 128×28×28" in lines
    assert "x = self.layer2_0_down(layer1_1_out)  # 128×28×28" in lines
    assert "x = layer2_0_bn2 + x  # layer2_0_add: 128×28×28" in lines


def test_inception_concatenates_named_branches():
    lines = lines_of("inception_3a")
    assert "def forward(self, input):" in lines  # the input feeds four branches
    assert "x = self.b1_1x1(input)  # 64×28×28" in lines
    assert "x = torch.cat([b1_relu, b2_relu, b3_relu, x], dim=1)  # concat: 256×28×28" in lines
    assert "import torch" in lines


def test_only_non_default_arguments_in_pytorch_style():
    grouped, dilated = lines_of("grouped"), lines_of("dilated")
    assert "self.groups_1 = nn.Conv2d(64, 64, kernel_size=3, padding=1)" in grouped
    assert "self.groups_4 = nn.Conv2d(64, 64, kernel_size=3, padding=1, groups=4)" in grouped
    assert "self.dilated_conv3 = nn.Conv2d(16, 16, kernel_size=3, padding=4, dilation=4)" in dilated
    design = Design("Arguments", InputSpec(3, 16, 16))
    design.add_node("Input", "input")
    design.add_node("Conv2d", "c", ["input"], {"out_channels": 4, "kernel_size": [3, 5], "padding": "same",
                                               "stride": [1, 1]})
    design.add_node("Conv2d", "r", ["c"], {"out_channels": 4, "kernel_size": 1, "padding_mode": "reflect"})
    design.add_node("MaxPool2d", "pool", ["r"], {"kernel_size": 2, "ceil_mode": True})
    design.add_node("BatchNorm2d", "bn", ["pool"], {"eps": 1e-3, "momentum": 0.1})
    design.add_node("Softmax", "probs", ["bn"])
    lines = [line.strip() for line in module_source(design).splitlines()]
    assert 'self.c = nn.Conv2d(3, 4, kernel_size=(3, 5), padding="same")' in lines
    assert 'self.r = nn.Conv2d(4, 4, kernel_size=1, padding_mode="reflect")' in lines
    assert "self.pool = nn.MaxPool2d(kernel_size=2, ceil_mode=True)" in lines
    assert "self.bn = nn.BatchNorm2d(4, eps=0.001)" in lines
    assert "self.probs = nn.Softmax(dim=1)" in lines  # PyTorch's default (None) is not convviz's


def long_ids_design() -> Design:
    """Ids as long as allowed: every statement must wrap the way black wraps it."""
    d = Design("Long names", InputSpec(2, 8, 8), classes=[f"class number {i}" for i in range(30)])
    d.add_node("Input", "input")
    a, b, c = ("branch_" + ch * 50 for ch in "abc")
    for node_id in (a, b, c):
        d.add_node("Conv2d", node_id, ["input"], {"out_channels": 3, "kernel_size": 3, "padding": 1, "bias": False,
                                                  "dilation": 1, "groups": 1, "padding_mode": "circular"})
    d.add_node("Add", "sum_" + "s" * 55, [a, b, c])
    d.add_node("Concat", "cat_" + "t" * 55, [a, b, c, "sum_" + "s" * 55])
    d.add_node("Conv2d", "head_" + "h" * 55, ["cat_" + "t" * 55], {"out_channels": 2, "kernel_size": 1})
    return d


def test_long_ids_wrap_and_still_run():
    design = long_ids_design()
    source = module_source(design)
    assert_formatted(source, long_ids=True)  # an id of 60 characters cannot fit any shorter
    black = pytest.importorskip("black")
    assert black.format_str(source, mode=black.Mode()) == source


@pytest.mark.parametrize("make", [long_ids_design, lambda: load_template("inception_3a")])
def test_generated_module_computes_what_convviz_computes(make):
    design = make()
    convviz_model = build_model(design).eval()
    exported = the_class(module_source(design), design)().eval()
    exported.load_state_dict(convviz_model.state_dict())
    x = torch.randn(2, *design.input.shape)
    with torch.no_grad():
        assert torch.equal(exported(x), convviz_model(x))


def test_an_unused_branch_is_computed_and_marked():
    design = load_template("lenet5")
    design.add_node("Conv2d", "probe", ["s2"], {"out_channels": 2, "kernel_size": 1}, index=4)  # before c3
    source = module_source(design)
    lines = [line.strip() for line in source.splitlines()]
    assert "s2 = self.s2(x)  # 6×14×14" in lines
    assert "probe = self.probe(s2)  # 2×14×14 (unused: not on the way to the output)" in lines
    assert "x = self.c3(s2)  # 16×10×10" in lines
    assert list(the_class(source, design)().state_dict()) == list(build_model(design).state_dict())


HOSTILE = [
    'Evil """\nimport os\nos.mkdir("pwned")\n"""',
    "back\\slash\\",
    'quote" \' mix"""\'\'\'',
    "line\r\nbreak\x00nul\u2028sep\x1b[31m",
    "\\\"\"\"",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_text(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    design = load_template("lenet5")
    design.set_name(name)
    design.set_classes(HOSTILE + [name, "plain"])
    source = module_source(design, weights_file=name + ".pt")
    tree = ast.parse(source)
    kinds = [type(node).__name__ for node in tree.body]
    assert kinds == ["Expr", "ImportFrom", "Assign", "Assign", "ClassDef"]  # docstring, import, 2 constants, class
    assert [n.name for n in tree.body[-1].body if isinstance(n, ast.FunctionDef)] == ["__init__", "forward"]
    module = run_source(source)
    assert module.CLASSES == HOSTILE + [name, "plain"]
    shown = "".join(ch if ch.isprintable() else " " for ch in name).strip()
    assert module.__doc__.startswith(shown + ": exported from convviz")
    assert getattr(module, source_class_name(design)).__doc__.startswith(shown + ": 1×32×32 → 10")
    assert list(tmp_path.iterdir()) == []  # nothing in the name ran


@settings(max_examples=60)
@given(st.text())
def test_py_string_reads_back_exactly(text):
    assert ast.literal_eval(py_string(text)) == text


@settings(max_examples=40)
@given(st.text(max_size=40))
def test_any_design_name_gives_valid_source(name):
    design = Design(name, InputSpec(1, 4, 4), classes=[name])
    design.add_node("Input", "input")
    design.add_node("Flatten", "flatten", ["input"])
    source = module_source(design)
    tree = ast.parse(source)
    assert [type(node).__name__ for node in tree.body] == ["Expr", "ImportFrom", "Assign", "Assign", "ClassDef"]
    assert ast.literal_eval(tree.body[3].value) == [name]


@pytest.mark.parametrize("name, expected", [("LeNet-5", "LeNet5"), ("None", "NoneNet"), ("classes", "Classes"),
                                            ("CLASSES", "CLASSESNet"), ("3 layers", "Net3Layers")])
def test_class_names_are_valid_and_never_clash(name, expected):
    design = Design(name)
    assert source_class_name(design) == expected
