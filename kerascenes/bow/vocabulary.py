"""Visual vocabularies: k-means on sampled descriptors, and descriptor -> word assignment.

Assignment is exact nearest-centroid by default (one matrix product per image, the
fastest exact method for vocabularies of a few hundred words); OpenCV's FLANN or
brute-force matchers are available as in the original study. Soft assignment shares
each descriptor between its nearest words with Gaussian weights (kernel codebook).
"""

from __future__ import annotations

import numpy as np

from kerascenes.errors import KerascenesError

MATCHERS = ("exact", "flann", "bruteforce")
SOFT_NEIGHBOURS = 5


def sample_descriptors(descriptor_sets: list[np.ndarray], n_samples: int, seed: int,
                       positions: list[np.ndarray] | None = None):
    """Draw up to ``n_samples`` descriptors uniformly from all images (seeded), as float32.

    With ``positions`` (one ``(n, 2)`` array per image), returns ``(descriptors, their positions)``.
    """
    counts = np.array([len(d) for d in descriptor_sets])
    total = int(counts.sum())
    rng = np.random.default_rng(seed)
    if total <= n_samples:
        owners = [(i, slice(None)) for i, d in enumerate(descriptor_sets) if len(d)]
    else:
        picks = np.sort(rng.choice(total, size=n_samples, replace=False))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        owner = np.searchsorted(starts, picks, side="right") - 1
        owners = [(i, picks[owner == i] - starts[i]) for i in np.unique(owner)]
    dim = descriptor_sets[0].shape[1] if descriptor_sets and descriptor_sets[0].ndim == 2 else 0
    sample = (np.concatenate([descriptor_sets[i][idx] for i, idx in owners]).astype(np.float32) if owners
              else np.zeros((0, dim), np.float32))
    if positions is None:
        return sample
    where = (np.concatenate([np.asarray(positions[i], np.float32)[idx] for i, idx in owners]) if owners
             else np.zeros((0, 2), np.float32))
    return sample, where


def fit_kmeans(sample: np.ndarray, n_words: int, seed: int, max_iter: int = 50) -> np.ndarray:
    """k-means centroids ``(n_words, dim)`` of a descriptor sample (seeded, one k-means++ init).

    Raises:
        KerascenesError: when there are fewer distinct descriptors than words.
    """
    from sklearn.cluster import KMeans

    if len(sample) < n_words:
        raise KerascenesError(
            f"vocab_size={n_words} is larger than the {len(sample)} descriptors found in the training images; "
            "use a smaller vocab_size or more/larger images.")
    km = KMeans(n_clusters=n_words, n_init=1, max_iter=max_iter, tol=1e-3, random_state=seed)
    km.fit(sample)
    return km.cluster_centers_.astype(np.float32)


def _squared_distances(x: np.ndarray, centroids: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    d = x @ centroids.T
    d *= -2.0
    d += c_sq[None, :]
    d += np.einsum("ij,ij->i", x, x)[:, None]
    np.maximum(d, 0.0, out=d)
    return d


def assign_words(descriptors: np.ndarray, centroids: np.ndarray, matcher: str = "exact",
                 soft_sigma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map descriptors to visual words.

    Args:
        descriptors: ``(n, dim)`` array (any numeric dtype).
        centroids: ``(k, dim)`` float32 vocabulary.
        matcher: ``"exact"`` (nearest centroid by matrix product), ``"flann"`` or ``"bruteforce"`` (OpenCV).
        soft_sigma: if given, each descriptor is shared between its ``SOFT_NEIGHBOURS`` nearest
            words with weights ``exp(-d^2 / (2 sigma^2))`` summing to 1.

    Returns:
        ``(words, weights)``: both ``(n, m)`` with ``m = 1`` (hard) or ``SOFT_NEIGHBOURS`` (soft).
    """
    n = len(descriptors)
    m = 1 if soft_sigma is None else min(SOFT_NEIGHBOURS, len(centroids))
    if n == 0:
        return np.zeros((0, m), np.intp), np.zeros((0, m), np.float32)
    x = np.ascontiguousarray(descriptors, dtype=np.float32)
    if matcher == "exact":
        d = _squared_distances(x, centroids, np.einsum("ij,ij->i", centroids, centroids))
        if m == 1:
            words = d.argmin(axis=1)[:, None]
        else:
            words = np.argpartition(d, m - 1, axis=1)[:, :m]
        dist2 = np.take_along_axis(d, words, axis=1)
    elif matcher in ("flann", "bruteforce"):
        import cv2

        if matcher == "flann":
            engine = cv2.FlannBasedMatcher(dict(algorithm=1, trees=4), dict(checks=32))  # randomised kd-trees
        else:
            engine = cv2.BFMatcher(cv2.NORM_L2)
        matches = engine.knnMatch(x, centroids, k=m)
        words = np.zeros((n, m), np.intp)
        dist2 = np.full((n, m), np.inf, np.float32)
        for i, row in enumerate(matches):
            for j, match in enumerate(row[:m]):
                words[i, j] = match.trainIdx
                dist2[i, j] = match.distance ** 2
        words[~np.isfinite(dist2)] = words[:, :1].repeat(m, 1)[~np.isfinite(dist2)]
    else:
        raise KerascenesError(f"Unknown matcher {matcher!r}; choose one of {', '.join(MATCHERS)}.")
    if m == 1:
        return words.astype(np.intp), np.ones((n, 1), np.float32)
    logits = -(dist2 - dist2.min(axis=1, keepdims=True)) / (2.0 * soft_sigma ** 2)
    weights = np.exp(np.where(np.isfinite(logits), logits, -np.inf)).astype(np.float32)
    weights /= weights.sum(axis=1, keepdims=True)
    return words.astype(np.intp), weights


def soft_sigma_from_sample(sample: np.ndarray, centroids: np.ndarray) -> float:
    """A bandwidth for soft assignment: the median distance of descriptors to their nearest word."""
    sub = sample[: min(len(sample), 20_000)]
    d = _squared_distances(sub, centroids, np.einsum("ij,ij->i", centroids, centroids)).min(axis=1)
    return float(max(np.sqrt(np.median(d)), 1e-6))


def fit_gmm(sample: np.ndarray, n_components: int, seed: int | None, n_iter: int = 30,
            init_samples: int = 20_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diagonal-covariance Gaussian mixture by EM in float32 (matrix products only).

    Means start from k-means on a subsample; variances are floored at 1e-3 of the mean
    data variance (flat patches give many identical descriptors).

    Returns:
        ``(means (k, d), variances (k, d), priors (k,))``.
    """
    from kerascenes.bow.encoding import gmm_posteriors

    x = np.ascontiguousarray(sample, dtype=np.float32)
    if len(x) < n_components:
        raise KerascenesError(
            f"vocab_size={n_components} is larger than the {len(x)} descriptors found in the training images; "
            "use a smaller vocab_size or more/larger images.")
    rng = np.random.default_rng(seed)
    sub = x[rng.choice(len(x), size=min(len(x), init_samples), replace=False)]
    means = fit_kmeans(sub, n_components, 0 if seed is None else seed, max_iter=20)
    floor = 1e-3 * float(x.var(axis=0).mean()) + 1e-12
    variances = np.tile(x.var(axis=0) + floor, (n_components, 1)).astype(np.float32)
    priors = np.full(n_components, 1.0 / n_components, np.float32)
    x2 = x * x
    for _ in range(n_iter):
        g = gmm_posteriors(x, means, variances, priors)
        nk = g.sum(axis=0) + 1e-6
        means = (g.T @ x) / nk[:, None]
        variances = np.maximum((g.T @ x2) / nk[:, None] - means * means, floor).astype(np.float32)
        priors = (nk / nk.sum()).astype(np.float32)
    return means.astype(np.float32), variances, priors
