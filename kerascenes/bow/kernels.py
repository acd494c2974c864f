"""Kernels for histogram features and a one-vs-rest kernel SVM that stores plain arrays.

:class:`KernelSVC` trains one binary SVM per class on a precomputed Gram matrix
(libsvm via scikit-learn) and keeps only arrays: support vectors, their coefficients per
class and the intercepts (for the linear kernel, the weight matrix). Prediction is a
kernel evaluation and one matrix product, and a fitted model saves to ``.npz`` without
pickle (:mod:`kerascenes.bow.persistence`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from kerascenes.errors import KerascenesError

KERNELS = ("linear", "rbf", "intersection", "chi2")


HISTOGRAM_KERNELS = ("intersection", "chi2")  # defined for non-negative features only


def check_non_negative(kernel: str, *arrays) -> None:
    """Refuse negative features (Fisher vectors, VLAD) for a histogram kernel."""
    if kernel in HISTOGRAM_KERNELS and any(np.min(a, initial=0) < 0 for a in arrays):
        raise KerascenesError(f"The {kernel} kernel needs non-negative features such as word histograms; "
                              "use a linear or RBF SVM for Fisher vectors and VLAD.")


def intersection_kernel(X: np.ndarray, Y: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    """Exact histogram-intersection kernel ``K[i, j] = sum_d min(X[i, d], Y[j, d])``.

    Costs ``O(len(X) * len(Y) * d)`` element operations (about 1 s per 3e8 here), fine for
    plain histograms; for large spatial pyramids use :class:`IntersectionMap` + a linear kernel.
    """
    from kerascenes.bow.extraction import map_images

    X = np.ascontiguousarray(X, dtype=np.float32)
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    out = np.zeros((len(X), len(Y)), np.float32)
    rows, cols = 4, 1024

    def block(start: int) -> None:
        tmp = np.empty((rows, len(Y), cols), np.float32)
        for c in range(0, X.shape[1], cols):
            yc = Y[:, c:c + cols]
            for i in range(start, min(start + 64, len(X)), rows):
                xb = X[i:i + rows, c:c + cols]
                t = tmp[:len(xb), :, :yc.shape[1]]
                np.minimum(xb[:, None, :], yc[None], out=t)
                out[i:i + len(xb)] += t.sum(axis=2)

    map_images(block, list(range(0, len(X), 64)), n_jobs=n_jobs)
    return out


class IntersectionMap:
    """Explicit feature map whose dot products approximate the intersection kernel.

    The homogeneous kernel map of Vedaldi & Zisserman (PAMI 2012) for ``min(x, y)``, with
    ``2 * order + 1`` components per input feature sampled every ``period``: a linear SVM
    on the mapped features behaves like an intersection-kernel SVM, at the cost of a
    matrix product. Stateless; works as a scikit-learn transformer.
    """

    def __init__(self, order: int = 1, period: float = 0.6):
        self.order = order
        self.period = period

    def get_params(self, deep: bool = True) -> dict:
        return {"order": self.order, "period": self.period}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X, y=None):
        return self

    def fit_transform(self, X, y=None):
        return self.transform(X)

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, np.float32)
        check_non_negative("intersection", X)
        L = self.period
        kappa = lambda lam: 2.0 / (np.pi * (1.0 + 4.0 * lam * lam))  # spectrum of min(x, y)
        nz = X > 0
        logx = np.log(np.where(nz, X, 1.0))
        parts = [np.sqrt(X * L * kappa(0.0))]
        for j in range(1, self.order + 1):
            amp = np.sqrt(2.0 * X * L * kappa(j * L))
            parts.append(amp * np.cos(j * L * logx))
            parts.append(amp * np.sin(j * L * logx))
        return np.concatenate(parts, axis=1).astype(np.float32)


def chi2_distance_mean(X: np.ndarray) -> float:
    from sklearn.metrics.pairwise import additive_chi2_kernel

    sub = X[: min(len(X), 300)]
    return float(max(-additive_chi2_kernel(sub, sub).mean(), 1e-12))


def compute_kernel(kernel: str, X: np.ndarray, Y: np.ndarray, gamma: float | None = None,
                   n_jobs: int | None = None) -> np.ndarray:
    """Gram matrix between the rows of ``X`` and ``Y`` for a kernel in :data:`KERNELS`."""
    if kernel == "linear":
        return np.asarray(X, np.float32) @ np.asarray(Y, np.float32).T
    check_non_negative(kernel, X, Y)
    if kernel == "intersection":
        return intersection_kernel(X, Y, n_jobs=n_jobs)
    if kernel == "rbf":
        from sklearn.metrics.pairwise import rbf_kernel

        return rbf_kernel(X, Y, gamma=gamma).astype(np.float32)
    if kernel == "chi2":
        from sklearn.metrics.pairwise import chi2_kernel

        return chi2_kernel(np.asarray(X, np.float64), np.asarray(Y, np.float64), gamma=gamma).astype(np.float32)
    raise KerascenesError(f"Unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}.")


class KernelSVC(ClassifierMixin, BaseEstimator):
    """One-vs-rest SVM with a linear, RBF, histogram-intersection or chi2 kernel.

    Args:
        kernel: one of :data:`KERNELS`.
        C: soft-margin penalty.
        gamma: RBF / chi2 width; ``None`` picks ``1 / (n_features * var(X))`` (RBF) or
            ``1 / mean chi2 distance`` (chi2) from the training data.
        n_jobs: threads for the kernel computation and the per-class SVMs.
    """

    def __init__(self, kernel: str = "intersection", C: float = 10.0, gamma: float | None = None,
                 n_jobs: int | None = None):
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.n_jobs = n_jobs

    def fit(self, X, y):
        from sklearn.svm import SVC

        from kerascenes.bow.extraction import map_images

        if self.kernel not in KERNELS:
            raise KerascenesError(f"Unknown kernel {self.kernel!r}; choose one of {', '.join(KERNELS)}.")
        X = np.asarray(X, np.float32)
        y = np.asarray(y)
        check_non_negative(self.kernel, X)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise KerascenesError(f"Training needs at least 2 classes, got {len(self.classes_)}; add images of other classes.")
        if self.gamma is not None:
            self.gamma_ = float(self.gamma)
        elif self.kernel == "rbf":
            self.gamma_ = float(1.0 / max(X.shape[1] * X.var(), 1e-12))
        elif self.kernel == "chi2":
            self.gamma_ = 1.0 / chi2_distance_mean(X)
        else:
            self.gamma_ = 0.0
        gram = compute_kernel(self.kernel, X, X, self.gamma_, self.n_jobs).astype(np.float64)

        def binary(c):
            svm = SVC(kernel="precomputed", C=self.C, tol=1e-3)
            svm.fit(gram, np.where(y == c, 1, -1))
            return svm.support_, svm.dual_coef_[0] * (1 if svm.classes_[1] == 1 else -1), \
                float(svm.intercept_[0]) * (1 if svm.classes_[1] == 1 else -1)

        fits = map_images(binary, list(self.classes_), n_jobs=self.n_jobs)
        support = np.unique(np.concatenate([f[0] for f in fits]))
        where = {int(s): i for i, s in enumerate(support)}
        coef = np.zeros((len(support), len(self.classes_)), np.float32)
        for c, (sv, alpha, _) in enumerate(fits):
            coef[[where[int(s)] for s in sv], c] = alpha
        self.intercept_ = np.array([f[2] for f in fits], np.float32)
        if self.kernel == "linear":
            self.coef_ = (X[support].T @ coef).astype(np.float32)  # (n_features, n_classes)
            self.support_vectors_ = np.zeros((0, X.shape[1]), np.float32)
            self.dual_coef_ = np.zeros((0, len(self.classes_)), np.float32)
        else:
            self.support_vectors_ = X[support]
            self.dual_coef_ = coef
            self.coef_ = np.zeros((0, len(self.classes_)), np.float32)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        """One score per class (higher = more likely): ``(n, n_classes)``."""
        check_is_fitted(self, "intercept_")
        X = np.asarray(X, np.float32)
        if self.kernel == "linear":
            return X @ self.coef_ + self.intercept_
        K = compute_kernel(self.kernel, X, self.support_vectors_, self.gamma_, self.n_jobs)
        return K @ self.dual_coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the decision scores: a ranking, not calibrated probabilities."""
        s = self.decision_function(X)
        s = np.exp(3.0 * (s - s.max(axis=1, keepdims=True)))
        return s / s.sum(axis=1, keepdims=True)
