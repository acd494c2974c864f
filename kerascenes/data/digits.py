"""MNIST and Fashion-MNIST as numpy arrays, from wherever they can be found.

Sources, in order: the ``data`` path you give (a ``.npz`` with ``x_train y_train x_test
y_test`` as Keras writes it, or a folder with the official idx files, ``.gz`` or not);
else a local copy in a well-known place (Debian's ``dataset-fashion-mnist`` package at
``/usr/share/datasets/fashion-mnist``, Keras' download cache ``~/.keras/datasets``);
else tensorflow-datasets (downloads when the network allows). Arrays are framework
neutral: images ``uint8`` of shape ``(n, 28, 28)``, labels ``int64`` of shape ``(n,)``.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from kerascenes.errors import KerascenesError

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                      "Bag", "Ankle boot"),
}
DATASETS = tuple(CLASS_NAMES)
SPLITS = ("train", "test")
_IDX_PREFIX = {"train": "train", "test": "t10k"}


def local_candidates(dataset: str) -> list[Path]:
    """Places where a local copy of ``dataset`` is looked for when no path is given."""
    keras_cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    if dataset == "fashion_mnist":
        return [Path("/usr/share/datasets/fashion-mnist"), keras_cache / "fashion-mnist"]
    return [keras_cache / "mnist.npz"]


def _check_dataset(dataset: str, split: str) -> None:
    if dataset not in CLASS_NAMES:
        raise KerascenesError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    if split not in SPLITS:
        raise KerascenesError(f"Unknown split {split!r}; choose 'train' or 'test'.")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one idx file (``.gz`` or plain) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise KerascenesError(f"{path} is not an unsigned-byte idx file; pass the official MNIST-format files.")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise KerascenesError(f"{path} is truncated ({data.size} values for shape {tuple(dims)}); download it again.")
    return data.reshape(tuple(int(d) for d in dims))


def _find_idx(folder: Path, split: str, kind: str) -> Path | None:
    stem = f"{_IDX_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_folder(folder: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split from a folder of idx files."""
    folder = Path(folder)
    images, labels = _find_idx(folder, split, "images"), _find_idx(folder, split, "labels")
    if images is None or labels is None:
        prefix = _IDX_PREFIX[split]
        raise KerascenesError(f"{folder} has no {prefix}-images-idx3-ubyte.gz / {prefix}-labels-idx1-ubyte.gz; pass a folder with the official idx files or a .npz.")
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or len(x) != len(y):
        raise KerascenesError(f"{images} and {labels} do not match ({x.shape} images, {y.shape} labels); use the files of one dataset.")
    return check_digits(x, y, str(images))


def load_npz(path: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split from a Keras-style ``.npz``."""
    path = Path(path)
    try:
        with np.load(path) as data:
            x, y = data[f"x_{split}"], data[f"y_{split}"]
    except KeyError:
        raise KerascenesError(f"{path} lacks x_{split}/y_{split}; pass a .npz with keys x_train y_train x_test y_test.") from None
    except Exception as exc:  # noqa: BLE001 - zip, pickle and header errors of a damaged file
        raise KerascenesError(f"{path} is not a readable .npz file ({type(exc).__name__}); pass a .npz with keys "
                              "x_train y_train x_test y_test.") from None
    return check_digits(x, y, f"{path}: x_{split}")


def check_digits(x: np.ndarray, y: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 (n, 28, 28) images, int64 labels)``, or one sentence on what is wrong with them."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
        raise KerascenesError(f"{source} has shape {x.shape} for labels of shape {y.shape}; expected (n, 28, 28) "
                              "images and n labels.")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
            raise KerascenesError(f"{source} holds {'non-numbers' if not np.issubdtype(x.dtype, np.number) else 'NaN or infinite values'}; "
                                  "expected pixel values 0..255.")
        if x.size and (x.min() < 0 or x.max() > 255):
            raise KerascenesError(f"{source} has values from {x.min()} to {x.max()}; expected pixel values 0..255.")
    if y.size and (not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0)):
        raise KerascenesError(f"{source}: the labels are not integers; expected class numbers 0..9.")
    return np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int64)


def load_path(path: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load from a ``.npz`` file or an idx folder."""
    path = Path(path)
    if path.is_dir():
        return load_idx_folder(path, split)
    if path.is_file():
        return load_npz(path, split)
    raise KerascenesError(f"--data {path} does not exist; pass a .npz file or a folder with the idx .gz files.")


def load_tfds(dataset: str, split: str = "train", data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load through tensorflow-datasets (downloads on first use)."""
    import tensorflow_datasets as tfds

    ds = tfds.load(dataset, split=split, as_supervised=True, data_dir=data_dir)
    images, labels = [], []
    for x, y in tfds.as_numpy(ds.batch(10000)):
        images.append(x[..., 0])
        labels.append(y)
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.int64)
    return np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64)


def load_digits(dataset: str = "mnist", data: str | os.PathLike | None = None, split: str = "train",
                use_tfds: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST images and labels.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        data: a ``.npz`` or a folder of idx files; ``None`` looks for a local copy, then tfds.
        split: ``"train"`` or ``"test"``.
        use_tfds: fall back to tensorflow-datasets when nothing local is found.

    Returns:
        ``(images, labels)``: ``uint8 (n, 28, 28)`` and ``int64 (n,)``.
    """
    _check_dataset(dataset, split)
    if data is not None:
        return load_path(data, split)
    candidates = local_candidates(dataset)
    for candidate in candidates:
        if candidate.is_dir() and _find_idx(candidate, split, "images") is not None:
            return load_idx_folder(candidate, split)
        if candidate.is_file():
            return load_npz(candidate, split)
    reason = "tensorflow-datasets was not tried"
    if use_tfds:
        try:
            return load_tfds(dataset, split)
        except Exception as exc:  # tfds raises many kinds of network/download errors
            reason = f"tensorflow-datasets could not load it ({type(exc).__name__})"
    looked = ", ".join(str(c) for c in candidates)
    raise KerascenesError(f"Could not load {dataset}: no local copy in {looked} and {reason}; "
                          f"pass --data with a .npz (keys x_train y_train x_test y_test) or a folder of the idx .gz files.")


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """``uint8`` images -> ``float32`` in [0, 1], shape ``(n, 28, 28)``."""
    return np.asarray(images, dtype=np.float32) / 255.0
