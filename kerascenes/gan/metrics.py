"""Scores of generated images on a domain classifier's features: FD, KID, confidence, class coverage.

Everything here works on numpy arrays, so samples from any framework can be scored.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

CONFIDENCE = 0.8


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``(n, d)`` features."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet distance between two Gaussians: ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2)``."""
    from scipy import linalg

    diff = np.asarray(mu1) - np.asarray(mu2)
    with warnings.catch_warnings():  # a singular product is handled just below
        warnings.simplefilter("ignore")
        covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():  # near-singular product: regularise, as the FID reference code does
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(max(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean), 0.0))


def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 20,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel, averaged over random subsets (KID).

    Args:
        features_a, features_b: ``(n, d)`` features of the two image sets.
        subsets: number of random subsets averaged.
        subset_size: images per subset (capped by the smaller set).
        seed: subset sampling seed.

    Returns:
        The KID (0 for identical distributions; can be slightly negative by chance).
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    if m < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values))


def class_histogram(probabilities: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """How many images the classifier assigns to each class."""
    probabilities = np.asarray(probabilities)
    return np.bincount(probabilities.argmax(axis=1), minlength=num_classes or probabilities.shape[1])


def score_features(features: np.ndarray, probabilities: np.ndarray, reference: dict[str, Any],
                   class_names: tuple[str, ...] | list[str], confidence: float = CONFIDENCE,
                   with_kid: bool = True) -> dict[str, Any]:
    """All scores of one image set against real reference statistics.

    Args:
        features: ``(n, d)`` classifier features of the images.
        probabilities: ``(n, classes)`` class probabilities.
        reference: ``mu``, ``sigma`` and ``features`` of real images (see :class:`DomainScorer`).
        class_names: names for the histogram.
        confidence: threshold of the confident share.
        with_kid: compute the KID (else NaN).

    Returns:
        ``fd``, ``kid``, ``confident_share``, ``classes_covered`` (classes holding at least a
        fifth of their uniform share), ``class_entropy`` (normalised, 1 = uniform) and
        ``class_histogram`` (name -> count).
    """
    mu, sigma = feature_stats(features)
    counts = class_histogram(probabilities, len(class_names))
    share = counts / max(counts.sum(), 1)
    nonzero = share[share > 0]
    return {
        "n_samples": int(len(features)),
        "fd": frechet_distance(mu, sigma, reference["mu"], reference["sigma"]),
        "kid": kernel_inception_distance(features, reference["features"]) if with_kid else float("nan"),
        "confident_share": float((np.asarray(probabilities).max(axis=1) >= confidence).mean()),
        "classes_covered": int((share >= 0.2 / len(class_names)).sum()),
        "class_entropy": float(-(nonzero * np.log(nonzero)).sum() / np.log(len(class_names))),
        "class_histogram": {name: int(c) for name, c in zip(class_names, counts)},
    }


def score_samples(images: np.ndarray, dataset: str, confidence: float = CONFIDENCE,
                  with_kid: bool = True) -> dict[str, Any]:
    """Score generated images (``(n, 28, 28)`` in [0, 1]) with the shipped ``dataset`` classifier.

    Returns:
        The :func:`score_features` dict plus the real-vs-real reference figures
        (``real_fd``, ``real_kid``, ``real_confident_share``) and ``fd_ratio`` = fd / real_fd.
    """
    from kerascenes.gan.domain import DomainScorer

    scorer = DomainScorer.load(dataset)
    features, probabilities = scorer.predict(images)
    scores = score_features(features, probabilities, scorer.reference, scorer.class_names, confidence, with_kid)
    meta = scorer.meta
    scores.update({
        "dataset": dataset,
        "real_fd": meta["real_fd"],
        "real_kid": meta["real_kid"],
        "real_confident_share": meta["real_confident_share"],
        "fd_ratio": scores["fd"] / meta["real_fd"] if meta["real_fd"] > 0 else float("inf"),
    })
    return scores
