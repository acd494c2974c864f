"""``kerascenes fit``: train a transfer-learning classifier on a class-per-folder tree."""

from __future__ import annotations

import click

from kerascenes.classify.config import FitConfig
from kerascenes.cli.options import build_config, config_options, is_quiet, quiet_option


@click.command("fit")
@config_options(FitConfig)
@click.option("--resume", is_flag=True, help="Continue the unfinished run --name from its last completed epoch "
                                             "(the same command line plus --resume).")
@quiet_option
@click.pass_context
def fit(ctx: click.Context, resume: bool, **params) -> None:
    """Train a scene classifier: frozen backbone + dense head, then optional fine-tuning.

    \b
    Example:
      kerascenes fit --backbone MobileNet --alpha 0.25 --weights mobilenet_2_5_224_tf_no_top.h5 \\
                     --data 15scene/train --val-data 15scene/val --epochs 30
    Replay (or vary) an earlier run:
      kerascenes fit --config logs/<run>/config.json [--epochs 50 ...]
    Continue a run that was interrupted (Ctrl-C, kill, a crash):
      kerascenes fit <the same options> --name <run> --resume

    Writes logs/<name>/ (config, model.keras, curves, confusion matrix, predictions,
    TensorBoard, summary) and a row of logs/overall_results.xlsx.
    """
    from kerascenes.classify.train import fit_classifier

    config = build_config(FitConfig, ctx, params)
    result = fit_classifier(config, verbose=0 if is_quiet(ctx) else "auto", resume=resume)
    click.echo(result.describe())
