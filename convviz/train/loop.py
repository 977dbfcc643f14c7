"""The training loop: a plain generator of records, steered by a ``TrainControl`` from any thread.

    trainer = Trainer(design, dataset, config, control=control)   # checks and prepares; may raise
    for record in trainer:                                        # trains; ends with an EndRecord
        ...

The model is built from a copy of the design, so edits made while it trains cannot touch it.
Per step the loop only queues work on the device: loss and hit counts stay there and are read
(one synchronisation) at the report rate, which is also when a NaN loss is noticed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..analysis import Analysis, analyze
from ..analysis.memory import training_memory
from ..data import Dataset, DatasetError, Preprocess, make_batches
from ..design import Design
from ..i18n import tr
from ..messages import first_line
from ..model import carry_over_weights, seeded_model
from ..model.memory import batch_advice, is_out_of_memory, out_of_memory_message, require_memory
from .config import TrainConfig
from .control import TrainControl
from .devices import describe_device, resolve_device, resolve_precision
from .optim import make_optimizer, make_schedule
from .records import FAILED, FINISHED, STOPPED, EndRecord, EpochRecord, Record, SnapshotRecord, StartRecord, StepRecord


class TrainError(ValueError):
    """A run that cannot start: the design has errors or does not fit the dataset. One line, with the fix."""


class _LossNotFinite(Exception):
    pass


class Trainer:
    """One training run. The constructor checks and prepares (and raises ``TrainError``, ``ConfigError``,
    ``DatasetError`` or ``MemoryBudgetError``: the run would not fit the device's free memory);
    iterating trains and yields records. Iterate once, in a worker thread."""

    def __init__(self, design: Design, dataset: Dataset, config: TrainConfig | None = None, *,
                 control: TrainControl | None = None, initial_state: Mapping[str, torch.Tensor] | None = None,
                 report_rate: float = 10.0, snapshot_rate: float = 20.0, snapshot_node: str | None = None,
                 workers: int | None = None) -> None:
        self.config = config = config or TrainConfig()
        self.control = control or TrainControl()
        self.dataset = dataset
        self.design = design.copy()
        self.design.set_classes(dataset.classes)
        analysis = analyze(self.design)
        check_trainable(self.design, analysis, dataset)
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.amp, self.device)
        # Before any tensor exists: a run that cannot fit is refused now, in one line, not killed later.
        self.memory = training_memory(self.design, analysis, config.batch_size, config.optimizer, config.momentum,
                                      activation_scale=0.6 if self.precision.dtype is not None else 1.0)
        require_memory(self.memory, self.device, tr("training at batch size {n}").format(n=config.batch_size),
                       batch_advice(self.memory, self.device))
        self.model = seeded_model(self.design, config.seed, analysis)
        self.carried = carry_over_weights(self.model, initial_state) if initial_state is not None else []
        channels = dataset.shape[0]
        self.mean, self.std = dataset.mean_std() if config.normalize else ([0.0] * channels, [1.0] * channels)
        try:
            self.model.to(self.device)
            self.train_batches = make_batches(dataset.train, config.batch_size, self.device, shuffle=True,
                                              seed=config.seed, workers=workers)
            self.val_batches = make_batches(dataset.val, 2 * config.batch_size, self.device, shuffle=False,
                                            workers=workers)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            self._release()
            raise TrainError(out_of_memory_message(exc, self.device, self.memory, tr("use a smaller dataset or design, or train on the CPU"))) from None
        self.preprocess = Preprocess(dataset.shape, self.mean, self.std, self.device, config.augment, config.seed)
        self.optimizer = make_optimizer(self.model, config)
        self.schedule = make_schedule(self.optimizer, config, len(self.train_batches))
        self.scaler = self.precision.grad_scaler(self.device)
        self.forward = torch.compile(self.model) if config.compile else self.model
        self.snapshot_node = snapshot_node if snapshot_node is not None else first_conv(self.design, analysis)
        self.report_interval = 1 / report_rate if report_rate > 0 else math.inf
        self.snapshot_interval = 1 / snapshot_rate if snapshot_rate > 0 and self.snapshot_node else math.inf
        self.steps_per_epoch = len(self.train_batches)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.classes = len(dataset.classes)

    # --- the run -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        # Dropout draws from the global generators: seed them for the run (so a seed reproduces it) and
        # give the caller back its own random state afterwards.
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed)
            try:
                yield from self._run()
            finally:
                self._release()

    def _run(self) -> Iterator[Record]:
        self._started = time.perf_counter()
        self._paused_seconds = 0.0
        self._global_step = 0
        self._lr_used = self.config.lr
        self._interrupted = False
        self._history: list[EpochRecord] = []
        self._good_state = self._cpu_state()   # what a NaN failure falls back to
        yield self._start_record()
        self._next_report = self._started + self.report_interval
        self._next_snapshot = self._started + self.snapshot_interval
        if self.snapshot_interval < math.inf:
            yield self._snapshot(0, 0)
        reason, message, fell_back, out_of_memory = FINISHED, "", False, False
        try:
            for epoch in range(1, self.config.epochs + 1):
                yield from self._train_epoch(epoch)
                if self._interrupted:
                    break
                record = self._evaluate(epoch)
                self._good_state = self._cpu_state()
                yield dataclasses.replace(record, state=self._good_state)
        except _LossNotFinite as exc:
            reason, message, fell_back = FAILED, str(exc), True
        except DatasetError as exc:
            reason, message = FAILED, str(exc)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc) and not (self.config.compile and _is_compile_failure(exc)):
                raise
            out_of_memory = is_out_of_memory(exc)
            reason, message = FAILED, self._runtime_failure(exc, out_of_memory)
        if out_of_memory:  # outside the handler, so the traceback no longer holds the step's tensors
            self._free_device_memory()
        if self._interrupted and reason == FINISHED:
            reason = STOPPED
            where = f"in epoch {self._epoch}, step {self._step}" if self._step else f"after epoch {self._epoch - 1}"
            message = f"stopped {where}; the weights trained so far are kept"
        elif reason == FINISHED:
            message = f"trained {self.config.epochs} epoch(s)"
        yield self._end_record(reason, message, self._good_state if fell_back else self._cpu_state())

    def _train_epoch(self, epoch: int) -> Iterator[Record]:
        self.model.train()
        self._epoch, self._step = epoch, 0
        self._losses: list[torch.Tensor] = []
        self._hits: list[torch.Tensor] = []
        self._window_samples, self._window_start = 0, time.perf_counter()
        self._epoch_sums = [0.0, 0.0, 0]       # loss · steps, hits, samples
        self._epoch_steps = 0
        epoch_start = time.perf_counter()
        paused_before = self._paused_seconds
        control, autocast = self.control, self.precision.autocast
        for step, (images, labels) in enumerate(self.train_batches, 1):
            if control.paused:
                yield from self._pause()
            if control.stopped:
                self._interrupted = True
                break
            x = self.preprocess(images, train=True)
            with autocast(self.device):
                logits = self.forward(x)
                loss = F.cross_entropy(logits, labels)
            self.optimizer.zero_grad(set_to_none=True)
            self._lr_used = self.optimizer.param_groups[0]["lr"]
            if self.scaler is None:
                loss.backward()
                self.optimizer.step()
            else:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            if self.schedule is not None:
                self.schedule.step()
            self._losses.append(loss.detach())
            self._hits.append((logits.detach().argmax(1) == labels).sum())
            self._window_samples += len(labels)
            self._step, self._global_step = step, self._global_step + 1
            now = time.perf_counter()
            if now >= self._next_report:
                yield self._flush()
            if now >= self._next_snapshot:
                yield self._snapshot(epoch, step)
        if self._losses:
            yield self._flush()
        self._epoch_seconds = time.perf_counter() - epoch_start - (self._paused_seconds - paused_before)

    def _pause(self) -> Iterator[Record]:
        """Report where the run stands, then block until resumed or stopped (the time is not counted)."""
        if self._losses:
            yield self._flush()
        if self.snapshot_interval < math.inf:
            yield self._snapshot(self._epoch, self._step)
        paused_at = time.perf_counter()
        self.control.wait_while_paused()
        self._paused_seconds += time.perf_counter() - paused_at
        self._window_start += time.perf_counter() - paused_at

    def _flush(self) -> StepRecord:
        """Read the losses and hits queued since the last report: the loop's one synchronisation point."""
        steps = len(self._losses)
        loss_sum, hits = torch.stack([torch.stack(self._losses).float().sum(),
                                      torch.stack(self._hits).sum().float()]).tolist()
        self._losses.clear()
        self._hits.clear()
        if not math.isfinite(loss_sum):
            raise _LossNotFinite(self._nan_message(loss_sum))
        now = time.perf_counter()
        samples = self._window_samples
        speed = samples / max(now - self._window_start, 1e-9)
        self._window_samples, self._window_start = 0, now
        self._next_report = now + self.report_interval
        sums = self._epoch_sums
        sums[0] += loss_sum
        sums[1] += hits
        sums[2] += samples
        self._epoch_steps += steps
        active = now - self._started - self._paused_seconds
        eta = active / self._global_step * (self.total_steps - self._global_step)
        return StepRecord(self._epoch, self._step, self.steps_per_epoch, self._global_step, self.total_steps,
                          loss_sum / steps, hits / max(samples, 1), self._lr(), speed, eta)

    def _snapshot(self, epoch: int, step: int) -> SnapshotRecord:
        self._next_snapshot = time.perf_counter() + self.snapshot_interval
        weight = getattr(self.model, self.snapshot_node).weight
        copy = weight.detach().to("cpu", torch.float32, copy=True).numpy()
        return SnapshotRecord(epoch, step, self._global_step, self.snapshot_node, copy)

    @torch.no_grad()
    def _evaluate(self, epoch: int) -> EpochRecord:
        self.model.eval()
        k = self.classes
        loss_sum = torch.zeros((), device=self.device)
        confusion = torch.zeros(k * k, dtype=torch.int64, device=self.device)
        for images, labels in self.val_batches:
            with self.precision.autocast(self.device):
                logits = self.forward(self.preprocess(images, train=False))
            loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
            confusion += torch.bincount(labels * k + logits.argmax(1), minlength=k * k)
        matrix = confusion.view(k, k).cpu().numpy()
        val_loss = loss_sum.item()
        if not math.isfinite(val_loss):
            raise _LossNotFinite(self._nan_message(val_loss, "validation loss"))
        total = int(matrix.sum())
        per_class = np.divide(np.diag(matrix), matrix.sum(1), out=np.full(k, np.nan), where=matrix.sum(1) > 0)
        val_acc = float(np.trace(matrix)) / max(total, 1)
        best = max(self._history, key=lambda r: r.val_acc, default=None)
        best_epoch, best_acc = (epoch, val_acc) if best is None or val_acc > best.val_acc else \
            (best.best_epoch, best.best_val_acc)
        loss_steps, hits, samples = self._epoch_sums
        record = EpochRecord(
            epoch, self.config.epochs, loss_steps / max(self._epoch_steps, 1), hits / max(samples, 1),
            val_loss / max(total, 1), val_acc, matrix, per_class, best_epoch, best_acc, self._lr(),
            samples / max(self._epoch_seconds, 1e-9), self._epoch_seconds)
        self._history.append(record)
        return record

    # --- records -------------------------------------------------------------------------------
    def _start_record(self) -> StartRecord:
        notes = tuple(n for n in (self.precision.note,) if n) + tuple(
            f"augmentation changes labels here — {warning}" for warning in self.dataset.augmentation_warnings(
                self.config.augment))
        return StartRecord(describe_device(self.device), self.precision.amp, self.config.epochs,
                           self.steps_per_epoch, len(self.dataset.train), len(self.dataset.val),
                           tuple(self.dataset.classes), sum(p.numel() for p in self.model.parameters()),
                           tuple(self.carried), self.snapshot_node, notes)

    def _end_record(self, reason: str, message: str, state: OrderedDict[str, torch.Tensor]) -> EndRecord:
        history = tuple(self._history)
        best = history[-1] if history else None
        seconds = time.perf_counter() - self._started - self._paused_seconds
        results: dict[str, Any] = {
            "reason": reason, "message": message, "dataset": self.dataset.name,
            "epochs_completed": len(history), "best_epoch": best.best_epoch if best else 0,
            "best_val_acc": best.best_val_acc if best else 0.0, "device": describe_device(self.device),
            "amp": self.precision.amp, "seconds": seconds, "history": [r.to_json() for r in history]}
        return EndRecord(reason, message, self.design, state, list(self.mean), list(self.std), len(history),
                         results["best_epoch"], results["best_val_acc"], history, seconds,
                         {"config": self.config.to_dict(), "results": results})

    # --- helpers -------------------------------------------------------------------------------
    def _lr(self) -> float:
        """The learning rate of the latest step (the schedule has already moved on to the next one's)."""
        return float(self._lr_used)

    def _cpu_state(self) -> OrderedDict[str, torch.Tensor]:
        return OrderedDict((k, v.detach().to("cpu", copy=True)) for k, v in self.model.state_dict().items())

    def _nan_message(self, value: float, what: str = "loss") -> str:
        kept = f"the weights of epoch {len(self._history)} are kept" if self._history else \
            "the starting weights are kept"
        lr = self.config.lr
        return (f"the {what} became {value} in epoch {self._epoch} (step {self._step}): the learning rate {lr:g} "
                f"is probably too high for this network; lower it (try {lr / 10:g}); {kept}")

    def _runtime_failure(self, exc: BaseException, out_of_memory: bool) -> str:
        if out_of_memory:
            size = self.config.batch_size
            return out_of_memory_message(exc, self.device, self.memory,
                                         tr("use a smaller batch size (try {n}) or a smaller design").format(n=max(1, size // 2)))
        return f"torch.compile failed ({first_line(exc)}): switch compile off"

    def _free_device_memory(self) -> None:
        self._losses, self._hits = [], []
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _release(self) -> None:
        """Give the device memory back when the run is over (the end record holds CPU copies)."""
        self.train_batches = self.val_batches = None
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None:
            optimizer.state.clear()
        self.model.to("cpu")
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def train(design: Design, dataset: Dataset, config: TrainConfig | None = None, *,
          on_record: Callable[[Record], None] | None = None, **options: Any) -> EndRecord:
    """Run a ``Trainer`` to its end, passing every record to ``on_record``; returns the ``EndRecord``."""
    record = None
    for record in Trainer(design, dataset, config, **options):
        if on_record is not None:
            on_record(record)
    assert isinstance(record, EndRecord)
    return record


def check_trainable(design: Design, analysis: Analysis, dataset: Dataset) -> None:
    """Raise ``TrainError`` unless the design builds and ends in one score per class of ``dataset``."""
    if tuple(design.input.shape) != tuple(dataset.shape):
        raise TrainError(f"the dataset was prepared for {_dims(dataset.shape)} images but the design takes "
                         f"{_dims(design.input.shape)}: load the dataset again for this design")
    if not analysis.ok:
        raise TrainError(f"the design cannot be trained: {analysis.first_error()}")
    out, shape, classes = analysis.output, analysis.output_shape, len(dataset.classes)
    if design.node(out).type == "Softmax":
        raise TrainError(f"the design ends in Softmax ({out!r}), but cross-entropy applies softmax itself: remove "
                         f"{out!r} to train (the Issues list has the fix)")
    if shape is None or len(shape) != 1:
        raise TrainError(f"the design's output {out!r} is {_dims(shape or ())} per image, not one score per class: "
                         f"end with Flatten and a Linear layer with {classes} outputs")
    if shape[0] != classes:
        raise TrainError(f"the design ends in {out!r} with {shape[0]} outputs, but {dataset.name} has {classes} "
                         f"classes: give the final Linear layer {classes} outputs (out_features)")


def first_conv(design: Design, analysis: Analysis) -> str | None:
    """The first Conv2d in execution order: the layer whose filters the live view shows."""
    return next((nid for nid in analysis.order if design.node(nid).type == "Conv2d"), None)


def _is_compile_failure(exc: BaseException) -> bool:
    """An error from torch.compile's machinery, not from the model (a shape error stays a shape error)."""
    from torch._dynamo.exc import TorchDynamoException

    return isinstance(exc, TorchDynamoException) or type(exc).__module__.startswith(("torch._dynamo", "torch._inductor"))


def _dims(shape) -> str:
    return "×".join(map(str, shape)) or "nothing"
