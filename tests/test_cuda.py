"""The CUDA paths: training on the GPU with the data kept there, mixed precision, torch.compile,
explain and Grad-CAM, and the window while a GPU trains. Skipped without an NVIDIA GPU
(``bench/gpu_check.sh`` runs them, with the figures, where there is one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convviz.data import load_dataset
from convviz.design import load_template
from convviz.train import DataSpec, EndRecord, TrainConfig, Trainer

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)")]


@pytest.fixture(scope="module")
def shapes():
    return load_dataset(DataSpec(), (1, 32, 32), synthetic_size=1200, val_fraction=0.25, seed=0)


def run(design, data, **settings) -> tuple[Trainer, EndRecord, list]:
    trainer = Trainer(design, data, TrainConfig(device="cuda", batch_size=64, **settings))
    seen = []
    record = None
    for record in trainer:
        seen.append(record)
    return trainer, record, seen


def test_training_on_cuda_keeps_the_data_and_the_model_on_the_gpu(shapes):
    design = load_template("default")
    trainer = Trainer(design, shapes, TrainConfig(device="cuda", epochs=2, batch_size=64))
    assert trainer.device.type == "cuda"
    assert trainer.train_batches.images.device.type == "cuda"     # moved once, as uint8
    assert trainer.train_batches.labels.device.type == "cuda"
    assert next(trainer.model.parameters()).device.type == "cuda"
    images, labels = next(iter(trainer.train_batches))
    assert images.device.type == "cuda" and trainer.preprocess(images, train=True).device.type == "cuda"
    end = None
    for end in trainer:
        pass
    assert end.reason == "finished" and end.best_val_acc > 0.2
    assert all(t.device.type == "cpu" for t in end.state_dict.values())  # records hold CPU copies
    assert next(trainer.model.parameters()).device.type == "cpu"        # the GPU's memory given back


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_and_fp16_uses_a_gradient_scaler(shapes, amp):
    trainer, end, seen = run(load_template("default"), shapes, epochs=1, amp=amp)
    assert end.reason == "finished" and np.isfinite(end.history[-1].val_loss)
    used = trainer.precision.amp
    assert used in ("bf16", "fp16") and (trainer.scaler is not None) == (used == "fp16")
    start = seen[0]
    assert start.amp == used and "cuda" in start.device


def test_augmentation_and_fitting_run_on_the_gpu(shapes):
    from convviz.train import AugmentConfig

    design = load_template("default")
    design.set_input_spec(type(design.input)(3, 48, 48))  # colour, and larger than the 32×32 images
    data = load_dataset(DataSpec(), (3, 48, 48), synthetic_size=600, seed=0)
    _, end, _ = run(design, data, epochs=1,
                    augment=AugmentConfig(rotation=10, shear=5, mirror=False, crop_padding=2, elastic=1,
                                          color_shift=0.1))
    assert end.reason == "finished"


def test_compiled_training_on_cuda(shapes):
    _, end, _ = run(load_template("default"), shapes, epochs=1, compile=True)
    assert end.reason == "finished", end.message


def test_explain_and_grad_cam_on_cuda_match_the_cpu():
    from convviz.data.images import sample_images
    from convviz.explain import effective_field, feature_maps, grad_cam, network_from_design, occlusion_map
    from convviz.explain.window import window_animation

    torch.manual_seed(0)
    cpu = network_from_design(load_template("resnet18"))
    gpu = network_from_design(load_template("resnet18"), cpu.model.state_dict()).to("cuda")
    assert gpu.device.type == "cuda"
    sample = next(s for s in sample_images() if s.name == "scene_garden")
    image = cpu.prepare(sample.path)  # prepared on the CPU: every view moves it to the model
    a, b = feature_maps(cpu, image), feature_maps(gpu, image)
    assert np.allclose(a["layer4_1_out"], b["layer4_1_out"], atol=1e-3, rtol=1e-3)
    cam_cpu, cam_gpu = grad_cam(cpu, image, top_k=2), grad_cam(gpu, image, top_k=2)
    assert [p.index for p in cam_cpu.predictions] == [p.index for p in cam_gpu.predictions]
    assert np.allclose(cam_cpu.maps[0], cam_gpu.maps[0], atol=2e-2)
    field = effective_field(gpu, image, "layer3_1_out", 7, 7)
    assert field.shape == (224, 224) and field.max() == pytest.approx(1.0)
    occlusion = occlusion_map(gpu, image, patch=56, stride=56)
    assert occlusion.heatmap.shape == (224, 224)
    frame = window_animation(gpu, b, "conv1").frame(100)
    assert frame.value == pytest.approx(frame.output, rel=1e-3, abs=1e-3)  # the products sum to the layer's output


def test_the_window_keeps_running_while_a_gpu_trains(window, qtbot, monkeypatch):
    """Behaviour, not timing (bench/train_overhead.py --device cuda measures the stalls): the event
    loop keeps serving timers while the run trains on the GPU in its own thread."""
    from PySide6.QtCore import QTimer

    from convviz.ui.train import panel as train_panel

    monkeypatch.setattr(train_panel, "load_dataset_for", lambda spec, shape, val, seed: load_dataset(
        spec, shape, val_fraction=0.25, seed=seed, synthetic_size=2400))
    window.tabs.setCurrentIndex(window.train_tab)
    panel = window.tab_widget(window.train_tab)
    qtbot.waitUntil(lambda: panel.dataset is not None, timeout=60000)
    panel.form.set_config(TrainConfig(device="cuda", epochs=3))
    ticks = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(panel.run is not None))
    timer.start()
    panel.start()
    qtbot.waitUntil(lambda: panel.run is None, timeout=120000)
    timer.stop()
    assert "Done" in panel.status.text(), panel.status.text()
    assert sum(ticks) >= 5  # the timer fired again and again while the run was going
    assert window.document.weights is not None
