"""``RunResults``: what the Train tab's result views show, and when they show it.

One rule, one place: the views show the results of *the run the open design's weights came from*
(the live run while it trains, a run opened from the store, the last run once it ended) and only
while the design is the one that run trained — ``Document.key`` says when either changed, the
run's id says which run the weights are from. Otherwise every view says it has no result yet,
and the runs the user ticked are overlaid on the curves in their colours.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QObject, QTimer

from ...i18n import tr
from .live_views import Overlay, per_class_accuracy

_unrecorded = itertools.count(1)


def weights_array(tensor) -> np.ndarray:
    """A weight tensor as a float32 array (in a worker thread)."""
    return tensor.detach().float().cpu().numpy()


class RunResults(QObject):
    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.document = panel.document
        self.controller = panel.runs
        self.curves, self.filters, self.confusion = panel.curves, panel.filters, panel.confusion
        self.gradients, self.replay = panel.gradient_view, panel.replay
        #: (run id, design generation) of what the views show; None: nothing.
        self.shown: tuple[str, int] | None = None
        self.live = False
        self._pending_steps: list = []
        self._pending_snapshot = None
        self.newest_step = None   # the newest StepRecord the views show (an epoch's end shows the steps before it)
        self._classes: list[str] = []
        self._steps_per_epoch = 1
        self._replay_name = tr("the run training now")
        self._overlay_timer = QTimer(self, singleShot=True, interval=0)
        self._overlay_timer.timeout.connect(self.update_overlays)
        self.document.keyChanged.connect(self._on_key_changed)
        self.controller.tickedChanged.connect(self._overlay_timer.start)
        self.controller.runUpdated.connect(self._on_run_updated)
        self.replay.positionChanged.connect(self._on_replay_position)
        self.clear()

    @property
    def run_id(self) -> str | None:
        return self.shown[0] if self.shown else None

    # --- whether the views are current --------------------------------------------------------------
    def _on_key_changed(self, key) -> None:
        if self.live or self.shown is None:
            return
        run_id, generation = self.shown
        if key.design != generation or self.document.training_info.get("run") != run_id:
            self.clear()

    def clear(self, message: str | None = None) -> None:
        """No result for the open design: each view says so (the overlays stay)."""
        message = message or tr("no run of this design yet: Train to see one; earlier runs are in Runs "
                                "(tick one to overlay it)")
        self.shown, self.live = None, False
        self._pending_steps, self._pending_snapshot, self.newest_step = [], None, None
        self.curves.clear(tr("No run of this design yet"))
        self.filters.clear(message)
        self.confusion.clear(message)
        self.gradients.clear(message)
        if self.replay.live or self.replay.run_id is None:
            self.replay.clear(tr("<b>Replay</b>: pick a run in Runs and press Replay (the run training now "
                                 "replays as it goes)"))
        self.panel.results_cleared()
        self._overlay_timer.start()

    # --- the live run -----------------------------------------------------------------------------
    def run_starting(self) -> None:
        """A new run: nothing of the last one stays on screen (its epoch-5 matrix is not this run's)."""
        self.shown, self.live = (f"unrecorded-{next(_unrecorded)}", self.document.key.design), True
        self._pending_steps, self._pending_snapshot, self.newest_step = [], None, None
        self.curves.reset()
        waiting = tr("after the first epoch")
        self.confusion.clear(waiting)
        self.filters.clear(tr("from the first step"))
        self.gradients.clear(tr("from the first measured step"))
        self.replay.clear(tr("<b>Replay</b> of the run training now: its first snapshot comes with the start"))
        self.replay.live = True

    def run_recording(self, run_id: str, name: str) -> None:
        self.shown = (run_id, self.shown[1] if self.shown else self.document.key.design)
        self.replay.run_id, self.replay.live = run_id, True
        self._replay_name = name
        self._overlay_timer.start()

    def weights_info(self, info: dict) -> dict:
        """``training_info`` for weights the live run hands to the document: it names the run."""
        return {**info, "run": self.run_id}

    def on_record(self, record) -> None:
        from ...train import EndRecord, EpochRecord, ProbeRecord, SnapshotRecord, StartRecord, StepRecord

        if isinstance(record, StepRecord):
            self._pending_steps.append(record)
        elif isinstance(record, SnapshotRecord):
            self._pending_snapshot = record
        elif isinstance(record, ProbeRecord):
            self._add_probe(record)
        elif isinstance(record, EpochRecord):
            self.flush()
            self.curves.add_epoch(record)
            self.confusion.show_epoch(record, self._classes)
            self.replay.add_epoch(record.epoch, record.confusion)
            if self.replay.live and self.replay.snapshots:
                self.replay.redraw()
        elif isinstance(record, StartRecord):
            self._classes = list(record.classes)
            self._steps_per_epoch = max(record.steps_per_epoch, 1)
            self.gradients.start(record.gradient_layers)
            self.replay.classes = list(record.classes)
        elif isinstance(record, EndRecord):
            self.flush()

    def _add_probe(self, record) -> None:
        from ...runs.replay import Replay, snapshot_from_record

        if not self.replay.live or not isinstance(record.data, dict):
            return
        if not self.replay.snapshots:
            image, label = record.data.get("image"), str(record.data.get("label", ""))
            self.replay.show_replay(self.run_id or "", self._replay_name, Replay(image, label, []), _EmptyCurves(),
                                    self._classes, live=True)
        self.replay.add_snapshot(snapshot_from_record(len(self.replay.snapshots), record, self._steps_per_epoch))

    def flush(self) -> None:
        """Show what arrived since the last refresh (at most the panel's refresh rate: painting is the GUI
        thread's real cost while training); ``newest_step`` says where the views are."""
        steps, self._pending_steps = self._pending_steps, []
        if steps:
            self.newest_step = steps[-1]
            self.curves.add_steps(steps)
            self.gradients.append([s.global_step / s.steps_per_epoch for s in steps], [s.gradients for s in steps])
        snapshot, self._pending_snapshot = self._pending_snapshot, None
        if snapshot is not None:
            node = self.document.design.get(snapshot.node_id)
            groups = node.resolved_params().get("groups", 1) if node is not None and node.type == "Conv2d" else 1
            self.filters.show_weights(snapshot.node_id, snapshot.weights, groups,
                                      tr("(epoch {epoch}, step {step})").format(epoch=snapshot.epoch,
                                                                               step=snapshot.step))

    def run_ended(self, end) -> None:
        """The run is over: its results stay, as long as the design is the one it trained."""
        self.live = False
        if self.replay.run_id == self.run_id:
            self.replay.finish_live()
        self.replay.live = False
        if self.shown is not None:
            self.shown = (self.shown[0], self.document.key.design)
        if self.run_id and not self.run_id.startswith("unrecorded-"):
            self.controller.run_ended(self.run_id)
        else:
            self.controller.run_ended(None)

    def run_abandoned(self) -> None:
        """A run of a design that is no longer open: nothing of it reaches the new one."""
        self.live = False
        self.replay.live = False
        self.controller.run_ended(self.run_id if self.run_id and not self.run_id.startswith("unrecorded-")
                                  else None)
        self.clear()

    # --- a stored run as the current result ---------------------------------------------------------
    def show_stored(self, run_id: str) -> None:
        """The results of run ``run_id``, whose weights the document now holds."""
        from ...runs import RunStoreError

        try:
            detail = self.controller.detail(run_id)
            curves = self.controller.curves(run_id)
        except RunStoreError as exc:
            self.clear(str(exc))
            return
        self.shown, self.live = (run_id, self.document.key.design), False
        self._classes = list(detail.classes)
        self.curves.show_curves(curves, detail.summary.epochs or int(curves.epoch[-1] if len(curves.epoch) else 1))
        if curves.confusion and curves.confusion[-1].size:
            self.confusion.show_result(int(curves.epoch[-1]), curves.confusion[-1],
                                       per_class_accuracy(curves.confusion[-1]), self._classes)
        else:
            self.confusion.clear(tr("the run completed no epoch"))
        weights = self.document.weights or {}
        first = next((n for n in detail.design.node_ids if detail.design.node(n).type == "Conv2d"), None)
        if first and f"{first}.weight" in weights:
            groups = detail.design.node(first).resolved_params().get("groups", 1)
            shown = self.shown

            def show(array: np.ndarray) -> None:
                if self.shown == shown:
                    self.filters.show_weights(first, array, groups, tr("(the run's weights)"))

            # The tensor becomes an array in a worker: the GUI thread runs no torch (ui/tasks.py).
            self.panel.tasks.run(weights_array, weights[f"{first}.weight"], channel="stored-filters", on_done=show)
        else:
            self.filters.clear(tr("the design has no conv layer"))
        self.show_replay(run_id)
        self._overlay_timer.start()

    def show_replay(self, run_id: str) -> bool:
        """Replay run ``run_id`` (and show its gradient flow); False with a message when it has no replay."""
        from ...runs import RunStoreError

        if self.live and run_id == self.run_id:
            return True   # the live run replays as it goes
        store = self.controller.store
        try:
            replay = store.replay(run_id)
            detail = self.controller.detail(run_id)
            curves = self.controller.curves(run_id)
            history = self.controller.gradients(run_id)
        except RunStoreError as exc:
            self.replay.clear(str(exc))
            return False
        if replay.problems:   # snapshots skipped: the runs panel's problem line names them
            self.controller.problemsChanged.emit()
        name = detail.summary.label
        if replay.empty:
            self.replay.clear(tr("<b>Replay of {name}</b>: it has no snapshots (a run recorded before replays "
                                 "existed, or one that ended before its first step)").format(name=name))
        else:
            self.replay.show_replay(run_id, name, replay, curves, detail.classes)
        if not self.live:
            if history.empty:
                self.gradients.clear(tr("{name} has no gradient statistics").format(name=name))
            else:
                self.gradients.set_history(history.layers, history.x, history.grad_norm, history.update_ratio,
                                           run=name)
        return not replay.empty

    def _on_replay_position(self, x: float) -> None:
        if not self.live or self.replay.run_id != self.run_id:
            shown = x if not self.replay.live else None
            self.gradients.set_cursor(shown)
            # On the curves too, where the replayed run is drawn (as the shown run or ticked as an overlay).
            on_plots = self.replay.run_id == self.run_id or self.controller.is_ticked(self.replay.run_id or "")
            self.curves.set_cursor(shown if on_plots else None)

    # --- overlays ---------------------------------------------------------------------------------
    def _on_run_updated(self, run_id: str) -> None:
        if self.controller.is_ticked(run_id) and run_id != self.run_id:
            self._overlay_timer.start()

    def update_overlays(self) -> None:
        from ...runs import RunStoreError

        overlays = []
        for run_id in self.controller.ticked:
            if run_id == self.run_id:
                continue   # it is the current run: drawn as such
            summary = self.controller.summary(run_id)
            if summary is None:
                continue
            try:
                curves = self.controller.curves(run_id)
            except RunStoreError:
                continue
            overlays.append(Overlay(run_id, summary.label, self.controller.colour(run_id), curves))
        self.curves.set_overlays(overlays)


class _EmptyCurves:
    """No epoch yet (a live replay's start)."""

    epoch = np.zeros(0)
    confusion: list = []
