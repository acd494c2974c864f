"""``kerascenes ensemble``: combine classifier and bag-of-words runs into one ensemble run."""

from __future__ import annotations

import click

from kerascenes.cli.options import build_config, config_options, is_quiet, quiet_option
from kerascenes.ensemble.config import EnsembleConfig


@click.command("ensemble")
@click.argument("run_dirs", nargs=-1, type=click.Path())
@config_options(EnsembleConfig)
@quiet_option
@click.pass_context
def ensemble(ctx: click.Context, run_dirs: tuple[str, ...], **params) -> None:
    """Combine RUN_DIRS (classifier and bag-of-words runs of one dataset) into an ensemble run.

    The weights (or the stacker) are learned from out-of-fold probabilities on the members'
    training images; --val-data (default: the members') is only for reporting. The ensemble run
    works with `kerascenes evaluate` and `kerascenes predict` like any classifier run.

    \b
    Example:
      kerascenes ensemble logs/mobilenet-15scene logs/bow-dense-sift --name fused
    """
    from kerascenes.ensemble.runner import fit_ensemble

    config = build_config(EnsembleConfig, ctx, params)
    if run_dirs:
        config = config.replace(members=tuple(run_dirs))
    result = fit_ensemble(config, progress=not is_quiet(ctx))
    m, weights = result.summary["metrics"], result.summary["hparams"]
    members = ", ".join(f"{k.removeprefix('val_accuracy_')} {v:.4f}" for k, v in m.items()
                        if k.startswith("val_accuracy_") and k not in ("val_accuracy_equal_weights",))
    click.echo(f"val accuracy {m.get('val_accuracy', float('nan')):.4f} ({config.method}; equal weights "
               f"{m.get('val_accuracy_equal_weights', float('nan')):.4f}; members: {members})")
    learned = ", ".join(f"{k.removeprefix('weight_')} {v:.2f}" for k, v in weights.items() if k.startswith("weight_"))
    if learned:
        click.echo(f"Weights learned out of fold: {learned}")
    click.echo(f"Run folder:  {result.run.path}")
