"""Designs with several output heads train on the weighted sum of their losses, report each head, and keep
accuracy, predictions and export on the main head (GoogLeNet's auxiliary classifiers)."""

from __future__ import annotations

import pytest
import torch

from convviz.data import load_dataset
from convviz.design import Head, load_template
from convviz.export import export_to
from convviz.model import build_model, seeded_model
from convviz.train import DataSpec, EpochRecord, StepRecord, TrainConfig, Trainer, TrainError, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def with_aux_head(weight: float = 0.3):
    """The default design with an auxiliary classifier on its second block: pool, flatten, Linear."""
    design = load_template("default")
    design.add_node("AdaptiveAvgPool2d", "aux_pool", ["relu2"], {"output_size": 1})
    design.add_node("Flatten", "aux_flatten", ["aux_pool"])
    design.add_node("Linear", "aux_fc", ["aux_flatten"], {"out_features": 10})
    design.set_heads([Head("fc"), Head("aux_fc", weight)])
    return design


@pytest.fixture(scope="module")
def shapes():
    return load_dataset(DataSpec(), (1, 32, 32), synthetic_size=300, val_fraction=0.25, seed=0)


def test_training_sums_the_weighted_losses_and_reports_each_head(shapes):
    records = list(Trainer(with_aux_head(0.3), shapes, TrainConfig(epochs=2, batch_size=32), report_rate=1000))
    steps = [r for r in records if isinstance(r, StepRecord)]
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert all(len(r.head_losses) == 2 for r in steps)
    for r in steps:
        assert r.loss == pytest.approx(r.head_losses[0] + 0.3 * r.head_losses[1], rel=1e-5)
    last = epochs[-1]
    assert last.heads == ("fc", "aux_fc")
    assert last.train_loss == pytest.approx(last.head_losses[0] + 0.3 * last.head_losses[1], rel=1e-5)
    assert last.val_loss == pytest.approx(last.val_head_losses[0] + 0.3 * last.val_head_losses[1], rel=1e-5)
    assert last.confusion.sum() == len(shapes.val)  # accuracy and the confusion matrix: the main head's
    assert set(last.to_json()["heads"]) == {"fc", "aux_fc"}


def test_a_head_with_weight_zero_learns_nothing_and_one_with_weight_learns(shapes):
    config = TrainConfig(epochs=1, batch_size=32, seed=3, weight_decay=0.0)  # no decay: only gradients move weights
    for weight, learns in ((0.0, False), (0.5, True)):
        design = with_aux_head(weight)
        before = seeded_model(design, config.seed).state_dict()  # the run starts from these
        end = train(design, shapes, config)
        changed = not torch.equal(before["aux_fc.weight"], end.state_dict["aux_fc.weight"])
        assert changed == learns, weight


def test_an_auxiliary_head_must_score_the_classes(shapes):
    design = with_aux_head()
    design.set_param("aux_fc", "out_features", 7)
    with pytest.raises(TrainError, match="the auxiliary head 'aux_fc' gives 7 per image, but .* has 10 classes"):
        Trainer(design, shapes, TrainConfig(epochs=1))


def test_the_trained_heads_export_for_inference_with_the_main_one(shapes, tmp_path):
    end = train(with_aux_head(), shapes, TrainConfig(epochs=1, batch_size=32))
    program_path = tmp_path / "model.pt2"
    export_to(program_path, end.design, end.state_dict)
    program = torch.export.load(program_path).module()
    model = build_model(end.design)
    model.load_state_dict(end.state_dict)
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(program(x), model.eval()(x))
    assert "aux_fc.weight" not in torch.export.load(program_path).state_dict
    export_to(tmp_path / "all.pt2", end.design, end.state_dict, aux_heads=True)
    both = torch.export.load(tmp_path / "all.pt2").module()(x)
    assert isinstance(both, tuple) and [t.shape for t in both] == [(3, 10), (3, 10)]
