"""Evaluation of classifier runs: reports, error analysis, loading and prediction."""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.data.folders import ImageSet, align_classes, load_image_folder
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, write_json

log = logging.getLogger("kerascenes")


def predict_proba(model, images: ImageSet | Sequence[str], image_size: int, batch_size: int = 32) -> np.ndarray:
    """Class probabilities of every image (no augmentation)."""
    from kerascenes.data.pipeline import image_dataset

    paths = images.paths if isinstance(images, ImageSet) else list(images)
    if not paths:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    ds = image_dataset(paths, None, image_size, batch_size, cache=False)
    return np.asarray(model.predict(ds.map(lambda x, y: x), verbose=0), dtype=np.float32)


def write_mistakes_gallery(path: Path, images: ImageSet, proba: np.ndarray, image_size: int, n: int = 15) -> Path:
    """A gallery of the most confident mistakes, with true/predicted classes and probabilities."""
    from kerascenes.data.pipeline import load_images
    from kerascenes.plots import plot_image_gallery

    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != images.labels)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    names = images.class_names
    captions = [
        f"{Path(images.paths[i]).name}\ntrue {names[images.labels[i]]} ({proba[i, images.labels[i]]:.2f})\n"
        f"pred {names[pred[i]]} ({proba[i, pred[i]]:.2f})"
        for i in order
    ]
    pics = load_images([images.paths[i] for i in order], min(image_size, 160))
    return plot_image_gallery(list(pics), captions, path, title=f"Most confident mistakes ({len(wrong)} in total)")


def write_run_evaluation(run: RunFolder, model, data, image_size: int, batch_size: int,
                         history: dict[str, list[float]], stage_boundaries: Sequence[int] = ()) -> dict[str, Any]:
    """Everything a finished training run writes about its quality; returns the metrics."""
    from kerascenes.plots import plot_history
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix

    train_proba = predict_proba(model, data.train, image_size, batch_size)
    train_acc = float((train_proba.argmax(1) == data.train.labels).mean())
    val_proba = predict_proba(model, data.val, image_size, batch_size)
    val_pred = val_proba.argmax(1)
    report = write_classification_report(run.path, data.val.labels, val_pred, data.class_names, proba=val_proba,
                                         paths=data.val.paths)
    write_mistakes_gallery(run.path / "mistakes.png", data.val, val_proba, image_size)
    if history:
        plot_history(history, run.path / "curves.png", title=run.name, stage_boundaries=stage_boundaries)
    log_confusion_matrix(run.tensorboard_dir / "validation", np.asarray(report["confusion_matrix"]), data.class_names,
                         step=len(history.get("loss", [])))
    best = int(np.argmin(history["val_loss"])) if history.get("val_loss") else None
    return {
        "train_accuracy": round(train_acc, 4),
        "val_accuracy": round(report["accuracy"], 4),
        "val_macro_f1": round(report["macro_f1"], 4),
        "val_loss_best": round(float(history["val_loss"][best]), 4) if best is not None else None,
        "best_epoch": best + 1 if best is not None else None,
        "n_train": len(data.train),
        "n_val": len(data.val),
    }


def load_run_model(run: RunFolder):
    """Load a run's saved ``model.keras`` (safe mode: no arbitrary code is executed)."""
    import keras

    import kerascenes.classify.layers  # noqa: F401  (registers ImagePreprocessing)

    config = run.read_config()
    if config.get("family") == "keras_hub":
        import keras_hub  # noqa: F401  (registers the KerasHub classes)
    path = run.path / "model.keras"
    if not path.is_file():
        raise KerascenesError(f"{run.path} has no model.keras (the run did not finish); train it again or pick another run.")
    return keras.saving.load_model(str(path))


def evaluate_run(run_dir: str | Path, data: str | Path, batch_size: int = 32, strict: bool = False,
                 write: bool = True) -> dict[str, Any]:
    """Evaluate a trained run on a class-per-folder tree.

    Args:
        run_dir: the run folder.
        data: the images to evaluate on (class folders must be among the model's classes).
        batch_size: prediction batch size.
        strict: refuse folders with unusable files instead of skipping them.
        write: also write the report files under ``<run>/evaluations/<data>-<time>/``.

    Returns:
        ``{"accuracy", "macro_f1", "n_images", "per_class", "confusion_matrix", "class_names", ...}``.
    """
    run = RunFolder.open(run_dir)
    config = run.read_config()
    class_names = config["class_names"]
    images = align_classes(load_image_folder(data, strict=strict, option="--data"), class_names, option="--data")
    model = load_run_model(run)
    proba = predict_proba(model, images, int(config["image_size"]), batch_size)
    pred = proba.argmax(1)
    out_dir = None
    if write:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = run.path / "evaluations" / f"{Path(data).resolve().name}-{stamp}"
    from kerascenes.reports import per_class_table, write_classification_report

    if out_dir is not None:
        result = write_classification_report(out_dir, images.labels, pred, class_names, proba=proba, paths=images.paths)
    else:
        result = {"accuracy": float((pred == images.labels).mean()), "n_images": len(images),
                  "per_class": per_class_table(images.labels, pred, class_names)}
    result.update({"run": run.name, "data": str(data), "class_names": class_names,
                   "skipped": [p for p, _ in images.skipped]})
    if out_dir is not None:
        result["report_dir"] = str(out_dir)
        write_json(out_dir / "evaluation.json", result)
    return result


def predict_files(run_dir: str | Path, files: Sequence[str | Path], top_k: int = 3) -> list[dict[str, Any]]:
    """Top-k classes of each image file.

    Raises:
        KerascenesError: if a file is missing or is not a readable image.
    """
    from kerascenes.data.images import check_image
    from kerascenes.reports import top_k as _top_k

    run = RunFolder.open(run_dir)
    config = run.read_config()
    if top_k < 1:
        raise KerascenesError(f"--top-k must be at least 1, got {top_k}.")
    for f in files:
        if not Path(f).is_file():
            raise KerascenesError(f"Image {f} does not exist; check the path.")
        problem = check_image(f)
        if problem:
            raise KerascenesError(f"Image {f} cannot be used ({problem}); pass a valid image file.")
    model = load_run_model(run)
    proba = predict_proba(model, [str(f) for f in files], int(config["image_size"]))
    idx, val = _top_k(proba, top_k)
    names = config["class_names"]
    return [
        {"file": str(f), "top": [{"class": names[j], "probability": round(float(p), 6)} for j, p in zip(idx[i], val[i])]}
        for i, f in enumerate(files)
    ]
