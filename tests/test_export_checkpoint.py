"""Opening a ``.pt``: a pickle that would run code is refused before any of it runs."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys

import pytest
import torch

from convviz.design import load_template
from convviz.export import Checkpoint, CheckpointError, load_checkpoint, model_with_weights, save_checkpoint


class Payload:
    """Unpickling this calls os.mkdir(marker): the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def malicious_checkpoint(path, marker, legacy: bool = False) -> None:
    data = {"format": "convviz-checkpoint", "version": 1, "design": "{}", "state_dict": {"x": Payload(marker)}}
    if legacy:
        path.write_bytes(pickle.dumps(data, protocol=2))  # a bare pickle, as PyTorch's legacy format has
    else:
        torch.save(data, path)


@pytest.mark.parametrize("legacy", [False, True])
def test_a_malicious_pickle_is_refused_and_does_not_run(tmp_path, legacy):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    malicious_checkpoint(path, marker, legacy)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert not marker.exists()
    message = str(info.value)
    assert re.match(r"evil\.pt: refused: it holds Python objects \((posix|nt)\.mkdir\) that could run code", message)
    assert "\n" not in message


def test_the_cli_refuses_it_too_in_a_real_process(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    malicious_checkpoint(path, marker)
    result = subprocess.run([sys.executable, "-m", "convviz", "export", str(path), "--to", str(tmp_path / "m.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("convviz: error: evil.pt: refused")
    assert not marker.exists() and not (tmp_path / "m.py").exists()


def test_files_that_are_not_convviz_checkpoints(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save(model_with_weights(load_template("lenet5")).state_dict(), plain)
    with pytest.raises(CheckpointError, match="not a convviz checkpoint"):
        load_checkpoint(plain)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match=r"junk.pt: not a readable PyTorch file \(Unsupported operand"):
        load_checkpoint(junk)


def test_a_checkpoint_reads_back_without_convviz_objects(tmp_path):
    design = load_template("lenet5")
    path = tmp_path / "ok.pt"
    save_checkpoint(Checkpoint(design, model_with_weights(design).state_dict()), path)
    raw = torch.load(path, weights_only=True)  # plain types and tensors only
    assert raw["format"] == "convviz-checkpoint" and raw["classes"] == design.classes
    assert load_checkpoint(path).design == design
