"""Evaluate and predict with any classifier-like run (CNN, ViT, bag of words), with one result shape.

Each kind provides a *predictor*: an object with ``class_names`` and
``predict_proba(paths) -> (n, classes)``, loaded from its run folder (:data:`PREDICTORS`).
Everything else, checking the images, the reports and the shape of the results, is shared:

``evaluate_run`` returns (and ``--json`` prints)::

    {"run", "kind", "data", "n_images", "accuracy", "macro_f1", "class_names", "per_class",
     "confusion_matrix", "skipped", "report_dir", "wall_time_s"}

``predict_files`` returns one ``{"file", "predicted", "top": [{"class", "probability"}, ...]}``
per image.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, write_json

#: run kind -> ``"module:class"`` of its predictor (a ``load(run, **options)`` classmethod).
PREDICTORS: dict[str, str] = {
    "classifier": "kerascenes.classify.evaluate:KerasPredictor",
    "bow": "kerascenes.bow.runner:BowPredictor",
}
#: The kinds ``kerascenes evaluate`` and ``kerascenes predict`` take.
CLASSIFIER_KINDS = tuple(PREDICTORS)
EVALUATION_KEYS = ("run", "kind", "data", "n_images", "accuracy", "macro_f1", "class_names", "per_class",
                   "confusion_matrix", "skipped", "report_dir", "wall_time_s")
PREDICTION_KEYS = ("file", "predicted", "top")


def load_predictor(run: RunFolder, **options: Any):
    """The predictor of a classifier-like run (``options``: ``batch_size``, ``trust_pickle``, ``n_jobs``, ``progress``)."""
    module, attr = PREDICTORS[run.kind].split(":")
    return getattr(importlib.import_module(module), attr).load(run, **options)


def evaluate_run(run_dir: str | Path, data: str | Path, kinds: Sequence[str] = CLASSIFIER_KINDS,
                 strict: bool = False, write: bool = True, **options: Any) -> dict[str, Any]:
    """Evaluate a trained run on a class-per-folder tree.

    Args:
        run_dir: the run folder.
        data: the images to evaluate on (class folders must be among the run's classes).
        kinds: the run kinds the caller accepts (others are refused naming the right command).
        strict: refuse folders with unusable files instead of skipping them.
        write: also write the report files under ``<run>/evaluations/<data>-<time>/``.
        **options: passed to the kind's predictor (``batch_size``, ``trust_pickle``, ``n_jobs``, ``progress``).

    Returns:
        The keys of :data:`EVALUATION_KEYS` (``report_dir`` is ``None`` when ``write`` is false).
    """
    from kerascenes.data.folders import align_classes, load_image_folder
    from kerascenes.reports import write_classification_report

    t0 = time.perf_counter()
    run = RunFolder.open(run_dir, kinds, action="evaluate")
    predictor = load_predictor(run, **options)
    class_names = predictor.class_names
    images = align_classes(load_image_folder(data, strict=strict, option="--data"), class_names, option="--data")
    proba = predictor.predict_proba(images.paths)
    out_dir = None
    if write:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = run.path / "evaluations" / f"{Path(data).resolve().name}-{stamp}"
    report = write_classification_report(out_dir, images.labels, proba.argmax(1), class_names, proba=proba,
                                         paths=images.paths)
    result = {"run": run.name, "kind": run.kind, "data": str(data), **report, "class_names": list(class_names),
              "skipped": [p for p, _ in images.skipped], "report_dir": None if out_dir is None else str(out_dir),
              "wall_time_s": round(time.perf_counter() - t0, 2)}
    result = {key: result[key] for key in EVALUATION_KEYS}
    if out_dir is not None:
        write_json(out_dir / "evaluation.json", result)
    return result


def check_image_files(files: Sequence[str | Path]) -> list[str]:
    """The files as strings, each checked to exist and to be a readable image."""
    from kerascenes.data.images import check_image

    for f in files:
        if not Path(f).is_file():
            raise KerascenesError(f"Image {f} does not exist; check the path.")
        problem = check_image(f)
        if problem:
            raise KerascenesError(f"Image {f} cannot be used ({problem}); pass a valid image file.")
    return [str(f) for f in files]


def predict_files(run_dir: str | Path, files: Sequence[str | Path], top_k: int = 3,
                  kinds: Sequence[str] = CLASSIFIER_KINDS, **options: Any) -> list[dict[str, Any]]:
    """The ``top_k`` classes of each image file, with their probabilities.

    Raises:
        KerascenesError: if a file is missing or is not a readable image, or ``top_k`` < 1.
    """
    from kerascenes.reports import top_k as _top_k

    if top_k < 1:
        raise KerascenesError(f"--top-k must be at least 1, got {top_k}.")
    run = RunFolder.open(run_dir, kinds, action="predict")
    paths = check_image_files(files)
    predictor = load_predictor(run, **options)
    proba = np.asarray(predictor.predict_proba(paths))
    idx, val = _top_k(proba, top_k)
    names = predictor.class_names
    return [{"file": path, "predicted": names[idx[i, 0]],
             "top": [{"class": names[j], "probability": round(float(p), 6)} for j, p in zip(idx[i], val[i])]}
            for i, path in enumerate(paths)]
