"""The built-in shapes at their native size, within a memory budget, drawn once and read back from the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convviz.data import Preprocess, conform, load_dataset, make_shapes, source_key
from convviz.data import shapes_cache
from convviz.data.shapes_cache import MEMORY_BUDGET, cache_file, native_shape
from convviz.data.synthetic import CHUNK, VERSION, shapes_chunk
from convviz.train import DataSpec


def test_shapes_are_drawn_at_a_native_size_whatever_the_design():
    assert native_shape((1, 32, 32), 12_000) == (1, 32, 32)      # the default design: its own size
    assert native_shape((1, 64, 64), 12_000) == (1, 64, 64)      # 48 MB: still its own
    assert native_shape((3, 224, 224), 12_000) == (3, 32, 32)    # ResNet-18: 37 MB, not 1.8 GB
    assert native_shape((3, 100, 50), 12_000) == (3, 32, 16)     # the aspect ratio kept
    data = load_dataset(DataSpec(), (3, 224, 224), synthetic_size=600)
    assert tuple(data.train.images.shape[1:]) == (3, 64, 64)     # 600 images: 64 pixels fit the budget
    assert data.shape == (3, 224, 224)
    images, names = data.samples(4)
    assert images.shape == (4, 3, 224, 224) and len(names) == 4  # fitted when taken


def test_the_full_set_for_resnet18_stays_within_the_budget():
    data = load_dataset(DataSpec(), (3, 224, 224), seed=0)
    held = data.train.images.nbytes + data.val.images.nbytes
    assert held <= MEMORY_BUDGET and len(data.train) + len(data.val) == 12_000
    assert data.note == ""


def test_a_set_over_the_budget_is_smaller_and_says_so():
    data = load_dataset(DataSpec(), (64, 32, 32), synthetic_size=12_000)  # 786 MB at full size
    count = len(data.train) + len(data.val)
    assert count < 12_000 and count % 10 == 0
    assert data.train.images.nbytes + data.val.images.nbytes <= MEMORY_BUDGET
    assert f"{count:,} of the 12,000 images" in data.note and "MB" in data.note


def test_a_drawn_set_is_read_back_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path))
    first = load_dataset(DataSpec(), (1, 32, 32), synthetic_size=700, seed=3)
    path = cache_file(700, (1, 32, 32), 3)
    assert path.exists() and path.parent == tmp_path and f"-v{VERSION}-" in path.name

    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(shapes_cache, "drawn_blocks", no_drawing)
    second = load_dataset(DataSpec(), (1, 32, 32), synthetic_size=700, seed=3)
    assert torch.equal(first.train.images, second.train.images) and torch.equal(first.val.labels, second.val.labels)
    assert torch.equal(first.val.images, second.val.images) and torch.equal(first.train.labels, second.train.labels)


def test_the_set_is_drawn_read_and_written_a_block_at_a_time_as_the_whole_set_would_be_split(monkeypatch, tmp_path):
    """The whole set is never in memory beside its training and validation parts: drawn, cached and
    read back in blocks (here of 7 images, the last one short), each image where random_split puts it."""
    from convviz.data.dataset import TensorImages, random_split
    from convviz.data.splits import split_indices
    from convviz.data.synthetic import draw_shapes, shape_labels

    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(shapes_cache, "BLOCK_BYTES", 7 * 144)
    shape = (3, 8, 6)  # 144 bytes an image
    whole = draw_shapes(100, *shape, seed=4)
    train, val = random_split(TensorImages(torch.from_numpy(whole), shape_labels(0, 100)), 0.2, 4)
    parts = split_indices(100, 0.2, 4)

    def same(result) -> None:
        (train_x, train_y), (val_x, val_y) = result
        assert torch.equal(train_x, train.images) and torch.equal(val_x, val.images)
        assert torch.equal(train_y, train.labels) and torch.equal(val_y, val.labels)

    same(shapes_cache.shapes_parts(100, shape, 4, parts))  # drawn, and written in blocks
    path = cache_file(100, shape, 4)
    assert np.array_equal(np.load(path), whole)
    real_blocks = shapes_cache.drawn_blocks
    monkeypatch.setattr(shapes_cache, "drawn_blocks", lambda *a, **k: pytest.fail("drawn again"))
    same(shapes_cache.shapes_parts(100, shape, 4, parts))  # read back in blocks
    path.write_bytes(path.read_bytes()[:-144])  # one image short of what its header says
    monkeypatch.setattr(shapes_cache, "drawn_blocks", real_blocks)
    same(shapes_cache.shapes_parts(100, shape, 4, parts))  # drawn again, the same
    assert np.array_equal(np.load(path), whole)  # and written whole


def test_a_damaged_cache_file_is_drawn_again(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path))
    expected = load_dataset(DataSpec(), (1, 16, 16), synthetic_size=100, use_cache=False)
    path = cache_file(100, (1, 16, 16), 0)
    path.write_bytes(b"\x93NUMPY not really")
    again = load_dataset(DataSpec(), (1, 16, 16), synthetic_size=100)
    assert torch.equal(expected.train.images, again.train.images)
    assert np.load(path).shape == (100, 1, 16, 16)  # and written properly this time


def test_an_unwritable_cache_only_costs_a_draw(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(blocker / "cache"))
    data = load_dataset(DataSpec(), (1, 16, 16), synthetic_size=50)
    assert len(data.train) + len(data.val) == 50


def test_old_generator_versions_are_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "shapes-v1-12000-1x32x32-s0.npy"
    stale.write_bytes(b"old")
    load_dataset(DataSpec(), (1, 8, 8), synthetic_size=20)
    assert not stale.exists()


def test_any_chunk_is_the_same_images_as_a_full_draw():
    images, labels = make_shapes(3 * CHUNK + 17, channels=3, height=12, width=10, seed=5)
    chunk, chunk_labels = shapes_chunk(2, 3, 12, 10, seed=5)
    assert np.array_equal(chunk, images[2 * CHUNK:3 * CHUNK].numpy())
    assert np.array_equal(chunk_labels, labels[2 * CHUNK:3 * CHUNK].numpy())
    assert torch.equal(make_shapes(40, 3, 12, 10, seed=5)[0], images[:40])  # a short draw is a prefix
    assert torch.bincount(make_shapes(1230, seed=1)[1]).tolist() == [123] * 10


def test_drawing_stops_when_asked():
    from convviz.data.synthetic import Cancelled

    with pytest.raises(Cancelled):
        make_shapes(4 * CHUNK, should_stop=lambda: True)


def test_statistics_in_slices_are_those_of_all_fitted_images():
    data = load_dataset(DataSpec(), (3, 40, 40), synthetic_size=300, seed=2)
    mean, std = data.mean_std()
    x = conform(data.train.images.float().div(255), (3, 40, 40))
    whole_std, whole_mean = torch.std_mean(x.transpose(0, 1).reshape(3, -1), dim=1)
    assert mean == pytest.approx(whole_mean.tolist(), abs=1e-5)
    assert std == pytest.approx(whole_std.tolist(), abs=1e-5)


def test_designs_that_need_the_same_images_share_them():
    spec = DataSpec()
    assert source_key(spec, (3, 224, 224)) == source_key(spec, (3, 192, 192))   # both drawn at 3×32×32
    assert source_key(spec, (3, 224, 224)) != source_key(spec, (1, 224, 224))
    assert source_key(spec, (1, 32, 32)) != source_key(spec, (1, 28, 28))
    mnist = DataSpec.parse("mnist:/data/mnist")
    assert source_key(mnist, (1, 28, 28)) == source_key(mnist, (3, 224, 224))  # 28×28 files, fitted per batch
    folder = DataSpec.parse("folder:/photos")
    assert source_key(folder, (3, 64, 64)) != source_key(folder, (3, 32, 32))  # decoded at the design's size
    data = load_dataset(spec, (3, 224, 224), synthetic_size=100)
    other = data.fitted((3, 192, 192))
    assert other.shape == (3, 192, 192) and other.train is data.train and data.fitted((3, 224, 224)) is data


def test_batches_from_the_native_set_are_fitted_to_the_design():
    data = load_dataset(DataSpec(), (3, 96, 80), synthetic_size=100)
    mean, std = data.mean_std()
    batch = Preprocess((3, 96, 80), mean, std, torch.device("cpu"))(data.train.images[:5], train=False)
    assert batch.shape == (5, 3, 96, 80) and abs(float(batch.mean())) < 0.5
