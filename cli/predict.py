"""``kerascenes predict``: top-k classes of image files and folders."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json, is_quiet, json_option, quiet_option

TOP_K_OPTION = click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True,
                            help="Classes listed per image.")
TOP_ALIAS = click.option("--top", "top_alias", type=click.IntRange(min=1), default=None, hidden=True)
OUT_OPTION = click.option("--out", type=click.Path(dir_okay=False), default=None,
                          help="Also write a CSV file (new): file, predicted, top1, top1_prob, ... per image.")
IMAGES_ARGUMENT = click.argument("images", nargs=-1, required=True, type=click.Path())


def resolve_top_k(top_k: int, top_alias: int | None) -> int:
    """``--top`` is the old spelling of ``--top-k``."""
    if top_alias is None:
        return top_k
    click.echo("Note: --top is deprecated; use --top-k.", err=True)
    return top_alias


def echo_predictions(results: list[dict], out: str | None = None) -> None:
    """One line per image, or (with ``out``) one line saying where the CSV file is."""
    if out is not None:
        click.echo(f"Wrote {len(results)} predictions to {out}")
        return
    for r in results:
        tops = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r["top"])
        click.echo(f"{r['file']}: {r['predicted']}  ({tops})")


@click.command("predict")
@click.argument("run_dir", type=click.Path())
@IMAGES_ARGUMENT
@TOP_K_OPTION
@OUT_OPTION
@click.option("--batch-size", type=click.IntRange(1, 65536), default=32, show_default=True,
              help="Images per model call (classifier runs).")
@click.option("--trust-pickle", is_flag=True, help="Allow loading a pickled random forest (bag-of-words runs you trust).")
@json_option("Print a JSON list of {file, predicted, top: [{class, probability}]}.")
@quiet_option
@click.pass_context
def predict(ctx: click.Context, run_dir: str, images: tuple[str, ...], top_k: int, out: str | None, batch_size: int,
            trust_pickle: bool, as_json: bool) -> None:
    """Classify IMAGES (files, or folders searched recursively) with the model of RUN_DIR (a classifier or
    bag-of-words run).

    \b
    Folders: image files only (by extension); unreadable ones are skipped with
    one warning. A file given by name must be a readable image. Progress: a bar
    on a terminal, one line when done elsewhere (none with -q or --json).
    Example:
      kerascenes predict logs/<run> photos/ extra.jpg --top-k 3 --out predictions.csv
    """
    from kerascenes.inference import predict_files

    results = predict_files(run_dir, list(images), top_k=top_k, out=out, progress=not (is_quiet(ctx) or as_json),
                            batch_size=batch_size, trust_pickle=trust_pickle)
    if as_json:
        echo_json(results)
        return
    echo_predictions(results, out)
