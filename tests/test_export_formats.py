"""Every export format runs in a Python that cannot import convviz, and gives convviz's outputs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from convviz.design import Design, InputSpec, load_template
from convviz.export import (
    CheckpointError, ExportError, Preprocessing, export_to, load_checkpoint, model_with_weights,
    restore_model,
)
from convviz.model import ModelBuildError

HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript"))
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None


def small_dag() -> Design:
    """Residual Add, an inception-style Concat, batch norm, dropout and a classifier: every code path, small."""
    d = Design("Small DAG", InputSpec(3, 12, 12), classes=["cat", "dog", "bird"])
    d.add_node("Input", "input")
    d.add_node("Conv2d", "stem", ["input"], {"out_channels": 8, "kernel_size": 3, "padding": 1, "bias": False})
    d.add_node("BatchNorm2d", "bn", ["stem"])
    d.add_node("ReLU", "relu", ["bn"])
    d.add_node("Conv2d", "branch_a", ["relu"], {"out_channels": 8, "kernel_size": 3, "padding": 1})
    d.add_node("Add", "residual", ["branch_a", "relu"])
    d.add_node("Conv2d", "branch_b", ["relu"], {"out_channels": 4, "kernel_size": 1})
    d.add_node("MaxPool2d", "pool_c", ["relu"], {"kernel_size": 3, "stride": 1, "padding": 1})
    d.add_node("Concat", "merge", ["residual", "branch_b", "pool_c"])
    d.add_node("AdaptiveAvgPool2d", "gap", ["merge"], {"output_size": 2})
    d.add_node("Flatten", "flatten", ["gap"])
    d.add_node("Dropout", "drop", ["flatten"], {"p": 0.3})
    d.add_node("Linear", "fc", ["drop"], {"out_features": 3})
    return d


def every_new_layer() -> Design:
    """The decoder, gating and normalisation layers: transposed conv, upsampling, padding, the norms
    without batch statistics, the newer activations, a channel shuffle and a squeeze-and-excitation gate."""
    d = Design("Every new layer", InputSpec(4, 6, 6), classes=["a", "b"])
    d.add_node("Input", "input")
    d.add_node("ConvTranspose2d", "up", ["input"], {"out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1,
                                                    "output_padding": 1, "groups": 2})
    d.add_node("GroupNorm", "gn", ["up"], {"num_groups": 3})
    d.add_node("Hardswish", "hswish", ["gn"])
    d.add_node("PReLU", "prelu", ["hswish"], {"num_parameters": 6})
    d.add_node("InstanceNorm2d", "inorm", ["prelu"], {"affine": True})
    d.add_node("ELU", "elu", ["inorm"], {"alpha": 0.5})
    d.add_node("ZeroPad2d", "pad", ["elu"], {"padding": [1, 2, 0, 3]})
    d.add_node("Upsample", "bilinear", ["pad"], {"scale_factor": 1.5, "mode": "bilinear"})
    d.add_node("Upsample", "nearest", ["bilinear"], {"size": [20, 24]})
    d.add_node("ChannelShuffle", "shuffle", ["nearest"], {"groups": 3})
    d.add_node("AdaptiveAvgPool2d", "squeeze", ["shuffle"], {"output_size": 1})
    d.add_node("Conv2d", "excite", ["squeeze"], {"out_channels": 6, "kernel_size": 1})
    d.add_node("Hardsigmoid", "gate", ["excite"])
    d.add_node("Multiply", "scaled", ["shuffle", "gate"])
    d.add_node("Mish", "mish", ["scaled"])
    d.add_node("LayerNorm", "ln", ["mish"])
    d.add_node("AdaptiveAvgPool2d", "gap", ["ln"], {"output_size": 2})
    d.add_node("Flatten", "flatten", ["gap"])
    d.add_node("Linear", "fc", ["flatten"], {"out_features": 2})
    return d


def every_new_layer_ungrouped() -> Design:
    """``every_new_layer`` with an ungrouped transposed conv: onnx.reference.ReferenceEvaluator cannot run a
    grouped ConvTranspose (the grouped one runs where onnxruntime is installed)."""
    design = every_new_layer()
    design.set_param("up", "groups", 1)
    return design


def with_aux_head() -> Design:
    """A design with an auxiliary classifier (GoogLeNet's kind): the main head and an auxiliary one."""
    from convviz.design import Head

    design = load_template("default")
    design.add_node("AdaptiveAvgPool2d", "aux_pool", ["relu2"], {"output_size": 1})
    design.add_node("Flatten", "aux_flatten", ["aux_pool"])
    design.add_node("Linear", "aux_fc", ["aux_flatten"], {"out_features": 10})
    design.set_heads([Head("fc"), Head("aux_fc", 0.3)])
    return design


def trained_like_weights(design: Design, seed: int = 1) -> dict[str, torch.Tensor]:
    """Weights unlike a fresh initialisation's (another seed), with batch-norm statistics that matter."""
    generator = torch.Generator().manual_seed(seed)
    state = model_with_weights(design, seed=seed).state_dict()
    for key, value in state.items():
        if key.endswith("running_mean"):
            state[key] = torch.randn(value.shape, generator=generator) * 0.2
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
        elif key.endswith("num_batches_tracked"):
            state[key] = value + 7
    return state


def reference_outputs(design: Design, state, inputs: list[torch.Tensor], heads: str = "main") -> list:
    from convviz.model import build_model

    model = build_model(design, heads=heads)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return [model(x) for x in inputs]


# Runs in a fresh interpreter where any attempt to import convviz fails loudly.
CHILD = textwrap.dedent("""
    import importlib.util, json, sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] == 'convviz':
                raise ImportError('convviz is blocked in this process')

    sys.meta_path.insert(0, Blocker())
    import torch

    jobs = json.loads(sys.argv[1])
    results = {}
    for job in jobs:
        inputs = torch.load(job['inputs'], weights_only=True)
        if job['kind'] == 'py':
            spec = importlib.util.spec_from_file_location('exported_' + job['name'], job['path'])
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            model = getattr(module, job['class'])()
            checkpoint = torch.load(job['weights'], weights_only=True)
            model.load_state_dict(checkpoint['state_dict'])
            run = model.eval()
        elif job['kind'] == 'pt2':
            run = torch.export.load(job['path']).module()
        elif job['kind'] == 'onnx':
            import onnxruntime
            session = onnxruntime.InferenceSession(job['path'])
            run = lambda x, s=session: tuple(torch.from_numpy(o) for o in s.run(None, {'input': x.numpy()}))
        else:  # where onnxruntime is missing: onnx's own reference evaluator
            from onnx.reference import ReferenceEvaluator
            evaluator = ReferenceEvaluator(job['path'])
            run = lambda x, e=evaluator: tuple(torch.from_numpy(o) for o in e.run(None, {'input': x.numpy()}))
        with torch.no_grad():
            results[job['key']] = [run(x) for x in inputs]
    torch.save(results, sys.argv[2])
    try:
        import convviz  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit('convviz was importable')
    assert not any(m == 'convviz' or m.startswith('convviz.') for m in sys.modules), 'convviz was imported'
    print('ok')
""")


#: What runs an .onnx file: onnxruntime where it is installed, else onnx's reference evaluator (``onnx-ref``).
ONNX_RUNNER = "onnx" if HAVE_ORT else "onnx-ref"


def test_every_format_runs_without_convviz(tmp_path):
    """Each design in each format, in a process without convviz; the multi-head design also with its
    auxiliary heads (``aux_heads``: .pt2 and .onnx return every head). ONNX runs on onnxruntime or, without
    it, on onnx.reference (and on onnx.reference always for the designs it can run, so both are tested)."""
    jobs, expected = [], {}
    classes = {"lenet5": "LeNet5", "small_dag": "SmallDAG", "new_layers": "EveryNewLayer",
               "new_layers_ungrouped": "EveryNewLayer", "heads": "ShapesCNN"}
    designs = (("lenet5", load_template("lenet5")), ("small_dag", small_dag()), ("new_layers", every_new_layer()),
               ("new_layers_ungrouped", every_new_layer_ungrouped()), ("heads", with_aux_head()))
    grouped_deconv = {"new_layers"}  # onnx.reference has no grouped ConvTranspose
    for name, design in designs:
        state = trained_like_weights(design)
        inputs = [torch.randn(n, *design.input.shape, generator=torch.Generator().manual_seed(n)) for n in (1, 3)]
        torch.save(inputs, tmp_path / f"{name}_inputs.pt")
        variants = [(False, "main")] + ([(True, "all")] if design.heads else [])
        for aux_heads, built in variants:
            outputs = reference_outputs(design, state, inputs, built)
            kinds = ["py", "pt2"] if not aux_heads else ["pt2"]
            if HAVE_ONNX:
                kinds += sorted({ONNX_RUNNER, "onnx-ref"} - ({"onnx-ref"} if name in grouped_deconv else set()))
            for kind in kinds:
                suffix = "onnx" if kind.startswith("onnx") else kind
                path = tmp_path / f"{name}{'_all' if aux_heads else ''}.{suffix}"
                if not path.exists():
                    written = export_to(path, design, state, aux_heads=aux_heads)
                    if kind == "py":
                        assert written == [path, tmp_path / f"{name}.pt"]
                key = f"{path}:{kind}"
                job = {"kind": kind, "path": str(path), "name": name, "key": key,
                       "inputs": str(tmp_path / f"{name}_inputs.pt")}
                if kind == "py":
                    job.update({"weights": str(tmp_path / f"{name}.pt"), "class": classes[name]})
                jobs.append(job)
                expected[key] = outputs
    child = subprocess.run([sys.executable, "-I", "-c", CHILD, json.dumps(jobs), str(tmp_path / "out.pt")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    results = torch.load(tmp_path / "out.pt", weights_only=True)
    assert set(results) == set(expected)
    assert not HAVE_ONNX or any(key.endswith(":onnx-ref") and "heads_all" in key for key in results)
    for key, outputs in expected.items():
        for got, want in zip(results[key], outputs, strict=True):
            for g, w in zip(_heads(got), _heads(want), strict=True):  # every head, main first
                assert g.shape == w.shape, key
                if key.endswith(":py"):
                    assert torch.equal(g, w), key  # the same modules in the same order: bit for bit
                else:
                    torch.testing.assert_close(g, w, rtol=0, atol=1e-5, msg=key)


def _heads(output) -> tuple:
    """A model's output as a tuple of heads (an ONNX session returns a list of outputs even for one)."""
    return output if isinstance(output, tuple) else (output,)


@pytest.mark.skipif(not HAVE_ONNX or HAVE_ORT, reason="onnxruntime runs the grouped ConvTranspose in the test above")
def test_a_grouped_transposed_conv_in_onnx_needs_onnxruntime():
    pytest.skip("onnx.reference.ReferenceEvaluator does not implement a grouped ConvTranspose: "
                "install onnxruntime (convviz[onnx]) to check every_new_layer's ONNX export")


def test_checkpoint_reopens_with_design_weights_and_preprocessing(tmp_path):
    design = small_dag()
    state = trained_like_weights(design)
    path = tmp_path / "dag.pt"
    export_to(path, design, state, preprocessing=Preprocessing([0.5, 0.4, 0.3], [0.2, 0.2, 0.25]),
              training={"epochs": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["classes"] == ["cat", "dog", "bird"]
    assert raw["preprocessing"] == {"input_size": [3, 12, 12], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.2, 0.25]}
    assert json.loads(raw["design"])["name"] == "Small DAG"
    checkpoint = load_checkpoint(path)
    assert checkpoint.design == design and checkpoint.training == {"epochs": 3}
    assert checkpoint.state_dict.keys() == state.keys()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.equal(restore_model(checkpoint).eval()(x), reference_outputs(design, state, [x])[0])


def test_fresh_weights_are_seeded_and_leave_the_global_generator_alone(tmp_path):
    design = load_template("lenet5")
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    export_to(tmp_path / "a.pt", design)
    export_to(tmp_path / "b.pt", design)
    export_to(tmp_path / "c.pt", design, seed=1)
    assert torch.equal(torch.rand(3), expected_next)
    a, b, c = (load_checkpoint(tmp_path / f"{n}.pt").state_dict for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["c1.weight"], c["c1.weight"])


def test_weights_that_do_not_fit_are_refused_by_name(tmp_path):
    design = load_template("lenet5")
    state = model_with_weights(design).state_dict()
    state["c1.weight"] = torch.zeros(7, 1, 5, 5)
    del state["output.bias"]
    with pytest.raises(CheckpointError, match=r"missing output\.bias.*c1\.weight is 7×1×5×5, not 6×1×5×5"):
        export_to(tmp_path / "x.pt", design, state)
    assert not (tmp_path / "x.pt").exists()


def test_design_with_errors_names_the_node(tmp_path):
    design = load_template("lenet5")
    design.set_input_spec(InputSpec(1, 8, 8))
    with pytest.raises(ModelBuildError, match="c3"):
        export_to(tmp_path / "x.py", design)
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension_lists_the_formats(tmp_path):
    with pytest.raises(ExportError, match=r"cannot export to \.h5; use \.pt, \.py, \.pt2, \.onnx"):
        export_to(tmp_path / "model.h5", load_template("lenet5"))


def test_a_failed_export_keeps_the_earlier_file(tmp_path):
    path = tmp_path / "model.pt"
    export_to(path, load_template("lenet5"))
    before = path.read_bytes()
    broken = load_template("lenet5")
    broken.set_input_spec(InputSpec(1, 8, 8))
    with pytest.raises(ModelBuildError):
        export_to(path, broken)
    assert path.read_bytes() == before


def test_onnx_missing_tells_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript now raises ImportError
    with pytest.raises(ExportError, match=r"pip install 'convviz\[onnx\]'"):
        export_to(tmp_path / "m.onnx", load_template("lenet5"))
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.skipif(not HAVE_ONNX, reason="needs the onnx extra: pip install 'convviz[onnx]'")
def test_onnx_passes_the_checker_with_a_dynamic_batch(tmp_path):
    import onnx

    path = tmp_path / "dag.onnx"
    export_to(path, small_dag())
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    (graph_input,) = model.graph.input
    assert graph_input.name == "input"
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].dim_value  # symbolic batch
    assert [d.dim_value for d in dims[1:]] == [3, 12, 12]


def test_pt2_has_a_dynamic_batch(tmp_path):
    path = tmp_path / "lenet.pt2"
    design = load_template("lenet5")
    export_to(path, design)
    module = torch.export.load(path).module()
    for batch in (1, 5):
        assert module(torch.randn(batch, 1, 32, 32)).shape == (batch, 10)
