"""Bag-of-words runs: train + validate into a run folder, evaluate and predict with it.

A run folder (see :mod:`kerascenes.runs`) holds ``config.json``, the pickle-free model
(``bow_model.json`` + ``bow_model.npz``), the validation reports (confusion matrix,
per-class table, predictions), ``timings.json``, TensorBoard logs and ``summary.json``
(kind ``"bow"``), after which the results workbook is rebuilt.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, default_run_name, write_json

DEFAULT_RECIPE: dict[str, Any] = {
    "detector": "dense-sift", "vocab_size": 64, "encoding": "fisher", "pyramid_levels": 1,
    "normalization": "l1", "patch_sizes": (16, 24, 32), "step": 8, "classifier": "svm-linear",
}
# per encoding: (vocab_size, pyramid_levels, classifier) used when the caller leaves them unset
ENCODING_DEFAULTS: dict[str, tuple[int, int, str]] = {
    "fisher": (64, 1, "svm-linear"), "vlad": (64, 1, "svm-linear"), "histogram": (400, 2, "svm-intersection"),
}


def resolve_defaults(encoding: str, vocab_size: int | None, pyramid_levels: int | None,
                     classifier: str | None) -> tuple[int, int, str]:
    """Fill unset vocabulary size, pyramid levels and classifier with the defaults of ``encoding``."""
    if encoding not in ENCODING_DEFAULTS:
        raise KerascenesError(f"Unknown encoding {encoding!r}; choose one of {', '.join(ENCODING_DEFAULTS)}.")
    v, p, c = ENCODING_DEFAULTS[encoding]
    return (v if vocab_size is None else vocab_size, p if pyramid_levels is None else pyramid_levels,
            c if classifier is None else classifier)


def _images(folder: str | Path, option: str, class_names: Sequence[str] | None = None):
    from kerascenes.data.folders import align_classes, load_image_folder

    images = load_image_folder(folder, option=option)
    return align_classes(images, class_names, option=option) if class_names is not None else images


def flat_hparams(bow_params: dict[str, Any], classifier: str, C: float | None) -> dict[str, Any]:
    """The hyperparameters of a run as flat scalars (for the workbook and TensorBoard)."""
    keys = ("detector", "vocab_size", "encoding", "pyramid_levels", "normalization", "matcher",
            "soft_assignment", "patch_sizes", "step", "max_side", "max_keypoints", "pca_dim", "vocab_samples")
    out = {k: bow_params[k] for k in keys if k in bow_params}
    out["patch_sizes"] = ",".join(str(p) for p in out.get("patch_sizes", ()))
    out.update(classifier=classifier, C=C)
    return out


def fit_run(data: str | Path, val_data: str | Path | None = None, classifier: str = "svm-intersection",
            C: float | str | None = None, logdir: str | Path = "logs", name: str | None = None,
            tensorboard: bool = True, extra_hparams: dict[str, Any] | None = None,
            **bow_params: Any) -> tuple[RunFolder, dict[str, Any]]:
    """Train a bag-of-words classifier on ``data`` and validate it on ``val_data``.

    Args:
        data: training folder ``DIR/<class>/<image>``.
        val_data: validation folder with the same classes (optional).
        classifier: a name from :data:`kerascenes.bow.CLASSIFIERS`.
        C: SVM penalty (``None``: the classifier's default; ``"cv"``: 3-fold cross-validation
            over 0.1, 1, 10, 100 on the training encodings).
        logdir: parent folder of the run.
        name: run name (default ``bow-<detector>-<time>``).
        tensorboard: write TensorBoard logs (imports TensorFlow).
        extra_hparams: more columns for the workbook row.
        **bow_params: :class:`~kerascenes.bow.BagOfVisualWords` parameters.

    Returns:
        ``(run, summary)``.
    """
    from kerascenes.bow.classifiers import check_classifier, make_pipeline
    from kerascenes.bow.persistence import save_model
    from kerascenes.reports import write_classification_report

    t0 = time.perf_counter()
    started = _dt.datetime.now().isoformat(timespec="seconds")
    classifier = check_classifier(classifier)
    pipe = make_pipeline(classifier, C=None if C == "cv" else C, **bow_params)
    bow = pipe.named_steps["bow"]
    bow._check_params()  # fail on bad names before scanning folders
    train = _images(data, "--data")
    val = None
    if val_data is not None:
        from kerascenes.data.folders import check_same_classes

        val = _images(val_data, "--val-data")
        check_same_classes(train, val)
    run = RunFolder.create(logdir, name or default_run_name(f"bow-{bow.detector}"))
    config = {"kind": "bow", "data": str(data), "val_data": None if val_data is None else str(val_data),
              "classifier": classifier, "C": C, "class_names": train.class_names,
              "bow_params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in bow.get_params().items()}}
    run.write_config(config)
    timings: dict[str, float] = {"scan_s": round(time.perf_counter() - t0, 2)}
    X = bow.fit_transform(train.paths, train.labels)
    timings.update(bow.timings_)
    start = time.perf_counter()
    clf = pipe.steps[-1][1]
    if C == "cv":
        from kerascenes.bow.classifiers import select_C

        C = select_C(clf, X, train.labels, seed=bow.random_state or 0)
        clf.set_params(**{("svm__C" if hasattr(clf, "steps") else "C"): C})
    clf.fit(X, train.labels)
    timings["classifier_s"] = round(time.perf_counter() - start, 2)
    train_pred = np.asarray(clf.predict(X))
    metrics: dict[str, Any] = {"train_accuracy": float((train_pred == train.labels).mean()),
                               "n_train": len(train), "n_words": int(len(bow.vocabulary_)),
                               "n_features": int(bow.n_features_out_)}
    save_model(pipe, run.path, train.class_names, extra={"classifier": classifier})
    report = None
    if val is not None:
        start = time.perf_counter()
        Xv = bow.transform(val.paths)
        proba = clf.predict_proba(Xv)
        pred = proba.argmax(1)
        timings["validation_s"] = round(time.perf_counter() - start, 2)
        report = write_classification_report(run.path, val.labels, pred, train.class_names, proba=proba,
                                             paths=val.paths)
        metrics.update(val_accuracy=report["accuracy"], val_macro_f1=report["macro_f1"], n_val=len(val))
    wall = time.perf_counter() - t0
    timings["total_s"] = round(wall, 2)
    metrics.update({f"time_{k}": v for k, v in timings.items()})
    write_json(run.file("timings.json"), timings)
    hparams = flat_hparams(bow.get_params(), classifier, C) | (extra_hparams or {})
    if tensorboard:
        from kerascenes.tboard import log_confusion_matrix, log_hparams, log_scalars

        scalars = {k: v for k, v in metrics.items() if k.endswith("accuracy") or k == "val_macro_f1"}
        log_scalars(run.tensorboard_dir, scalars)
        if report is not None:
            log_confusion_matrix(run.tensorboard_dir, np.asarray(report["confusion_matrix"]), train.class_names)
        log_hparams(run.tensorboard_dir / "hparams", hparams, scalars)
    summary = {"kind": "bow", "run": run.name, "started": started, "wall_time_s": round(wall, 1),
               "hparams": hparams, "metrics": metrics}
    run.write_summary(summary)
    from kerascenes.workbook import update_workbook

    update_workbook(run.logdir)
    return run, summary


def load_run(run_dir: str | Path, trust_pickle: bool = False, n_jobs: int | None = None, progress: bool = False):
    """The fitted pipeline and metadata of a bag-of-words run folder."""
    from kerascenes.bow.persistence import load_model

    run = RunFolder.open(run_dir)
    pipe, meta = load_model(run.path, trust_pickle=trust_pickle)
    pipe.named_steps["bow"].set_params(n_jobs=n_jobs, progress=progress)
    return run, pipe, meta


def evaluate_run(run_dir: str | Path, data: str | Path, trust_pickle: bool = False, n_jobs: int | None = None,
                 progress: bool = False) -> dict[str, Any]:
    """Accuracy of a run on a class-per-folder tree; reports go to ``<run>/evaluations/<data>-<time>/``."""
    from kerascenes.reports import write_classification_report

    t0 = time.perf_counter()
    run, pipe, meta = load_run(run_dir, trust_pickle, n_jobs, progress)
    class_names = meta["class_names"]
    images = _images(data, "--data", class_names)
    proba = pipe.predict_proba(images.paths)
    pred = proba.argmax(1)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = run.path / "evaluations" / f"{Path(data).resolve().name}-{stamp}"
    result = write_classification_report(out_dir, images.labels, pred, class_names, proba=proba, paths=images.paths)
    result.update({"run": run.name, "data": str(data), "class_names": class_names, "report_dir": str(out_dir),
                   "skipped": [p for p, _ in images.skipped], "wall_time_s": round(time.perf_counter() - t0, 2)})
    write_json(out_dir / "evaluation.json", result)
    return result


def predict_files(run_dir: str | Path, files: Sequence[str | Path], top_k: int = 3, trust_pickle: bool = False,
                  n_jobs: int | None = None) -> list[dict[str, Any]]:
    """Top-k classes (with softmax scores of the SVM decision values) of each image file."""
    from kerascenes.reports import top_k as _top_k

    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise KerascenesError(f"Image {missing[0]} does not exist; pass existing image files.")
    run, pipe, meta = load_run(run_dir, trust_pickle, n_jobs)
    proba = pipe.predict_proba([str(f) for f in files])
    idx, val = _top_k(proba, top_k)
    names = meta["class_names"]
    return [{"file": str(f), "predicted": names[idx[i, 0]],
             "top": [{"class": names[j], "score": float(v)} for j, v in zip(idx[i], val[i])]}
            for i, f in enumerate(files)]
