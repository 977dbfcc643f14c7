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
