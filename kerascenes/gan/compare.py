"""Side-by-side comparison of GAN runs, whichever framework trained them (``kerascenes gan compare``).

Speed comes from each run's ``history.csv``; the scores (FD, KID, confident share) from its
``evaluation.json``, or are computed when a run has none. The grids are generated anew from
every run with the same latent vectors (``seed``), so runs of one architecture show the
same noise through each framework's generator.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.gan import layout
from kerascenes.runs import RunFolder, read_json, write_json

COLUMNS = ("run", "framework", "architecture", "dataset", "epochs", "images_per_second", "seconds_per_epoch",
           "fd", "kid", "confident_share")
HEADERS = {"run": "run", "framework": "framework", "architecture": "architecture", "dataset": "dataset",
           "epochs": "epochs", "images_per_second": "images/s", "seconds_per_epoch": "s/epoch", "fd": "FD",
           "kid": "KID", "confident_share": "confident share"}
FILES = {"markdown": "comparison.md", "csv": "comparison.csv", "grids": "grids.png", "json": "comparison.json"}


def run_row(run_dir: str | os.PathLike, eval_samples: int = 10000, seed: int = 0) -> dict[str, Any]:
    """One table row: framework, architecture, speed and scores of a run.

    Args:
        run_dir: a GAN run folder.
        eval_samples: images scored when the run has no ``evaluation.json`` yet.
        seed: seed of that scoring.
    """
    run = RunFolder.open(run_dir, "gan", action="compare")
    config = run.read_config()
    history = layout.read_history(run)
    evaluation_file = run.path / layout.EVALUATION_FILE
    if evaluation_file.is_file():
        scores = read_json(evaluation_file)
    else:
        from kerascenes.gan.evaluate import evaluate_run

        scores = evaluate_run(run.path, n=eval_samples, seed=seed)
    return {
        "run": run.name, "framework": config.get("framework", "tf"), "architecture": config.get("arch"),
        "dataset": config.get("dataset"), "epochs": len(history),
        "images_per_second": float(np.mean([r["images_per_second"] for r in history])) if history else None,
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])) if history else None,
        "fd": scores.get("fd"), "kid": scores.get("kid"), "confident_share": scores.get("confident_share"),
        "real_fd": scores.get("real_fd"), "path": str(run.path),
    }


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("images_per_second",):
        return f"{value:.0f}"
    if key in ("seconds_per_epoch", "fd"):
        return f"{value:.2f}"
    if key == "kid":
        return f"{value:.4f}"
    if key == "confident_share":
        return f"{value:.3f}"
    return str(value)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a GitHub markdown table."""
    lines = ["| " + " | ".join(HEADERS[c] for c in COLUMNS) + " |",
             "|" + "|".join("---" if c in ("run", "framework", "architecture", "dataset") else "---:"
                            for c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_fmt(c, row.get(c)) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def save_grids(panels: Sequence[np.ndarray], titles: Sequence[str], path: str | os.PathLike) -> Path:
    """One PNG with one sample grid per run, side by side."""
    from kerascenes.plots import _pyplot, _save, image_grid

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.0), squeeze=False)
    for ax, images, title in zip(axes[0], panels, titles):
        ax.imshow(image_grid(images, columns=layout.GRID_COLUMNS), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return _save(fig, path)


def compare_runs(run_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, n: int = 64, seed: int = 0,
                 eval_samples: int = 10000) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """Compare runs: write ``comparison.md``, ``comparison.csv``, ``comparison.json`` and ``grids.png``.

    Args:
        run_dirs: two or more GAN run folders.
        out_dir: folder for the outputs (created).
        n: samples per grid.
        seed: seed of the grids' latent vectors (and of any missing evaluation).
        eval_samples: images scored for a run without ``evaluation.json``.

    Returns:
        ``(rows, paths)``: the table rows and the written files by kind.
    """
    from kerascenes.gan.evaluate import generate_from_run

    from kerascenes.runs import check_output_dir

    if len(run_dirs) < 1:
        raise KerascenesError("Pass at least one run folder to compare (e.g. logs/<tf-run> logs/<torch-run>).")
    layout.check_sampling(n, seed)
    layout.check_sampling(eval_samples, seed, "--eval-samples")
    check_output_dir(out_dir, "--out")
    taken = [name for name in FILES.values() if (Path(out_dir) / name).exists()]
    if taken:
        raise KerascenesError(f"--out {out_dir} already holds a comparison ({', '.join(taken)}); pass a new folder "
                              "(comparisons never overwrite).")
    rows = [run_row(d, eval_samples, seed) for d in run_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in FILES.items()}
    paths["markdown"].write_text(markdown_table(rows))
    with open(paths["csv"], "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS) + ["real_fd", "path"])
        writer.writeheader()
        writer.writerows(rows)
    write_json(paths["json"], rows)
    panels = [generate_from_run(row["path"], n=n, seed=seed) for row in rows]
    titles = [f"{row['run']}\n{row['framework']} / {row['architecture']}, FD {_fmt('fd', row['fd'])}" for row in rows]
    save_grids(panels, titles, paths["grids"])
    return rows, paths
