"""Bag-of-words runs: train + validate into a run folder, and load a run to predict with it.

A run folder (see :mod:`kerascenes.runs`) holds ``config.json``, the pickle-free model
(``bow_model.json`` + ``bow_model.npz``), the validation reports (confusion matrix,
per-class table, predictions), ``timings.json``, TensorBoard logs and ``summary.json``
(kind ``"bow"``), after which the results workbook is rebuilt. Evaluating and predicting go
through :mod:`kerascenes.inference` (with :class:`BowPredictor`), as for every classifier.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kerascenes.bow.config import BowConfig
from kerascenes.runs import RunFolder, default_run_name, write_json


@dataclass
class BowResult:
    """What :func:`fit_bow` returns."""

    run: RunFolder
    pipeline: Any
    summary: dict[str, Any]


def _images(folder, option: str):
    from kerascenes.data.folders import load_image_folder

    return load_image_folder(folder, option=option)


def fit_bow(config: BowConfig, progress: bool = True, extra_hparams: dict[str, Any] | None = None) -> BowResult:
    """Train a bag-of-words classifier as described by ``config`` and write its run folder.

    Args:
        config: the run's options (resolved here: the encoding's defaults filled in).
        progress: show progress bars.
        extra_hparams: more columns for the workbook row (e.g. a sweep's row name).

    Returns:
        A :class:`BowResult` with the run folder, the fitted pipeline and the summary.
    """
    from kerascenes.bow.classifiers import make_pipeline
    from kerascenes.data.folders import check_same_classes

    t0 = time.perf_counter()
    started = _dt.datetime.now().isoformat(timespec="seconds")
    config = config.resolve()
    pipe = make_pipeline(config.classifier, C=None if config.C == "cv" else config.C,
                         **config.transformer_params(progress))
    bow = pipe.named_steps["bow"]
    bow._check_params()  # fail on bad values before scanning folders
    train = _images(config.data, "--data")
    val = None
    if config.val_data is not None:
        val = _images(config.val_data, "--val-data")
        check_same_classes(train, val)
    run = RunFolder.create(config.logdir, config.name or default_run_name(f"bow-{config.detector}"), "bow", config,
                           {"class_names": train.class_names, "n_train": len(train), "started": started,
                            "n_val": 0 if val is None else len(val)})
    timings: dict[str, float] = {"scan_s": round(time.perf_counter() - t0, 2)}
    X = bow.fit_transform(train.paths, train.labels)
    timings.update(bow.timings_)
    C = _fit_classifier(pipe, X, train.labels, config, timings)
    metrics: dict[str, Any] = {"train_accuracy": float((np.asarray(pipe.steps[-1][1].predict(X)) == train.labels).mean()),
                               "n_train": len(train), "n_words": int(len(bow.vocabulary_)),
                               "n_features": int(bow.n_features_out_)}
    from kerascenes.bow.persistence import save_model

    save_model(pipe, run.path, train.class_names, extra={"classifier": config.classifier})
    if val is not None:
        metrics.update(_validate(run, pipe, val, train.class_names, timings))
    wall = time.perf_counter() - t0
    timings["total_s"] = round(wall, 2)
    metrics.update({f"time_{k}": v for k, v in timings.items()})
    write_json(run.file("timings.json"), timings)
    hparams = config.hparams() | {"C": C} | (extra_hparams or {})
    summary = run.finish(hparams, metrics, started, wall)
    return BowResult(run, pipe, summary)


def _fit_classifier(pipe, X: np.ndarray, y: np.ndarray, config: BowConfig, timings: dict[str, float]):
    """Fit the pipeline's classifier on the encodings (choosing C first with ``--C cv``); returns C."""
    from kerascenes.bow.classifiers import select_C

    start = time.perf_counter()
    clf = pipe.steps[-1][1]
    C = config.C
    if C == "cv":
        C = select_C(clf, X, y, seed=config.seed)
        clf.set_params(**{("svm__C" if hasattr(clf, "steps") else "C"): C})
    clf.fit(X, y)
    timings["classifier_s"] = round(time.perf_counter() - start, 2)
    return C


def _validate(run: RunFolder, pipe, val, class_names: Sequence[str], timings: dict[str, float]) -> dict[str, Any]:
    """Validation reports (files, TensorBoard image) and metrics."""
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix

    start = time.perf_counter()
    proba = pipe.steps[-1][1].predict_proba(pipe.named_steps["bow"].transform(val.paths))
    timings["validation_s"] = round(time.perf_counter() - start, 2)
    report = write_classification_report(run.path, val.labels, proba.argmax(1), class_names, proba=proba,
                                         paths=val.paths)
    log_confusion_matrix(run.tensorboard_dir / "validation", np.asarray(report["confusion_matrix"]), class_names)
    return {"val_accuracy": report["accuracy"], "val_macro_f1": report["macro_f1"], "n_val": len(val)}


def load_run(run_dir, trust_pickle: bool = False, n_jobs: int | None = None, progress: bool = False):
    """The fitted pipeline and metadata of a bag-of-words run folder: ``(run, pipeline, meta)``."""
    from kerascenes.bow.persistence import load_model

    run = RunFolder.open(run_dir, "bow")
    pipe, meta = load_model(run.path, trust_pickle=trust_pickle)
    pipe.named_steps["bow"].set_params(n_jobs=None if n_jobs == -1 else n_jobs, progress=progress)
    return run, pipe, meta


class BowPredictor:
    """Class probabilities from a bag-of-words run (softmax of the SVM decision values)."""

    def __init__(self, pipeline, class_names: Sequence[str]):
        self.pipeline, self.class_names = pipeline, list(class_names)

    @classmethod
    def load(cls, run: RunFolder, trust_pickle: bool = False, n_jobs: int | None = None, progress: bool = False,
             **_: Any) -> "BowPredictor":
        _, pipe, meta = load_run(run.path, trust_pickle, n_jobs, progress)
        return cls(pipe, meta["class_names"])

    def predict_proba(self, paths: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(list(paths)))
