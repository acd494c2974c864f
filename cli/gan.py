"""``kerascenes gan``: train, sample and evaluate DCGANs on MNIST / Fashion-MNIST.

TensorFlow, torch and the data are imported only inside the command bodies.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kerascenes.cli.options import build_config, config_options, is_quiet, quiet_option
from kerascenes.config import DEFAULT_SEED, MAX_SEED
from kerascenes.errors import KerascenesError
from kerascenes.gan.config import GanConfig


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def gan() -> None:
    """Train, sample and evaluate DCGANs on MNIST / Fashion-MNIST.

    \b
    Train:     kerascenes gan train --dataset mnist --data ../shared/data/mnist.npz
    Sample:    kerascenes gan sample logs/<run> --n 64 --out grid.png
    Evaluate:  kerascenes gan evaluate logs/<run> --json
    """


@gan.command()
@config_options(GanConfig)
@click.option("--resume", is_flag=True, help="Continue the run --name (or the newest unfinished one) from its last completed epoch.")
@quiet_option
@click.pass_context
def train(ctx: click.Context, resume: bool, **params) -> None:
    """Train a DCGAN; writes a run folder and a row of the workbook's gan sheet."""
    from kerascenes.gan.session import train_gan

    config = build_config(GanConfig, ctx, params)
    from kerascenes.progress import keras_verbose

    result = train_gan(config, resume=resume, verbose=keras_verbose(not is_quiet(ctx)))
    run, summary = result.run, result.summary
    m = summary["metrics"]
    click.echo(f"Run: {run.path}")
    click.echo(f"Grid: {run.path / summary['grid']}" if summary.get("grid") else "Grid: none")
    click.echo(f"FD {m['fd']:.3f} (real-vs-real {m['real_fd']:.3f}, ratio {m['fd_ratio']:.1f}x), KID {m['kid']:.4f}, "
               f"confident share {m['confident_share']:.3f}, classes covered {m['classes_covered']}/10, "
               f"{m['images_per_second']:.0f} images/s, wall {summary['wall_time_s']:.0f} s")


@gan.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--n", type=click.IntRange(1), default=64, show_default=True, help="Number of samples.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help=".png: a grid; .npy: raw float32 samples in [0, 1], shape (n, 28, 28).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=DEFAULT_SEED, show_default=True, help="Seed of the latent vectors.")
def sample(run_dir, n, out, seed) -> None:
    """Generate samples from a trained run."""
    from kerascenes.gan.evaluate import generate_from_run, save_samples

    from kerascenes.runs import check_output_file

    if out.suffix.lower() not in (".png", ".npy"):
        raise KerascenesError(f"--out {out} must end in .png (a grid) or .npy (raw samples).")
    check_output_file(out, "--out")  # before the generator runs
    if out.exists() or out.is_symlink():
        raise KerascenesError(f"--out {out} already exists; pass a new file name (samples never overwrite).")
    path = save_samples(generate_from_run(run_dir, n=n, seed=seed), out)
    click.echo(f"Wrote {n} samples to {path}")


@gan.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--n", type=click.IntRange(100), default=10000, show_default=True, help="Generated images scored.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=DEFAULT_SEED, show_default=True, help="Seed of the latent vectors.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@quiet_option
def evaluate(run_dir, n, seed, as_json) -> None:
    """Score a run's samples with the shipped domain classifier (FD, KID, confident share, classes)."""
    from kerascenes.gan.evaluate import evaluate_run

    s = evaluate_run(run_dir, n=n, seed=seed)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(f"{s['run']} ({s['framework']}, {s['architecture']}, {s['dataset']}, {s['n_samples']} samples)")
    click.echo(f"  Frechet distance  {s['fd']:.3f}   (real-vs-real {s['real_fd']:.3f}; ratio {s['fd_ratio']:.1f}x)")
    click.echo(f"  KID               {s['kid']:.4f}  (real-vs-real {s['real_kid']:.4f})")
    click.echo(f"  confident share   {s['confident_share']:.3f}   (real {s['real_confident_share']:.3f}; p >= 0.8)")
    click.echo(f"  classes covered   {s['classes_covered']}/10  (entropy {s['class_entropy']:.3f})")
    click.echo("  histogram         " + ", ".join(f"{k}: {v}" for k, v in s["class_histogram"].items()))


from kerascenes.cli.gan_compare import compare  # noqa: E402 - lives in its own module, imports only click

gan.add_command(compare)
