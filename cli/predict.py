"""``kerascenes predict``: top-k classes of image files."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json, json_option, quiet_option

TOP_K_OPTION = click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True,
                            help="Classes listed per image.")
TOP_ALIAS = click.option("--top", "top_alias", type=click.IntRange(min=1), default=None, hidden=True)


def resolve_top_k(top_k: int, top_alias: int | None) -> int:
    """``--top`` is the old spelling of ``--top-k``."""
    if top_alias is None:
        return top_k
    click.echo("Note: --top is deprecated; use --top-k.", err=True)
    return top_alias


def echo_predictions(results: list[dict]) -> None:
    for r in results:
        tops = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        click.echo(f"{r['file']}: {r['predicted']}  ({tops})")


@click.command("predict")
@click.argument("run_dir", type=click.Path())
@click.argument("images", nargs=-1, required=True, type=click.Path())
@TOP_K_OPTION
@click.option("--trust-pickle", is_flag=True, help="Allow loading a pickled random forest (bag-of-words runs you trust).")
@json_option("Print a JSON list of {file, predicted, top: [{class, probability}]}.")
@quiet_option
def predict(run_dir: str, images: tuple[str, ...], top_k: int, trust_pickle: bool, as_json: bool) -> None:
    """Classify IMAGES with the model of RUN_DIR (a classifier or bag-of-words run)."""
    from kerascenes.inference import predict_files

    results = predict_files(run_dir, list(images), top_k=top_k, trust_pickle=trust_pickle)
    if as_json:
        echo_json(results)
        return
    echo_predictions(results)
