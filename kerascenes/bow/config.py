"""``BowConfig``: every option of a bag-of-words run (``kerascenes bow fit``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerascenes.bow.classifiers import CLASSIFIERS, DEFAULT_C
from kerascenes.bow.detectors import DETECTORS
from kerascenes.bow.encoding import DEFAULT_ENCODING, ENCODINGS, NORMALIZATIONS, encoding_default
from kerascenes.bow.vocabulary import MATCHERS
from kerascenes.config import DEFAULT_SEED, TTA_POLICIES, TaskConfig, option
from kerascenes.errors import KerascenesError

#: Options of :class:`BowConfig` that are :class:`~kerascenes.bow.BagOfVisualWords` parameters.
TRANSFORMER_PARAMS = ("detector", "vocab_size", "encoding", "pyramid_levels", "normalization", "matcher",
                      "soft_assignment", "patch_sizes", "step", "max_side", "max_keypoints", "pca_dim",
                      "root_sift", "spatial_coords", "vocab_samples", "tta")


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"16,24,32"`` -> ``(16, 24, 32)`` (dense SIFT patch widths)."""
    try:
        sizes = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        sizes = ()
    if not sizes:
        raise KerascenesError(f"--patch-sizes expects comma-separated patch widths such as 16,24,32, got {text!r}.")
    return sizes


def parse_penalty(text: str) -> float | str:
    """``--C``: a positive number, or ``"cv"`` for cross-validation."""
    if str(text).lower() == "cv":
        return "cv"
    try:
        return float(text)
    except ValueError:
        raise KerascenesError(f"--C expects a positive number or 'cv', got {text!r}.") from None


@dataclass
class BowConfig(TaskConfig):
    """Options of ``kerascenes bow fit`` and :func:`kerascenes.bow.fit_bow`.

    Each field is the command-line option of the same name. ``None`` means the encoding's
    default (:data:`kerascenes.bow.encoding.ENCODING_DEFAULTS`); :meth:`resolve` fills those in.
    """

    KIND = "bow"
    COMMAND = "kerascenes bow fit"

    # data
    data: str | None = option(None, "Training images: DIR/<class>/<image> (required).")
    val_data: str | None = option(None, "Validation images with the same class folders.")
    # features
    detector: str = option("dense-sift", "Local features (SURF is patented and unavailable).", choices=DETECTORS)
    patch_sizes: tuple[int, ...] = option((16, 24, 32), "Dense SIFT patch widths.", parse=parse_sizes)
    step: int = option(8, "Dense SIFT grid step (px).")
    max_side: int = option(300, "Shrink larger images to this side length.")
    max_keypoints: int | None = option(None, "Keypoint detectors: keep the strongest N.", default_text="all")
    # encoding
    encoding: str = option(DEFAULT_ENCODING, "Image encoding: improved Fisher vectors, VLAD, or word histograms.",
                           choices=ENCODINGS)
    vocab_size: int | None = option(None, "Visual words / GMM components.", flag="--vocab",
                                    default_text="64 for fisher and vlad, 400 for histogram")
    pyramid_levels: int | None = option(None, "Spatial pyramid levels, 0: whole image, 1: +2x2, 2: +4x4.",
                                        flag="--pyramid", default_text="1 for fisher and vlad, 2 for histogram")
    normalization: str = option("l1", "Histogram normalisation.", choices=NORMALIZATIONS)
    matcher: str = option("exact", "Descriptor-to-word assignment.", choices=MATCHERS)
    soft_assignment: bool = option(False, "Soft-assign descriptors to their 5 nearest words.", flag="--soft")
    pca_dim: int = option(64, "VLAD/Fisher descriptor PCA size.")
    root_sift: bool = option(True, "RootSIFT: square roots of L1-normalised descriptors (Hellinger distances).")
    spatial_coords: bool = option(False, "Fisher/VLAD: append each descriptor's (x, y) position after the PCA.")
    vocab_samples: int = option(100_000, "Descriptors sampled for the vocabulary.")
    tta: str = option("flip", "Test-time augmentation: 'flip' encodes each image and its mirror image and averages "
                              "the two encodings (training images too).", choices=TTA_POLICIES)
    # classifier
    classifier: str | None = option(None, "Classifier of the encodings.", choices=CLASSIFIERS,
                                    default_text="svm-linear for fisher/vlad, svm-intersection for histogram")
    C: float | str | None = option(None, "SVM penalty, or 'cv' for 3-fold cross-validation over 0.1/1/10/100.",
                                   parse=parse_penalty, flag="--C", default_text="10")
    # speed, outputs
    cache_descriptors: bool = option(True, "Read and write the on-disk descriptor cache.", aliases=("--no-cache",))
    cache_dir: str | None = option(None, "Descriptor cache folder.", default_text="<logdir>/.bow-cache")
    n_jobs: int = option(-1, "Parallel workers for descriptor extraction and encoding (-1: all cores).",
                         aliases=("--jobs",))
    seed: int = option(DEFAULT_SEED, "Seed of sampling, k-means and the GMM.")
    name: str | None = option(None, "Run name (default: bow-<detector>-<time>); a taken name gets a suffix.")
    logdir: str = option("logs", "Folder of all runs (and of the results workbook).")

    def validate(self) -> "BowConfig":
        from kerascenes.bow.classifiers import check_classifier
        from kerascenes.bow.detectors import check_detector

        check_detector(self.detector)  # its own hints (SURF is patented, close matches)
        if self.classifier is not None:
            check_classifier(self.classifier)
        super().validate()
        if self.data is None:
            raise KerascenesError("--data is required: a folder with one sub-folder of images per class.")
        checks = [
            (self.vocab_size is None or self.vocab_size >= 2, f"--vocab must be at least 2, got {self.vocab_size}."),
            (self.pyramid_levels is None or 0 <= self.pyramid_levels <= 4,
             f"--pyramid must be 0 to 4, got {self.pyramid_levels}."),
            (min(self.patch_sizes) >= 4, f"--patch-sizes must be at least 4 px, got {','.join(map(str, self.patch_sizes))}."),
            (self.step >= 1, f"--step must be at least 1, got {self.step}."),
            (self.max_side >= 32, f"--max-side must be at least 32, got {self.max_side}."),
            (self.max_keypoints is None or self.max_keypoints >= 1, f"--max-keypoints must be at least 1, got {self.max_keypoints}."),
            (self.pca_dim >= 2, f"--pca-dim must be at least 2, got {self.pca_dim}."),
            (self.vocab_samples >= 100, f"--vocab-samples must be at least 100, got {self.vocab_samples}."),
            (self.C is None or self.C == "cv" or (isinstance(self.C, (int, float)) and self.C > 0),
             f"--C must be a positive number or 'cv', got {self.C!r}."),
            (self.n_jobs == -1 or self.n_jobs >= 1, f"--n-jobs {self.n_jobs} is not a worker count; use a positive "
                                                     "number, or -1 for all cores."),
        ]
        for ok, message in checks:
            if not ok:
                raise KerascenesError(message)
        if self.soft_assignment and self.encoding != "histogram":
            raise KerascenesError("--soft only applies to --encoding histogram; drop it for VLAD/Fisher.")
        return self

    def resolve(self) -> "BowConfig":
        """Fill the encoding's defaults (vocabulary, pyramid, classifier, C) and the cache folder."""
        from kerascenes.runs import check_output_dir

        self.validate()
        check_output_dir(self.logdir, "--logdir")
        if self.cache_descriptors and self.cache_dir:
            check_output_dir(self.cache_dir, "--cache-dir")
        classifier = self.classifier or encoding_default(self.encoding, "classifier")
        C = self.C if self.C is not None else DEFAULT_C.get(classifier)
        cache_dir = (self.cache_dir or str(Path(self.logdir) / ".bow-cache")) if self.cache_descriptors else None
        return self.replace(vocab_size=self.vocab_size or encoding_default(self.encoding, "vocab_size"),
                            pyramid_levels=(encoding_default(self.encoding, "pyramid_levels")
                                            if self.pyramid_levels is None else self.pyramid_levels),
                            classifier=classifier, C=C, cache_dir=cache_dir)

    def transformer_params(self, progress: bool = False) -> dict[str, Any]:
        """Keyword arguments of :class:`~kerascenes.bow.BagOfVisualWords` for this config."""
        params = {k: getattr(self, k) for k in TRANSFORMER_PARAMS}
        return params | {"cache_dir": self.cache_dir if self.cache_descriptors else None,
                         "n_jobs": None if self.n_jobs == -1 else self.n_jobs, "progress": progress,
                         "random_state": self.seed}

    def hparams(self) -> dict[str, Any]:
        out = super().hparams()
        for key in ("name", "logdir", "cache_dir", "n_jobs"):
            out.pop(key)
        return out
