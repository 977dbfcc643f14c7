"""``convviz export``: every extension from a template, a design file or a checkpoint, and its errors."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch

from convviz.cli import main
from convviz.design import load_template, save_design
from convviz.export import Checkpoint, Preprocessing, load_checkpoint, model_with_weights, save_checkpoint

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript"))


def export(capsys, *args) -> tuple[int, str, str]:
    status = main(["export", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("extension", [".pt", ".py", ".pt2",
                                       pytest.param(".onnx", marks=pytest.mark.skipif(not HAVE_ONNX,
                                                                                      reason="no onnx extra"))])
def test_each_extension_from_a_template(tmp_path, capsys, extension):
    out = tmp_path / f"lenet{extension}"
    status, stdout, _ = export(capsys, "lenet5", "--to", out)
    assert status == 0 and out.is_file()
    assert f"wrote {out}" in stdout
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == (["lenet.pt", "lenet.py"] if extension == ".py" else [out.name])  # no temporary files left


def test_py_without_weights(tmp_path, capsys):
    status, _, _ = export(capsys, "lenet5", "--to", tmp_path / "net.py", "--no-weights")
    assert status == 0 and [p.name for p in tmp_path.iterdir()] == ["net.py"]


def test_a_design_file_exports_with_seeded_weights(tmp_path, capsys):
    path = tmp_path / "mine.json"
    save_design(load_template("lenet5"), path)
    for name in ("a.pt", "b.pt"):
        assert export(capsys, path, "--to", tmp_path / name)[0] == 0
    assert export(capsys, path, "--to", tmp_path / "c.pt", "--seed", "5")[0] == 0
    a, b, c = (load_checkpoint(tmp_path / n).state_dict for n in ("a.pt", "b.pt", "c.pt"))
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["c1.weight"], c["c1.weight"])


def test_a_checkpoint_keeps_its_weights_and_preprocessing(tmp_path, capsys):
    design = load_template("lenet5")
    state = model_with_weights(design, seed=42).state_dict()
    source = tmp_path / "trained.pt"
    save_checkpoint(Checkpoint(design, state, Preprocessing([0.5], [0.25]), {"epochs": 2}), source)
    assert export(capsys, source, "--to", tmp_path / "copy.py")[0] == 0
    copy = load_checkpoint(tmp_path / "copy.pt")
    assert all(torch.equal(copy.state_dict[k], v) for k, v in state.items())
    assert copy.preprocessing == Preprocessing([0.5], [0.25]) and copy.training == {"epochs": 2}
    assert export(capsys, source, "--to", tmp_path / "program.pt2")[0] == 0
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        expected = model_with_weights(design, state).eval()(x)
    torch.testing.assert_close(torch.export.load(tmp_path / "program.pt2").module()(x), expected)


@pytest.mark.parametrize("args, fragment", [
    (["lenet5", "--to", "model.h5"], "model.h5: cannot export to .h5; use .pt, .py, .pt2, .onnx"),
    (["lenet5", "--to", "model"], "cannot export to a file without an extension"),
    (["lenet5", "--input", "1x8x8", "--to", "model.py"], "the design cannot be built: c3:"),
    (["no_such_template", "--to", "model.pt"], "neither a design file nor a template"),
    (["missing.pt", "--to", "model.py"], "missing.pt: no such file"),
])
def test_errors_are_one_line_with_status_1(tmp_path, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(tmp_path)
    status, _, err = export(capsys, *args)
    assert status == 1
    assert err.startswith("convviz: error: ") and fragment in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_missing_onnx_packages_give_the_pip_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)
    status, _, err = export(capsys, "lenet5", "--to", tmp_path / "m.onnx")
    assert status == 1
    assert err.strip() == ("convviz: error: ONNX export needs the onnx and onnxscript packages: "
                           "pip install 'convviz[onnx]'")


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "export" in out and "import" in out


def test_exporting_source_from_a_checkpoint_never_overwrites_it(tmp_path, capsys):
    from convviz.cli import main as cli_main

    checkpoint = tmp_path / "model.pt"
    assert cli_main(["export", "lenet5", "--to", str(checkpoint)]) == 0
    before = checkpoint.read_bytes()
    assert cli_main(["export", str(checkpoint), "--to", str(tmp_path / "model.py")]) == 0
    assert checkpoint.read_bytes() == before
    assert "the weights stay in" in capsys.readouterr().out
