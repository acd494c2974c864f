"""The study's Table 1 re-run next to the kerascenes recipes, as one markdown table.

Each row is an ordinary bag-of-words run (``<sweep>-<row>`` under the log directory, so it
also becomes a row of the workbook's bag-of-words sheet); the sweep folder keeps the
table as ``sweep.md`` and ``sweep.json``. The study's rows use its features and
classifiers, plain word histograms (no pyramid) and an SVM penalty chosen by 3-fold
cross-validation, as the study did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from kerascenes.bow.config import BowConfig
from kerascenes.config import DEFAULT_SEED, TaskConfig, closest, option
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, default_run_name, write_json

_STUDY = {"pyramid_levels": 0, "encoding": "histogram", "normalization": "l1", "root_sift": False, "tta": "none"}
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
                 "svm-intersection", None, {"encoding": "histogram", "vocab_size": 400, "pyramid_levels": 2,
                                            "root_sift": False}),
    # the two kerascenes rows take every other setting from BowConfig's defaults
    "fisher-sift": ("Fisher vectors on plain dense SIFT (the default without RootSIFT)", "svm-linear", None,
                    {"root_sift": False}),
    "default": ("kerascenes default: dense RootSIFT 16/24/32, Fisher vectors (64 Gaussians, PCA 64), pyramid L=1, "
                "linear SVM", "svm-linear", None, {}),
    "best": ("kerascenes best: as the default with 128 Gaussians and (x, y) appended to the descriptors",
             "svm-linear", None, {"vocab_size": 128, "spatial_coords": True}),
}


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The sweep results as a markdown table."""
    lines = ["| row | recipe | C | train acc | val acc | time (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        c = "" if r["C"] is None else f"{r['C']:g}"
        lines.append(f"| {r['row']} | {r['recipe']} | {c} | {r['train_accuracy']:.3f} | {r['val_accuracy']:.3f} "
                     f"| {r['time_s']:.0f} |")
    return "\n".join(lines) + "\n"


@dataclass
class SweepConfig(TaskConfig):
    """Options of ``kerascenes bow sweep``: the data, which rows, and what every row shares."""

    KIND = "bow-sweep"
    COMMAND = "kerascenes bow sweep"

    data: str | None = option(None, "Training images: DIR/<class>/<image> (required).")
    val_data: str | None = option(None, "Validation images with the same class folders (required).")
    only: tuple[str, ...] = option((), "Run only these rows (repeatable), e.g. --only sift-100 --only fast-freak-250.",
                                   choices=tuple(SWEEP_ROWS))
    cache_descriptors: bool = option(True, "Read and write the on-disk descriptor cache.", aliases=("--no-cache",))
    cache_dir: str | None = option(None, "Descriptor cache folder.", default_text="<logdir>/.bow-cache")
    n_jobs: int = option(-1, "Parallel workers for descriptor extraction and encoding (-1: all cores).",
                         aliases=("--jobs",))
    seed: int = option(DEFAULT_SEED, "Seed of sampling, k-means and the GMM.")
    name: str | None = option(None, "Sweep name (default: bow-sweep-<time>).")
    logdir: str = option("logs", "Folder of all runs (and of the results workbook).")

    def validate(self) -> "SweepConfig":
        from kerascenes.runs import check_output_dir

        check_output_dir(self.logdir, "--logdir")
        if self.data is None or self.val_data is None:
            raise KerascenesError("sweep needs --data and --val-data (it measures validation accuracy).")
        for row in self.only:
            if row not in SWEEP_ROWS:
                raise KerascenesError(f"Unknown sweep row {row!r}{closest(row, list(SWEEP_ROWS))}; "
                                      f"choose among {', '.join(SWEEP_ROWS)}.")
        return self

    def row_config(self, row: str, sweep_name: str) -> BowConfig:
        """The bag-of-words config of one row."""
        _, classifier, C, params = SWEEP_ROWS[row]
        return BowConfig(data=self.data, val_data=self.val_data, classifier=classifier, C=C, logdir=self.logdir,
                         name=f"{sweep_name}-{row}", cache_descriptors=self.cache_descriptors,
                         cache_dir=self.cache_dir, n_jobs=self.n_jobs, seed=self.seed, **params)


def run_sweep(config: SweepConfig, progress: bool = True) -> tuple[Path, list[dict[str, Any]]]:
    """Run the rows of :data:`SWEEP_ROWS` (or ``config.only``) and write the table.

    Returns:
        ``(path of sweep.md, rows)``.
    """
    from kerascenes.bow.runner import fit_bow

    config = config.resolve()
    names = [r for r in SWEEP_ROWS if not config.only or r in config.only]
    folder = RunFolder.create(config.logdir, config.name or default_run_name("bow-sweep"), config.KIND, config,
                              {"rows": names})
    rows = []
    for row in names:
        result = fit_bow(config.row_config(row, folder.name), progress=progress,
                         extra_hparams={"sweep": folder.name, "row": row})
        summary, m = result.summary, result.summary["metrics"]
        rows.append({"row": row, "recipe": SWEEP_ROWS[row][0], "run": result.run.name,
                     "C": summary["hparams"].get("C"), "train_accuracy": m["train_accuracy"],
                     "val_accuracy": m["val_accuracy"], "time_s": summary["wall_time_s"]})
        (folder.path / "sweep.md").write_text(markdown_table(rows))
        write_json(folder.file("sweep.json"), rows)
    return folder.path / "sweep.md", rows
