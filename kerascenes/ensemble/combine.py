"""Combining member probabilities: weighted geometric or arithmetic means, or a stacked logistic regression.

Every combiner is learned from out-of-fold probabilities (never from the images it is reported
on) and stored as plain numbers: ``{"method", "weights"}`` or the stacker's coefficients.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

_EPS = 1e-7
#: Inverse regularisation strengths the stacker chooses from (by 5-fold cross-validated log-loss).
STACKING_CS = (0.01, 0.1, 1.0, 10.0)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(p, np.float64), _EPS, 1.0))


def _normalise_logits(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def combine(probas: Sequence[np.ndarray], params: dict[str, Any]) -> np.ndarray:
    """The ensemble's ``(n, classes)`` probabilities from the members' (in member order)."""
    method = params["method"]
    if method == "stacking":
        coef, intercept = np.asarray(params["coef"]), np.asarray(params["intercept"])
        return _normalise_logits(np.concatenate([_log(p) for p in probas], axis=1) @ coef.T + intercept)
    w = np.asarray(params["weights"], np.float64)
    if method == "geometric":
        return _normalise_logits(sum(wi * _log(p) for wi, p in zip(w, probas)))
    mixed = sum(wi * np.asarray(p, np.float64) for wi, p in zip(w, probas))
    return mixed / mixed.sum(axis=1, keepdims=True)


def _nll(probas: Sequence[np.ndarray], labels: np.ndarray, params: dict[str, Any]) -> float:
    p = combine(probas, params)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], _EPS, 1.0))))


def fit_combiner(method: str, probas: Sequence[np.ndarray], labels: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Learn how to combine out-of-fold ``probas`` by their log-loss on ``labels``.

    * ``geometric``: non-negative weights of the members' log-probabilities (a weight is also a
      temperature, so over- or under-confident members are rescaled).
    * ``arithmetic``: weights on the simplex for a mixture of the probabilities.
    * ``stacking``: a multinomial logistic regression on the concatenated log-probabilities, its
      regularisation chosen by cross-validation on the same out-of-fold probabilities.
    """
    labels = np.asarray(labels, int)
    m = len(probas)
    if method == "stacking":
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        x = np.concatenate([_log(p) for p in probas], axis=1)
        # the regularisation is chosen by cross-validated log-loss, as the other methods' weights are
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        scores = {c: cross_val_score(LogisticRegression(C=c, max_iter=2000), x, labels, cv=folds,
                                     scoring="neg_log_loss", error_score=np.nan) for c in STACKING_CS}
        scores = {c: float(np.nanmean(v)) for c, v in scores.items() if not np.all(np.isnan(v))}
        best = max(scores, key=scores.get) if scores else 1.0  # no fold could be scored: a moderate default
        model = LogisticRegression(C=best, max_iter=2000).fit(x, labels)
        return {"method": method, "coef": model.coef_.tolist(), "intercept": model.intercept_.tolist(), "C": best}
    from scipy.optimize import minimize

    if method == "geometric":
        def loss(w):
            return _nll(probas, labels, {"method": method, "weights": w})

        result = minimize(loss, np.ones(m), method="L-BFGS-B", bounds=[(0.0, 20.0)] * m)
        weights = result.x
    else:
        def loss(a):
            return _nll(probas, labels, {"method": method, "weights": np.exp(a) / np.exp(a).sum()})

        result = minimize(loss, np.zeros(m), method="L-BFGS-B")
        weights = np.exp(result.x) / np.exp(result.x).sum()
    return {"method": method, "weights": [float(w) for w in weights]}


def equal_weights(method: str, m: int) -> dict[str, Any]:
    """The unlearned baseline: every member counts the same (stacking falls back to a geometric mean)."""
    if method == "arithmetic":
        return {"method": method, "weights": [1.0 / m] * m}
    return {"method": "geometric", "weights": [1.0 / m] * m}
