"""``kerascenes gan compare``: a side-by-side table and grid image of GAN runs (tf and torch alike)."""

from __future__ import annotations

from pathlib import Path

import click

from kerascenes.config import DEFAULT_SEED, MAX_SEED


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for comparison.md/.csv/.json and grids.png; default: <logdir>/comparisons/<first>-vs-<...> (-2, -3... when taken); never overwritten.")
@click.option("--n", type=click.IntRange(1, 256), default=64, show_default=True, help="Samples per grid.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=DEFAULT_SEED, show_default=True, help="Latent vectors of the grids (same for every run).")
@click.option("--eval-samples", type=click.IntRange(100), default=10000, show_default=True,
              help="Images scored for a run that has no evaluation.json yet.")
def compare(run_dirs, out, n, seed, eval_samples) -> None:
    """Compare runs: framework, architecture, images/s, s/epoch, FD, KID, confident share.

    \b
    kerascenes gan compare logs/gan-mnist-cpu-tf-... logs/gan-mnist-cpu-torch-...
    """
    from kerascenes.gan.compare import compare_runs

    if out is None:
        names = "-vs-".join(Path(d).name for d in run_dirs[:3]) + ("-etc" if len(run_dirs) > 3 else "")
        base = out = Path(run_dirs[0]).parent / "comparisons" / names
        n_taken = 1
        while out.exists():  # a default folder is never reused: the earlier comparison stays
            n_taken += 1
            out = base.with_name(f"{base.name}-{n_taken}")
    rows, paths = compare_runs(run_dirs, out, n=n, seed=seed, eval_samples=eval_samples)
    click.echo(paths["markdown"].read_text(), nl=False)
    click.echo(f"Saved {paths['markdown']}, {paths['csv'].name} and {paths['grids'].name} in {out}")
