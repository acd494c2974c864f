"""Classifiers for bag-of-words encodings, by name, and full image -> label pipelines.

=====================  =====================================================================
``svm-linear``         linear SVM (one-vs-rest)
``svm-rbf``            RBF-kernel SVM
``svm-intersection``   histogram-intersection SVM through its explicit feature map
                       (:class:`~kerascenes.bow.kernels.IntersectionMap`) + linear SVM: the
                       same decision rule as the kernel SVM at the cost of a matrix product
``svm-chi2``           exponential chi2-kernel SVM (exact; quadratic in the number of images)
``random-forest``      random forest (500 trees)
=====================  =====================================================================
"""

from __future__ import annotations

import difflib
from typing import Any

from kerascenes.errors import KerascenesError

CLASSIFIERS = ("svm-linear", "svm-rbf", "svm-intersection", "svm-chi2", "random-forest")
DEFAULT_C = {"svm-linear": 10.0, "svm-rbf": 10.0, "svm-intersection": 10.0, "svm-chi2": 10.0}


def check_classifier(name: str) -> str:
    """Validate a classifier name and return it."""
    key = str(name).lower().replace("_", "-")
    if key in CLASSIFIERS:
        return key
    close = difflib.get_close_matches(key, CLASSIFIERS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise KerascenesError(f"Unknown classifier {name!r}{hint}; choose one of {', '.join(CLASSIFIERS)}.")


def make_classifier(name: str, C: float | None = None, n_jobs: int | None = None, random_state: int | None = 0):
    """A scikit-learn classifier for encoded images.

    Args:
        name: one of :data:`CLASSIFIERS`.
        C: SVM penalty (``None``: the per-classifier default in :data:`DEFAULT_C`).
        n_jobs: threads.
        random_state: seed of the random forest.

    Returns:
        An unfitted estimator (a :class:`~sklearn.pipeline.Pipeline` for ``svm-intersection``).
    """
    from sklearn.pipeline import Pipeline

    from kerascenes.bow.kernels import IntersectionMap, KernelSVC

    name = check_classifier(name)
    if name == "random-forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=500, n_jobs=n_jobs, random_state=random_state)
    c = DEFAULT_C[name] if C is None else float(C)
    if name == "svm-intersection":
        return Pipeline([("map", IntersectionMap()), ("svm", KernelSVC("linear", C=c, n_jobs=n_jobs))])
    kernel = {"svm-linear": "linear", "svm-rbf": "rbf", "svm-chi2": "chi2"}[name]
    return KernelSVC(kernel, C=c, n_jobs=n_jobs)


def make_pipeline(classifier: str | None = None, C: float | None = None, **bow_params: Any):
    """An image -> class pipeline: :class:`BagOfVisualWords` followed by a named classifier.

    With no arguments this is the model ``kerascenes bow fit`` trains by default.

    Args:
        classifier: one of :data:`CLASSIFIERS` (``None``: the encoding's default, e.g. ``svm-linear``
            for Fisher vectors).
        C: SVM penalty.
        **bow_params: passed to :class:`~kerascenes.bow.BagOfVisualWords`.

    Returns:
        ``Pipeline([("bow", BagOfVisualWords(...)), ("clf", classifier)])``.
    """
    from sklearn.pipeline import Pipeline

    from kerascenes.bow.encoding import DEFAULT_ENCODING, encoding_default
    from kerascenes.bow.transformer import BagOfVisualWords

    if classifier is None:
        classifier = encoding_default(bow_params.get("encoding", DEFAULT_ENCODING), "classifier")
    bow = BagOfVisualWords(**bow_params)
    return Pipeline([("bow", bow), ("clf", make_classifier(classifier, C=C, n_jobs=bow_params.get("n_jobs"),
                                                           random_state=bow_params.get("random_state", 0)))])


def select_C(classifier, X, y, grid: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0), cv: int = 3,
             seed: int = 0) -> float:
    """Pick the SVM penalty by stratified ``cv``-fold cross-validation on encoded features.

    Works for the estimators of :func:`make_classifier` (the ``svm-intersection`` pipeline
    included); returns the best value of ``grid``.
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    key = "svm__C" if hasattr(classifier, "steps") else "C"
    search = GridSearchCV(classifier, {key: list(grid)}, cv=StratifiedKFold(cv, shuffle=True, random_state=seed))
    search.fit(X, y)
    return float(search.best_params_[key])
