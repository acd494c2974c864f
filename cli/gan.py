"""``kerascenes gan``: train, sample and evaluate DCGANs on MNIST / Fashion-MNIST.

TensorFlow, torch and the data are imported only inside the command bodies.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Callable

import click

from kerascenes.errors import KerascenesError
from kerascenes.gan.architectures import DATASET_CODES, DEFAULT_ARCHITECTURE, get_architecture, list_architectures

DATASETS = ("mnist", "fashion_mnist")
# framework -> module whose ``train_gan`` takes the same arguments and writes the same run folder
TRAINERS = {"tf": "kerascenes.gan.train", "torch": "kerascenes.torch_gan.train"}
_CPU, _TUTORIAL = get_architecture("cpu"), get_architecture("tutorial")  # their defaults, quoted in --help


def load_trainer(framework: str) -> Callable:
    """The ``train_gan`` function of ``framework``."""
    try:
        module = importlib.import_module(TRAINERS[framework])
    except ImportError as exc:
        if framework == "torch":
            raise KerascenesError("--framework torch needs PyTorch and kerascenes.torch_gan; install them with `pip install kerascenes[torch]`.") from exc
        raise
    return module.train_gan


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def gan() -> None:
    """Train, sample and evaluate DCGANs on MNIST / Fashion-MNIST.

    \b
    Train:     kerascenes gan train --dataset mnist --data ../shared/data/mnist.npz
    Sample:    kerascenes gan sample logs/<run> --n 64 --out grid.png
    Evaluate:  kerascenes gan evaluate logs/<run> --json
    """


@gan.command()
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="A .npz (x_train y_train x_test y_test) or a folder of idx .gz files; default: a local copy, else tensorflow-datasets.")
@click.option("--framework", type=click.Choice(list(TRAINERS)), default="tf", show_default=True)
@click.option("--arch", "architecture", type=click.Choice(list_architectures()), default=DEFAULT_ARCHITECTURE,
              show_default=True, help="Network pair; `cpu` is tuned for quick results on a CPU.")
@click.option("--epochs", type=click.IntRange(1), default=None, help=f"Default: the architecture's (cpu: {_CPU.epochs}, within its {_CPU.max_minutes:g}-minute budget; tutorial: {_TUTORIAL.epochs}).")
@click.option("--batch-size", type=click.IntRange(1), default=None, help=f"Default: the architecture's (cpu: {_CPU.batch_size}, tutorial: {_TUTORIAL.batch_size}).")
@click.option("--latent-dim", type=click.IntRange(1), default=None, help="Noise size; default: the architecture's.")
@click.option("--codes", type=click.IntRange(0), default=None,
              help=f"Values of an InfoGAN categorical code taken from the noise (0: plain DCGAN); default: the architecture's (cpu: {_CPU.codes}; {DATASET_CODES[('cpu', 'fashion_mnist')]} on fashion_mnist).")
@click.option("--lr", "learning_rate", type=click.FloatRange(0, min_open=True), default=None,
              help="Adam learning rate of both networks; default: the architecture's.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--eval-samples", type=click.IntRange(100), default=10000, show_default=True,
              help="Generated images scored at the end.")
@click.option("--max-minutes", type=click.FloatRange(0), default=None,
              help=f"Training-time budget; the running epoch ends early when it is spent (default: the architecture's, cpu: {_CPU.max_minutes:g}; 0: none).")
@click.option("--name", default=None, help="Run folder name (default: gan-<dataset>-<arch>-<framework>-<time>).")
@click.option("--logdir", type=click.Path(path_type=Path), default=Path("logs"), show_default=True)
@click.option("--resume", is_flag=True, help="Continue the run --name (or the newest unfinished one) from its last completed epoch.")
@click.option("--quiet", is_flag=True, help="No per-step progress bar.")
def train(dataset, data, framework, architecture, epochs, batch_size, latent_dim, codes, learning_rate, seed,
          eval_samples, max_minutes, name, logdir, resume, quiet) -> None:
    """Train a DCGAN; writes a run folder and a row of the workbook's gan sheet."""
    train_gan = load_trainer(framework)
    run, summary = train_gan(dataset=dataset, data=data, architecture=architecture, epochs=epochs,
                             batch_size=batch_size, latent_dim=latent_dim, codes=codes, learning_rate=learning_rate, name=name,
                             logdir=logdir, resume=resume, seed=seed, eval_samples=eval_samples,
                             verbose=0 if quiet else 1,
                             **({} if max_minutes is None else {"max_minutes": max_minutes}))
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
@click.option("--seed", type=int, default=0, show_default=True)
def sample(run_dir, n, out, seed) -> None:
    """Generate samples from a trained run."""
    from kerascenes.gan.evaluate import generate_from_run, save_samples

    if out.suffix.lower() not in (".png", ".npy"):
        raise KerascenesError(f"--out {out} must end in .png (a grid) or .npy (raw samples).")
    path = save_samples(generate_from_run(run_dir, n=n, seed=seed), out)
    click.echo(f"Wrote {n} samples to {path}")


@gan.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--n", type=click.IntRange(100), default=10000, show_default=True, help="Generated images scored.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
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
