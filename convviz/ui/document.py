"""The open document: a design, its undo stack, its live analysis and its file.

Views never edit the design directly: they push commands on ``undo_stack``; the design notifies
this object, which re-analyses what the edit reaches (``reanalyze``: unchanged nodes keep their
records) and tells the views what changed: ``analysisChanged`` carries the new analysis and
``changed_nodes`` says which nodes' results differ from the previous one, so a view redraws only
those (an edit of one layer of 2,000 repaints a few cards, not all).

Live edits (a spin box being dragged: ``push(command, live=True)``) are analysed at most once per
frame: the design and the undo stack take every step at once, the analysis of a step that comes
within a frame of the previous analysis waits for the next frame, and the steps in between are
never analysed. ``analysis`` is always current whoever reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace as _with
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..analysis import Analysis, analyze, reanalyze
from ..analysis.fix_outcome import fix_outcome
from ..design import Change, Design, save_design
from ..i18n import tr

if TYPE_CHECKING:
    import numpy as np  # only for the annotation: the designer starts without numpy


#: One frame at 60 Hz: live edits are analysed at most this often.
FRAME_MS = 16

#: ``n`` → up to ``n`` (H×W or H×W×C image array, class label) pairs from the current dataset.
SampleSource = Callable[[int], "list[tuple[np.ndarray, str]]"]


@dataclass(frozen=True)
class ResultKey:
    """What a computed result was made from: the design as it was, the weights, the input.

    Every result a view shows (activations, a CAM, occlusion, curves, a confusion matrix) carries
    the key it was computed with; a view shows it only while it ``matches`` the current key
    (``Document.key``, extended with ``input`` by whoever owns the input image), and otherwise says
    it has no result yet. One comparison, instead of a staleness check per view.
    """

    #: Bumped by every edit that can change a number, and by replacing the design.
    design: int
    #: Bumped whenever the weights are set or dropped.
    weights: int
    #: The input the result was computed on (an image's generation; 0 where there is none).
    #: None: the result does not depend on the input (a model, its filters).
    input: int | None = 0

    def with_input(self, generation: int | None) -> "ResultKey":
        return _with(self, input=generation)

    def matches(self, current: "ResultKey") -> bool:
        """True while a result made with this key is current: the same design and weights, and the
        same input unless the result does not depend on one."""
        return (self.design, self.weights) == (current.design, current.weights) and \
            (self.input is None or self.input == current.input)

    def changed(self, current: "ResultKey") -> str:
        """What differs from ``current`` first ("design", "weights", "input"), or "" when it matches."""
        if self.design != current.design:
            return "design"
        if self.weights != current.weights:
            return "weights"
        return "" if self.matches(current) else "input"


class Document(QObject):
    #: A ``convviz.design.Change``: which nodes an edit touched.
    designChanged = Signal(object)
    #: The new ``Analysis`` after any edit that can change a number.
    analysisChanged = Signal(object)
    #: A different design was loaded (New, Open, a template, recovery): views rebuild.
    designReplaced = Signal()
    #: The file path or display name changed.
    fileChanged = Signal()
    #: Trained weights arrived (a training run, an opened checkpoint) or were dropped.
    weightsChanged = Signal()
    #: An edit the design refused (one line): the window shows it in the status bar.
    editRefused = Signal(str)
    #: ``sample_images`` was set or cleared (the Explain tab's "sample from the dataset" button).
    sampleImagesChanged = Signal()
    #: ``key`` changed (a ``ResultKey``): every result computed before is no longer current.
    keyChanged = Signal(object)

    def __init__(self, design: Design, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._design = design
        self._path = path
        #: The classes of the data chosen for training (None: none chosen; the design's own names count).
        self._data_classes: list[str] | None = None
        self._analysis = analyze(design)
        #: With ``analysisChanged``: ids of the nodes whose results differ from the analysis announced
        #: before (None: all of them, a new design).
        self.changed_nodes: frozenset[str] | None = None
        self._announced: Analysis | None = self._analysis
        self._stale = False      # the design changed since ``_analysis`` was made (a live edit waits)
        self._pending: list[Change] = []  # the changes since ``_analysis`` was made
        self._live = False       # inside ``push(..., live=True)``
        self._since_analysis = QElapsedTimer()
        self._frame = QTimer(self, singleShot=True)
        self._frame.timeout.connect(self._on_frame)
        design.subscribe(self._on_design_change)
        #: Trained weights as a CPU state_dict keyed by node id, or None (random initial weights).
        #: Kept across edits: a model built for the edited design takes the ones whose node id and
        #: shapes still fit (``convviz.model.carry_over_weights``).
        self.weights: dict | None = None
        #: Normalisation the weights were trained with: (mean, std) per channel, or None.
        self.normalization: tuple[list[float], list[float]] | None = None
        #: What the training run recorded (its settings and results, ``"run"``: its id in the run store),
        #: for checkpoints and for the Train tab's views (whose run the weights are).
        self.training_info: dict = {}
        #: The checkpoint file the weights were opened from ("" when trained here, imported or none).
        self.weights_origin = ""
        #: False while the weights are ones no file holds (trained here, not exported): the title says so.
        self.weights_saved = True
        self._sample_images: SampleSource | None = None
        self._design_generation = 0
        self._weights_generation = 0
        #: Fix labels of the current analysis (id(fix), node) → (fix, label); the fix is kept so its id stays its own.
        self._fix_labels: dict = {}
        self._fix_labels_for: Analysis | None = None

    @property
    def key(self) -> ResultKey:
        """The key of results computed from the design and weights as they are now."""
        return ResultKey(self._design_generation, self._weights_generation)

    def _bump(self, design: bool = False, weights: bool = False) -> None:
        self._design_generation += design
        self._weights_generation += weights
        self.keyChanged.emit(self.key)

    @property
    def design(self) -> Design:
        return self._design

    @property
    def analysis(self) -> Analysis:
        """The analysis of the design as it is now (made here if a live edit's analysis is still waiting)."""
        if self._stale:
            self._reanalyse()
        return self._analysis

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def display_name(self) -> str:
        return self._path.name if self._path else self._design.name or tr("Untitled")

    @property
    def sample_images(self) -> SampleSource | None:
        """Images from the training data, set by whoever knows the dataset (the training panel):
        ``sample_images(n)`` returns up to ``n`` (image array, class label) pairs; None: no dataset."""
        return self._sample_images

    @sample_images.setter
    def sample_images(self, source: SampleSource | None) -> None:
        self._sample_images = source
        self.sampleImagesChanged.emit()

    @property
    def data_classes(self) -> list[str] | None:
        """The classes of the dataset chosen for training, set by whoever chooses it (the training
        panel): the analysis warns when the network's class scores do not match them."""
        return self._data_classes

    @data_classes.setter
    def data_classes(self, classes: list[str] | None) -> None:
        classes = list(classes) if classes is not None else None
        if classes == self._data_classes:
            return
        self._data_classes = classes
        self._restart_analysis()  # a warning more or less: no number changes
        self._announce()

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def set_weights(self, weights: dict | None, normalization: tuple[list[float], list[float]] | None = None,
                    training_info: dict | None = None, *, saved: bool = False, origin: str = "") -> None:
        """``saved``: the weights come from a file (an opened checkpoint), not from training here;
        ``origin``: that file's path (a run that continues from these weights records it)."""
        self.weights = weights
        self.weights_origin = origin if weights is not None else ""
        self.normalization = normalization
        self.training_info = dict(training_info or {})
        self.weights_saved = saved or weights is None
        self._bump(weights=True)
        self.weightsChanged.emit()

    def mark_weights_saved(self, key: ResultKey | None = None) -> None:
        """The weights were written to a file (an export); with ``key``, only if they are still the ones
        of that key (a run may have moved on meanwhile)."""
        if (key is None or key.weights == self.key.weights) and not self.weights_saved:
            self.weights_saved = True
            self.fileChanged.emit()

    def replace(self, design: Design, path: Path | None, modified: bool = False) -> None:
        """Show another design (a file, a template, recovered work); the undo history starts afresh.

        Weights belong to the design they were trained on: a new design starts without them
        (``set_weights`` after ``replace`` for an opened checkpoint).
        """
        self.weights, self.normalization, self.training_info = None, None, {}
        self.weights_saved = True
        self.weights_origin = ""
        self._design.unsubscribe(self._on_design_change)
        self._design = design
        self._path = path
        design.subscribe(self._on_design_change)
        self._restart_analysis()
        self._announced = None
        self._bump(design=True, weights=True)
        self.undo_stack.clear()
        if modified:  # unsaved from the start: recovered work, a template
            self.undo_stack.resetClean()
        self.designReplaced.emit()
        self._announce()
        self.fileChanged.emit()
        self.weightsChanged.emit()

    def push(self, command, live: bool = False) -> bool:
        """Do an edit as one undoable step; a refused one (``command.error``) is reported, not kept.

        ``live``: one step of a continuous gesture (a spin box held or wheeled), analysed at most
        once per frame with the steps around it."""
        self._live = live
        try:
            self.undo_stack.push(command)
        finally:
            self._live = False
        if command.error:
            self.editRefused.emit(command.error)
            return False
        return True

    def fix_label(self, fix, at: str | None = None) -> str:
        """What a fix's button says: what it does and what applying it gives, measured on a copy of
        the design (``analysis.fix_outcome``), once per fix and analysis."""
        analysis = self.analysis
        if self._fix_labels_for is not analysis:
            self._fix_labels, self._fix_labels_for = {}, analysis
        key = (id(fix), at)
        if key not in self._fix_labels:
            self._fix_labels[key] = (fix, fix_outcome(self._design, fix, at, analysis).label)
        return self._fix_labels[key][1]

    def apply_fix(self, fix) -> bool:
        """A suggested fix from the analysis, as one undoable step named after it."""
        from .commands import EditsCommand

        return self.push(EditsCommand(self, fix.label, fix.edits))

    def save(self, path: Path | None = None) -> None:
        target = path or self._path
        if target is None:
            raise ValueError(tr("no file name to save to"))
        save_design(self._design, target)
        self._path = Path(target)
        self.undo_stack.setClean()
        self.fileChanged.emit()

    def _on_design_change(self, change: Change) -> None:
        if not change.affects_analysis:
            self.designChanged.emit(change)
            return
        self._stale = True
        self._pending.append(change)
        waited = self._since_analysis.elapsed() if self._since_analysis.isValid() else FRAME_MS
        if self._live and waited < FRAME_MS:  # the previous step was analysed within this frame
            self._bump(design=True)
            self.designChanged.emit(change)
            if not self._frame.isActive():
                self._frame.start(FRAME_MS - waited)
            return
        self._frame.stop()
        self._reanalyse()
        self._bump(design=True)
        self.designChanged.emit(change)
        self._announce()

    def _on_frame(self) -> None:
        """The next frame after live edits: their analysis, once, for every view."""
        if self._stale:
            self._reanalyse()
        self._announce()

    def _reanalyse(self) -> None:
        changes, self._pending = self._pending, []
        self._analysis = reanalyze(self._analysis, self._design, merged_change(changes), self._data_classes)
        self._stale = False
        self._since_analysis.start()

    def _restart_analysis(self) -> None:
        """A full analysis now (another design, other data classes); a waiting live one is dropped."""
        self._frame.stop()
        self._pending, self._stale = [], False
        self._analysis = analyze(self._design, self._data_classes)
        self._since_analysis.start()

    def _announce(self) -> None:
        """``analysisChanged``, with ``changed_nodes`` against what the views were told last."""
        before, self._announced = self._announced, self._analysis
        self.changed_nodes = None if before is None else changed_nodes(before, self._analysis)
        self.analysisChanged.emit(self._analysis)


def merged_change(changes: list[Change]) -> Change | None:
    """One change standing for ``changes`` (live steps of parameters: one "params" change); None, a full
    analysis, when they are of different kinds."""
    if len(changes) == 1:
        return changes[0]
    if changes and all(c.kind == "params" for c in changes):
        return Change("params", tuple(dict.fromkeys(i for c in changes for i in c.node_ids)))
    return None


def changed_nodes(before: Analysis, after: Analysis) -> frozenset[str]:
    """Ids whose result in ``after`` differs from ``before`` (new nodes included). An unchanged node
    keeps its record object (``reanalyze``), so most nodes cost an identity test."""
    old = before.nodes
    return frozenset(nid for nid, result in after.nodes.items()
                     if (kept := old.get(nid)) is not result and kept != result)
