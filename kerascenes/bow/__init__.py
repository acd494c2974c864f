"""Bag of visual words: local descriptors -> visual vocabulary -> encodings -> SVM.

Main entry points: :func:`fit_bow` with a :class:`BowConfig` (what ``kerascenes bow fit``
runs), :class:`BagOfVisualWords` (a scikit-learn transformer from images to vectors),
:func:`make_pipeline` / :func:`make_classifier` (named classifiers) and :func:`save_model` /
:func:`load_model` (pickle-free model files). Importing this package imports neither
scikit-learn nor OpenCV; the names below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BagOfVisualWords": "kerascenes.bow.transformer",
    "BowConfig": "kerascenes.bow.config",
    "BowResult": "kerascenes.bow.runner",
    "CLASSIFIERS": "kerascenes.bow.classifiers",
    "DETECTORS": "kerascenes.bow.detectors",
    "ENCODINGS": "kerascenes.bow.encoding",
    "IntersectionMap": "kerascenes.bow.kernels",
    "KernelSVC": "kerascenes.bow.kernels",
    "fit_bow": "kerascenes.bow.runner",
    "intersection_kernel": "kerascenes.bow.kernels",
    "load_model": "kerascenes.bow.persistence",
    "make_classifier": "kerascenes.bow.classifiers",
    "make_pipeline": "kerascenes.bow.classifiers",
    "save_model": "kerascenes.bow.persistence",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerascenes.bow' has no attribute {name!r}")
