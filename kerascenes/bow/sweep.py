"""The study's Table 1 re-run next to the kerascenes recipes, as one markdown table.

Each row is an ordinary bag-of-words run (``<sweep>-<row>`` under the log directory, so it
also becomes a row of the workbook's bag-of-words sheet); the sweep folder keeps the
table as ``sweep.md`` and ``sweep.json``. The study's rows use its features and
classifiers, plain word histograms (no pyramid) and an SVM penalty chosen by 3-fold
cross-validation, as the study did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, default_run_name, write_json

_STUDY = {"pyramid_levels": 0, "encoding": "histogram", "normalization": "l1"}
# row name -> (description, classifier, C, BagOfVisualWords parameters)
SWEEP_ROWS: dict[str, tuple[str, str, Any, dict[str, Any]]] = {
    "sift-100": ("study: SIFT, 100 words, linear SVM", "svm-linear", "cv", {**_STUDY, "detector": "sift", "vocab_size": 100}),
    "sift-500": ("study: SIFT, 500 words, linear SVM", "svm-linear", "cv", {**_STUDY, "detector": "sift", "vocab_size": 500}),
    "fast-freak-250": ("study: FAST+FREAK, 250 words, RBF SVM", "svm-rbf", "cv",
                       {**_STUDY, "detector": "fast-freak", "vocab_size": 250}),
    "kaze-250": ("study: KAZE, 250 words, intersection SVM", "svm-intersection", "cv",
                 {**_STUDY, "detector": "kaze", "vocab_size": 250}),
    "rf-sift-250": ("study: SIFT, 250 words, random forest", "random-forest", None,
                    {**_STUDY, "detector": "sift", "vocab_size": 250}),
    "lazebnik": ("Lazebnik-style: dense SIFT 16/24/32, 400 words, pyramid L=2, intersection SVM",
                 "svm-intersection", None, {"encoding": "histogram", "vocab_size": 400, "pyramid_levels": 2}),
    "default": ("kerascenes default: dense SIFT 16/24/32, Fisher vectors (64 Gaussians, PCA 64), pyramid L=1, linear SVM",
                "svm-linear", None, {}),
    "best": ("kerascenes best: dense SIFT 16/24/32, Fisher vectors (128 Gaussians, PCA 64), pyramid L=1, linear SVM",
             "svm-linear", None, {"vocab_size": 128}),
}


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The sweep results as a markdown table."""
    lines = ["| row | recipe | C | train acc | val acc | time (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        c = "" if r["C"] is None else f"{r['C']:g}"
        lines.append(f"| {r['row']} | {r['recipe']} | {c} | {r['train_accuracy']:.3f} | {r['val_accuracy']:.3f} "
                     f"| {r['time_s']:.0f} |")
    return "\n".join(lines) + "\n"


def run_sweep(data: str | Path, val_data: str | Path, logdir: str | Path = "logs", name: str | None = None,
              only: Sequence[str] = (), **common: Any) -> tuple[Path, list[dict[str, Any]]]:
    """Run the rows of :data:`SWEEP_ROWS` (or ``only`` those) and write the table.

    Args:
        data, val_data: training and validation folders.
        logdir: parent folder of the runs.
        name: sweep name.
        only: subset of row names.
        **common: BagOfVisualWords parameters applied to every row (cache_dir, n_jobs, seed, progress).

    Returns:
        ``(path of sweep.md, rows)``.
    """
    from kerascenes.bow.runner import DEFAULT_RECIPE, fit_run

    unknown = [r for r in only if r not in SWEEP_ROWS]
    if unknown:
        raise KerascenesError(f"Unknown sweep row {unknown[0]!r}; choose among {', '.join(SWEEP_ROWS)}.")
    names = [r for r in SWEEP_ROWS if not only or r in only]
    folder = RunFolder.create(logdir, name or default_run_name("bow-sweep"))
    folder.write_config({"kind": "bow-sweep", "data": str(data), "val_data": str(val_data), "rows": names})
    seed = common.pop("seed", 0)
    rows = []
    for row in names:
        recipe, classifier, C, params = SWEEP_ROWS[row]
        bow_params = {k: v for k, v in DEFAULT_RECIPE.items() if k != "classifier"} | params
        run, summary = fit_run(data, val_data, classifier=classifier, C=C, logdir=logdir,
                               name=f"{folder.name}-{row}", tensorboard=False, random_state=seed,
                               extra_hparams={"sweep": folder.name, "row": row}, **bow_params, **common)
        m = summary["metrics"]
        rows.append({"row": row, "recipe": recipe, "run": run.name, "C": summary["hparams"].get("C"),
                     "train_accuracy": m["train_accuracy"], "val_accuracy": m["val_accuracy"],
                     "time_s": summary["wall_time_s"]})
        table = markdown_table(rows)
        (folder.path / "sweep.md").write_text(table)
        write_json(folder.file("sweep.json"), rows)
    return folder.path / "sweep.md", rows
