"""``convviz summary`` and ``convviz templates``: tables, JSON, and one-line failures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from convviz.cli import main
from convviz.design import TEMPLATES


def test_summary_table(capsys):
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "Layer (id)" in out and "Output shape" in out and "RF" in out
    assert "Total params: 61,706" in out
    assert "c1          Conv2d     6×28×28" in out


def test_summary_json(capsys):
    assert main(["summary", "resnet18", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["params"] == 11_689_512
    assert data["total"]["macs"] == 1_814_073_344
    assert data["total"]["receptive_field"]["size"] == [435, 435]
    conv1 = data["nodes"][1]
    assert conv1["id"] == "conv1" and conv1["output_shape"] == [64, 112, 112]
    assert set(conv1["receptive_field"]) == {"size", "jump", "start"}


def test_summary_input_override(capsys):
    assert main(["summary", "resnet18", "--input", "3x64x64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["nodes"][1]["output_shape"] == [64, 32, 32]


def test_summary_of_a_file(tmp_path, capsys):
    from convviz.design import load_template, save_design
    path = tmp_path / "mine.json"
    save_design(load_template("lenet5"), path)
    assert main(["summary", str(path)]) == 0
    assert "61,706" in capsys.readouterr().out


def test_templates_lists_one_line_each(capsys):
    assert main(["templates"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(TEMPLATES)


@pytest.mark.parametrize("args, fragment", [
    (["summary", "no_such_template"], "neither a design file nor a template"),
    (["summary", "missing.json"], "no such file"),
    (["summary", "lenet5", "--input", "1x8x8"], "the design has errors: c3"),
])
def test_failures_are_one_line_with_status_1(args, fragment, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err and err.startswith("convviz: error:")


def test_corrupt_file_in_a_real_process(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "convviz-design", "version": 1, "nodes": [')
    result = subprocess.run([sys.executable, "-m", "convviz", "summary", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("convviz: error: bad.json: not valid JSON")
