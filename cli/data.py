"""``kerascenes data``: look at a dataset before training on it."""

from __future__ import annotations

from pathlib import Path

import click

from kerascenes.cli.options import echo_json


@click.group("data")
def data() -> None:
    """Inspect image datasets."""


@data.command("describe")
@click.argument("directory", type=click.Path())
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Bar chart PNG (default: <DIRECTORY name>_classes.png in the current folder).")
@click.option("--no-check", is_flag=True, help="Only count files; do not decode every image.")
@click.option("--json", "as_json", is_flag=True, help="Print counts as JSON.")
def describe(directory: str, out: str | None, no_check: bool, as_json: bool) -> None:
    """Per-class image counts of DIRECTORY and a class-distribution bar chart."""
    from kerascenes.data.folders import load_image_folder
    from kerascenes.plots import plot_class_counts

    images = load_image_folder(directory, validate=not no_check, option="DIRECTORY")
    counts = images.counts()
    from kerascenes.runs import check_output_file

    out_path = Path(out) if out else Path(f"{Path(directory).resolve().name}_classes.png")
    check_output_file(out_path, "--out")
    plot_class_counts(counts, out_path, title=f"{Path(directory).name}: {len(images)} images, {len(counts)} classes")
    if as_json:
        echo_json({"directory": str(directory), "n_images": len(images), "classes": counts,
                   "skipped": [{"file": f, "reason": r} for f, r in images.skipped], "chart": str(out_path)})
        return
    width = max(len(c) for c in counts)
    for name, n in counts.items():
        click.echo(f"{name:<{width}}  {n:6d}")
    click.echo(f"{'total':<{width}}  {len(images):6d}  ({len(counts)} classes"
               f"{f', {len(images.skipped)} unusable files skipped' if images.skipped else ''})")
    click.echo(f"Chart: {out_path}")
