"""``kerascenes fit``: train a transfer-learning classifier on a class-per-folder tree."""

from __future__ import annotations

import click

from kerascenes.classify.config import FitConfig
from kerascenes.cli.options import build_config, config_options, is_quiet, quiet_option


@click.command("fit")
@config_options(FitConfig)
@quiet_option
@click.pass_context
def fit(ctx: click.Context, **params) -> None:
    """Train a scene classifier: frozen backbone + dense head, then optional fine-tuning.

    \b
    Example:
      kerascenes fit --backbone MobileNet --alpha 0.25 --weights mobilenet_2_5_224_tf_no_top.h5 \\
                     --data 15scene/train --val-data 15scene/val --epochs 30
    Replay (or vary) an earlier run:
      kerascenes fit --config logs/<run>/config.json [--epochs 50 ...]

    Writes logs/<name>/ (config, model.keras, curves, confusion matrix, predictions,
    TensorBoard, summary) and a row of logs/overall_results.xlsx.
    """
    from kerascenes.classify.train import fit_classifier

    config = build_config(FitConfig, ctx, params)
    result = fit_classifier(config, verbose=0 if is_quiet(ctx) else "auto")
    m = result.summary["metrics"]
    click.echo(f"Run {result.run.path}: val accuracy {m['val_accuracy']:.4f}, train accuracy {m['train_accuracy']:.4f}, "
               f"{result.summary['wall_time_s']:.0f} s")
