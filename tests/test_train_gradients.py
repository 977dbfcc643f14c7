"""Gradient flow: the per-layer gradient norm and update ratio the loop reports, and the template pair that
shows vanishing gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.model import seeded_model
from convviz.train import DataSpec, StepRecord, TrainConfig, Trainer
from convviz.train.gradients import GradientMeter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_meter_measures_each_layer_as_written_by_hand():
    model = seeded_model(load_template("default"), 0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 1, 32, 32), torch.randint(0, 10, (8,))
    F.cross_entropy(model(x), y).backward()
    meter = GradientMeter(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    grads = {k: v.grad.detach().clone() for k, v in model.named_parameters()}
    meter.before_step()
    optimizer.step()
    measured = meter.after_step().numpy()
    assert meter.layers == ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "fc")
    for i, layer in enumerate(meter.layers):
        names = [k for k in before if k.split(".")[0] == layer]
        grad = np.sqrt(sum(float(grads[k].square().sum()) for k in names))
        delta = np.sqrt(sum(float((dict(model.named_parameters())[k].detach() - before[k]).square().sum())
                            for k in names))
        weight = np.sqrt(sum(float(dict(model.named_parameters())[k].detach().square().sum()) for k in names))
        assert measured[i, 0] == pytest.approx(grad, rel=1e-4)
        assert measured[i, 1] == pytest.approx(delta / weight, rel=1e-4)


def test_the_loop_reports_gradients_at_the_report_rate_and_can_leave_them_out():
    data = load_dataset(DataSpec(), (1, 32, 32), synthetic_size=300, val_fraction=0.2, seed=0)
    steps = [r for r in Trainer(load_template("default"), data, TrainConfig(epochs=1, batch_size=16), report_rate=1000,
                                snapshot_rate=0) if isinstance(r, StepRecord)]
    assert steps and all(s.gradients is not None and s.gradients.shape == (7, 2) for s in steps)
    assert all(np.isfinite(s.gradients).all() and (s.gradients > 0).all() for s in steps)
    quiet = [r for r in Trainer(load_template("default"), data, TrainConfig(epochs=1, batch_size=16), report_rate=1000,
                                snapshot_rate=0, gradient_stats=False) if isinstance(r, StepRecord)]
    assert quiet and all(s.gradients is None for s in quiet)


def first_layer_gradient(name: str) -> float:
    design = load_template(name)
    model = seeded_model(design, 0)
    data = load_dataset(DataSpec(), design.input, synthetic_size=256, seed=0)
    x = data.train.images[:64].float() / 255
    F.cross_entropy(model(x), data.train.labels[:64]).backward()
    return float(model.stem.weight.grad.norm())


def test_the_plain_deep_stack_starves_its_first_layer_and_the_residual_one_does_not():
    plain, residual = first_layer_gradient("deep_plain"), first_layer_gradient("deep_residual")
    assert plain < 1e-6 * residual, (plain, residual)
