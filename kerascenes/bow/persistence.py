"""Saving and loading fitted bag-of-words pipelines without pickle.

A model folder holds ``bow_model.json`` (format version, class names, the parameters of
the transformer and of the classifier) and ``bow_model.npz`` (every learned array:
vocabulary, PCA, GMM, SVM support vectors / weights and intercepts). Both are loaded
with ``allow_pickle=False``, so reading a model cannot execute code. The one exception is
the random forest, whose trees are stored with joblib (pickle) in ``bow_forest.joblib``:
:func:`load_model` refuses it unless ``trust_pickle=True``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.errors import KerascenesError, reading
from kerascenes.runs import save_npz, write_json

FORMAT = "kerascenes-bow"
VERSION = 1
JSON_FILE = "bow_model.json"
NPZ_FILE = "bow_model.npz"
FOREST_FILE = "bow_forest.joblib"
_BOW_STATE = ("vocabulary_", "pca_mean_", "pca_components_", "gmm_variances_", "gmm_priors_")
_SVM_STATE = ("classes_", "intercept_", "coef_", "support_vectors_", "dual_coef_")


def _classifier_parts(clf) -> tuple[str, dict[str, Any], Any]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from kerascenes.bow.kernels import IntersectionMap, KernelSVC

    if isinstance(clf, KernelSVC):
        return "kernel-svc", {}, clf
    if isinstance(clf, Pipeline) and len(clf.steps) == 2 and isinstance(clf.steps[0][1], IntersectionMap) \
            and isinstance(clf.steps[1][1], KernelSVC):
        return "intersection-map-svc", clf.steps[0][1].get_params(), clf.steps[1][1]
    if isinstance(clf, RandomForestClassifier):
        return "random-forest", {}, clf
    raise KerascenesError(f"Cannot save a {type(clf).__name__} classifier; use one made by kerascenes.bow.make_classifier.")


def save_transformer_state(bow, path: str | os.PathLike) -> Path:
    """The learned state of a fitted :class:`BagOfVisualWords` (vocabulary, PCA, GMM) as one ``.npz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_npz(path, **{k: np.asarray(getattr(bow, k)) for k in _BOW_STATE},
                    scalars=np.asarray(json.dumps(_scalar_state(bow))))


def load_transformer_state(bow, path: str | os.PathLike) -> None:
    """Give ``bow`` the learned state saved by :func:`save_transformer_state`."""
    with reading(path, "a saved bag-of-words vocabulary", "delete it to learn the vocabulary again"), \
            np.load(path, allow_pickle=False) as data:
        for k in _BOW_STATE:
            setattr(bow, k, data[k])
        for k, v in json.loads(str(data["scalars"])).items():
            setattr(bow, k, v)


def _scalar_state(bow) -> dict[str, Any]:
    return {"descriptor_dim_": int(bow.descriptor_dim_), "n_features_out_": int(bow.n_features_out_),
            "soft_sigma_": float(bow.soft_sigma_)}


def save_model(pipeline, folder: str | os.PathLike, class_names: Sequence[str],
               extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted ``Pipeline([("bow", BagOfVisualWords), ("clf", classifier)])``.

    Args:
        pipeline: the fitted pipeline.
        folder: target folder (created).
        class_names: names of the integer labels the classifier was trained on.
        extra: more JSON-serialisable information to keep (e.g. the classifier name).

    Returns:
        The JSON file path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bow, clf = pipeline.named_steps["bow"], pipeline.steps[-1][1]
    kind, map_params, core = _classifier_parts(clf)
    arrays = {f"bow.{k}": np.asarray(getattr(bow, k)) for k in _BOW_STATE}
    meta: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "class_names": list(class_names),
        "bow_params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in bow.get_params().items()},
        "bow_state": _scalar_state(bow),
        "classifier_kind": kind, "map_params": map_params, **(extra or {}),
    }
    if kind == "random-forest":
        import joblib

        joblib.dump(core, folder / FOREST_FILE)
    else:
        arrays.update({f"svm.{k}": np.asarray(getattr(core, k)) for k in _SVM_STATE})
        meta["svm_params"] = core.get_params()
        meta["svm_state"] = {"gamma_": float(core.gamma_), "n_features_in_": int(core.n_features_in_)}
    save_npz(folder / NPZ_FILE, **arrays)
    write_json(folder / JSON_FILE, meta)
    return folder / JSON_FILE


def load_model(folder: str | os.PathLike, trust_pickle: bool = False):
    """Load a model saved by :func:`save_model`.

    Args:
        folder: the model folder.
        trust_pickle: allow unpickling a random forest (only for folders you trust).

    Returns:
        ``(pipeline, meta)``: the fitted pipeline and the JSON metadata (``meta["class_names"]``).
    """
    from sklearn.pipeline import Pipeline

    folder = Path(folder)
    if not (folder / JSON_FILE).is_file() or not (folder / NPZ_FILE).is_file():
        raise KerascenesError(f"{folder} holds no bag-of-words model ({JSON_FILE} + {NPZ_FILE}); pass a `kerascenes bow fit` run folder.")
    with reading(folder, "a kerascenes bag-of-words model", "train the run again or restore its model files"):
        meta = json.loads((folder / JSON_FILE).read_text())
        if meta.get("format") != FORMAT or int(meta.get("version", 0)) > VERSION:
            raise KerascenesError(f"{folder / JSON_FILE} is not a version-{VERSION} {FORMAT} model; re-train it with "
                                  "this kerascenes.")
        with np.load(folder / NPZ_FILE, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        bow = _load_transformer(meta, arrays)
        clf = _load_classifier(folder, meta, arrays, trust_pickle)
    return Pipeline([("bow", bow), ("clf", clf)]), meta


def _load_transformer(meta: dict[str, Any], arrays: dict[str, np.ndarray]):
    from kerascenes.bow.transformer import BagOfVisualWords

    params = {"tta": "none"} | dict(meta["bow_params"])  # models saved before --tta encoded the image alone
    if isinstance(params.get("patch_sizes"), list):
        params["patch_sizes"] = tuple(params["patch_sizes"])
    bow = BagOfVisualWords(**params)
    for k in _BOW_STATE:
        setattr(bow, k, arrays[f"bow.{k}"])
    for k, v in meta["bow_state"].items():
        setattr(bow, k, v)
    return bow


def _load_classifier(folder: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], trust_pickle: bool):
    from sklearn.pipeline import Pipeline

    from kerascenes.bow.kernels import IntersectionMap, KernelSVC

    kind = meta["classifier_kind"]
    if kind == "random-forest":
        if not trust_pickle:
            raise KerascenesError(
                f"{folder / FOREST_FILE} is a pickled random forest, which can run code when loaded; "
                "pass trust_pickle=True (CLI: --trust-pickle) only if you trust where this folder came from.")
        import joblib

        return joblib.load(folder / FOREST_FILE)
    svm = KernelSVC(**meta["svm_params"])
    for k in _SVM_STATE:
        setattr(svm, k, arrays[f"svm.{k}"])
    for k, v in meta["svm_state"].items():
        setattr(svm, k, v)
    return svm if kind == "kernel-svc" else Pipeline([("map", IntersectionMap(**meta["map_params"])), ("svm", svm)])
