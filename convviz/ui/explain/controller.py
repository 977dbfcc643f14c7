"""The Explain tab's shared state: one built network, one image and its captured activations.

Every view reads from here instead of keeping its own copy, so all of them explain the same
model on the same pixels. The model is rebuilt lazily — only while the tab is shown, 150 ms after
the last design edit, at once when weights arrive — in a worker; the image is re-captured on the
new model. Views run their own work through ``run`` (one channel each: only the newest result of a
channel is delivered).

Whether anything is current is decided by one key (``key``: the document's ``ResultKey`` with the
image's generation): the model, the capture and every view's result carry the key they were made
with, and ``is_current`` compares it with this one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from ...data.images import ImageSource, PreparedImage, read_image_file
from ...design import Design
from ...explain import Activations, Network, feature_maps, network_from_design
from ...i18n import ntr, tr
from ...model import carry_over_weights, tensors_by_node
from ..document import Document, ResultKey
from ..tasks import Task, TaskRunner, model_thread

#: Design edits come in bursts (spin boxes, drags): rebuild once they pause.
EDIT_DEBOUNCE_MS = 150


@dataclass(frozen=True)
class BuiltNetwork:
    network: Network
    #: "random initial weights", "trained weights", "trained weights — except conv2 (…)".
    label: str
    #: True only when every layer runs with trained weights.
    trained: bool
    #: The random initial tensors of this build, kept for the next build of an edited design so
    #: unchanged layers do not get new random weights on every edit.
    random_state: dict[str, torch.Tensor]
    #: The design and weights it was built from (input None: a model depends on no image).
    key: ResultKey = ResultKey(-1, -1, None)


@dataclass(frozen=True)
class Capture:
    """One image through one network: every node's output, ready for every view."""

    network: Network
    image: PreparedImage
    activations: Activations
    #: What the image is: a file name, "the pasted image", a sample's name.
    name: str
    #: The model's key with the image's generation.
    key: ResultKey = ResultKey(-1, -1, -1)
    #: What views asked to have made from it in the capture's own job (``FollowUp``), by name.
    prepared: dict[str, Any] = field(default_factory=dict)


#: (name, fn): ``fn(capture)`` runs in the capture's job, its result kept as ``capture.prepared[name]``.
FollowUp = tuple[str, Callable[["Capture"], Any]]


def build_network(design: Design, weights: Mapping[str, torch.Tensor] | None,
                  normalization: tuple[list[float], list[float]] | None,
                  previous_random: Mapping[str, torch.Tensor] | None = None,
                  key: ResultKey = ResultKey(-1, -1, None), training: Mapping[str, Any] | None = None) -> BuiltNetwork:
    """The model of ``design`` with the trained ``weights`` that still fit; the layers without
    trained weights keep ``previous_random`` tensors where their shapes are unchanged. Runs in a worker."""
    mean, std = normalization or ([], [])
    network = network_from_design(design, weights, mean=mean, std=std)
    by_node = tensors_by_node(network.model.state_dict())
    random_nodes = set(by_node) if not weights else set(network.untrained)
    if previous_random:
        carry_over_weights(network.model, {k: v for k, v in previous_random.items()
                                           if k.partition(".")[0] in random_nodes})
    random_state = {f"{node_id}.{name}": tensor for node_id in random_nodes for name, tensor in by_node[node_id].items()}
    return BuiltNetwork(network, weights_label(network, bool(weights), list(by_node), training), network.trained,
                        random_state, key)


def weights_label(network: Network, has_weights: bool, weighted: list[str],
                  training: Mapping[str, Any] | None = None) -> str:
    """Which weights the views run on, in words. ``training``: what the document says of them
    (``in_progress`` and ``epochs_completed`` while a run is still training)."""
    if not has_weights or (weighted and set(network.untrained) >= set(weighted)):
        return tr("random initial weights") + (tr(" (every layer changed since training)") if has_weights else "")
    training = training or {}
    if training.get("in_progress"):
        trained = tr("weights from epoch {epoch} of the run in progress").format(
            epoch=training.get("epochs_completed", "?"))
    else:
        trained = tr("trained weights")
    if not network.untrained:
        return trained
    names = list(network.untrained)
    shown = ", ".join(names[:6]) + (" " + ntr("and {count} more", "and {count} more", len(names) - 6).format(
        count=len(names) - 6) if len(names) > 6 else "")
    return trained + tr(" — except {names} (changed since training)").format(names=shown)


def capture_image(network: Network, source: ImageSource, name: str,
                  key: ResultKey = ResultKey(-1, -1, -1), follow_ups: tuple[FollowUp, ...] = (),
                  should_stop=None) -> Capture:
    """Prepare ``source`` for ``network``, record every node's output, then make what the shown view
    will draw (``follow_ups``: its first picture needs no second trip through the worker and the GUI
    thread, which cost a quarter of a bare forward pass). Runs in a worker; a file is read so that
    ``should_stop`` (closing the window) abandons a read stuck on a dead drive."""
    if isinstance(source, (str, os.PathLike)):
        source = read_image_file(source, should_stop=should_stop)
    image = network.prepare(source, name=name)
    capture = Capture(network, image, feature_maps(network, image), name, key)
    for follow_up, make in follow_ups:
        try:
            capture.prepared[follow_up] = make(capture)
        except Exception:  # noqa: BLE001 - the view's own job makes it again and reports what is wrong
            continue
    return capture


class ExplainController(QObject):
    #: ``built`` / ``problem`` changed (a new model, or why there is none).
    networkChanged = Signal()
    #: ``capture`` changed: a new image, or the same image on a new model.
    captureChanged = Signal()
    #: The image could not be used (one line naming it); the previous capture stays.
    imageFailed = Signal(str)
    #: The node, channel or unit the user chose (canvas selection, a view's combo, a click).
    selectionChanged = Signal()
    #: ``key`` changed: results made before no longer describe the design, weights or image.
    keyChanged = Signal(object)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        #: The model's work, on the app's one model thread; ``aside``: the rest (writing files), so a
        #: long export never holds up a view.
        self.runner = TaskRunner(self, model_thread())
        self.aside = TaskRunner(self)
        #: Asked on the GUI thread as each capture starts: what to make from it in the same job
        #: (a ``FollowUp``, or None): the shown view's first picture, the input's preview.
        self.follow_ups: list[Callable[[], FollowUp | None]] = []
        self.built: BuiltNetwork | None = None
        #: Why there is no network (the design's first error, a build failure), or None.
        self.problem: str | None = None
        self.capture: Capture | None = None
        self.source: tuple[ImageSource, str] | None = None
        self.node_id: str | None = None
        self.channel = 0
        #: (y, x) of the unit chosen in ``node_id``'s map, or None.
        self.unit: tuple[int, int] | None = None
        self._active = False
        #: The document key that ``built`` / ``problem`` describe (None: nothing made yet).
        self._made_for: ResultKey | None = None
        #: The key of the build / capture in flight, or None.
        self._building: ResultKey | None = None
        self._capturing: ResultKey | None = None
        #: Generation of the image last asked for, and of the image in effect (the last one that
        #: could be prepared): a file that fails to load leaves the previous image current.
        self._requested_image = 0
        self._image = 0
        self._random_state: dict[str, torch.Tensor] | None = None
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._rebuild)
        document.analysisChanged.connect(lambda _: self._schedule(EDIT_DEBOUNCE_MS))
        document.designReplaced.connect(self._on_design_replaced)
        document.weightsChanged.connect(lambda: self._schedule(0))
        document.keyChanged.connect(lambda _: self.keyChanged.emit(self.key))

    @property
    def network(self) -> Network | None:
        return self.built.network if self.built else None

    # --- what is current ---------------------------------------------------------------------------
    @property
    def key(self) -> ResultKey:
        """The key of results made from the design, weights and image as they are now."""
        return self.document.key.with_input(self._image)

    def is_current(self, key: ResultKey | None) -> bool:
        """The one comparison behind every view: was a result made from what is shown now?"""
        return key is not None and key.matches(self.key)

    @property
    def current_network(self) -> Network | None:
        """The model of the design and weights as they are now (None while it is being rebuilt)."""
        return self.built.network if self.built is not None and self.is_current(self.built.key) else None

    @property
    def current_capture(self) -> Capture | None:
        """The image in effect through the current model (None while either is being remade)."""
        return self.capture if self.capture is not None and self.is_current(self.capture.key) else None

    def _network_due(self) -> bool:
        return self._made_for != self.document.key.with_input(None)

    # --- lifecycle ---------------------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """The tab is shown (rebuild what went stale while it was hidden) or hidden (stop rebuilding)."""
        self._active = active
        if active and self._network_due() and not self._timer.isActive():
            self._timer.start(0)

    def _on_design_replaced(self) -> None:
        self._random_state = None  # another network: its random weights have nothing to do with these
        self._schedule(0)

    def _schedule(self, delay_ms: int) -> None:
        if not self._active:
            return
        if self._timer.isActive() and self._timer.remainingTime() <= delay_ms:
            return
        self._timer.start(delay_ms)

    def _rebuild(self) -> None:
        doc = self.document
        key = doc.key.with_input(None)
        if key in (self._made_for, self._building):
            return  # an edit that changed no number, or its model is on its way
        analysis = doc.analysis
        if not analysis.ok:
            self.runner.cancel("network")  # a build for an earlier, valid version must not land now
            self._set_network(None, tr("The design has errors — {error}").format(error=analysis.first_error()), key)
            return
        self._building = key
        self.run(build_network, doc.design.copy(), doc.weights, doc.normalization, self._random_state, key,
                 dict(doc.training_info), channel="network", on_done=self._on_built,
                 on_error=lambda msg, key=key: self._set_network(None, msg, key))

    def _on_built(self, built: BuiltNetwork) -> None:
        self._random_state = built.random_state
        self._set_network(built, None, built.key)

    def _set_network(self, built: BuiltNetwork | None, problem: str | None, key: ResultKey) -> None:
        self._building = None
        self._made_for = key
        self.built, self.problem = built, problem
        if built is None:
            self.capture, self._capturing = None, None
        elif self.node_id not in built.network.analysis.nodes:
            self.node_id, self.unit = None, None
        if built is not None and self.source is not None:
            self._capture()  # first: the views wait for it instead of drawing the old image's activations
        self.networkChanged.emit()
        if built is None:
            self.captureChanged.emit()

    # --- the image ---------------------------------------------------------------------------------
    def load(self, source: ImageSource, name: str) -> None:
        """Explain ``source`` (a path, bytes, an array, a Pillow image); failures arrive as ``imageFailed``."""
        self.source = (source, name)
        self._requested_image += 1
        if self._network_due():  # a new model is due: the image runs on that one
            self._schedule(0)
        elif self._building is not None:
            return
        elif self.network is not None:
            self._capture()
        else:
            self.imageFailed.emit(tr("{name} will be explained once the design has no errors").format(name=name))

    def _capture(self) -> None:
        source, name = self.source
        key = self.built.key.with_input(self._requested_image)
        self._capturing = key
        follow_ups = tuple(f for f in (provide() for provide in self.follow_ups) if f is not None)
        self.run(capture_image, self.built.network, source, name, key, follow_ups, channel="capture",
                 on_done=self._on_captured, on_error=self._on_capture_failed)

    @property
    def capturing(self) -> bool:
        """An image is being run through the model: views wait for it rather than redraw twice
        (or draw the old image's activations on a new model)."""
        return self._capturing is not None

    @property
    def waiting(self) -> bool:
        """A new model or capture is on its way: views wait for it instead of computing on the old one."""
        return self._capturing is not None or self._building is not None or \
            (self._active and self._network_due())

    def _on_captured(self, capture: Capture) -> None:
        self._capturing = None
        if self.built is None or capture.key.with_input(None) != self.built.key:
            return  # made on a model replaced since; the new model's capture is on its way
        new_image = capture.key.input != self._image
        self._image = capture.key.input
        self.capture = capture
        if new_image:
            self.keyChanged.emit(self.key)
        self.captureChanged.emit()

    def _on_capture_failed(self, message: str) -> None:
        self._capturing = None
        if self.capture is not None and not self.is_current(self.capture.key):
            self.capture = None  # the last good image was for the previous model
        self.captureChanged.emit()  # the views waited: let them draw what there is
        self.imageFailed.emit(message)

# --- what the user chose -----------------------------------------------------------------------
    def select(self, node_id: str | None = None, channel: int | None = None,
               unit: tuple[int, int] | None = None) -> None:
        """Choose a node (keeps the channel where it exists), a channel, a unit; views follow."""
        changed = False
        if node_id is not None and node_id != self.node_id:
            self.node_id, self.unit, changed = node_id, None, True
        if channel is not None and channel != self.channel:
            self.channel, changed = channel, True
        if unit is not None and unit != self.unit:
            self.unit, changed = unit, True
        if changed:
            self.selectionChanged.emit()

    # --- work --------------------------------------------------------------------------------------
    def run(self, fn: Callable[..., Any], *args: Any, channel: str, on_done: Callable[[Any], None],
            on_error: Callable[[str], None], aside: bool = False, **kwargs: Any) -> Task:
        """``fn(*args, **kwargs)`` in a worker. Every view names its ``channel``: a user clicking
        through layers gets the last click's result, never a late one over it. ``aside``: work that
        runs no model (writing files) goes to the shared pool instead of the model thread."""
        runner = self.aside if aside else self.runner
        return runner.run(fn, *args, channel=channel, on_done=on_done, on_error=on_error, **kwargs)

    @property
    def busy(self) -> bool:
        return self.runner.busy or self.aside.busy or self._timer.isActive()

    def settle(self, timeout_s: float = 30.0) -> bool:
        """Process events until no work is pending and every result has been delivered (and has
        started no further work): screenshots, tests and benchmarks wait for the views with it."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        loop = QEventLoop()
        while time.monotonic() < deadline:
            QTimer.singleShot(5, loop.quit)  # a real event loop meanwhile: timers fire, nothing blocks
            loop.exec()
            quiet = 0 if self.busy else quiet + 1
            if quiet >= 3:
                return True
        return False

    def shutdown(self) -> None:
        """Closing: results still on their way are dropped, running work is waited for."""
        self._timer.stop()
        for runner in (self.runner, self.aside):
            runner.cancel_all()
        for runner in (self.runner, self.aside):
            runner.wait()
