"""The open document: a design, its undo stack, its live analysis and its file.

Views never edit the design directly: they push commands on ``undo_stack``; the design notifies
this object, which re-analyses (a millisecond or two) and tells the views what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace as _with
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from ..analysis import Analysis, analyze
from ..design import Change, Design, save_design

if TYPE_CHECKING:
    import numpy as np  # only for the annotation: the designer starts without numpy


#: ``n`` → up to ``n`` (H×W or H×W×C image array, class label) pairs from the current dataset.
SampleSource = Callable[[int], "list[tuple[np.ndarray, str]]"]


@dataclass(frozen=True)
class ResultKey:
    """What a computed result was made from: the design as it was, the weights, the input.

    Every result a view shows (activations, a CAM, occlusion, curves, a confusion matrix) carries
    the key it was computed with; a view shows it only while it equals the current key
    (``Document.key``, extended with ``input`` by whoever owns the input image), and otherwise says
    it has no result yet. One comparison, instead of a staleness check per view.
    """

    #: Bumped by every edit that can change a number, and by replacing the design.
    design: int
    #: Bumped whenever the weights are set or dropped.
    weights: int
    #: The input the result was computed on (an image's generation; 0 where there is none).
    input: int = 0

    def with_input(self, generation: int) -> "ResultKey":
        return _with(self, input=generation)


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
        self._analysis = analyze(design)
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
        #: False while the weights are ones no file holds (trained here, not exported): the title says so.
        self.weights_saved = True
        self._sample_images: SampleSource | None = None
        self._design_generation = 0
        self._weights_generation = 0

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
        return self._analysis

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def display_name(self) -> str:
        return self._path.name if self._path else self._design.name or "Untitled"

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
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def set_weights(self, weights: dict | None, normalization: tuple[list[float], list[float]] | None = None,
                    training_info: dict | None = None, *, saved: bool = False) -> None:
        """``saved``: the weights come from a file (an opened checkpoint), not from training here."""
        self.weights = weights
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
        self._design.unsubscribe(self._on_design_change)
        self._design = design
        self._path = path
        design.subscribe(self._on_design_change)
        self._analysis = analyze(design)
        self._bump(design=True, weights=True)
        self.undo_stack.clear()
        if modified:  # unsaved from the start: recovered work, a template
            self.undo_stack.resetClean()
        self.designReplaced.emit()
        self.analysisChanged.emit(self._analysis)
        self.fileChanged.emit()
        self.weightsChanged.emit()

    def push(self, command) -> bool:
        """Do an edit as one undoable step; a refused one (``command.error``) is reported, not kept."""
        self.undo_stack.push(command)
        if command.error:
            self.editRefused.emit(command.error)
            return False
        return True

    def apply_fix(self, fix) -> bool:
        """A suggested fix from the analysis, as one undoable step named after it."""
        from .commands import EditsCommand

        return self.push(EditsCommand(self, fix.label, fix.edits))

    def save(self, path: Path | None = None) -> None:
        target = path or self._path
        if target is None:
            raise ValueError("no file name to save to")
        save_design(self._design, target)
        self._path = Path(target)
        self.undo_stack.setClean()
        self.fileChanged.emit()

    def _on_design_change(self, change: Change) -> None:
        if change.affects_analysis:
            self._analysis = analyze(self._design)
            self._bump(design=True)
        self.designChanged.emit(change)
        if change.affects_analysis:
            self.analysisChanged.emit(self._analysis)
