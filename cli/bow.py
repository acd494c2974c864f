"""``kerascenes bow``: bag-of-visual-words classifiers (fit, evaluate, predict, sweep)."""

from __future__ import annotations

import click

from kerascenes.bow.config import BowConfig
from kerascenes.bow.sweep import SweepConfig
from kerascenes.cli.evaluate import echo_evaluation
from kerascenes.cli.options import build_config, config_options, echo_json, is_quiet, json_option, quiet_option
from kerascenes.cli.predict import IMAGES_ARGUMENT, OUT_OPTION, TOP_ALIAS, TOP_K_OPTION, echo_predictions, resolve_top_k

N_JOBS_OPTION = click.option("--n-jobs", type=int, default=-1, show_default=True,
                             help="Parallel workers for descriptor extraction and encoding (-1: all cores).")
JOBS_ALIAS = click.option("--jobs", "jobs_alias", type=int, default=None, hidden=True)
TRUST_OPTION = click.option("--trust-pickle", is_flag=True,
                            help="Allow loading a pickled random forest (only from trusted runs).")


def _n_jobs(n_jobs: int, jobs_alias: int | None) -> int:
    if jobs_alias is not None:
        click.echo("Note: --jobs is deprecated; use --n-jobs.", err=True)
        n_jobs = jobs_alias
    if n_jobs == 0 or n_jobs < -1:
        raise click.BadParameter(f"{n_jobs} is not a worker count; use a positive number, or -1 for all cores.",
                                 param_hint="--n-jobs")
    return n_jobs


def _no_tensorboard(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        click.echo("Note: --no-tensorboard is deprecated; TensorBoard logs no longer import TensorFlow and are "
                   "always written.", err=True)
    return value


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
@config_options(BowConfig)
@click.option("--no-tensorboard", is_flag=True, hidden=True, expose_value=False, callback=_no_tensorboard)
@click.option("--resume", is_flag=True, help="Continue the unfinished run --name, reusing its learned vocabulary "
                                             "(the same command line plus --resume).")
@quiet_option
@click.pass_context
def fit(ctx: click.Context, resume: bool, **params) -> None:
    """Train a bag-of-words classifier on --data (and validate on --val-data) into a run folder."""
    from kerascenes.bow.runner import fit_bow

    result = fit_bow(build_config(BowConfig, ctx, params), progress=not is_quiet(ctx), resume=resume)
    m = result.summary["metrics"]
    val = f", val accuracy {m['val_accuracy']:.4f}" if "val_accuracy" in m else ""
    click.echo(f"Run {result.run.path}: train accuracy {m['train_accuracy']:.4f}{val}, "
               f"{result.summary['wall_time_s']:.1f} s")


@bow.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="Images to evaluate on: DIR/<class>/<image>.")
@N_JOBS_OPTION
@JOBS_ALIAS
@TRUST_OPTION
@json_option("Print one JSON object (run, kind, accuracy, macro_f1, n_images, per_class, confusion_matrix, ...).")
@quiet_option
@click.pass_context
def evaluate(ctx, run_dir, data, n_jobs, jobs_alias, trust_pickle, as_json) -> None:
    """Evaluate the bag-of-words model of RUN_DIR on --data; reports go to RUN_DIR/evaluations/."""
    from kerascenes.inference import evaluate_run

    result = evaluate_run(run_dir, data, kinds=("bow",), trust_pickle=trust_pickle, n_jobs=_n_jobs(n_jobs, jobs_alias),
                          progress=not (is_quiet(ctx) or as_json))
    if as_json:
        echo_json(result)
        return
    echo_evaluation(result, data)


@bow.command("predict")
@click.argument("run_dir", type=click.Path())
@IMAGES_ARGUMENT
@TOP_K_OPTION
@TOP_ALIAS
@OUT_OPTION
@N_JOBS_OPTION
@TRUST_OPTION
@json_option("Print a JSON list of {file, predicted, top: [{class, probability}]}.")
@quiet_option
@click.pass_context
def predict(ctx, run_dir, images, top_k, top_alias, out, n_jobs, trust_pickle, as_json) -> None:
    """Classify IMAGES (files, or folders searched recursively) with the model of RUN_DIR (probabilities: a
    softmax of SVM decision values)."""
    from kerascenes.inference import predict_files

    results = predict_files(run_dir, images, top_k=resolve_top_k(top_k, top_alias), kinds=("bow",), out=out,
                            progress=not (is_quiet(ctx) or as_json), trust_pickle=trust_pickle,
                            n_jobs=_n_jobs(n_jobs, None))
    if as_json:
        echo_json(results)
        return
    echo_predictions(results, out)


@bow.command("sweep")
@config_options(SweepConfig)
@quiet_option
@click.pass_context
def sweep(ctx: click.Context, **params) -> None:
    """Re-run the study's Table 1 (SIFT 100/500, FAST+FREAK, KAZE, random forest) next to
    Lazebnik-style pyramids and the kerascenes Fisher-vector recipes; writes a markdown table and workbook rows."""
    from kerascenes.bow.sweep import run_sweep

    table_path, _ = run_sweep(build_config(SweepConfig, ctx, params), progress=not is_quiet(ctx))
    click.echo(table_path.read_text())
    click.echo(f"Table: {table_path}")
