"""``kerascenes bow``: bag-of-visual-words classifiers (fit, evaluate, predict, sweep)."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json

# names repeated here so that `--help` does not import scikit-learn or OpenCV
_DETECTORS = ("dense-sift", "sift", "kaze", "akaze", "orb", "fast-freak")
_CLASSIFIERS = ("svm-intersection", "svm-linear", "svm-rbf", "svm-chi2", "random-forest")


def _sizes(ctx, param, value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in str(value).split(",") if v.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 4:
        raise click.BadParameter(f"expected comma-separated patch widths >= 4 such as 16,24,32, got {value!r}.")
    return sizes


def _penalty(ctx, param, value):
    if value is None or str(value).lower() == "cv":
        return None if value is None else "cv"
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise click.BadParameter(f"expected a positive number or 'cv', got {value!r}.")
    return number


def _jobs(ctx, param, value: int) -> int:
    if value == 0 or value < -1:
        raise click.BadParameter(f"{value} is not a worker count; use a positive number, or -1 for all cores.")
    return value


JOBS_OPTION = click.option("--n-jobs", "--jobs", "jobs", type=int, default=-1, show_default=True, callback=_jobs,
                           help="Parallel workers for descriptor extraction and encoding (-1: all cores).")


def bow_options(func):
    """Options shared by ``fit`` and ``sweep``."""
    options = [
        click.option("--data", required=True, type=click.Path(), help="Training images: DIR/<class>/<image>."),
        click.option("--val-data", type=click.Path(), help="Validation images with the same class folders."),
        click.option("--logdir", default="logs", show_default=True, type=click.Path(), help="Parent folder of runs."),
        click.option("--cache-dir", default=None, type=click.Path(),
                     help="Descriptor cache folder [default: <logdir>/.bow-cache]."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the descriptor cache."),
        JOBS_OPTION,
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of sampling, k-means and GMM."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _cache(logdir: str, cache_dir: str | None, no_cache: bool) -> str | None:
    from pathlib import Path

    return None if no_cache else (cache_dir or str(Path(logdir) / ".bow-cache"))


@click.group("bow")
def bow() -> None:
    """Bag-of-visual-words scene classifiers.

    \b
    Train (default: multi-scale dense SIFT, Fisher vectors of 64 Gaussians, pyramid 1+2x2, linear SVM):
      kerascenes bow fit --data train/ --val-data val/
    Evaluate / predict:
      kerascenes bow evaluate logs/<run> --data test/ --json
      kerascenes bow predict logs/<run> photo.jpg
    Re-run the study's Table 1 next to the fast recipe:
      kerascenes bow sweep --data train/ --val-data val/
    """


@bow.command("fit")
@bow_options
@click.option("--detector", default="dense-sift", show_default=True,
              help=f"Local features: {', '.join(_DETECTORS)} (SURF is patented and unavailable).")
@click.option("--encoding", type=click.Choice(["fisher", "vlad", "histogram"]), default="fisher", show_default=True,
              help="Image encoding: improved Fisher vectors, VLAD, or word histograms.")
@click.option("--vocab", "vocab_size", type=click.IntRange(min=2), default=None,
              help="Visual words / GMM components [default: 64 for fisher and vlad, 400 for histogram].")
@click.option("--pyramid", "pyramid_levels", type=click.IntRange(0, 4), default=None,
              help="Spatial pyramid levels, 0: whole image, 1: +2x2, 2: +4x4 [default: 1 for fisher/vlad, 2 for histogram].")
@click.option("--normalization", type=click.Choice(["l1", "hellinger"]), default="l1", show_default=True,
              help="Histogram normalisation.")
@click.option("--classifier", type=click.Choice(_CLASSIFIERS), default=None,
              help="[default: svm-linear for fisher/vlad, svm-intersection for histogram]")
@click.option("--C", "C", callback=_penalty, default=None,
              help="SVM penalty, or 'cv' for 3-fold cross-validation over 0.1/1/10/100 [default: 10].")
@click.option("--matcher", type=click.Choice(["exact", "flann", "bruteforce"]), default="exact", show_default=True,
              help="Descriptor-to-word assignment.")
@click.option("--soft", "soft_assignment", is_flag=True, help="Soft-assign descriptors to their 5 nearest words.")
@click.option("--patch-sizes", default="16,24,32", show_default=True, callback=_sizes, help="Dense SIFT patch widths.")
@click.option("--step", type=click.IntRange(min=1), default=8, show_default=True, help="Dense SIFT grid step (px).")
@click.option("--max-side", type=click.IntRange(min=32), default=300, show_default=True, help="Shrink larger images to this.")
@click.option("--max-keypoints", type=click.IntRange(min=1), default=None, help="Keypoint detectors: keep the strongest N.")
@click.option("--pca-dim", type=click.IntRange(min=2), default=64, show_default=True, help="VLAD/Fisher descriptor PCA size.")
@click.option("--vocab-samples", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Descriptors sampled for the vocabulary.")
@click.option("--name", default=None, help="Run name [default: bow-<detector>-<time>].")
@click.option("--no-tensorboard", is_flag=True, help="Skip TensorBoard logs (avoids importing TensorFlow).")
def fit(data, val_data, logdir, cache_dir, no_cache, jobs, seed, quiet, detector, vocab_size, encoding,
        pyramid_levels, normalization, classifier, C, matcher, soft_assignment, patch_sizes, step, max_side,
        max_keypoints, pca_dim, vocab_samples, name, no_tensorboard) -> None:
    """Train a bag-of-words classifier on --data (and validate on --val-data) into a run folder."""
    from kerascenes.bow.runner import fit_run, resolve_defaults

    vocab_size, pyramid_levels, classifier = resolve_defaults(encoding, vocab_size, pyramid_levels, classifier)
    run, summary = fit_run(
        data, val_data, classifier=classifier, C=C, logdir=logdir, name=name, tensorboard=not no_tensorboard,
        detector=detector, vocab_size=vocab_size, encoding=encoding, pyramid_levels=pyramid_levels,
        normalization=normalization, matcher=matcher, soft_assignment=soft_assignment, patch_sizes=patch_sizes,
        step=step, max_side=max_side, max_keypoints=max_keypoints, pca_dim=pca_dim, vocab_samples=vocab_samples,
        cache_dir=_cache(logdir, cache_dir, no_cache), n_jobs=jobs, progress=not quiet, random_state=seed)
    m = summary["metrics"]
    val = f", val accuracy {m['val_accuracy']:.4f}" if "val_accuracy" in m else ""
    click.echo(f"Run {run.path}: train accuracy {m['train_accuracy']:.4f}{val}, {summary['wall_time_s']:.1f} s")


@bow.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="Images to evaluate on: DIR/<class>/<image>.")
@JOBS_OPTION
@click.option("--trust-pickle", is_flag=True, help="Allow loading a pickled random forest (only from trusted runs).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (accuracy, macro_f1, n_images, ...).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def evaluate(run_dir, data, jobs, trust_pickle, as_json, quiet) -> None:
    """Evaluate the bag-of-words model of RUN_DIR on --data; reports go to RUN_DIR/evaluations/."""
    from kerascenes.bow.runner import evaluate_run

    result = evaluate_run(run_dir, data, trust_pickle=trust_pickle, n_jobs=jobs, progress=not (quiet or as_json))
    if as_json:
        echo_json(result)
        return
    click.echo(f"Run {result['run']} on {data}: accuracy {result['accuracy']:.4f} "
               f"(macro F1 {result['macro_f1']:.4f}, {result['n_images']} images, {result['wall_time_s']:.1f} s)")
    click.echo(f"Reports: {result['report_dir']}")


@bow.command("predict")
@click.argument("run_dir", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--top", "top_k", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--trust-pickle", is_flag=True, help="Allow loading a pickled random forest (only from trusted runs).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def predict(run_dir, images, top_k, trust_pickle, as_json) -> None:
    """Classify IMAGE files with the model of RUN_DIR (scores are a softmax of SVM decision values)."""
    from kerascenes.bow.runner import predict_files

    results = predict_files(run_dir, images, top_k=top_k, trust_pickle=trust_pickle)
    if as_json:
        echo_json(results)
        return
    for r in results:
        tops = ", ".join(f"{t['class']} {t['score']:.2f}" for t in r["top"])
        click.echo(f"{r['file']}: {r['predicted']}  ({tops})")


@bow.command("sweep")
@bow_options
@click.option("--name", default=None, help="Sweep name [default: bow-sweep-<time>].")
@click.option("--only", multiple=True, help="Run only these rows (repeatable), e.g. --only sift-100 --only fast.")
def sweep(data, val_data, logdir, cache_dir, no_cache, jobs, seed, quiet, name, only) -> None:
    """Re-run the study's Table 1 (SIFT 100/500, FAST+FREAK 250, KAZE 250, random forest) next to
    Lazebnik-style pyramids and the kerascenes Fisher-vector recipes; writes a markdown table and workbook rows."""
    from kerascenes.bow.sweep import run_sweep

    if val_data is None:
        raise click.UsageError("sweep needs --val-data to measure validation accuracy.")
    table_path, _ = run_sweep(data, val_data, logdir=logdir, name=name, only=only,
                              cache_dir=_cache(logdir, cache_dir, no_cache), n_jobs=jobs, seed=seed, progress=not quiet)
    click.echo(table_path.read_text())
    click.echo(f"Table: {table_path}")
