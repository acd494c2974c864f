"""``kerascenes predict``: top-k classes of image files."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json


@click.command("predict")
@click.argument("run_dir", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {file, top: [{class, probability}]}.")
def predict(run_dir: str, images: tuple[str, ...], top_k: int, as_json: bool) -> None:
    """Classify IMAGES with the model of RUN_DIR."""
    from kerascenes.classify.evaluate import predict_files

    results = predict_files(run_dir, list(images), top_k=top_k)
    if as_json:
        echo_json(results)
        return
    for r in results:
        tops = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        click.echo(f"{r['file']}: {tops}")
