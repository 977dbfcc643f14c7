"""Exports carry their preprocessing: a raw image run as a user would (plain torch, Pillow and
onnxruntime, in a process that never imports convviz) gets the app's prediction.

The normalisation used here is far from identity, so an export that forgets it is caught (the
same image un-normalised gives other probabilities).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from convviz.cli import main
from convviz.design import load_template
from convviz.explain.network import network_from_design
from convviz.export import (
    PT2_METADATA_FILE,
    ExportError,
    Preprocessing,
    export_to,
    inference_metadata,
    load_checkpoint,
    onnx_opsets,
)
from test_export_formats import small_dag, trained_like_weights

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="needs convviz[onnx]")

COLOUR = Preprocessing([0.52, 0.41, 0.33], [0.21, 0.27, 0.19])
GREY = Preprocessing([0.1307], [0.3081])

#: The user's side: only torch, Pillow, numpy and onnxruntime; convviz must not be importable.
CHILD = r"""
import json, sys
sys.meta_path.insert(0, type("NoConvviz", (), {"find_spec": staticmethod(
    lambda name, *a: (_ for _ in ()).throw(ImportError(name)) if name.split(".")[0] == "convviz" else None)})())
import importlib.util
import numpy as np
import torch
from PIL import Image

jobs, out = json.loads(sys.argv[1]), {}
for job in jobs:
    if job["kind"] == "py":
        spec = importlib.util.spec_from_file_location("exported", job["path"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = getattr(module, job["class"])()
        model.load_state_dict(torch.load(job["weights"], weights_only=True)["state_dict"])
        with torch.no_grad():
            out[job["id"]] = model.eval()(module.preprocess(job["image"])).softmax(1)[0].tolist()
    elif job["kind"] == "onnx":
        import onnxruntime
        session = onnxruntime.InferenceSession(job["path"], providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
        assert meta["input_layout"] == "NCHW", meta
        c, h, w = json.loads(meta["input_shape"])
        mean = np.array(json.loads(meta["mean"]), np.float32)[:, None, None]
        std = np.array(json.loads(meta["std"]), np.float32)[:, None, None]
        image = Image.open(job["image"]).convert("RGB" if c == 3 else "L")
        assert image.size == (w, h)  # the test gives an image of the input's size: no resizing to agree on
        x = np.asarray(image, np.float32).reshape(h, w, c).transpose(2, 0, 1) / 255.0
        x = ((x - mean) / std)[None].astype(np.float32)
        logits = session.run(None, {session.get_inputs()[0].name: x})[0]
        e = np.exp(logits - logits.max(1, keepdims=True))
        out[job["id"]] = (e / e.sum(1, keepdims=True))[0].tolist()
        out[job["id"] + ":classes"] = json.loads(meta["classes"])
    elif job["kind"] == "pt2":
        extra = {job["metadata"]: ""}
        program = torch.export.load(job["path"], extra_files=extra)
        out[job["id"]] = json.loads(extra[job["metadata"]])
assert not any(m.split(".")[0] == "convviz" for m in sys.modules)
print(json.dumps(out))
"""


def run_as_a_user(jobs: list[dict], cwd) -> dict:
    child = subprocess.run([sys.executable, "-I", "-c", CHILD, json.dumps(jobs)], cwd=cwd, capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.strip().splitlines()[-1])


def app_probabilities(design, state, preprocessing: Preprocessing, image) -> np.ndarray:
    """What the app's Explain tab shows for ``image``: its network, its preparation, softmax."""
    network = network_from_design(design, state, mean=preprocessing.mean, std=preprocessing.std)
    with torch.no_grad():
        return network.model(network.prepare(image).tensor).softmax(1)[0].numpy()


def raw_rgba(path, size=(41, 23), seed=0):
    """A photo-like RGBA image of another size and aspect than any input: crop, resize and alpha all matter."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[0] * size[1] * 4).reshape(size[1], size[0], 4)
    pixels = (base * 0.5 + rng.integers(0, 128, base.shape)).clip(0, 255).astype(np.uint8)
    pixels[..., 3] = np.where(rng.random((size[1], size[0])) < 0.2, 0, 255)
    Image.fromarray(pixels, "RGBA").save(path)
    return path


def test_py_and_onnx_on_a_raw_image_give_the_apps_prediction(tmp_path):
    rgb, grey = small_dag(), load_template("lenet5")
    cases = [("rgb", rgb, COLOUR, raw_rgba(tmp_path / "photo.png")),
             ("grey", grey, GREY, tmp_path / "photo.jpg")]
    Image.open(cases[0][3]).convert("RGB").resize((50, 61)).save(cases[1][3], quality=90)
    jobs, expected = [], {}
    for key, design, pre, image in cases:
        state = trained_like_weights(design)
        export_to(tmp_path / f"{key}.py", design, state, preprocessing=pre)
        jobs.append({"kind": "py", "id": f"{key}.py", "path": str(tmp_path / f"{key}.py"),
                     "weights": str(tmp_path / f"{key}.pt"), "image": str(image),
                     "class": "SmallDAG" if key == "rgb" else "LeNet5"})
        expected[f"{key}.py"] = app_probabilities(design, state, pre, image)
        if HAVE_ONNX:
            exact = tmp_path / f"{key}_exact.png"  # the input's own size: nothing to crop or resize
            _, h, w = design.input.shape
            Image.open(cases[0][3]).convert("RGB").resize((w, h)).save(exact)
            export_to(tmp_path / f"{key}.onnx", design, state, preprocessing=pre)
            jobs.append({"kind": "onnx", "id": f"{key}.onnx", "path": str(tmp_path / f"{key}.onnx"),
                         "image": str(exact)})
            expected[f"{key}.onnx"] = app_probabilities(design, state, pre, exact)
            unnormalised = app_probabilities(design, state, Preprocessing(), exact)
            assert np.abs(unnormalised - expected[f"{key}.onnx"]).max() > 1e-3  # the test can tell
    got = run_as_a_user(jobs, tmp_path)
    for job_id, want in expected.items():
        have = np.array(got[job_id])
        assert int(have.argmax()) == int(want.argmax()), job_id
        np.testing.assert_allclose(have, want, rtol=0, atol=1e-5, err_msg=job_id)
    if HAVE_ONNX:
        assert got["rgb.onnx:classes"] == ["cat", "dog", "bird"]


def test_the_py_docstring_names_the_normalisation(tmp_path):
    export_to(tmp_path / "net.py", load_template("lenet5"), preprocessing=GREY)
    source = (tmp_path / "net.py").read_text()
    docstring = source.split('"""')[1]
    assert "mean 0.1307 and std 0.3081" in docstring and "preprocess(" in docstring
    assert "MEAN = (0.1307,)" in source and "STD = (0.3081,)" in source and "def preprocess(image):" in source


def test_an_unnormalised_export_says_so(tmp_path):
    export_to(tmp_path / "net.py", load_template("default"))
    source = (tmp_path / "net.py").read_text()
    assert "not normalised (MEAN is 0, STD is 1)" in " ".join(source.split()) and "MEAN = (0.0,)" in source


def test_pt2_carries_the_metadata(tmp_path):
    design = small_dag()
    export_to(tmp_path / "net.pt2", design, trained_like_weights(design), preprocessing=COLOUR)
    got = run_as_a_user([{"kind": "pt2", "id": "pt2", "path": str(tmp_path / "net.pt2"),
                          "metadata": PT2_METADATA_FILE}], tmp_path)["pt2"]
    assert got == inference_metadata(design, COLOUR)
    assert json.loads(got["mean"]) == COLOUR.mean and got["input_layout"] == "NCHW"
    assert json.loads(got["classes"]) == ["cat", "dog", "bird"] and json.loads(got["input_shape"]) == [3, 12, 12]


def test_metadata_spreads_one_value_over_the_channels():
    meta = inference_metadata(small_dag(), Preprocessing([0.5], [0.25]))
    assert json.loads(meta["mean"]) == [0.5] * 3 and json.loads(meta["std"]) == [0.25] * 3
    plain = inference_metadata(small_dag(), None)
    assert json.loads(plain["mean"]) == [0.0] * 3 and json.loads(plain["std"]) == [1.0] * 3


@needs_onnx
@pytest.mark.parametrize("opset", [17, 21])
def test_onnx_takes_an_opset(tmp_path, opset):
    import onnx

    export_to(tmp_path / "net.onnx", load_template("lenet5"), preprocessing=GREY, opset=opset)
    proto = onnx.load(tmp_path / "net.onnx")
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    assert {p.key for p in proto.metadata_props} >= {"classes", "mean", "std", "input_layout", "input_shape"}


@needs_onnx
def test_an_opset_out_of_range_is_refused_in_one_line(tmp_path):
    lowest, highest, default = onnx_opsets()
    assert lowest <= (default or lowest) <= highest
    with pytest.raises(ExportError, match=f"choose one from {lowest} to {highest}"):
        export_to(tmp_path / "net.onnx", load_template("lenet5"), opset=lowest - 3)
    assert not (tmp_path / "net.onnx").exists()


@needs_onnx
def test_cli_opset_and_metadata_from_a_checkpoint(tmp_path, capsys):
    import onnx

    design = load_template("lenet5")
    assert main(["export", "lenet5", "--to", str(tmp_path / "model.pt")]) == 0
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    checkpoint.preprocessing = GREY
    from convviz.export import save_checkpoint

    save_checkpoint(checkpoint, tmp_path / "model.pt")
    assert main(["export", str(tmp_path / "model.pt"), "--to", str(tmp_path / "model.onnx"), "--opset", "18"]) == 0
    proto = onnx.load(tmp_path / "model.onnx")
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["mean"]) == [0.1307] and json.loads(meta["classes"]) == list(design.classes)
    assert proto.opset_import[0].version == 18 or 18 in [o.version for o in proto.opset_import]


def test_cli_opset_is_only_for_onnx(tmp_path, capsys):
    assert main(["export", "lenet5", "--to", str(tmp_path / "m.pt2"), "--opset", "18"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "convviz: error: --opset is for ONNX files (.onnx), not .pt2"
