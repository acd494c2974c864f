"""MNIST-style loaders: Keras .npz, idx folders (gz or not), tensorflow-datasets, clear offline errors."""

import gzip
import struct

import numpy as np
import pytest

from kerascenes.data import digits
from kerascenes.errors import KerascenesError


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), rng.integers(0, 10, 20).astype(np.uint8),
            rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), rng.integers(0, 10, 8).astype(np.uint8))


def test_npz_splits(tmp_path, tiny):
    xtr, ytr, xte, yte = tiny
    path = tmp_path / "m.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    x, y = digits.load_digits("mnist", path, "test")
    assert x.dtype == np.uint8 and x.shape == (8, 28, 28) and y.dtype == np.int64
    np.testing.assert_array_equal(x, xte)
    np.testing.assert_array_equal(digits.load_digits("mnist", path)[1], ytr)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder(tmp_path, tiny, compress):
    xtr, ytr, xte, yte = tiny
    for name, arr in [("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr),
                      ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)]:
        data = _idx_bytes(arr)
        if compress:
            (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (tmp_path / name).write_bytes(data)
    x, y = digits.load_digits("fashion_mnist", tmp_path, "train")
    np.testing.assert_array_equal(x, xtr)
    np.testing.assert_array_equal(y, ytr)


def test_debian_and_keras_cache_are_looked_for():
    assert "/usr/share/datasets/fashion-mnist" in [str(p) for p in digits.local_candidates("fashion_mnist")]
    assert digits.local_candidates("mnist")[0].name == "mnist.npz"


def test_local_copy_found_automatically(tmp_path, tiny, monkeypatch):
    xtr, ytr, xte, yte = tiny
    for name, arr in [("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr)]:
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    monkeypatch.setattr(digits, "local_candidates", lambda dataset: [tmp_path / "missing", tmp_path])
    monkeypatch.setattr(digits, "load_tfds", lambda *a, **k: pytest.fail("tfds must not be used"))
    x, _ = digits.load_digits("fashion_mnist")
    np.testing.assert_array_equal(x, xtr)


def test_tfds_path_with_mock_data(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(digits, "local_candidates", lambda dataset: [])
    with tfds.testing.mock_data(num_examples=12):
        x, y = digits.load_digits("mnist", split="train")
    assert x.shape == (12, 28, 28) and x.dtype == np.uint8
    assert y.shape == (12,) and y.min() >= 0 and y.max() <= 9


def test_offline_without_local_copy_is_one_clear_sentence(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(digits, "local_candidates", lambda dataset: [])
    monkeypatch.setattr(digits, "load_tfds", offline)
    with pytest.raises(KerascenesError, match=r"Could not load mnist.*ConnectionError.*--data"):
        digits.load_digits("mnist")


def test_bad_inputs(tmp_path, tiny):
    with pytest.raises(KerascenesError, match="does not exist"):
        digits.load_digits("mnist", tmp_path / "nope.npz")
    np.savez(tmp_path / "bad.npz", images=tiny[0])
    with pytest.raises(KerascenesError, match="x_train"):
        digits.load_digits("mnist", tmp_path / "bad.npz")
    with pytest.raises(KerascenesError, match="idx"):
        digits.load_digits("mnist", tmp_path)
    with pytest.raises(KerascenesError, match="Unknown dataset"):
        digits.load_digits("cifar10", tmp_path)
    (tmp_path / "x-idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(KerascenesError, match="not an unsigned-byte idx"):
        digits.read_idx(tmp_path / "x-idx")
