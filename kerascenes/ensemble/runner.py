"""Ensemble runs: learn the combination out of fold, report on the validation images, predict.

An ensemble run folder holds ``config.json`` (the members and the method), ``ensemble.json``
(each member's path and model checksum, the learned weights or stacker), the out-of-fold
probabilities (``oof.npz``), the validation reports every classifier run has (confusion
matrix, per-class table, ``predictions.csv``, ``mistakes.png``), TensorBoard logs and
``summary.json``. :class:`EnsemblePredictor` serves ``kerascenes evaluate`` and ``predict``; it
refuses to run when a member's model file changed or disappeared.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kerascenes.ensemble.combine import combine, equal_weights, fit_combiner
from kerascenes.ensemble.config import EnsembleConfig
from kerascenes.errors import KerascenesError, reading
from kerascenes.runs import RunFolder, default_run_name, read_json, save_npz, write_json

log = logging.getLogger("kerascenes")
ENSEMBLE_FILE = "ensemble.json"


@dataclass
class EnsembleResult:
    """What :func:`fit_ensemble` returns."""

    run: RunFolder
    summary: dict[str, Any]


def _check_members(config: EnsembleConfig):
    from kerascenes.ensemble.members import class_names, open_member

    runs = [open_member(m) for m in config.members]
    names = class_names(runs[0])
    for run in runs[1:]:
        if class_names(run) != names:
            raise KerascenesError(f"{run.path} was trained on other classes than {runs[0].path} "
                                  f"({', '.join(class_names(run))} vs {', '.join(names)}); ensemble runs of one dataset.")
    return runs, names


def fit_ensemble(config: EnsembleConfig, progress: bool = True) -> EnsembleResult:
    """Learn how to combine the member runs from their out-of-fold probabilities and write the run.

    Args:
        config: the members and options (resolved here: the members' data filled in).
        progress: show progress.

    Returns:
        An :class:`EnsembleResult`.
    """
    from sklearn.model_selection import StratifiedKFold

    from kerascenes.data.folders import align_classes, load_image_folder
    from kerascenes.ensemble.members import member_summary, out_of_fold

    t0 = time.perf_counter()
    started = _dt.datetime.now().isoformat(timespec="seconds")
    config = config.resolve()
    runs, names = _check_members(config)
    train = align_classes(load_image_folder(config.data, option="--data"), names, option="--data")
    val = (align_classes(load_image_folder(config.val_data, option="--val-data"), names, option="--val-data")
           if config.val_data else None)
    members = [member_summary(r) for r in runs]
    run = RunFolder.create(config.logdir, config.name or default_run_name("ensemble"), "ensemble", config,
                           {"class_names": names, "n_train": len(train), "n_val": 0 if val is None else len(val),
                            "started": started, "member_runs": members})
    with run.guard():
        folds = list(StratifiedKFold(config.folds, shuffle=True, random_state=config.seed).split(train.paths,
                                                                                                  train.labels))
        oof = []
        for member in runs:
            log.info("Out-of-fold probabilities of %s (%d folds)", member.name, config.folds)
            oof.append(out_of_fold(member, train.paths, train.labels, folds, config.seed))
        params = fit_combiner(config.method, oof, train.labels, config.seed)
        save_npz(run.file("oof.npz"), labels=train.labels, **{f"member{i}": p for i, p in enumerate(oof)})
        write_json(run.file(ENSEMBLE_FILE), {"method": config.method, "members": members, "params": params,
                                             "class_names": names})
        metrics = _oof_metrics(oof, params, train.labels, members)
        if val is not None:
            metrics.update(_report(run, val, names, progress))
        hparams = {"method": config.method, "folds": config.folds, "members": ",".join(m["run"] for m in members),
                   "data": config.data, "val_data": config.val_data, "seed": config.seed,
                   **{f"weight_{m['run']}": w for m, w in zip(members, params.get("weights", []))}}
        summary = run.finish(hparams, metrics, started, time.perf_counter() - t0)
    return EnsembleResult(run, summary)


def _oof_metrics(oof: Sequence[np.ndarray], params: dict[str, Any], labels: np.ndarray,
                 members: list[dict[str, Any]]) -> dict[str, Any]:
    def acc(p):
        return round(float((np.asarray(p).argmax(1) == labels).mean()), 4)

    out = {"train_accuracy": acc(combine(oof, params)), "train_accuracy_equal_weights":
           acc(combine(oof, equal_weights(params["method"], len(oof))))}
    out.update({f"train_accuracy_{m['run']}": acc(p) for m, p in zip(members, oof)})
    return out


def _report(run: RunFolder, val, names: Sequence[str], progress: bool) -> dict[str, Any]:
    """The validation reports of the ensemble, its members and the equal-weight baseline."""
    from kerascenes.classify.evaluate import write_mistakes_gallery
    from kerascenes.inference import predict_in_chunks
    from kerascenes.kept_predictions import load_val_proba
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix

    predictor = EnsemblePredictor.load(run)
    probas = []
    for member, member_run in zip(predictor.members, predictor.member_runs):
        kept = load_val_proba(member_run.path, member_run.kind, val.paths)  # the member's own val scores
        if kept is not None:
            log.info("Reusing the validation probabilities %s kept", member_run.name)
        probas.append(kept if kept is not None else predict_in_chunks(member, val.paths, progress=progress))
    proba = combine(probas, predictor.params)
    report = write_classification_report(run.path, val.labels, proba.argmax(1), names, proba=proba, paths=val.paths)
    write_mistakes_gallery(run.path / "mistakes.png", val, proba, 160)
    log_confusion_matrix(run.tensorboard_dir / "validation", np.asarray(report["confusion_matrix"]), names)
    equal = combine(probas, equal_weights(predictor.params["method"], len(probas)))
    metrics = {"val_accuracy": round(report["accuracy"], 4),
               **{f"val_{k}_accuracy": round(v, 4) for k, v in report["top_k_accuracy"].items() if k != "top1"},
               "val_macro_f1": round(report["macro_f1"], 4),
               "val_accuracy_equal_weights": round(float((equal.argmax(1) == val.labels).mean()), 4),
               "n_val": len(val)}
    for member, p in zip(predictor.member_runs, probas):
        metrics[f"val_accuracy_{member.name}"] = round(float((p.argmax(1) == val.labels).mean()), 4)
    return metrics


class EnsemblePredictor:
    """Class probabilities of an ensemble run: its members' predictions, combined as learned."""

    def __init__(self, members: list, member_runs: list[RunFolder], params: dict[str, Any], class_names: list[str]):
        self.members, self.member_runs, self.params, self.class_names = members, member_runs, params, class_names

    @classmethod
    def load(cls, run: RunFolder, **options: Any) -> "EnsemblePredictor":
        from kerascenes.ensemble.members import checksum, open_member
        from kerascenes.inference import load_predictor

        with reading(run.path / ENSEMBLE_FILE, "an ensemble description", "build the ensemble again"):
            spec = read_json(run.path / ENSEMBLE_FILE)
            recorded = spec["members"]
        runs = []
        for member in recorded:
            try:
                member_run = open_member(member["path"])
            except KerascenesError as exc:
                raise KerascenesError(f"Ensemble {run.path} needs its member {member['path']}, which is gone or "
                                      f"unusable ({exc}); restore it or build the ensemble again.") from None
            if checksum(member_run) != member["checksum"]:
                raise KerascenesError(f"The model of ensemble member {member_run.path} changed since {run.path} was "
                                      "built; restore it or build the ensemble again.")
            runs.append(member_run)
        members = [load_predictor(r, **{**options, "progress": False}) for r in runs]
        return cls(members, runs, spec["params"], list(spec["class_names"]))

    def predict_proba(self, paths: Sequence[str]) -> np.ndarray:
        return combine([m.predict_proba(list(paths)) for m in self.members], self.params)
