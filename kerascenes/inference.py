"""Evaluate and predict with any classifier-like run (CNN, ViT, bag of words), with one result shape.

Each kind provides a *predictor*: an object with ``class_names`` and
``predict_proba(paths) -> (n, classes)``, loaded from its run folder (:data:`PREDICTORS`).
Everything else, checking the images, the reports and the shape of the results, is shared:

``evaluate_run`` returns (and ``--json`` prints)::

    {"run", "kind", "data", "n_images", "accuracy", "top_k_accuracy", "macro_f1", "class_names", "per_class",
     "confusion_matrix", "most_confused", "skipped", "report_dir", "wall_time_s"}

``predict_files`` takes image files and folders (searched recursively) and returns one
``{"file", "predicted", "top": [{"class", "probability"}, ...]}`` per image; with ``out`` it
also writes them as a CSV file.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import logging
import os
import shutil
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
    "ensemble": "kerascenes.ensemble.runner:EnsemblePredictor",
}
#: The kinds ``kerascenes evaluate`` and ``kerascenes predict`` take.
CLASSIFIER_KINDS = tuple(PREDICTORS)
EVALUATION_KEYS = ("run", "kind", "data", "n_images", "accuracy", "top_k_accuracy", "macro_f1", "class_names",
                   "per_class", "confusion_matrix", "most_confused", "skipped", "report_dir", "wall_time_s")
PREDICTION_KEYS = ("file", "predicted", "top")
#: Images handed to a predictor at a time by :func:`predict_files` (one progress step).
PREDICT_CHUNK = 256

log = logging.getLogger("kerascenes")


def load_predictor(run: RunFolder, **options: Any):
    """The predictor of a classifier-like run (``options``: ``batch_size``, ``trust_pickle``, ``n_jobs``, ``progress``)."""
    module, attr = PREDICTORS[run.kind].split(":")
    return getattr(importlib.import_module(module), attr).load(run, **options)


def evaluate_run(run_dir: str | Path, data: str | Path, kinds: Sequence[str] = CLASSIFIER_KINDS,
                 strict: bool = False, write: bool = True, progress: bool = False, **options: Any) -> dict[str, Any]:
    """Evaluate a trained run on a class-per-folder tree.

    Args:
        run_dir: the run folder.
        data: the images to evaluate on (class folders must be among the run's classes).
        kinds: the run kinds the caller accepts (others are refused naming the right command).
        strict: refuse folders with unusable files instead of skipping them.
        write: also write the report files under ``<run>/evaluations/<data>-<time>/``.
        progress: show progress while the images are classified.
        **options: passed to the kind's predictor (``batch_size``, ``trust_pickle``, ``n_jobs``).

    Returns:
        The keys of :data:`EVALUATION_KEYS` (``report_dir`` is ``None`` when ``write`` is false).
    """
    from kerascenes.data.folders import align_classes, load_image_folder
    from kerascenes.reports import write_classification_report

    t0 = time.perf_counter()
    run = RunFolder.open(run_dir, kinds, action="evaluate")
    predictor = load_predictor(run, **{**options, "progress": False})
    class_names = predictor.class_names
    images = align_classes(load_image_folder(data, strict=strict, option="--data"), class_names, option="--data")
    proba = predict_in_chunks(predictor, images.paths, progress=progress)
    out_dir = tmp_dir = None
    if write:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = _free_name(run.path / "evaluations" / f"{Path(data).resolve().name}-{stamp}")
        tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")  # renamed once every report is written
    try:
        report = write_classification_report(tmp_dir, images.labels, proba.argmax(1), class_names, proba=proba,
                                             paths=images.paths)
        result = {"run": run.name, "kind": run.kind, "data": str(data), **report, "class_names": list(class_names),
                  "skipped": [p for p, _ in images.skipped], "report_dir": None if out_dir is None else str(out_dir),
                  "wall_time_s": round(time.perf_counter() - t0, 2)}
        result = {key: result[key] for key in EVALUATION_KEYS}
        if tmp_dir is not None:
            write_json(tmp_dir / "evaluation.json", result)
            os.rename(tmp_dir, out_dir)
    finally:
        if tmp_dir is not None and tmp_dir.exists():  # a failed evaluation leaves no half-written folder
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return result


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... when an evaluation of the same second took it."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _folder_images(folder: Path) -> list[str]:
    """The files under ``folder`` (recursively, sorted) whose extension is an image's; hidden ones are left out."""
    from kerascenes.data.images import IMAGE_EXTENSIONS

    return [str(p) for p in sorted(folder.rglob("*"))
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def find_image_files(paths: Sequence[str | Path], workers: int = 8) -> tuple[list[str], list[tuple[str, str]]]:
    """The images to predict: files given explicitly, and the image files found in folders.

    Args:
        paths: image files and folders (searched recursively, image extensions only).
        workers: decoding threads for the check of every file.

    Returns:
        ``(files, skipped)``: the readable images in order, without duplicates, and the
        ``(path, reason)`` of the unreadable image files found inside folders.

    Raises:
        KerascenesError: for a missing path, an explicit file that is not a readable image,
            or no image at all.
    """
    from concurrent.futures import ThreadPoolExecutor

    from kerascenes.data.images import check_image

    found: dict[str, tuple[str, bool]] = {}  # resolved path -> (path as found, given explicitly)
    for path in map(Path, paths):
        if path.is_dir():
            candidates = [(f, False) for f in _folder_images(path)]
        elif path.is_file():
            candidates = [(str(path), True)]
        else:
            raise KerascenesError(f"Image {path} does not exist; pass an image file or a folder of images.")
        for name, explicit in candidates:
            first, was_explicit = found.get(str(Path(name).resolve()), (name, False))
            found[str(Path(name).resolve())] = (first, explicit or was_explicit)
    entries = list(found.values())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(check_image, [name for name, _ in entries]))
    files, skipped = [], []
    for (name, explicit), problem in zip(entries, problems):
        if problem and explicit:
            raise KerascenesError(f"Image {name} cannot be used ({problem}); pass a valid image file.")
        if problem:
            skipped.append((name, problem))
        else:
            files.append(name)
    if not files:
        raise KerascenesError(f"No readable image in {', '.join(map(str, paths))}; pass image files or folders "
                              "that hold some.")
    return files, skipped


def predict_in_chunks(predictor, paths: Sequence[str], chunk_size: int = PREDICT_CHUNK,
                      progress: bool = False) -> np.ndarray:
    """The predictor's probabilities for ``paths``, ``chunk_size`` images at a time.

    With ``progress``: a bar on a terminal, one line when done elsewhere (:mod:`kerascenes.progress`).
    """
    from kerascenes.progress import progress as progress_bar

    parts = []
    with progress_bar(len(paths), "Predicting", "img", enabled=progress) as bar:
        for start in range(0, len(paths), chunk_size):
            chunk = list(paths[start:start + chunk_size])
            parts.append(np.asarray(predictor.predict_proba(chunk), dtype=np.float32))
            bar.update(len(chunk))
    return np.concatenate(parts) if parts else np.zeros((0, len(predictor.class_names)), np.float32)


def prediction_rows(paths: Sequence[str], proba: np.ndarray, class_names: Sequence[str],
                    top_k: int) -> list[dict[str, Any]]:
    """One ``{"file", "predicted", "top": [{"class", "probability"}]}`` per image (:data:`PREDICTION_KEYS`)."""
    from kerascenes.reports import top_k as _top_k

    idx, val = _top_k(proba, top_k)
    return [{"file": path, "predicted": class_names[idx[i, 0]],
             "top": [{"class": class_names[j], "probability": round(float(p), 6)} for j, p in zip(idx[i], val[i])]}
            for i, path in enumerate(paths)]


def check_predictions_out(out: str | Path) -> Path:
    """The ``--out`` CSV path, refused when it exists (predictions never overwrite a file) or cannot be written."""
    from kerascenes.runs import check_output_file

    out = Path(out)
    check_output_file(out, "--out")
    if out.exists():
        raise KerascenesError(f"--out {out} already exists; pass a new file name (predictions never overwrite).")
    return out


def write_predictions_csv(out: str | Path, results: Sequence[dict[str, Any]]) -> Path:
    """Write ``file, predicted, top1, top1_prob, ...`` (one row per image) atomically (temp file + rename)."""
    from kerascenes.reports import write_csv
    from kerascenes.runs import replacing

    out = Path(out)
    k = max((len(r["top"]) for r in results), default=0)
    header = ["file", "predicted"] + [f"top{i}{suffix}" for i in range(1, k + 1) for suffix in ("", "_prob")]
    rows = [[r["file"], r["predicted"], *[v for t in r["top"] for v in (t["class"], t["probability"])]]
            for r in results]
    with replacing(out) as tmp:
        write_csv(tmp, header, rows)
    return out


def predict_files(run_dir: str | Path, files: Sequence[str | Path], top_k: int = 3,
                  kinds: Sequence[str] = CLASSIFIER_KINDS, out: str | Path | None = None, progress: bool = False,
                  chunk_size: int | None = None, **options: Any) -> list[dict[str, Any]]:
    """The ``top_k`` classes of each image, with their probabilities.

    Args:
        run_dir: a classifier-like run folder (of one of ``kinds``).
        files: image files and folders (searched recursively; unreadable images found in a
            folder are skipped with one warning).
        top_k: classes listed per image.
        kinds: the run kinds the caller accepts.
        out: also write the results to this new CSV file.
        progress: show a progress bar on a terminal, one line when done elsewhere.
        chunk_size: images handed to the predictor at a time (default :data:`PREDICT_CHUNK`).
        **options: passed to the kind's predictor (``batch_size``, ``trust_pickle``, ``n_jobs``).

    Returns:
        One dict of :data:`PREDICTION_KEYS` per image, in the order found.

    Raises:
        KerascenesError: if a path is missing, an explicit file is not a readable image,
            ``out`` exists, or ``top_k`` < 1.
    """
    from kerascenes.data.folders import describe_files

    if top_k < 1:
        raise KerascenesError(f"--top-k must be at least 1, got {top_k}.")
    run = RunFolder.open(run_dir, kinds, action="predict")
    out = None if out is None else check_predictions_out(out)
    paths, skipped = find_image_files(files)
    if skipped:
        log.warning("Skipping %d unusable file(s) found in the folders given:\n%s", len(skipped), describe_files(skipped))
    predictor = load_predictor(run, **{**options, "progress": False})
    proba = predict_in_chunks(predictor, paths, chunk_size or PREDICT_CHUNK, progress)
    results = prediction_rows(paths, proba, predictor.class_names, top_k)
    if out is not None:
        write_predictions_csv(out, results)
    return results
