"""``BagOfVisualWords``: images -> fixed-length encodings, as a scikit-learn transformer."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from kerascenes.bow import encoding as enc
from kerascenes.bow.detectors import check_detector
from kerascenes.bow.extraction import DescriptorCache, describe_image, map_images, mirror_spec
from kerascenes.bow.vocabulary import (MATCHERS, assign_words, fit_gmm, fit_kmeans, sample_descriptors,
                                       soft_sigma_from_sample)
from kerascenes.config import TTA_POLICIES
from kerascenes.errors import KerascenesError


def _choice(option: str, value: Any, choices: Sequence[str]) -> str:
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise KerascenesError(f"Unknown {option} {value!r}{hint}; choose one of {', '.join(choices)}.")


def as_image_list(images: Any) -> list[Any]:
    """Paths, arrays, or one stacked ``(n, h, w[, c])`` array -> a list of single images."""
    if isinstance(images, np.ndarray) and images.ndim in (3, 4) and images.dtype != object:
        if images.ndim == 4 or images.shape[-1] not in (3, 4):
            return list(images)
    if isinstance(images, (str, bytes)) or (isinstance(images, np.ndarray) and images.ndim == 2):
        raise KerascenesError("BagOfVisualWords expects a list of images (paths or arrays), got a single image; wrap it in a list.")
    return list(images)


@dataclass
class Encoder:
    """The learned state needed to encode one image's descriptors (plain arrays)."""

    encoding: str
    levels: int
    normalization: str
    matcher: str
    centroids: np.ndarray
    soft_sigma: float | None = None
    pca_mean: np.ndarray | None = None
    pca_components: np.ndarray | None = None
    gmm_variances: np.ndarray | None = None
    gmm_priors: np.ndarray | None = None
    root_sift: bool = False
    spatial_coords: bool = False

    def project(self, desc: np.ndarray, pos: np.ndarray | None = None) -> np.ndarray:
        """Descriptors as the vocabulary sees them: RootSIFT, PCA, then the (x, y) position appended."""
        x = root_normalize(desc) if self.root_sift else np.asarray(desc, np.float32)
        if self.pca_components is not None:
            x = (x - self.pca_mean) @ self.pca_components.T
        if self.spatial_coords:
            x = np.concatenate([x, np.asarray(pos, np.float32).reshape(len(x), 2) - 0.5], axis=1)
        return np.ascontiguousarray(x, dtype=np.float32)

    def __call__(self, desc: np.ndarray, pos: np.ndarray) -> np.ndarray:
        x = self.project(desc, pos)
        if self.encoding == "fisher":
            return enc.fisher_vector(x, pos, self.centroids, self.gmm_variances, self.gmm_priors, self.levels)
        words, weights = assign_words(x, self.centroids, self.matcher, self.soft_sigma)
        if self.encoding == "vlad":
            return enc.vlad(x, words, pos, self.centroids, self.levels)
        return enc.pyramid_histogram(words, weights, pos, len(self.centroids), self.levels, self.normalization)


def root_normalize(desc: np.ndarray) -> np.ndarray:
    """RootSIFT (Arandjelovic & Zisserman 2012): L1-normalise each descriptor, then take square roots,
    so Euclidean distances between descriptors become Hellinger distances."""
    x = np.asarray(desc, np.float32)
    return np.sqrt(x / np.maximum(np.abs(x).sum(axis=1, keepdims=True), 1e-12))


class BagOfVisualWords(TransformerMixin, BaseEstimator):
    """Bag of visual words: local descriptors -> vocabulary -> one vector per image.

    The defaults are those of ``kerascenes bow fit``: multi-scale dense RootSIFT, Fisher vectors of 64
    Gaussians, a 1 + 2x2 pyramid (``vocab_size`` and ``pyramid_levels`` left at ``None`` take the
    chosen encoding's defaults from :data:`kerascenes.bow.encoding.ENCODING_DEFAULTS`), each image
    encoded with its mirror image (``tta="flip"``).

    Args:
        detector: ``"dense-sift"``, ``"sift"``, ``"kaze"``, ``"akaze"``, ``"orb"`` or ``"fast-freak"``.
        vocab_size: number of visual words (k-means centroids, or GMM components for Fisher vectors);
            ``None``: 64 for Fisher vectors and VLAD, 400 for histograms.
        encoding: ``"histogram"`` (word counts), ``"vlad"`` or ``"fisher"`` (improved Fisher vectors).
        pyramid_levels: spatial pyramid levels ``L`` (0 = whole image only; 2 = 1 + 4 + 16 cells);
            ``None``: 1 for Fisher vectors and VLAD, 2 for histograms.
        normalization: histograms only: ``"l1"`` (for intersection/chi2 kernels) or
            ``"hellinger"`` (square-rooted, for linear kernels).
        matcher: descriptor -> word assignment: ``"exact"`` nearest centroid (fast),
            ``"flann"`` or ``"bruteforce"`` (OpenCV matchers).
        soft_assignment: share each descriptor among its 5 nearest words (histograms only).
        patch_sizes: dense SIFT patch widths in pixels (several = multi-scale).
        step: dense SIFT grid spacing in pixels.
        max_side: images are shrunk so their longer side is at most this (``None``: never).
        max_keypoints: keypoint detectors keep at most this many strongest keypoints.
        pca_dim: VLAD / Fisher: descriptors are PCA-projected to this many dimensions.
        root_sift: RootSIFT: square roots of L1-normalised descriptors (Hellinger distances).
        spatial_coords: VLAD / Fisher: append each descriptor's (x, y) position to it after the
            PCA (spatial augmentation, Sanchez et al. 2012), so the vocabulary models where
            things appear as well as what they look like.
        vocab_samples: descriptors sampled (seeded) from the training images for the vocabulary.
        tta: ``"flip"``: every image's encoding is the mean of its own and its mirror image's
            (training and new images alike; for a linear SVM the same as averaging the two
            decisions), ``"none"``: the image's alone.
        cache_dir: folder for the descriptor cache (``None``: no cache).
        n_jobs: worker threads (``None``: all cores).
        progress: show progress bars.
        random_state: seed for sampling, k-means and the GMM.
    """

    def __init__(self, detector: str = "dense-sift", vocab_size: int | None = None, encoding: str = enc.DEFAULT_ENCODING,
                 pyramid_levels: int | None = None, normalization: str = "l1", matcher: str = "exact",
                 soft_assignment: bool = False, patch_sizes: Sequence[int] = (16, 24, 32), step: int = 8,
                 max_side: int | None = 300, max_keypoints: int | None = None, pca_dim: int = 64,
                 root_sift: bool = True, spatial_coords: bool = False,
                 vocab_samples: int = 100_000, tta: str = "flip", cache_dir: str | None = None, n_jobs: int | None = None,
                 progress: bool = False, random_state: int | None = 0):
        self.detector = detector
        self.vocab_size = vocab_size
        self.encoding = encoding
        self.pyramid_levels = pyramid_levels
        self.normalization = normalization
        self.matcher = matcher
        self.soft_assignment = soft_assignment
        self.patch_sizes = patch_sizes
        self.step = step
        self.max_side = max_side
        self.max_keypoints = max_keypoints
        self.pca_dim = pca_dim
        self.root_sift = root_sift
        self.spatial_coords = spatial_coords
        self.vocab_samples = vocab_samples
        self.tta = tta
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.progress = progress
        self.random_state = random_state

    # -- scikit-learn plumbing ------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def _param(self, name: str) -> Any:
        """A parameter's value; ``vocab_size`` / ``pyramid_levels`` left at ``None`` take the encoding's default."""
        value = getattr(self, name)
        return enc.encoding_default(self.encoding, name) if value is None else value

    def _check_params(self) -> None:
        check_detector(self.detector)
        _choice("encoding", self.encoding, enc.ENCODINGS)
        _choice("normalization", self.normalization, enc.NORMALIZATIONS)
        _choice("matcher", self.matcher, MATCHERS)
        _choice("tta", self.tta, TTA_POLICIES)
        for name, low in (("vocab_size", 1), ("pyramid_levels", 0), ("step", 1), ("vocab_samples", 1), ("pca_dim", 1)):
            value = self._param(name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise KerascenesError(f"{name} must be an integer >= {low}, got {value!r}.")
        if self._param("pyramid_levels") > 4:
            raise KerascenesError(f"pyramid_levels={self._param('pyramid_levels')} is too fine; use 0 to 4.")
        if self.soft_assignment and self.encoding != "histogram":
            raise KerascenesError("soft_assignment only applies to encoding='histogram'; turn it off for VLAD/Fisher.")
        if self.spatial_coords and self.encoding == "histogram":
            raise KerascenesError("spatial_coords applies to encoding='fisher' or 'vlad'; word histograms take "
                                  "their layout from the spatial pyramid.")

    def detector_spec(self) -> dict[str, Any]:
        """Everything that determines the descriptors of an image (the cache key)."""
        spec: dict[str, Any] = {"detector": check_detector(self.detector), "max_side": self.max_side}
        if spec["detector"] == "dense-sift":
            spec.update(patch_sizes=[int(p) for p in self.patch_sizes], step=int(self.step))
        else:
            spec["max_keypoints"] = self.max_keypoints
        return spec

    # -- descriptors ------------------------------------------------------------------------
    def _too_few_descriptors(self, found: int, vocab_size: int) -> str:
        dense = check_detector(self.detector) == "dense-sift"
        sizes = ",".join(str(int(p)) for p in self.patch_sizes)
        if found == 0:
            why = (f"the images are smaller than the patches (--patch-sizes {sizes}) after resizing to at most "
                   f"--max-side {self.max_side} px; use smaller --patch-sizes or a larger --max-side") if dense else (
                   f"detector {self.detector} found no keypoints (small or flat images); use --detector dense-sift "
                   "or larger images")
            return f"No descriptors were found in the training images: {why}."
        return (f"--vocab {vocab_size} is larger than the {found} descriptors found in the training images; use a "
                f"--vocab of at most {found}" + (f", smaller --patch-sizes than {sizes}" if dense else "")
                + " or more/larger images.")

    def _describe_all(self, images: list[Any], encoder: Encoder | None, label: str, mirror: bool = False) -> list[Any]:
        spec = self.detector_spec()
        cache = DescriptorCache(self.cache_dir, mirror_spec(spec) if mirror else spec) if self.cache_dir else None

        def work(image):
            return describe_image(image, spec, cache, mirror)

        def work_encoded(image):
            return encoder(*describe_image(image, spec, cache, mirror))

        return map_images(work if encoder is None else work_encoded, images, self.n_jobs, self.progress, label)

    def _mirrored_mean(self, encoded: np.ndarray, images: list[Any], encoder: Encoder) -> np.ndarray:
        """With ``tta="flip"``, the mean of ``encoded`` and the mirror images' encodings."""
        if self.tta != "flip":
            return encoded
        mirrored = np.stack(self._describe_all(images, encoder, "encoding mirror images", mirror=True))
        return ((encoded + mirrored) / 2).astype(np.float32)

    def descriptors(self, images: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(descriptors, positions)`` of each image (through the cache when ``cache_dir`` is set)."""
        self._check_params()
        return self._describe_all(as_image_list(images), None, "descriptors")

    # -- fitting --------------------------------------------------------------------------
    def fit(self, images: Any, y: Any = None) -> "BagOfVisualWords":
        """Learn the vocabulary from the descriptors of ``images``; returns ``self``."""
        self._fit(as_image_list(images))
        return self

    def fit_transform(self, images: Any, y: Any = None, on_fitted: Any = None, **fit_params) -> np.ndarray:
        """Fit, then encode the same images without extracting their descriptors twice.

        Args:
            on_fitted: called with the transformer once its vocabulary is learned, before the
                images are encoded (``fit_bow`` checkpoints the vocabulary there).
        """
        import time

        images = as_image_list(images)
        described = self._fit(images)
        if on_fitted is not None:
            on_fitted(self)
        encoder = self.encoder()

        def work(item):
            return encoder(*item)

        start = time.perf_counter()
        out = self._mirrored_mean(np.stack(map_images(work, described, self.n_jobs, self.progress, "encoding")),
                                  images, encoder)
        self.timings_["encoding_s"] = round(time.perf_counter() - start, 2)
        return out

    def _fit(self, images: list[Any]) -> list[tuple[np.ndarray, np.ndarray]]:
        self._check_params()
        if len(images) == 0:
            raise KerascenesError("No training images were given; pass at least one image.")
        import time

        start = time.perf_counter()
        described = self._describe_all(images, None, "descriptors")
        self.timings_ = {"descriptors_s": round(time.perf_counter() - start, 2)}
        start = time.perf_counter()
        sets = [d for d, _ in described]
        self.descriptor_dim_ = int(next((d.shape[1] for d in sets if d.ndim == 2), 0))
        sample, sample_pos = sample_descriptors(sets, int(self.vocab_samples),
                                                0 if self.random_state is None else self.random_state,
                                                positions=[p for _, p in described])
        if self.root_sift:
            sample = root_normalize(sample)
        vocab_size = int(self._param("vocab_size"))
        if len(sample) < vocab_size:
            raise KerascenesError(self._too_few_descriptors(len(sample), vocab_size))
        self.pca_mean_ = np.zeros(0, np.float32)
        self.pca_components_ = np.zeros((0, 0), np.float32)
        if self.encoding in ("vlad", "fisher"):
            sample = self._fit_pca(sample)
        if self.spatial_coords:
            sample = np.concatenate([sample, sample_pos - 0.5], axis=1).astype(np.float32)
        seed = self.random_state
        self.soft_sigma_ = 0.0
        self.gmm_variances_ = np.zeros((0, 0), np.float32)
        self.gmm_priors_ = np.zeros(0, np.float32)
        from threadpoolctl import threadpool_limits

        # one BLAS/OpenMP thread: barely slower on an idle machine, and several times faster
        # than two spinning threads when other processes share the cores
        with threadpool_limits(1):
            if self.encoding == "fisher":
                self.vocabulary_, self.gmm_variances_, self.gmm_priors_ = fit_gmm(sample, vocab_size, seed)
            else:
                self.vocabulary_ = fit_kmeans(sample, vocab_size, seed)
            if self.soft_assignment:
                self.soft_sigma_ = soft_sigma_from_sample(sample, self.vocabulary_)
        self.timings_["vocabulary_s"] = round(time.perf_counter() - start, 2)
        self.n_features_out_ = int(self.encoder()(np.zeros((0, self.descriptor_dim_), np.float32),
                                                 np.zeros((0, 2), np.float32)).size)
        return described

    def _fit_pca(self, sample: np.ndarray) -> np.ndarray:
        dim = min(self.pca_dim, sample.shape[1])
        mean = sample.mean(axis=0)
        cov = np.cov((sample - mean).T)
        vals, vecs = np.linalg.eigh(cov)
        self.pca_mean_ = mean.astype(np.float32)
        self.pca_components_ = vecs[:, ::-1][:, :dim].T.astype(np.float32)
        return ((sample - self.pca_mean_) @ self.pca_components_.T).astype(np.float32)

    def encoder(self) -> Encoder:
        """The fitted encoding state as plain arrays."""
        check_is_fitted(self, "vocabulary_")
        pca = self.pca_components_.size > 0
        return Encoder(self.encoding, int(self._param("pyramid_levels")), self.normalization, self.matcher,
                       self.vocabulary_, self.soft_sigma_ or None,
                       self.pca_mean_ if pca else None, self.pca_components_ if pca else None,
                       self.gmm_variances_ if self.encoding == "fisher" else None,
                       self.gmm_priors_ if self.encoding == "fisher" else None,
                       bool(self.root_sift), bool(self.spatial_coords))

    # -- encoding ---------------------------------------------------------------------------
    def transform(self, images: Any) -> np.ndarray:
        """Encode images: ``(n_images, n_features_out_)`` float32."""
        check_is_fitted(self, "vocabulary_")
        self._check_params()
        images = as_image_list(images)
        if not images:
            return np.zeros((0, self.n_features_out_), np.float32)
        encoder = self.encoder()
        return self._mirrored_mean(np.stack(self._describe_all(images, encoder, "encoding")), images, encoder)
