"""The training loop: it learns, it reports copies, it pauses/resumes/stops from another thread, it fails
clearly (NaN, out of memory, a design that cannot train) and it carries weights over after an edit."""

from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np
import pytest
import torch

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.train import (FAILED, FINISHED, STOPPED, ConfigError, DataSpec, EndRecord, EpochRecord, SnapshotRecord,
                           StartRecord, StepRecord, TrainConfig, TrainControl, Trainer, TrainError, train)
from dataset_files import write_image_folder


@pytest.fixture(scope="module")
def shapes():
    return load_dataset(DataSpec(), (1, 32, 32), synthetic_size=400, val_fraction=0.25, seed=0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_default_learns_the_synthetic_set_above_95_percent():
    """A real held-out accuracy: 600 validation images drawn apart from the 2400 trained on."""
    design = load_template("default")
    data = load_dataset(DataSpec(), design.input, synthetic_size=3000, val_fraction=0.2, seed=0)
    end = train(design, data, TrainConfig(epochs=4, batch_size=32, lr=5e-3, seed=0))
    assert end.reason == FINISHED and len(data.val) == 600
    assert end.history[-1].val_acc > 0.95, [r.val_acc for r in end.history]
    assert end.best_val_acc == max(r.val_acc for r in end.history)


def test_records_in_order_and_holding_copies(shapes):
    records = []
    trainer = Trainer(load_template("default"), shapes, TrainConfig(epochs=2, batch_size=32), report_rate=1000,
                      snapshot_rate=1000)
    for record in trainer:
        records.append(record)
    start, end = records[0], records[-1]
    assert isinstance(start, StartRecord) and isinstance(end, EndRecord)
    assert start.steps_per_epoch == 300 // 32 and start.snapshot_node == "conv1" and start.device == "cpu"
    steps = [r for r in records if isinstance(r, StepRecord)]
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    snapshots = [r for r in records if isinstance(r, SnapshotRecord)]
    assert [r.epoch for r in epochs] == [1, 2] and steps[-1].global_step == steps[-1].total_steps == 18
    assert all(math.isfinite(r.loss) and 0 <= r.accuracy <= 1 and r.samples_per_s > 0 and r.eta_s >= 0
               for r in steps)
    assert epochs[-1].confusion.shape == (10, 10) and epochs[-1].confusion.sum() == len(shapes.val)
    assert np.allclose(np.nanmean(epochs[-1].per_class_acc), np.diag(epochs[-1].confusion).sum() /
                       epochs[-1].confusion.sum(), atol=0.1)
    # snapshots are copies: the first (before training) differs from the last, and neither tracks the model
    assert snapshots[0].global_step == 0 and snapshots[0].weights.shape == (16, 1, 3, 3)
    assert not np.array_equal(snapshots[0].weights, snapshots[-1].weights)
    live = trainer.model.conv1.weight
    with torch.no_grad():
        live.add_(1.0)
    assert not np.allclose(snapshots[-1].weights, live.detach().numpy())
    assert all(t.device.type == "cpu" for t in end.state_dict.values())
    assert not torch.equal(end.state_dict["conv1.weight"], live.detach())
    assert end.design.classes == shapes.classes and end.training["config"]["epochs"] == 2


def test_pause_resume_and_stop_from_another_thread(shapes):
    control = TrainControl()
    trainer = Trainer(load_template("default"), shapes, TrainConfig(epochs=1000, batch_size=16), control=control,
                      report_rate=1000, snapshot_rate=0)
    records: queue.Queue = queue.Queue()
    worker = threading.Thread(target=lambda: [records.put(r) for r in trainer], daemon=True)
    worker.start()

    def next_step(timeout=30.0) -> StepRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = records.get(timeout=timeout)
            if isinstance(record, StepRecord):
                return record
        raise AssertionError("no step record")

    first = next_step()
    control.pause()
    time.sleep(0.3)   # let the loop reach its pause point
    while not records.empty():
        records.get()
    paused_at = trainer._global_step
    time.sleep(0.5)
    assert trainer._global_step == paused_at and records.empty() and control.paused
    control.resume()
    assert next_step().global_step > paused_at >= first.global_step
    control.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()
    remaining = []
    while not records.empty():
        remaining.append(records.get())
    end = remaining[-1]
    assert isinstance(end, EndRecord) and end.reason == STOPPED and "weights trained so far are kept" in end.message
    assert end.epochs_completed < 1000
    assert torch.equal(end.state_dict["conv1.weight"], trainer.model.conv1.weight.detach())


def test_stop_while_paused_ends_the_run(shapes):
    control = TrainControl()
    control.pause()
    threading.Timer(0.3, control.stop).start()
    end = train(load_template("default"), shapes, TrainConfig(epochs=3), control=control)
    assert end.reason == STOPPED and end.epochs_completed == 0


def test_a_nan_loss_stops_with_advice_and_keeps_finite_weights(shapes):
    end = train(load_template("default"), shapes, TrainConfig(optimizer="sgd", lr=1e30, schedule="constant"))
    assert end.reason == FAILED and not end.ok
    assert "learning rate 1e+30" in end.message and "lower it" in end.message and "\n" not in end.message
    assert all(torch.isfinite(t.float()).all() for t in end.state_dict.values())


def test_out_of_memory_stops_with_advice_and_frees_gradients(shapes):
    trainer = Trainer(load_template("default"), shapes, TrainConfig(batch_size=32))
    calls = 0
    real_forward = trainer.forward

    def forward(x):
        nonlocal calls
        calls += 1
        if calls == 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(x)

    trainer.forward = forward
    end = list(trainer)[-1]
    assert end.reason == FAILED and "smaller batch size (try 16)" in end.message
    assert all(p.grad is None for p in trainer.model.parameters())


def test_a_design_with_errors_cannot_start(shapes):
    design = load_template("default")
    design.set_param("conv1", "kernel_size", 40)
    with pytest.raises(TrainError, match="the design cannot be trained: conv1"):
        Trainer(design, shapes)


def test_the_classifier_must_fit_the_dataset(tmp_path):
    write_image_folder(tmp_path)
    design = load_template("default")
    data = load_dataset(DataSpec("folder", str(tmp_path)), design.input)
    with pytest.raises(TrainError, match="'fc' with 10 outputs, but folder .* has 2 classes: give the final Linear "
                                         "layer 2 outputs"):
        Trainer(design, data)
    design.set_param("fc", "out_features", 2)
    trainer = Trainer(design, data, TrainConfig(epochs=1, batch_size=4))
    assert trainer.design.classes == ["bright", "dark"] and design.classes == load_template("default").classes
    with pytest.raises(TrainError, match="prepared for 1×32×32 images but the design takes 3×32×32"):
        design.set_input_spec(type(design.input)(3, 32, 32))
        Trainer(design, data)


def test_streamed_folder_trains(tmp_path):
    write_image_folder(tmp_path, repeat=2)
    design = load_template("default")
    design.set_param("fc", "out_features", 2)
    data = load_dataset(DataSpec("folder", str(tmp_path)), design.input, memory_limit=0, val_fraction=0.25)
    end = train(design, data, TrainConfig(epochs=2, batch_size=4), workers=1)
    assert end.reason == FINISHED and end.history[-1].confusion.sum() == len(data.val)


def test_weights_carry_over_after_a_design_edit(shapes):
    design = load_template("default")
    first = train(design, shapes, TrainConfig(epochs=1))
    design.set_param("conv3", "out_channels", 48)  # conv3, bn3 and fc change shape; the rest keep theirs
    trainer = Trainer(design, shapes, TrainConfig(epochs=1, seed=5), initial_state=first.state_dict)
    start = next(iter(trainer))
    assert set(start.carried) == {"conv1", "bn1", "conv2", "bn2"}
    assert torch.equal(trainer.model.conv2.weight, first.state_dict["conv2.weight"])
    assert trainer.model.conv3.weight.shape[0] == 48


def test_the_model_trains_a_frozen_copy_of_the_design(shapes):
    design = load_template("default")
    trainer = Trainer(design, shapes, TrainConfig(epochs=1))
    design.set_param("conv1", "out_channels", 4)
    end = list(trainer)[-1]
    assert end.state_dict["conv1.weight"].shape[0] == 16 and end.design.node("conv1").params.get("out_channels") == 16


def test_the_same_seed_gives_the_same_weights(shapes):
    config = TrainConfig(epochs=1, augment=TrainConfig().augment.__class__(rotation=10, crop_padding=2), seed=3)
    a = train(load_template("default"), shapes, config)
    b = train(load_template("default"), shapes, config)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


@pytest.mark.parametrize("optimizer, schedule, check", [
    ("sgd", "step", lambda lrs, lr: lrs == pytest.approx([lr, lr * 0.1])),
    ("adam", "cosine", lambda lrs, lr: lr > lrs[0] > lrs[1] and lrs[1] < 0.05 * lr),
    ("adamw", "onecycle", lambda lrs, lr: lrs[1] < 1e-3 * lr),
    ("adam", "constant", lambda lrs, lr: lrs == [lr, lr]),
])
def test_optimizers_and_schedules(shapes, optimizer, schedule, check):
    config = TrainConfig(epochs=2, optimizer=optimizer, schedule=schedule, step_size=1, lr=0.01, weight_decay=1e-4)
    end = train(load_template("default"), shapes, config)
    assert end.reason == FINISHED and check([r.lr for r in end.history], 0.01)


def test_device_and_precision_choices():
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            Trainer(load_template("default"), load_dataset(DataSpec(), (1, 32, 32), synthetic_size=40),
                    TrainConfig(device="cuda"))
    data = load_dataset(DataSpec(), (1, 32, 32), synthetic_size=40)
    start = next(iter(Trainer(load_template("default"), data, TrainConfig(device="cpu", amp="bf16"))))
    assert start.amp == "off" and "mixed precision (bf16) is for CUDA" in start.notes[0]


def test_a_design_ending_in_softmax_is_refused_with_the_fix(shapes):
    design = load_template("default")
    design.add_node("Softmax", "probabilities", ["fc"])
    with pytest.raises(TrainError, match="ends in Softmax.*remove 'probabilities'"):
        Trainer(design, shapes, TrainConfig(epochs=1))
