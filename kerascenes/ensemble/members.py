"""The members of an ensemble: their model files, out-of-fold probabilities and predictions.

A member's weight must be learned from probabilities it gives on images it was not trained
on. Refitting a whole run k times would cost k trainings, but the part of a run that learns
from the training images is cheap to refit: a CNN's head on its frozen backbone's features
(computed once), a bag-of-words run's SVM on its encodings (from the descriptor cache). So each
member refits that part on k-1 folds of the training images and predicts the k-th.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.classify.config import input_size_of
from kerascenes.errors import KerascenesError
from kerascenes.kept_predictions import MODEL_FILES, model_digest
from kerascenes.runs import RunFolder

log = logging.getLogger("kerascenes")


def open_member(path: str | Path) -> RunFolder:
    """A member run (classifier or bag-of-words) that has finished."""
    run = RunFolder.open(path, tuple(MODEL_FILES), action="predict")
    if run.status != "completed":
        raise KerascenesError(f"{run.path} has not completed (status {run.status or 'unfinished'}); finish it "
                              "(--resume) or pick another run.")
    return run


def shared_option(members: Sequence[str], key: str, required: bool = True) -> str | None:
    """The value of option ``key`` that every member was trained with (they must agree)."""
    values = {str(open_member(m).read_config().get(key)) for m in members}
    values.discard("None")
    if len(values) > 1:
        raise KerascenesError(f"The members were trained with different --{key.replace('_', '-')} "
                              f"({', '.join(sorted(values))}); pass --{key.replace('_', '-')} to choose one.")
    if not values and required:
        raise KerascenesError(f"The members record no --{key.replace('_', '-')}; pass it.")
    return values.pop() if values else None


def checksum(run: RunFolder) -> str:
    """SHA-256 of a member's model files (what its predictions depend on)."""
    digest = model_digest(run.path, run.kind)
    if digest is None:
        missing = next(name for name in MODEL_FILES[run.kind] if not (run.path / name).is_file())
        raise KerascenesError(f"Ensemble member {run.path} has no {missing}; it was changed or removed. Restore it "
                              "or build the ensemble again.")
    return digest


def class_names(run: RunFolder) -> list[str]:
    return list(run.read_config()["class_names"])


def out_of_fold(run: RunFolder, paths: Sequence[str], labels: np.ndarray, folds, seed: int) -> np.ndarray:
    """``(n, classes)`` probabilities of each training image from the member refitted without its fold."""
    if run.kind == "bow":
        return _bow_out_of_fold(run, paths, labels, folds)
    return _head_out_of_fold(run, paths, labels, folds, seed)


def _bow_out_of_fold(run: RunFolder, paths, labels, folds) -> np.ndarray:
    from sklearn.base import clone

    from kerascenes.bow.runner import load_run

    _, pipe, _ = load_run(run.path)
    X = pipe.named_steps["bow"].transform(list(paths))
    clf = pipe.steps[-1][1]
    proba = np.zeros((len(paths), len(class_names(run))), np.float32)
    for train_idx, test_idx in folds:
        proba[test_idx] = clone(clf).fit(X[train_idx], labels[train_idx]).predict_proba(X[test_idx])
    return proba


def _base_classifier(model):
    """The classifier inside a test-time-augmentation wrapper (or the model itself)."""
    import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if any(layer.name == "tta_average" for layer in model.layers) and inner else model


def _learning_rates(run: RunFolder, epochs: int, default: float) -> list[float]:
    """The learning rate each of the run's first ``epochs`` epochs trained with (``history.csv``)."""
    import csv

    rates = []
    try:
        with open(run.path / "history.csv", newline="") as fh:
            rates = [float(row["learning_rate"]) for row in csv.DictReader(fh)][:epochs]
    except (OSError, KeyError, ValueError):
        pass
    return rates + [rates[-1] if rates else default] * (epochs - len(rates))


def _head_out_of_fold(run: RunFolder, paths, labels, folds, seed: int) -> np.ndarray:
    """A CNN member: its head refitted on its backbone's features, as the run trained it.

    Each fold's head trains for the run's best number of epochs at the learning rate each of
    those epochs had (the schedule replayed from ``history.csv``), drawing one view of every
    image per epoch as the run did: the image or, where its augmentation flips images, its
    mirror image. It is an approximation where the run did more: augmented views beyond the
    mirror (``--cache-views K``, or runs trained on images) are not kept, label smoothing and
    class weights are not replayed, and a fine-tuned run's head refits on its fine-tuned
    features at the recorded rates of all its epochs up to the best.
    """
    import keras

    from kerascenes.classify.cached import head_proba, split_classifier
    from kerascenes.classify.evaluate import load_run_model, predict_proba
    from kerascenes.classify.feature_store import FeatureSet
    from kerascenes.classify.kept_features import load_run_features
    from kerascenes.data.augment import flips

    config = run.read_config()
    if config.get("family") != "keras.applications":
        raise KerascenesError(f"{run.path} is a {config.get('family')} run; ensembles refit keras.applications "
                              "heads and bag-of-words classifiers only, for now.")
    extractor, head = split_classifier(_base_classifier(load_run_model(run)))
    size, flip = input_size_of(config["image_size"]), config.get("tta") == "flip"
    mirrors = flips(config.get("augment") or "none")
    wanted = 2 if flip or mirrors else 1  # views: the image, its mirror image
    kept = load_run_features(run.path, paths)  # the run's own training features, when they are these images'
    if kept is not None and len(kept) >= wanted and kept.shape[2:] == tuple(extractor.output_shape[1:]):
        log.info("Reusing the training features %s kept", run.name)
        views = list(kept[:wanted])
    else:
        views = [predict_proba(extractor, paths, size, 32, flip=f,
                               desc=f"features of {run.name}" + (" (mirrored)" if f else ""))
                 for f in (False, True)[:wanted]]
    train_views, test_views = (views if mirrors else views[:1]), views[:2 if flip else 1]
    summary = run.read_summary()
    epochs = int(summary["metrics"].get("best_epoch") or summary["metrics"].get("epochs_run") or config["epochs"])
    rates = _learning_rates(run, epochs, float(config["lr"]))
    batch = int(config["batch_size"])
    proba = np.zeros((len(paths), len(class_names(run))), np.float32)
    for k, (train_idx, test_idx) in enumerate(folds):
        keras.utils.set_random_seed((seed + k) % 2**32)  # a seed near the top of the range wraps
        fold_head = keras.models.clone_model(head)
        fold_head.compile(optimizer=keras.optimizers.Adam(rates[0]), loss="sparse_categorical_crossentropy")
        fold = FeatureSet(np.stack([v[train_idx] for v in train_views]), labels[train_idx])
        fold_head.fit(fold.dataset(batch, training=True, seed=seed + k), epochs=epochs, verbose=0, shuffle=False,
                      callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, _: rates[epoch])])
        proba[test_idx] = head_proba(fold_head, [v[test_idx] for v in test_views], batch)
    return proba


def member_summary(run: RunFolder) -> dict[str, Any]:
    """What the ensemble records of a member: its path, kind, model checksum and its own val accuracy."""
    metrics = run.read_summary().get("metrics", {})
    return {"run": run.name, "path": str(run.path), "kind": run.kind, "checksum": checksum(run),
            "val_accuracy": metrics.get("val_accuracy")}
