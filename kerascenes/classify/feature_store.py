"""Where cached features live: a :class:`FeatureSet` of views, in memory or in a ``.npy`` file.

``--feature-store auto`` keeps a cache in memory up to :data:`MEMORY_LIMIT_BYTES` and writes a
larger one to disk (memory-mapped); training draws one view of every image per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascenes.errors import KerascenesError

#: Feature caches up to this size stay in memory with ``store="auto"``; larger ones go to disk.
MEMORY_LIMIT_BYTES = 2 * 1024**3
STORES = ("auto", "memory", "disk")


def estimate_feature_bytes(n_images: int, views: int, dim: int) -> int:
    """Bytes of a float32 feature cache of ``n_images`` x ``views`` vectors of ``dim`` values."""
    return int(n_images) * int(views) * int(dim) * 4


def format_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KB"`` (decimal units)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def choose_store(nbytes: int, store: str = "auto", memory_limit: int = MEMORY_LIMIT_BYTES) -> str:
    """``"memory"`` or ``"disk"``: ``auto`` keeps caches up to ``memory_limit`` bytes in memory."""
    if store not in STORES:
        raise KerascenesError(f"Unknown feature store {store!r}; choose one of {', '.join(STORES)}.")
    if store != "auto":
        return store
    return "memory" if nbytes <= memory_limit else "disk"


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or ``None`` if unknown."""
    import os

    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: nothing to check against
        return None


def check_room(nbytes: int, store: str, folder: Path | None = None) -> None:
    """Refuse a cache that cannot fit: on disk, the free space of ``folder``'s disk (what an earlier
    cache there already holds counts as room); in memory, the memory available now."""
    import shutil

    if folder is not None:  # the memory store keeps a copy on disk too
        probe = Path(folder)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        existing = sum(p.stat().st_size for p in Path(folder).glob("*.npy")) if Path(folder).is_dir() else 0
        room = shutil.disk_usage(probe).free + existing
        if nbytes > room:
            raise KerascenesError(f"The feature cache needs {format_bytes(nbytes)} on disk, but only {format_bytes(room)} "
                                  f"are free in {probe}; lower --cache-views or --image-size, or pass --logdir on a "
                                  "disk with room.")
    if store == "memory":
        room = available_memory()
        if room is not None and nbytes > room:
            raise KerascenesError(f"The feature cache needs {format_bytes(nbytes)} of memory, but only {format_bytes(room)} "
                                  "are available; lower --cache-views or --image-size, or pass --feature-store disk.")


@dataclass
class FeatureSet:
    """Cached features of a set of images.

    Attributes:
        features: ``(views, n_images, *shape)`` float32 (``shape``: a vector's ``(dim,)``, or a
            feature map's ``(h, w, channels)``), an array or a ``.npy`` memory map.
        labels: ``(n_images,)`` integer labels.
        path: the ``.npy`` file when the features live on disk.
        seconds: time the backbone took to compute them.
        mirror_view: view 1 holds the mirror images' features.
    """

    features: np.ndarray
    labels: np.ndarray
    path: Path | None = None
    seconds: float = 0.0
    mirror_view: bool = False

    @property
    def views(self) -> int:
        return int(self.features.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one image's features."""
        return tuple(int(d) for d in self.features.shape[2:])

    @property
    def dim(self) -> int:
        """Values per image."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return int(self.features.shape[1])

    @property
    def nbytes(self) -> int:
        return estimate_feature_bytes(len(self), self.views, self.dim)

    def dataset(self, batch_size: int, training: bool = False, seed: int = 0):
        """A ``tf.data.Dataset`` of ``(features, labels)`` batches.

        Training batches are reshuffled every epoch and each image contributes one of its
        views, drawn at random every epoch (as an augmented image would be), so an epoch
        has as many samples as there are images, with or without cached views.
        """
        import tensorflow as tf

        features, labels, views = self.features, np.asarray(self.labels, np.int64), self.views
        rng = np.random.default_rng(seed)

        def gather(index: np.ndarray):
            view = rng.integers(0, views, len(index)) if training and views > 1 else np.zeros(len(index), np.int64)
            return np.asarray(features[view, index], np.float32), labels[index]

        n = len(self)
        ds = tf.data.Dataset.range(n)
        if training:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
        shape = self.shape

        def load(index):
            x, y = tf.numpy_function(gather, [index], (tf.float32, tf.int64), stateful=True)
            x.set_shape((None, *shape))
            y.set_shape((None,))
            return x, y

        # one call at a time: the random view choice stays reproducible
        return ds.map(load, num_parallel_calls=None).prefetch(tf.data.AUTOTUNE)

    def remove(self) -> None:
        """Delete the ``.npy`` file of an on-disk cache (in-memory caches: nothing to do)."""
        if self.path is not None:
            self.features = np.zeros((self.views, 0, *self.shape), np.float32)
            Path(self.path).unlink(missing_ok=True)
            self.path = None
