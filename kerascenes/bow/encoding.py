"""Image encodings built from visual words: pyramid histograms, VLAD and Fisher vectors.

Spatial pyramid (Lazebnik, Schmid & Ponce, CVPR 2006): level ``l`` splits the image into
``2^l x 2^l`` cells; with ``L`` levels the histogram of level 0 is weighted ``1/2^L`` and
that of level ``l >= 1`` ``1/2^(L-l+1)`` (L=2: 1/4, 1/4, 1/2), each level normalised by
the number of descriptors, so the histogram-intersection kernel of two encodings is the
pyramid match kernel.
"""

from __future__ import annotations

import numpy as np

ENCODINGS = ("histogram", "vlad", "fisher")
NORMALIZATIONS = ("l1", "hellinger")
DEFAULT_ENCODING = "fisher"
#: Per encoding, what an unset vocabulary size, pyramid depth and classifier mean (the one
#: place these defaults live: BagOfVisualWords, make_pipeline and BowConfig all read it).
ENCODING_DEFAULTS: dict[str, dict[str, object]] = {
    "fisher": {"vocab_size": 64, "pyramid_levels": 1, "classifier": "svm-linear"},
    "vlad": {"vocab_size": 64, "pyramid_levels": 1, "classifier": "svm-linear"},
    "histogram": {"vocab_size": 400, "pyramid_levels": 2, "classifier": "svm-intersection"},
}


def encoding_default(encoding: str, name: str):
    """The default ``name`` (``vocab_size``, ``pyramid_levels``, ``classifier``) of ``encoding``."""
    return ENCODING_DEFAULTS.get(encoding, ENCODING_DEFAULTS[DEFAULT_ENCODING])[name]


def n_regions(levels: int) -> int:
    """Number of pyramid cells over levels ``0..levels``: 1 + 4 + 16 + ..."""
    return sum(4 ** l for l in range(levels + 1))


def level_weights(levels: int) -> np.ndarray:
    """Lazebnik's level weights ``[1/2^L, 1/2^L, 1/2^(L-1), ..., 1/2]`` (``[1]`` for L=0)."""
    if levels == 0:
        return np.ones(1)
    return np.array([1.0 / 2 ** levels] + [1.0 / 2 ** (levels - l + 1) for l in range(1, levels + 1)])


def region_index(positions: np.ndarray, levels: int) -> np.ndarray:
    """Pyramid cell of each descriptor at each level: ``(n, levels + 1)`` global region ids."""
    pos = np.clip(np.asarray(positions, dtype=np.float64), 0.0, 1.0 - 1e-9)
    out = np.empty((len(pos), levels + 1), np.intp)
    offset = 0
    for l in range(levels + 1):
        g = 2 ** l
        cell = np.floor(pos[:, 1] * g).astype(np.intp) * g + np.floor(pos[:, 0] * g).astype(np.intp)
        out[:, l] = offset + cell
        offset += g * g
    return out


def _region_level(levels: int) -> np.ndarray:
    return np.concatenate([np.full(4 ** l, l) for l in range(levels + 1)])


def pyramid_histogram(words: np.ndarray, weights: np.ndarray, positions: np.ndarray, n_words: int,
                      levels: int, normalization: str = "l1") -> np.ndarray:
    """Spatial-pyramid word histogram of one image.

    Args:
        words, weights: ``(n, m)`` word ids and their weights (from :func:`assign_words`).
        positions: ``(n, 2)`` descriptor centres as fractions of width and height.
        n_words: vocabulary size.
        levels: pyramid levels ``L`` (0 = plain histogram).
        normalization: ``"l1"`` (each level sums to its Lazebnik weight) or
            ``"hellinger"`` (square root of that, for linear kernels).

    Returns:
        ``(n_regions(levels) * n_words,)`` float32 vector; all zeros when ``n == 0``.
    """
    size = n_regions(levels) * n_words
    if len(words) == 0:
        return np.zeros(size, np.float32)
    regions = region_index(positions, levels)  # (n, L+1)
    idx = (regions[:, :, None] * n_words + words[:, None, :]).ravel()
    w = np.broadcast_to(weights[:, None, :], (len(words), levels + 1, words.shape[1])).ravel()
    hist = np.bincount(idx, weights=w, minlength=size)
    per_region = level_weights(levels)[_region_level(levels)] / float(weights.sum())
    hist = (hist.reshape(-1, n_words) * per_region[:, None]).ravel()
    if normalization == "hellinger":
        hist = np.sqrt(hist)
    return hist.astype(np.float32)


def _region_masks(positions: np.ndarray, levels: int) -> np.ndarray:
    regions = region_index(positions, levels)
    masks = np.zeros((len(positions), n_regions(levels)), np.float32)
    for l in range(levels + 1):
        masks[np.arange(len(positions)), regions[:, l]] = 1.0
    return masks


def _power_l2(blocks: np.ndarray) -> np.ndarray:
    """Signed square root then L2 normalisation of each row; rows are then scaled so the
    concatenation has unit norm."""
    blocks = np.sign(blocks) * np.sqrt(np.abs(blocks))
    norms = np.linalg.norm(blocks, axis=1, keepdims=True)
    blocks = np.where(norms > 0, blocks / np.maximum(norms, 1e-12), 0.0)
    return (blocks / np.sqrt(len(blocks))).astype(np.float32)


def vlad(x: np.ndarray, words: np.ndarray, positions: np.ndarray, centroids: np.ndarray, levels: int) -> np.ndarray:
    """VLAD per pyramid region: summed residuals to the nearest word, intra-normalised,
    power- and L2-normalised. ``x`` is ``(n, d)`` float32 (already projected like ``centroids``)."""
    k, d = centroids.shape
    r = n_regions(levels)
    if len(x) == 0:
        return np.zeros(r * k * d, np.float32)
    masks = _region_masks(positions, levels)  # (n, r)
    onehot = np.zeros((len(x), k), np.float32)
    onehot[np.arange(len(x)), words[:, 0]] = 1.0
    assign = (masks[:, :, None] * onehot[:, None, :]).reshape(len(x), r * k)  # (n, r*k)
    sums = (assign.T @ x).reshape(r, k, d) - assign.sum(0).reshape(r, k, 1) * centroids[None]
    norms = np.linalg.norm(sums, axis=2, keepdims=True)  # intra-normalisation
    sums = np.where(norms > 0, sums / np.maximum(norms, 1e-12), 0.0)
    return _power_l2(sums.reshape(r, k * d)).ravel()


def gmm_posteriors(x: np.ndarray, means: np.ndarray, variances: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Posterior of each diagonal Gaussian for each row of ``x``: ``(n, k)``."""
    inv = 1.0 / variances
    log_p = -0.5 * ((x * x) @ inv.T - 2.0 * x @ (means * inv).T + np.sum(means * means * inv, axis=1)[None])
    log_p += (np.log(priors) - 0.5 * np.sum(np.log(variances), axis=1))[None]
    log_p -= log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    p /= p.sum(axis=1, keepdims=True)
    return p.astype(np.float32)


def _finest_cells(positions: np.ndarray, levels: int) -> np.ndarray:
    """Index of each descriptor's cell in the finest ``2^L x 2^L`` grid (row-major)."""
    g = 2 ** levels
    pos = np.clip(np.asarray(positions, dtype=np.float64), 0.0, 1.0 - 1e-9)
    return np.floor(pos[:, 1] * g).astype(np.intp) * g + np.floor(pos[:, 0] * g).astype(np.intp)


def _pyramid_sums(stats: np.ndarray, levels: int) -> np.ndarray:
    """Sum per-cell statistics ``(4^L, ...)`` of the finest grid up the pyramid:
    ``(n_regions(L), ...)`` in the order of :func:`region_index` (level 0 first)."""
    g = 2 ** levels
    grid = stats.reshape(g, g, *stats.shape[1:])
    out = []
    for l in range(levels + 1):
        f = g // 2 ** l  # finest cells per coarse cell side
        coarse = grid.reshape(2 ** l, f, 2 ** l, f, *stats.shape[1:]).sum(axis=(1, 3))
        out.append(coarse.reshape(4 ** l, *stats.shape[1:]))
    return np.concatenate(out)


def fisher_vector(x: np.ndarray, positions: np.ndarray, means: np.ndarray, variances: np.ndarray,
                  priors: np.ndarray, levels: int) -> np.ndarray:
    """Improved Fisher vector (Perronnin et al. 2010) per pyramid region.

    Gradients with respect to the means and variances of a diagonal GMM, each region
    power- and L2-normalised. Sufficient statistics are accumulated once per cell of the
    finest grid and summed up the pyramid. Returns ``(n_regions * 2 * k * d,)`` float32.
    """
    k, d = means.shape
    r = n_regions(levels)
    if len(x) == 0:
        return np.zeros(r * 2 * k * d, np.float32)
    gamma = gmm_posteriors(x, means, variances, priors)
    cells = 4 ** levels
    cell = _finest_cells(positions, levels)
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(cells + 1))
    xx = np.concatenate([np.ones((len(x), 1), np.float32), x, x * x], axis=1)
    stats = np.zeros((cells, k, 1 + 2 * d), np.float32)
    for c in range(cells):  # one small product per cell: each descriptor lies in one cell
        idx = order[bounds[c]:bounds[c + 1]]
        if len(idx):
            stats[c] = gamma[idx].T @ xx[idx]
    stats = _pyramid_sums(stats, levels)  # (r, k, 1 + 2d): counts, first and second moments
    s0, s1, s2 = stats[:, :, :1], stats[:, :, 1:d + 1], stats[:, :, d + 1:]
    counts = np.bincount(cell, minlength=cells).astype(np.float32)
    n_r = np.maximum(_pyramid_sums(counts, levels), 1.0).reshape(r, 1, 1)
    sigma = np.sqrt(variances)[None]
    mu = means[None]
    w = priors.reshape(1, k, 1)
    g_mu = (s1 - mu * s0) / sigma / (n_r * np.sqrt(w))
    g_sigma = ((s2 - 2 * mu * s1 + mu * mu * s0) / variances[None] - s0) / (n_r * np.sqrt(2 * w))
    return _power_l2(np.concatenate([g_mu, g_sigma], axis=2).reshape(r, 2 * k * d)).ravel()
