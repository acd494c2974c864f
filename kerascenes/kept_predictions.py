"""Validation probabilities a finished run keeps (``val_proba.npz``), for ensembles.

A classifier or bag-of-words run scores its validation images once, at its end. It keeps those
probabilities tied by SHA-256 to its model files and to the list of image paths, so an ensemble
reporting on the same images reuses them instead of running every member over them again. For
anything else (a changed model, other images or another order, an image changed in place, a damaged
file) they are ignored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from kerascenes.runs import save_npz

#: run kind -> the files whose bytes make its predictions.
MODEL_FILES = {"classifier": ("model.keras",), "bow": ("bow_model.json", "bow_model.npz")}
VAL_PROBA_FILE = "val_proba.npz"


def model_digest(run_dir: str | Path, kind: str) -> str | None:
    """SHA-256 of a run's model files (``None`` when one is missing)."""
    digest = hashlib.sha256()
    for name in MODEL_FILES[kind]:
        path = Path(run_dir) / name
        if not path.is_file():
            return None
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _file_key(path: str) -> str:
    """An image's absolute path, size and modification time: a file changed in place is another image."""
    path = os.path.abspath(str(path))
    try:
        stat = os.stat(path)
    except OSError:
        return f"{path}\tmissing"
    return f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}"


def paths_digest(paths: Sequence[str]) -> str:
    """SHA-256 of a list of images (each by absolute path, size and modification time), in order."""
    return hashlib.sha256("\n".join(_file_key(p) for p in paths).encode("utf-8", "surrogateescape")).hexdigest()


def keep_val_proba(run_dir: str | Path, kind: str, proba: np.ndarray, paths: Sequence[str]) -> Path:
    """Keep a finished run's ``(n, classes)`` validation probabilities, tied to its model and images."""
    target = Path(run_dir) / VAL_PROBA_FILE
    save_npz(target, proba=np.asarray(proba, np.float32), model_sha256=model_digest(run_dir, kind) or "",
             paths_sha256=paths_digest(paths))
    return target


def load_val_proba(run_dir: str | Path, kind: str, paths: Sequence[str]) -> np.ndarray | None:
    """The kept probabilities of exactly these images (same paths, same order) by this very model, or ``None``."""
    try:
        with np.load(Path(run_dir) / VAL_PROBA_FILE, allow_pickle=False) as f:
            proba = np.asarray(f["proba"], np.float32)
            if (str(f["paths_sha256"]) != paths_digest(paths) or len(proba) != len(paths)
                    or str(f["model_sha256"]) != (model_digest(run_dir, kind) or "-")):
                return None
            return proba
    except (OSError, KeyError, ValueError):
        return None
