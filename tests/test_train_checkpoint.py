"""A trained model saved with its design as a .pt checkpoint, read back by plain ``torch.load(weights_only=True)``."""

from __future__ import annotations

import pytest
import torch

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.export.checkpoint import Checkpoint, Preprocessing, load_checkpoint, save_checkpoint
from convviz.model import build_model
from convviz.train import DataSpec, TrainConfig, Trainer, train


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_checkpoint_round_trip(tmp_path):
    design = load_template("lenet5")  # its classes are "0"…"9": training gives it the dataset's
    data = load_dataset(DataSpec(), design.input, synthetic_size=200, seed=0)
    config = TrainConfig(epochs=2, batch_size=32, seed=4)
    end = train(design, data, config)
    path = tmp_path / "model.pt"
    save_checkpoint(Checkpoint(end.design, end.state_dict, Preprocessing(end.mean, end.std), end.training), path)

    raw = torch.load(path, weights_only=True)
    assert raw["classes"] == data.classes
    assert raw["preprocessing"] == {"input_size": [1, 32, 32], "mean": data.mean_std()[0], "std": data.mean_std()[1]}
    assert TrainConfig.from_dict(raw["training"]["config"]) == config
    results = raw["training"]["results"]
    assert results["reason"] == "finished" and results["epochs_completed"] == 2
    assert [h["epoch"] for h in results["history"]] == [1, 2] and results["dataset"] == "synthetic shapes"

    loaded = load_checkpoint(path)
    model = build_model(loaded.design).eval()
    model.load_state_dict(loaded.state_dict)
    reference = build_model(end.design).eval()
    reference.load_state_dict(end.state_dict)
    x = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_training_continues_from_a_checkpoint(tmp_path):
    design = load_template("default")
    data = load_dataset(DataSpec(), design.input, synthetic_size=200, seed=0)
    end = train(design, data, TrainConfig(epochs=1))
    path = tmp_path / "model.pt"
    save_checkpoint(Checkpoint(end.design, end.state_dict, Preprocessing(end.mean, end.std), end.training), path)
    loaded = load_checkpoint(path)
    trainer = Trainer(loaded.design, data, TrainConfig(epochs=1, seed=9), initial_state=loaded.state_dict)
    assert set(next(iter(trainer)).carried) == {key.split(".")[0] for key in end.state_dict}
    assert torch.equal(trainer.model.fc.weight, end.state_dict["fc.weight"])
