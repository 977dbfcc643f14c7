"""``convviz explain``: the files it writes, predictions.json, and one-line failures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image

from convviz.cli import main
from convviz.data.images import prepare_image
from convviz.design import load_template
from convviz.explain import network_from_design
from convviz.export.checkpoint import Checkpoint, Preprocessing, save_checkpoint


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "shape.png"
    canvas = np.zeros((40, 40), np.uint8)
    canvas[10:30, 18:22] = 255
    Image.fromarray(canvas).save(path)
    return path


def test_design_run_writes_every_view(tmp_path, picture, capsys):
    out = tmp_path / "views"
    assert main(["explain", "default", str(picture), "--out", str(out), "--top-k", "3"]) == 0
    design = load_template("default")
    for node in design:
        image = Image.open(out / f"features_{node.id}.png")
        assert image.mode == "RGB" and min(image.size) >= 1
    assert {p.name for p in out.glob("filters_*.png")} == {"filters_conv1.png", "filters_conv2.png",
                                                          "filters_conv3.png"}
    assert Image.open(out / "gradcam.png").size == (32, 32)
    report = json.loads((out / "predictions.json").read_text())
    assert report["trained"] is False and "random" in report["weights"]
    probs = [p["probability"] for p in report["predictions"]]
    assert len(probs) == 10 and probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert {p["name"] for p in report["predictions"]} == set(design.classes)
    assert report["grad_cam"]["node"] == "relu3" and report["grad_cam"]["class"] == report["predictions"][0]["name"]
    printed = capsys.readouterr().out
    assert "random initial weights" in printed
    ranked = [line for line in printed.splitlines() if line.strip().split()[0].endswith("%")]
    assert len(ranked) == 3 and ranked[0].strip().endswith(report["predictions"][0]["name"])


def test_checkpoint_run_uses_its_weights_and_preprocessing(tmp_path, picture):
    design = load_template("default")
    torch.manual_seed(7)
    trained = network_from_design(design)
    path = tmp_path / "model.pt"
    save_checkpoint(Checkpoint(design, OrderedDict(trained.model.state_dict()), Preprocessing([0.2], [0.5])), path)
    out = tmp_path / "views"
    assert main(["explain", str(path), str(picture), "--out", str(out), "--node", "conv1", "--node", "fc"]) == 0
    assert sorted(p.name for p in out.glob("features_*.png")) == ["features_conv1.png", "features_fc.png"]
    report = json.loads((out / "predictions.json").read_text())
    assert report["trained"] is True and report["weights"] == "trained"
    image = prepare_image(picture, (1, 32, 32), [0.2], [0.5])
    with torch.no_grad():
        expected = torch.softmax(trained.model(image.tensor)[0], 0).numpy()
    by_index = {p["index"]: p["probability"] for p in report["predictions"]}
    np.testing.assert_allclose([by_index[i] for i in range(10)], expected, rtol=1e-5)


def test_bad_image_exits_1_with_one_line(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = subprocess.run([sys.executable, "-m", "convviz", "explain", "default", str(broken), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convviz: error:") and "broken.png" in lines[0]
    assert not (tmp_path / "out" / "predictions.json").exists()


def test_unknown_node_and_bad_top_k(tmp_path, picture, capsys):
    assert main(["explain", "default", str(picture), "--out", str(tmp_path), "--node", "nope"]) == 1
    assert "no node 'nope'" in capsys.readouterr().err
    assert main(["explain", "default", str(picture), "--out", str(tmp_path), "--top-k", "0"]) == 1
    assert "--top-k" in capsys.readouterr().err


def test_networks_without_classes_still_get_feature_maps(tmp_path, capsys):
    picture = tmp_path / "grey.png"
    Image.new("L", (28, 28), 128).save(picture)
    out = tmp_path / "views"
    assert main(["explain", "dilated", str(picture), "--out", str(out)]) == 0
    assert (out / "features_compare.png").exists() and not (out / "gradcam.png").exists()
    assert json.loads((out / "predictions.json").read_text())["predictions"] == []
    assert "no class predictions" in capsys.readouterr().out


def aux_design(tmp_path):
    """``sample_designs.aux_heads_design``, saved for the CLI."""
    from convviz.design import save_design
    from sample_designs import aux_heads_design

    design = aux_heads_design()
    path = tmp_path / "aux.json"
    save_design(design, path)
    return design, path


def test_every_node_of_a_design_with_several_heads_is_explained(tmp_path, picture):
    design, path = aux_design(tmp_path)
    out = tmp_path / "views"
    assert main(["explain", str(path), str(picture), "--out", str(out)]) == 0  # was: KeyError 'aux_gap'
    assert {f"features_{node.id}.png" for node in design} <= {p.name for p in out.glob("features_*.png")}
    report = json.loads((out / "predictions.json").read_text())
    assert len(report["predictions"]) == 3 and report["grad_cam"]["node"] in ("shuffle", "joined")


def test_predictions_grad_cam_and_occlusion_read_the_main_head(tmp_path):
    from convviz.explain import feature_maps, grad_cam, occlusion_map, predictions, probabilities
    from convviz.model import build_model

    design, _ = aux_design(tmp_path)
    torch.manual_seed(0)
    network = network_from_design(design)
    image = torch.randn(1, 3, 16, 16)
    acts = feature_maps(network, image)
    main_only = build_model(design).eval()
    main_only.load_state_dict(network.model.state_dict())
    with torch.no_grad():
        expected = torch.softmax(main_only(image)[0], 0).numpy()
    np.testing.assert_allclose(predictions(network, acts)[0], expected, rtol=1e-5)
    assert acts["aux_fc"].shape == (3,)  # the auxiliary classifier ran and is shown
    np.testing.assert_allclose(grad_cam(network, image, top_k=1).probabilities, expected, rtol=1e-5)
    np.testing.assert_allclose(probabilities(network, network.scores(image))[0], expected, rtol=1e-5)
    assert occlusion_map(network, image, patch=4, stride=4).target.probability == pytest.approx(expected.max(), rel=1e-5)
