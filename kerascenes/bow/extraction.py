"""Descriptor extraction over many images: parallel, with a progress bar and a disk cache.

The cache stores one ``.npz`` per image under ``<cache_dir>/<detector key>/``, where the
detector key hashes the detector name and every parameter that changes its output, and the
file name hashes the image *content* (file bytes or array bytes), so renaming a file keeps
its entry and editing it invalidates it. Work runs in threads: OpenCV and NumPy release the
GIL, and BLAS/OpenMP pools are limited to one thread per worker so the cores are not
oversubscribed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from kerascenes.bow import detectors
from kerascenes.bow.images import to_gray
from kerascenes.runs import save_npz

CACHE_VERSION = 1


def detector_key(spec: dict[str, Any]) -> str:
    """Hash of a detector specification (name, parameters, image size limit, cache version)."""
    text = json.dumps({"v": CACHE_VERSION, **spec}, sort_keys=True, default=list)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def content_key(image: Any) -> str:
    """Hash of an image's content: the bytes of its file, or of the array (with shape and dtype)."""
    h = hashlib.sha1()
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    else:
        arr = np.ascontiguousarray(image)
        h.update(f"{arr.shape}{arr.dtype}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


class DescriptorCache:
    """Descriptors of images for one detector specification, stored under ``root``."""

    def __init__(self, root: str | os.PathLike, spec: dict[str, Any]):
        self.dir = Path(root) / detector_key(spec)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npz"

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                return data["descriptors"], data["positions"]
        except (OSError, KeyError, ValueError):
            return None

    def put(self, key: str, descriptors: np.ndarray, positions: np.ndarray) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_npz(path, descriptors=descriptors, positions=positions)


def describe_image(image: Any, spec: dict[str, Any], cache: DescriptorCache | None = None,
                   mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors and positions of one image (path or array), through the cache if given.

    Args:
        image: file path or array.
        spec: ``{"detector": name, "max_side": int|None, **detector params}``.
        cache: optional :class:`DescriptorCache` for ``spec`` (for ``mirror``, one of its own:
            :func:`mirror_spec`).
        mirror: describe the image's mirror image (flipped left to right) instead.
    """
    key = None
    if cache is not None:
        key = content_key(image)
        hit = cache.get(key)
        if hit is not None:
            return hit
    params = {k: v for k, v in spec.items() if k not in ("detector", "max_side")}
    gray = to_gray(image, spec.get("max_side"))
    if mirror:
        gray = np.ascontiguousarray(gray[:, ::-1])
    desc, pos = detectors.extract(gray, spec["detector"], **params)
    if cache is not None:
        cache.put(key, desc, pos)
    return desc, pos


def mirror_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The cache specification of the mirror images' descriptors (stored apart from the images')."""
    return {**spec, "mirror": True}


def resolve_jobs(n_jobs: int | None) -> int:
    """Number of worker threads: ``None`` or ``-1`` mean all cores."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, int(n_jobs))


def map_images(func: Callable[[Any], Any], items: Sequence[Any], n_jobs: int | None = None,
               progress: bool = False, desc: str = "images") -> list[Any]:
    """``[func(item) for item in items]`` over a thread pool, in order, with a progress bar.

    BLAS and OpenMP pools are limited to one thread while the workers run.
    """
    from threadpoolctl import threadpool_limits

    from kerascenes.progress import progress as progress_bar

    jobs = resolve_jobs(n_jobs)
    bar = progress_bar(len(items), desc, enabled=progress)
    try:
        if jobs == 1 or len(items) <= 1:
            out = []
            for item in items:
                out.append(func(item))
                bar.update()
            return out
        from concurrent.futures import ThreadPoolExecutor

        with threadpool_limits(1), ThreadPoolExecutor(jobs) as pool:
            out = []
            for result in pool.map(func, items):
                out.append(result)
                bar.update()
            return out
    finally:
        bar.close()


def iter_batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
