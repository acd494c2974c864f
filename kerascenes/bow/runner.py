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
from kerascenes.config import open_run_to_resume
from kerascenes.runs import RunFolder, RunInterrupted, default_run_name, stopping_signals, write_json

#: The learned vocabulary of a run in progress (what ``--resume`` reuses); removed when the run completes.
VOCABULARY_FILE = "checkpoint/vocabulary.npz"


@dataclass
class BowResult:
    """What :func:`fit_bow` returns."""

    run: RunFolder
    pipeline: Any
    summary: dict[str, Any]


def _images(folder, option: str):
    from kerascenes.data.folders import load_image_folder

    return load_image_folder(folder, option=option)


def fit_bow(config: BowConfig, progress: bool = True, extra_hparams: dict[str, Any] | None = None,
            resume: bool = False) -> BowResult:
    """Train a bag-of-words classifier as described by ``config`` and write its run folder.

    Args:
        config: the run's options (resolved here: the encoding's defaults filled in).
        progress: show progress bars.
        extra_hparams: more columns for the workbook row (e.g. a sweep's row name).
        resume: continue the unfinished run ``config.name``: its learned vocabulary is reused
            (and the descriptors come from the descriptor cache).

    Returns:
        A :class:`BowResult` with the run folder, the fitted pipeline and the summary.

    Raises:
        RunInterrupted: after Ctrl-C or SIGTERM.
    """
    from kerascenes.bow.classifiers import make_pipeline
    from kerascenes.data.folders import check_same_classes, require_classes

    t0 = time.perf_counter()
    config = config.resolve()
    pipe = make_pipeline(config.classifier, C=None if config.C == "cv" else config.C,
                         **config.transformer_params(progress))
    pipe.named_steps["bow"]._check_params()  # fail on bad values before scanning folders
    run = open_run_to_resume(config) if resume else None
    train = _images(config.data, "--data")
    require_classes(len(train.class_names))
    val = None
    if config.val_data is not None:
        val = _images(config.val_data, "--val-data")
        check_same_classes(train, val)
    started = run.read_config().get("started") if run else _dt.datetime.now().isoformat(timespec="seconds")
    if run is None:
        run = RunFolder.create(config.logdir, config.name or default_run_name(f"bow-{config.detector}"), "bow", config,
                               {"class_names": train.class_names, "n_train": len(train), "started": started,
                                "n_val": 0 if val is None else len(val)})
    with run.guard(keep=resume), stopping_signals():
        try:
            summary = _train_and_report(run, pipe, config, train, val, started, t0, extra_hparams)
        except KeyboardInterrupt as exc:
            if isinstance(exc, RunInterrupted):
                raise
            raise _interrupted(run, config, started, t0, extra_hparams) from None
    return BowResult(run, pipe, summary)


def _train_and_report(run: RunFolder, pipe, config: BowConfig, train, val, started: str, t0: float,
                      extra_hparams: dict[str, Any] | None) -> dict[str, Any]:
    from kerascenes.bow.persistence import load_transformer_state, save_model, save_transformer_state

    bow = pipe.named_steps["bow"]
    timings: dict[str, float] = {"scan_s": round(time.perf_counter() - t0, 2)}
    vocabulary = run.path / VOCABULARY_FILE
    if vocabulary.is_file():  # a resumed run: the vocabulary was learned already
        load_transformer_state(bow, vocabulary)
        start = time.perf_counter()
        X = bow.transform(train.paths)
        timings["encoding_s"] = round(time.perf_counter() - start, 2)
    else:
        def checkpoint(fitted) -> None:
            save_transformer_state(fitted, vocabulary)
            run.keep = True  # from here on an interruption leaves a resumable run

        X = bow.fit_transform(train.paths, train.labels, on_fitted=checkpoint)
        timings.update(bow.timings_)
    C = _fit_classifier(pipe, X, train.labels, config, timings)
    metrics: dict[str, Any] = {"train_accuracy": float((np.asarray(pipe.steps[-1][1].predict(X)) == train.labels).mean()),
                               "n_train": len(train), "n_words": int(len(bow.vocabulary_)),
                               "n_features": int(bow.n_features_out_)}
    save_model(pipe, run.path, train.class_names, extra={"classifier": config.classifier})
    if val is not None:
        metrics.update(_validate(run, pipe, val, train.class_names, timings))
    wall = time.perf_counter() - t0
    timings["total_s"] = round(wall, 2)
    metrics.update({f"time_{k}": v for k, v in timings.items()})
    write_json(run.file("timings.json"), timings)
    summary = run.finish(config.hparams() | {"C": C} | (extra_hparams or {}), metrics, started, wall)
    vocabulary.unlink(missing_ok=True)
    return summary


def _interrupted(run: RunFolder, config: BowConfig, started: str, t0: float,
                 extra_hparams: dict[str, Any] | None) -> RunInterrupted:
    cache = f" The descriptors computed so far are cached in {config.cache_dir}." if config.cache_dir else ""
    if not (run.path / VOCABULARY_FILE).is_file():
        return RunInterrupted(f"Interrupted before the vocabulary was learned; nothing was kept.{cache}", run,
                              resumable=False)
    run.finish(config.hparams() | (extra_hparams or {}), {}, started, time.perf_counter() - t0, status="interrupted")
    return RunInterrupted(f"Interrupted after the vocabulary was learned: kept it in {run.path / VOCABULARY_FILE}."
                          f"{cache}", run)


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
    from kerascenes.kept_predictions import keep_val_proba
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix

    start = time.perf_counter()
    proba = pipe.steps[-1][1].predict_proba(pipe.named_steps["bow"].transform(val.paths))
    timings["validation_s"] = round(time.perf_counter() - start, 2)
    report = write_classification_report(run.path, val.labels, proba.argmax(1), class_names, proba=proba,
                                         paths=val.paths)
    keep_val_proba(run.path, "bow", proba, val.paths)
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
