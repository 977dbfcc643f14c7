"""The Train tab's dataset: loaded in the background, and only when someone needs it.

``DatasetController.request(spec, shape, val, seed)`` says which data the settings and the design
call for. When the images it needs are the ones already loaded (``convviz.data.source_key``: another
design of the same channels, MNIST for any input size) it is ready at once, fitted to the new input.
Otherwise it loads in a worker thread (the built-in shapes from the disk cache in milliseconds,
once torch has loaded), and a first look at it (``convviz.data.first_look``: counts, classes and sample
images, with numpy alone) is shown at once where it can be had; but only while it is wanted: while the Train tab is shown (``set_active``), or for Explain's
"sample from the dataset" (``samples``, which loads in its own worker thread). A design opened while
the tab is hidden only marks the data out of date: nothing is read or drawn until it is needed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from ...data.errors import DatasetError
from ...data.keys import source_key
from ...i18n import tr
from ..tasks import TaskRunner

#: (spec, shape, val_fraction, seed, should_stop) → Dataset; runs in a worker thread.
Loader = Callable[..., object]
#: (spec, shape, val_fraction, seed) → FirstLook or None; runs on the GUI thread, without torch.
Glimpse = Callable[..., object]


class DatasetController(QObject):
    #: A dataset for the current request (a ``convviz.data.Dataset``, fitted to the design's input).
    ready = Signal(object)
    #: The current request cannot be met: one line.
    failed = Signal(str)
    #: Loading began: what is being loaded (for the data summary).
    loading = Signal(str)
    #: While it loads: a ``convviz.data.FirstLook`` at the current request's data (counts, sample images).
    glimpsed = Signal(object)
    #: From the loading worker: (its request, a first look it drew before importing torch).
    _drawn = Signal(object, object)

    def __init__(self, tasks: TaskRunner, loader: Loader, parent: QObject | None = None,
                 glimpse: Glimpse | None = None, drawn_glimpse: Glimpse | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.loader = loader
        self.glimpse = glimpse
        #: The first look drawn where the cache has none yet (the first launch): in the loading worker,
        #: with numpy, before the loader imports torch.
        self.drawn_glimpse = drawn_glimpse
        self._drawn.connect(self._on_drawn)
        self.active = False
        self._request: tuple | None = None   # (spec, shape, val_fraction, seed)
        #: (source key, Dataset) last loaded, fitted to whichever input it was loaded for; one attribute,
        #: so ``samples`` in a worker thread never sees one half of it new and the other old.
        self._loaded: tuple | None = None
        self._pending = False                 # a request waits until the data is wanted

    @property
    def dataset(self):
        """The dataset for the current request, or None while it is loading (or not wanted yet)."""
        request, loaded = self._request, self._loaded
        if request is None or loaded is None or self._key(request) != loaded[0]:
            return None
        return loaded[1].fitted(request[1])

    @property
    def requested(self) -> bool:
        return self._request is not None

    def request(self, spec, shape: tuple[int, int, int], val_fraction: float, seed: int, reload: bool = False,
                needed: bool = False) -> None:
        """The data the settings call for now; ``reload``: read it again even if it is loaded (a download);
        ``needed``: load it now even while the tab is hidden (a run is waiting for it)."""
        self._request = (spec, tuple(shape), val_fraction, seed)
        if reload:
            self._loaded = None
        dataset = self.dataset
        if dataset is not None:
            self._pending = False
            self.tasks.cancel("dataset")
            self.ready.emit(dataset)
            return
        self._pending = True
        self.loading.emit(describe_loading(spec))
        if self.active or needed:
            self._load()

    def set_active(self, active: bool) -> None:
        """Shown (or hidden): a request that waited for the data to be needed loads now."""
        self.active = active
        if active and self._pending:
            self._load()

    def _load(self) -> None:
        self._pending = False
        first = None if self._glimpse() else self._draw_first
        self.tasks.run(_keyed_load, self.loader, self._request, first, channel="dataset", on_done=self._on_loaded,
                       on_error=self._on_failed)

    def _glimpse(self) -> bool:
        """Before the worker starts (so before it imports torch): what the cache shows of the data at once."""
        if self.glimpse is None:
            return False
        try:
            look = self.glimpse(*self._request)
        except (DatasetError, OSError, ValueError):
            return False  # the load that follows says what is wrong
        if look is not None:
            self.glimpsed.emit(look)
        return look is not None

    def _draw_first(self, request: tuple) -> None:
        """In the loading worker, before the loader: a first look drawn and cached, handed to the GUI thread."""
        if self.drawn_glimpse is None:
            return
        try:
            look = self.drawn_glimpse(*request)
        except (DatasetError, OSError, ValueError, MemoryError):
            return  # the load that follows says what is wrong
        if look is not None:
            self._drawn.emit(request, look)

    def _on_drawn(self, request: tuple, look) -> None:
        if request == self._request and self.dataset is None:
            self.glimpsed.emit(look)

    def _on_loaded(self, loaded: tuple) -> None:
        self._loaded = loaded
        current = self.dataset
        if current is not None:
            self.ready.emit(current)
        elif self._request is not None:  # the request moved on while this loaded
            self._pending = True
            if self.active:
                self._load()

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def samples(self, count: int, seed: int, split: str = "val"):
        """``count`` images of the current request's data with their class names (for Explain); loads
        the data in the calling thread when it is not loaded yet. Call it from a worker thread."""
        request = self._request
        if request is None:
            return [], []
        dataset = self.dataset
        if dataset is None:
            spec, shape, val_fraction, seed_ = request
            dataset = self.loader(spec, shape, val_fraction, seed_)
        return dataset.samples(count, seed=seed, split=split)

    @staticmethod
    def _key(request: tuple) -> tuple:
        spec, shape, val_fraction, seed = request
        return source_key(spec, shape, val_fraction=val_fraction, seed=seed)


def describe_loading(spec) -> str:
    """What the data summary says while ``spec`` (a ``DataSpec``) loads."""
    if spec.kind == "synthetic":
        return tr("Loading the built-in shapes…")
    return tr("Loading {source}…").format(source=spec)


def _keyed_load(loader: Loader, request: tuple, first: Callable[[tuple], None] | None = None) -> tuple:
    """In the worker: (the request's source key, its dataset); ``first``: called before the loader."""
    if first is not None:
        first(request)
    return DatasetController._key(request), loader(*request)
