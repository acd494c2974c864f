"""Ensembles of classifier, ViT and bag-of-words runs: ``kerascenes ensemble RUN RUN ...``.

Deep and classical models make different mistakes on scenes; an ensemble run combines the
class probabilities of trained runs (a weighted geometric or arithmetic mean, or a stacked
logistic regression) with weights learned from out-of-fold probabilities on the training
images only. Importing this package imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "EnsembleConfig": "kerascenes.ensemble.config",
    "fit_ensemble": "kerascenes.ensemble.runner",
    "EnsembleResult": "kerascenes.ensemble.runner",
    "EnsemblePredictor": "kerascenes.ensemble.runner",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerascenes.ensemble' has no attribute {name!r}")
