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

from ..analysis import Analysis, analyze
from ..analysis.memory import training_memory
from ..data import Dataset, DatasetError, Preprocess, balanced_subset, make_batches
from ..design import Design
from ..design.ports import node_of
from ..i18n import ntr, tr
from ..messages import first_line
from ..model import carry_over_weights, seeded_model
from ..model.memory import batch_advice, is_out_of_memory, out_of_memory_message, require_memory
from .config import TrainConfig
from .control import TrainControl
from .heads import head_loss, main_scores
from .devices import describe_device, resolve_device, resolve_precision
from .gradients import GradientMeter
from .optim import make_optimizer, make_schedule
from .records import (DIVERGED, FAILED, FINISHED, STOPPED, EndRecord, EpochRecord, ProbeRecord, Record,
                      SnapshotRecord, StartRecord, StepRecord)

#: A probe: called with the model (in eval mode, on the training device) and the run's ``Preprocess``
#: at evenly spread steps; what it returns is yielded as a ``ProbeRecord`` (the run store's replay).
Probe = Callable[[torch.nn.Module, Preprocess], Any]

#: Divergence: the validation accuracy within this share of the way from chance to perfect …
CHANCE_MARGIN = 0.1
#: … while the validation loss is this many times above its best (or above a uniform guess's, ln K) …
DIVERGED_LOSS_FACTOR = 3.0
#: … or, in the first epoch (no best yet, and a high learning rate may still recover), this many times ln K.
DIVERGED_FIRST_EPOCH_FACTOR = 10.0


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
                 workers: int | None = None, gradient_stats: bool = True, probe: Probe | None = None,
                 probe_points: int = 32) -> None:
        """``gradient_stats``: measure each layer's gradient norm and update ratio on the reported steps
        (``StepRecord.gradients``). ``probe``: called at ``probe_points`` steps spread evenly over the
        run (the first before any training, the last at its end), yielding ``ProbeRecord``s."""
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
        self.loss = head_loss(self.design, analysis)
        self.model = seeded_model(self.design, config.seed, analysis, heads=self.loss.build)
        self.carried = carry_over_weights(self.model, initial_state) if initial_state is not None else []
        channels = dataset.shape[0]
        self.mean, self.std = dataset.mean_std() if config.normalize else ([0.0] * channels, [1.0] * channels)
        self.train_split = balanced_subset(dataset.train, config.train_images, config.seed)
        try:
            self.model.to(self.device)
            self.train_batches = make_batches(self.train_split, config.batch_size, self.device, shuffle=True,
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
        self.gradients = GradientMeter(self.model) if gradient_stats else None
        self.probe = probe
        points = max(2, probe_points)
        self.probe_steps = {round(i * self.total_steps / (points - 1)) for i in range(points)} if probe else set()

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
        self._good_state = self._cpu_state()   # what a NaN failure or a divergence falls back to
        self._good_epoch = 0                    # … and the epoch it is from (0: the start)
        self._best_state: OrderedDict[str, torch.Tensor] | None = None
        self._gradients: torch.Tensor | None = None
        self._measure_next = True
        self._epoch, self._step = 1, 0
        yield self._start_record()
        self._next_report = self._started + self.report_interval
        self._next_snapshot = self._started + self.snapshot_interval
        if self.snapshot_interval < math.inf:
            yield self._snapshot(0, 0)
        self._probed = -1
        if 0 in self.probe_steps:
            yield self._probe(0, 0)
        reason, message, fell_back, out_of_memory = FINISHED, "", False, False
        try:
            for epoch in range(1, self.config.epochs + 1):
                yield from self._train_epoch(epoch)
                if self._interrupted:
                    break
                record = self._evaluate(epoch)
                problem = self._divergence(record)
                if problem:   # yielded without weights (nothing takes the diverged ones), never the best
                    best = self._history[-1] if self._history else None
                    yield dataclasses.replace(record, best_epoch=best.best_epoch if best else 0,
                                              best_val_acc=best.best_val_acc if best else 0.0)
                    reason, message, fell_back = DIVERGED, problem, True
                    break
                self._good_state, self._good_epoch = self._cpu_state(), epoch
                if record.best_epoch == epoch:
                    self._best_state = self._good_state
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
            message = (tr("stopped in epoch {epoch}, step {step}; the weights trained so far are kept").format(
                epoch=self._epoch, step=self._step) if self._step else
                tr("stopped after epoch {epoch}; the weights trained so far are kept").format(epoch=self._epoch - 1))
        elif reason == FINISHED:
            message = ntr("trained {n} epoch", "trained {n} epochs", self.config.epochs).format(n=self.config.epochs)
        if self.probe is not None and reason in (FINISHED, STOPPED) and self._probed != self._global_step:
            yield self._probe(self._epoch, self._step)   # the replay ends where the run ended
        yield self._end_record(reason, message, self._good_state if fell_back else self._cpu_state())

    def _train_epoch(self, epoch: int) -> Iterator[Record]:
        self.model.train()
        self._epoch, self._step = epoch, 0
        self._losses: list[torch.Tensor] = []
        self._head_losses: list[torch.Tensor] = []
        self._hits: list[torch.Tensor] = []
        self._window_samples, self._window_start = 0, time.perf_counter()
        self._epoch_sums = [0.0, 0.0, 0]       # loss · steps, hits, samples
        self._epoch_heads = [0.0] * len(self.loss.names)  # each head's loss · steps
        self._epoch_steps = 0
        epoch_start = time.perf_counter()
        paused_before = self._paused_seconds
        control, autocast, meter = self.control, self.precision.autocast, self.gradients
        for step, (images, labels) in enumerate(self.train_batches, 1):
            if control.paused:
                yield from self._pause()
            if control.stopped:
                self._interrupted = True
                break
            # The first step after each report is measured: one measurement per report, at its rate.
            measure = meter is not None and self._measure_next
            x = self.preprocess(images, train=True)
            with autocast(self.device):
                outputs = self.forward(x)
                loss, head_losses = self.loss(outputs, labels)
            logits = main_scores(outputs)
            self.optimizer.zero_grad(set_to_none=True)
            self._lr_used = self.optimizer.param_groups[0]["lr"]
            if self.scaler is None:
                loss.backward()
                if measure:
                    meter.before_step()
                self.optimizer.step()
            else:
                self.scaler.scale(loss).backward()
                if measure:
                    self.scaler.unscale_(self.optimizer)   # true gradients; step() then does not unscale again
                    meter.before_step()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            if measure:
                self._gradients, self._measure_next = meter.after_step(), False
            if self.schedule is not None:
                self.schedule.step()
            self._losses.append(loss.detach())
            if self.loss.several:
                self._head_losses.append(head_losses.detach())
            self._hits.append((logits.detach().argmax(1) == labels).sum())
            self._window_samples += len(labels)
            self._step, self._global_step = step, self._global_step + 1
            now = time.perf_counter()
            if now >= self._next_report:
                yield self._flush()
            if now >= self._next_snapshot:
                yield self._snapshot(epoch, step)
            if self._global_step in self.probe_steps:
                yield self._probe(epoch, step)
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
        parts = [torch.stack(self._losses).float().sum().view(1), torch.stack(self._hits).sum().float().view(1)]
        if self._head_losses:
            parts.append(torch.stack(self._head_losses).float().sum(0))
        gradients, self._gradients, self._measure_next = self._gradients, None, True
        if gradients is not None:
            parts.append(gradients.flatten())
        values = torch.cat(parts).cpu().numpy()   # one transfer for everything reported
        loss_sum, hits = float(values[0]), float(values[1])
        heads = len(self.loss.names) if self._head_losses else 0
        head_sums = values[2:2 + heads].tolist()
        grads = values[2 + heads:].reshape(-1, 2).astype(np.float32) if gradients is not None else None
        self._losses.clear()
        self._hits.clear()
        self._head_losses.clear()
        if not math.isfinite(loss_sum):
            raise _LossNotFinite(self._nan_message(loss_sum))
        now = time.perf_counter()
        samples = self._window_samples
        speed = samples / max(now - self._window_start, 1e-9)
        self._window_samples, self._window_start = 0, now
        self._next_report = now + self.report_interval
        sums = self._epoch_sums
        for i, value in enumerate(head_sums):
            self._epoch_heads[i] += value
        sums[0] += loss_sum
        sums[1] += hits
        sums[2] += samples
        self._epoch_steps += steps
        active = now - self._started - self._paused_seconds
        eta = active / self._global_step * (self.total_steps - self._global_step)
        return StepRecord(self._epoch, self._step, self.steps_per_epoch, self._global_step, self.total_steps,
                          loss_sum / steps, hits / max(samples, 1), self._lr(), speed, eta,
                          tuple(value / steps for value in head_sums), grads)

    def _snapshot(self, epoch: int, step: int) -> SnapshotRecord:
        self._next_snapshot = time.perf_counter() + self.snapshot_interval
        weight = getattr(self.model, self.snapshot_node).weight
        copy = weight.detach().to("cpu", torch.float32, copy=True).numpy()
        return SnapshotRecord(epoch, step, self._global_step, self.snapshot_node, copy)

    def _probe(self, epoch: int, step: int) -> ProbeRecord:
        """The probe on the model as it is now, in eval mode (batch norm's statistics stay as they are)."""
        self._probed = self._global_step
        self.model.eval()
        try:
            data = self.probe(self.model, self.preprocess)
        finally:
            self.model.train()
        return ProbeRecord(epoch, step, self._global_step, data)

    @torch.no_grad()
    def _evaluate(self, epoch: int) -> EpochRecord:
        self.model.eval()
        k = self.classes
        loss_sum = torch.zeros((), device=self.device)
        head_sums = torch.zeros(len(self.loss.names), device=self.device)
        confusion = torch.zeros(k * k, dtype=torch.int64, device=self.device)
        for images, labels in self.val_batches:
            with self.precision.autocast(self.device):
                outputs = self.forward(self.preprocess(images, train=False))
            total, parts = self.loss(outputs, labels, reduction="sum")
            loss_sum += total
            head_sums += parts
            confusion += torch.bincount(labels * k + main_scores(outputs).argmax(1), minlength=k * k)
        matrix = confusion.view(k, k).cpu().numpy()
        val_loss = loss_sum.item()
        if not math.isfinite(val_loss):
            raise _LossNotFinite(self._nan_message(val_loss, tr("validation loss")))
        total = int(matrix.sum())
        per_class = np.divide(np.diag(matrix), matrix.sum(1), out=np.full(k, np.nan), where=matrix.sum(1) > 0)
        val_acc = float(np.trace(matrix)) / max(total, 1)
        best = max(self._history, key=lambda r: r.val_acc, default=None)
        best_epoch, best_acc = (epoch, val_acc) if best is None or val_acc > best.val_acc else \
            (best.best_epoch, best.best_val_acc)
        loss_steps, hits, samples = self._epoch_sums
        heads = {}
        if self.loss.several:
            steps = max(self._epoch_steps, 1)
            heads = {"head_losses": tuple(value / steps for value in self._epoch_heads),
                     "val_head_losses": tuple(value / max(total, 1) for value in head_sums.tolist()),
                     "heads": self.loss.names}
        record = EpochRecord(
            epoch, self.config.epochs, loss_steps / max(self._epoch_steps, 1), hits / max(samples, 1),
            val_loss / max(total, 1), val_acc, matrix, per_class, best_epoch, best_acc, self._lr(),
            samples / max(self._epoch_seconds, 1e-9), self._epoch_seconds, **heads)
        self._history.append(record)
        return record

    # --- records -------------------------------------------------------------------------------
    def _start_record(self) -> StartRecord:
        notes = tuple(n for n in (self.precision.note,) if n) + tuple(
            tr("augmentation changes labels here — {warning}").format(warning=warning)
            for warning in self.dataset.augmentation_warnings(self.config.augment))
        return StartRecord(describe_device(self.device), self.precision.amp, self.config.epochs,
                           self.steps_per_epoch, len(self.train_split), len(self.dataset.val),
                           tuple(self.dataset.classes), sum(p.numel() for p in self.model.parameters()),
                           tuple(self.carried), self.snapshot_node, notes,
                           self.gradients.layers if self.gradients is not None else (), self._good_state,
                           (list(self.mean), list(self.std)) if self.config.normalize else None)

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
                         {"config": self.config.to_dict(), "results": results}, self._best_state)

    # --- helpers -------------------------------------------------------------------------------
    def _lr(self) -> float:
        """The learning rate of the latest step (the schedule has already moved on to the next one's)."""
        return float(self._lr_used)

    def _cpu_state(self) -> OrderedDict[str, torch.Tensor]:
        return OrderedDict((k, v.detach().to("cpu", copy=True)) for k, v in self.model.state_dict().items())

    def _kept(self) -> str:
        return (tr("the weights of epoch {epoch} are kept").format(epoch=self._good_epoch) if self._good_epoch
                else tr("the starting weights are kept"))

    def _nan_message(self, value: float, what: str | None = None) -> str:
        lr = self.config.lr
        return tr("the {what} became {value} in epoch {epoch} (step {step}): the learning rate {lr} is probably too "
                  "high for this network; lower it (try {lower}); {kept}").format(
            what=what or tr("loss"), value=value, epoch=self._epoch, step=self._step, lr=f"{lr:g}",
            lower=f"{lr / 10:g}", kept=self._kept())

    def _divergence(self, record: EpochRecord) -> str:
        """Why the run diverged ("" when it has not): the accuracy fell to chance while the validation
        loss rose far above its best (a finite loss, so the NaN check cannot see it)."""
        chance = 1 / max(self.classes, 1)
        earlier = [r.val_loss for r in self._history[:-1]]
        reference = min([math.log(max(self.classes, 2)), *earlier])
        factor = DIVERGED_LOSS_FACTOR if earlier else DIVERGED_FIRST_EPOCH_FACTOR
        if record.val_acc > chance + CHANCE_MARGIN * (1 - chance) or record.val_loss <= factor * reference:
            return ""
        self._history.pop()   # the diverged epoch neither counts as completed nor as the best
        lr = self.config.lr
        return tr("diverged in epoch {epoch}: the validation loss rose to {loss} (best {best}) and the accuracy fell "
                  "to {acc} % (chance: {chance} %): the learning rate {lr} is probably too high; lower it (try "
                  "{lower}); {kept}").format(
            epoch=record.epoch, loss=f"{record.val_loss:.3g}", best=f"{reference:.3g}",
            acc=f"{100 * record.val_acc:.1f}", chance=f"{100 * chance:.0f}", lr=f"{lr:g}", lower=f"{lr / 10:g}",
            kept=self._kept())

    def _runtime_failure(self, exc: BaseException, out_of_memory: bool) -> str:
        if out_of_memory:
            size = self.config.batch_size
            return out_of_memory_message(exc, self.device, self.memory,
                                         tr("use a smaller batch size (try {n}) or a smaller design").format(n=max(1, size // 2)))
        return tr("torch.compile failed ({error}): switch compile off").format(error=first_line(exc))

    def _free_device_memory(self) -> None:
        self._losses, self._hits, self._head_losses = [], [], []
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
        raise TrainError(tr("the dataset was prepared for {data} images but the design takes {design}: load the "
                            "dataset again for this design").format(data=_dims(dataset.shape),
                                                                     design=_dims(design.input.shape)))
    if not analysis.ok:
        raise TrainError(tr("the design cannot be trained: {error}").format(error=analysis.first_error()))
    out, shape, classes = analysis.output, analysis.output_shape, len(dataset.classes)
    for head in analysis.heads[1:]:  # an auxiliary head scores the same classes as the main one
        aux = analysis.shape_of(head)
        if aux is None or len(aux) != 1 or aux[0] != classes:
            raise TrainError(f"the auxiliary head {head!r} gives {_dims(aux or ())} per image, but {dataset.name} "
                             f"has {classes} classes: end it with a Linear layer with {classes} outputs")
    if design.node(node_of(out)).type == "Softmax":
        raise TrainError(tr("the design ends in Softmax ({node}), but cross-entropy applies softmax itself: remove "
                            "{node} to train (the Issues list has the fix)").format(node=repr(out)))
    if shape is None or len(shape) != 1:
        raise TrainError(tr("the design's output {node} is {shape} per image, not one score per class: end with "
                            "Flatten and a Linear layer with {classes} outputs").format(
            node=repr(out), shape=_dims(shape or ()), classes=classes))
    if shape[0] != classes:
        raise TrainError(tr("the design ends in {node} with {outputs} outputs, but {data} has {classes} classes: give "
                            "the final Linear layer {classes} outputs (out_features)").format(
            node=repr(out), outputs=shape[0], data=dataset.title, classes=classes))


def first_conv(design: Design, analysis: Analysis) -> str | None:
    """The first Conv2d in execution order: the layer whose filters the live view shows."""
    return next((nid for nid in analysis.order if design.node(nid).type == "Conv2d"), None)


def _is_compile_failure(exc: BaseException) -> bool:
    """An error from torch.compile's machinery, not from the model (a shape error stays a shape error)."""
    from torch._dynamo.exc import TorchDynamoException

    return isinstance(exc, TorchDynamoException) or type(exc).__module__.startswith(("torch._dynamo", "torch._inductor"))


def _dims(shape) -> str:
    return "×".join(map(str, shape)) or tr("nothing")
