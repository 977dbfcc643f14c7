"""One run's folder: its manifest (what it was made from, enough to rebuild the index), its weights
(initial, best, last) and its replay snapshots. Every file is written atomically (temporary file +
rename), so a kill at any moment leaves the previous version, never half a file.

    runs/<id>/run.json          {"format": "convviz-run", "version": 1, "design": ..., "config": ...}
    runs/<id>/initial.pt        the weights the run started from (a state_dict)
    runs/<id>/best.pt, last.pt  the best epoch's weights (by validation accuracy), the latest ones
    runs/<id>/replay/NNNN.npz   one replay snapshot each (float arrays, no pickles)
    runs/<id>/curves.jsonl      the curves as the index has them, one JSON line per record, appended:
                                an index rebuilt from the folders gets them back

The files are renamed into place without an fsync each (they are written dozens of times a run,
beside the training): a killed process leaves the previous version; a power cut may cost the
latest ones, which the store then reports as damaged and skips (the index is no more durable:
SQLite's WAL in NORMAL mode).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..i18n import tr
from ..messages import first_line

MANIFEST = "run.json"
FORMAT = "convviz-run"
VERSION = 1
WEIGHTS = ("initial", "best", "last")
REPLAY = "replay"
CURVES = "curves.jsonl"


class RunFileError(ValueError):
    """A run file that cannot be read (damaged, foreign, from a newer convviz): one line."""


class RunFolder:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        return self.path.name

    # --- manifest ---------------------------------------------------------------------------------
    def write_manifest(self, manifest: dict[str, Any]) -> None:
        with atomic_write(self.path / MANIFEST, "w", sync=False) as handle:
            handle.write(json.dumps({"format": FORMAT, "version": VERSION, **manifest}, ensure_ascii=False, indent=1))

    def read_manifest(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunFileError(tr("{folder}: not a convviz run (no {file})").format(
                folder=self.id, file=MANIFEST)) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise RunFileError(tr("{folder}: its {file} is damaged ({why})").format(
                folder=self.id, file=MANIFEST, why=first_line(exc))) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RunFileError(tr("{folder}: not a convviz run").format(folder=self.id))
        version = data.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise RunFileError(tr("{folder}: written by a newer convviz (run format {version})").format(
                folder=self.id, version=version))
        return data

    # --- weights ----------------------------------------------------------------------------------
    def weights_path(self, which: str) -> Path:
        return self.path / f"{which}.pt"

    def write_weights(self, which: str, state: dict) -> None:
        import torch  # here: listing runs needs no torch

        buffer = io.BytesIO()
        torch.save(OrderedDict((k, v.detach().cpu()) for k, v in state.items()), buffer)
        with atomic_write(self.weights_path(which), "wb", sync=False) as handle:
            handle.write(buffer.getbuffer())

    def has_weights(self, which: str) -> bool:
        return self.weights_path(which).is_file()

    def read_weights(self, which: str) -> OrderedDict:
        import torch

        path = self.weights_path(which)
        if not path.is_file():
            raise RunFileError(tr("run {run}: it has no {which} weights").format(run=self.id, which=which))
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise RunFileError(tr("run {run}: its {which} weights are damaged ({why})").format(
                run=self.id, which=which, why=first_line(exc))) from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise RunFileError(tr("run {run}: its {which} weights are not a state_dict").format(
                run=self.id, which=which))
        return OrderedDict(state)

    # --- curves -----------------------------------------------------------------------------------
    def append_curves(self, records: list[dict[str, Any]]) -> None:
        """Append records to the run's journal (appended, not rewritten: a kill tears at most the last
        line, which ``read_curves`` skips). ``gradients`` bytes are kept as base64."""
        if not records:
            return
        lines = []
        for record in records:
            if isinstance(record.get("gradients"), bytes):
                record = {**record, "gradients": base64.b64encode(record["gradients"]).decode("ascii")}
            lines.append(json.dumps(record, separators=(",", ":")) + "\n")
        with open(self.path / CURVES, "a", encoding="utf-8") as handle:
            handle.write("".join(lines))

    def read_curves(self) -> tuple[list[dict[str, Any]], int]:
        """(the journal's records, how many lines were unreadable); none for a run recorded before it existed."""
        try:
            text = (self.path / CURVES).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return [], 0
        records, bad = [], 0
        for line in text.splitlines():
            try:
                record = json.loads(line)
                if isinstance(record.get("gradients"), str):
                    record["gradients"] = base64.b64decode(record["gradients"], validate=True)
            except (ValueError, AttributeError, TypeError):
                bad += 1
                continue
            records.append(record)
        return records, bad

    # --- replay -----------------------------------------------------------------------------------
    def replay_path(self, index: int) -> Path:
        return self.path / REPLAY / f"{index:04d}.npz"

    def write_arrays(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)   # float16 maps hardly compress: not worth the CPU beside a training run
        with atomic_write(path, "wb", sync=False) as handle:
            handle.write(buffer.getbuffer())

    def read_arrays(self, path: Path) -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise RunFileError(tr("run {run}: its replay file {file} is damaged ({why})").format(
                run=self.id, file=path.name, why=first_line(exc))) from None
