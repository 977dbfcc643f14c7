"""Design files: round trips, versions and migrations, atomic saves, and a loader that fails well."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convviz.design import (TEMPLATES, VERSION, Design, DesignFileError, design_to_dict, dumps, fileformat,
                            load_design, load_template, loads, save_design)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_save_load_round_trip(tmp_path, name):
    design = load_template(name)
    design.set_position(design.node_ids[0], (12.5, -3))
    path = tmp_path / "d.json"
    save_design(design, path)
    assert load_design(path) == design


def test_format_matches_the_documented_example():
    data = json.loads((DATA / "design_v1.json").read_text())
    assert data["format"] == "convviz-design" and data["version"] == 1
    assert data["input"] == {"channels": 1, "height": 32, "width": 32}
    assert data["nodes"][0] == {"id": "input", "type": "Input"}
    assert data["nodes"][1] == {"id": "c1", "type": "Conv2d", "inputs": ["input"],
                                "params": {"out_channels": 6, "kernel_size": 5}}


@pytest.mark.parametrize("fixture", sorted(DATA.glob("design_v*.json")))
def test_every_kept_version_still_loads(fixture):
    """One file per format version ever written; each must load forever."""
    design = load_design(fixture)
    assert len(design) > 0


def test_a_version_1_file_means_what_it_meant():
    """v1 had no numbered outputs and no heads: it loads as the same design and is written back as v2."""
    design = load_design(DATA / "design_v1.json")
    assert design.heads == [] and all(":" not in ref for node in design for ref in node.inputs)
    assert [n.id for n in design][:3] == ["input", "c1", "a1"] and design.node("a1").inputs == ["c1"]
    written = json.loads(dumps(design))
    assert written["version"] == VERSION == 2 and "heads" not in written
    assert loads(dumps(design)) == design


def test_version_2_names_outputs_of_a_split_and_heads():
    from convviz.analysis import analyze
    from convviz.design import Head

    design = load_design(DATA / "design_v2.json")
    assert design.node("branch").inputs == ["halves:1"] and design.node("joined").inputs == ["halves:0", "branch"]
    assert design.heads == [Head("fc", 1.0), Head("aux_fc", 0.3)]
    analysis = analyze(design)
    assert analysis.ok and not analysis.issues(), analysis.issues()
    assert analysis.output == "fc" and analysis.heads == ("fc", "aux_fc")
    assert analysis.nodes["halves"].output_shapes == ((4, 16, 16), (4, 16, 16))
    assert loads(dumps(design)) == design


@pytest.mark.parametrize("heads, fragment", [
    ('[{"node": "nope"}]', "field 'heads[0].node'"),
    ('[{"node": "c", "loss_weight": -1}]', "field 'heads[0].loss_weight'"),
    ('[{"node": "c"}, {"node": "c"}]', "is a head twice"),
    ('{"node": "c"}', "field 'heads'"),
])
def test_bad_heads_are_named(heads, fragment):
    text = ('{"format": "convviz-design", "version": 2, "input": {"channels": 1, "height": 4, "width": 4}, '
            f'"heads": {heads}, "nodes": [{{"id": "input", "type": "Input"}}, {{"id": "c", "type": "ReLU", '
            '"inputs": ["input"]}]}')
    with pytest.raises(DesignFileError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        loads(text)


def test_newer_version_is_refused_clearly():
    data = design_to_dict(load_template("lenet5"))
    data["version"] = VERSION + 1
    with pytest.raises(DesignFileError, match="newer convviz"):
        loads(json.dumps(data))


def test_migration_chain_runs_before_validation(monkeypatch):
    """A fake v0 that called the node list "layers" and had no "classes"."""
    def v0_to_v1(doc):
        doc["nodes"] = doc.pop("layers")
        doc.setdefault("classes", [])
        return doc

    monkeypatch.setitem(fileformat.MIGRATIONS, 0, v0_to_v1)
    v0 = {"format": "convviz-design", "version": 0, "name": "old", "input": {"channels": 1, "height": 8, "width": 8},
          "layers": [{"id": "input", "type": "Input"}, {"id": "r", "type": "ReLU", "inputs": ["input"]}]}
    design = loads(json.dumps(v0))
    assert design.node_ids == ["input", "r"] and design.name == "old"


def test_unmigratable_version_is_refused(monkeypatch):
    monkeypatch.setattr(fileformat, "MIGRATIONS", {})
    with pytest.raises(DesignFileError, match="no longer supported"):
        loads('{"format": "convviz-design", "version": 0, "input": {}, "nodes": []}')


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    save_design(load_template("lenet5"), path)
    original = path.read_text()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_design(load_template("resnet18"), path)
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]  # no temporary file left behind


@pytest.mark.parametrize("text, fragment", [
    ("", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"format": "other"}', "not a convviz design"),
    ('{"format": "convviz-design", "version": "1"}', "field 'version'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 0, "height": 1, "width": 1}, "nodes": []}',
     "field 'input.channels'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "x y", "type": "ReLU"}]}', "node #1, field 'id'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "c", "type": "Conv3d"}]}', "node 'c', field 'type'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "c", "type": "Conv2d", "params": {"out_channels": 2}}]}',
     "node 'c' (Conv2d), field 'params.kernel_size'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "c", "type": "ReLU", "pos": [1]}]}', "node 'c' (ReLU), field 'pos'"),
    ('{"format": "convviz-design", "version": 1, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "c", "type": "ReLU"}, {"id": "c", "type": "ReLU"}]}', "node 'c', field 'id'"),
    ('{"format": "convviz-design", "version": 2, "input": {"channels": 1, "height": 1, "width": 1}, '
     '"nodes": [{"id": "c", "type": "ReLU", "inputs": ["s:x"]}]}', "node 'c' (ReLU), field 'inputs'"),
])
def test_bad_files_name_node_and_field(text, fragment):
    with pytest.raises(DesignFileError) as info:
        loads(text)
    assert fragment in str(info.value)


def test_unreadable_paths(tmp_path):
    with pytest.raises(DesignFileError, match="no such file"):
        load_design(tmp_path / "missing.json")
    with pytest.raises(DesignFileError, match="is a folder"):
        load_design(tmp_path)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DesignFileError, match="not a text file"):
        load_design(tmp_path / "bin.json")


# --- fuzzing: random and mutated documents raise nothing but DesignFileError -----------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

VALID = design_to_dict(load_template("resnet18"))


@st.composite
def mutated_documents(draw):
    """A valid design with one value somewhere replaced by a random JSON value (or a key deleted)."""
    doc = json.loads(json.dumps(VALID))
    paths = list(_paths(doc))
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return doc


def _paths(value, prefix=()):
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _load_or_fail_cleanly(doc) -> None:
    try:
        design = loads(json.dumps(doc))
    except DesignFileError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert isinstance(design, Design)
    from convviz.analysis import analyze
    analyze(design)  # a loadable design can always be analysed


@settings(max_examples=1500)
@given(mutated_documents())
def test_mutated_documents_fail_only_with_the_loaders_error(doc):
    _load_or_fail_cleanly(doc)


@settings(max_examples=500)
@given(json_values)
def test_random_json_fails_only_with_the_loaders_error(doc):
    _load_or_fail_cleanly(doc)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_random_text_fails_only_with_the_loaders_error(text):
    try:
        loads(text)
    except DesignFileError:
        pass


@settings(max_examples=800)
@given(mutated_documents())
def test_node_errors_name_the_node_and_field(doc):
    try:
        loads(json.dumps(doc))
    except DesignFileError as exc:
        if exc.node is not None and exc.field is not None:
            assert f"node {exc.node}" in str(exc) and repr(exc.field) in str(exc)


def test_dumps_is_stable_and_one_node_per_line():
    text = dumps(load_template("lenet5"))
    assert dumps(loads(text)) == text
    assert text.count('{"id":') == 13


def test_saved_files_get_ordinary_permissions(tmp_path):
    """mkstemp's temporary files are private (0600); a saved design gets what any new file would."""
    save_design(load_template("lenet5"), tmp_path / "d.json")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "d.json").stat().st_mode & 0o777 == 0o666 & ~umask != 0o600


def test_saving_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "d.json"
    real.parent.mkdir()
    save_design(load_template("lenet5"), real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save_design(load_template("resnet18"), link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert loads(real.read_text()).name == load_template("resnet18").name
    assert sorted(p.name for p in real.parent.iterdir()) == ["d.json"]


def test_saving_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "private.json"
    save_design(load_template("lenet5"), path)
    path.chmod(0o600)
    save_design(load_template("resnet18"), path)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    save_design(load_template("lenet5"), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_next_save_removes_what_killed_saves_left(tmp_path):
    """A save killed midway (kill -9) leaves its temporary file; the next save of that file removes
    those of processes that are gone, and keeps one a running process is still writing."""
    import subprocess
    import sys
    import time

    from convviz.atomic import STALE_AFTER_S, remove_stale_temporaries

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    path = tmp_path / "model.json"
    dead = tmp_path / f".model.json.abc123xy.{gone}.tmp"
    running = tmp_path / f".model.json.def456zz.{os.getpid()}.tmp"
    old_style = tmp_path / ".model.json.q1w2e3r4.tmp"
    other = tmp_path / f".other.json.abc123xy.{gone}.tmp"
    for leftover in (dead, running, old_style, other):
        leftover.write_bytes(b"\0" * 1000)
    save_design(load_template("lenet5"), path)
    assert not dead.exists() and running.exists() and old_style.exists() and other.exists()
    stale = time.time() - STALE_AFTER_S - 10
    os.utime(old_style, (stale, stale))
    removed = remove_stale_temporaries(tmp_path)  # a whole folder (the app at start): any name, and by age
    assert sorted(removed) == sorted([other, old_style]) and running.exists() and path.exists()
