"""The training features a finished cached-feature run keeps (``train_features.npz``).

A run that trained its head on cached features of a frozen backbone keeps the training images'
features (the image's and, where it trained on them or scores with flip TTA, its mirror image's), so
an ensemble can refit the head out of fold without running the backbone again. They are tied by SHA-256 to the run's
``model.keras`` and to the list of image paths: for anything else they are ignored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from kerascenes.kept_predictions import paths_digest
from kerascenes.runs import save_npz

#: The training images' features a finished cached run keeps (what ensembles refit its head on).
RUN_FEATURES_FILE = "train_features.npz"


def _digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data).hexdigest()


def save_run_features(run_dir: str | Path, views: Sequence[np.ndarray], paths: Sequence[str]) -> Path:
    """Keep a finished run's training features, tied to its ``model.keras`` and its image list."""
    run_dir = Path(run_dir)
    target = run_dir / RUN_FEATURES_FILE
    save_npz(target, views=np.stack([np.asarray(v, np.float32) for v in views]),
             model_sha256=_digest((run_dir / "model.keras").read_bytes()), paths_sha256=paths_digest(paths))
    return target


def load_run_features(run_dir: str | Path, paths: Sequence[str]) -> np.ndarray | None:
    """``(views, n, *shape)`` training features a run kept, or ``None`` when they don't fit.

    They are used only for the very images (same paths, same order) and the very ``model.keras``
    they were computed with; anything else (a changed model, other images, a damaged file) gives
    ``None`` and the caller computes the features again.
    """
    run_dir = Path(run_dir)
    try:
        with np.load(run_dir / RUN_FEATURES_FILE, allow_pickle=False) as f:
            if (str(f["paths_sha256"]) != paths_digest(paths)
                    or str(f["model_sha256"]) != _digest((run_dir / "model.keras").read_bytes())):
                return None
            return np.asarray(f["views"], np.float32)
    except (OSError, KeyError, ValueError):
        return None
