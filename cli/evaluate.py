"""``kerascenes evaluate``: accuracy and per-class figures of a trained run on a folder."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json


@click.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="Images to evaluate on: DIR/<class>/<image>.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--strict", is_flag=True, help="Fail on unusable image files instead of skipping them.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (accuracy, n_images, per_class, ...).")
def evaluate(run_dir: str, data: str, batch_size: int, strict: bool, as_json: bool) -> None:
    """Evaluate the model of RUN_DIR on --data; reports go to RUN_DIR/evaluations/."""
    from kerascenes.classify.evaluate import evaluate_run

    result = evaluate_run(run_dir, data, batch_size=batch_size, strict=strict)
    if as_json:
        echo_json({k: v for k, v in result.items() if k != "confusion_matrix"} | {"confusion_matrix": result["confusion_matrix"]})
        return
    click.echo(f"Run {result['run']} on {data}: accuracy {result['accuracy']:.4f} "
               f"(macro F1 {result['macro_f1']:.4f}, {result['n_images']} images)")
    width = max(len(r["class"]) for r in result["per_class"])
    click.echo(f"{'class':<{width}}  precision  recall     f1  support")
    for r in result["per_class"]:
        click.echo(f"{r['class']:<{width}}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['f1']:5.3f}  {r['support']:7d}")
    click.echo(f"Reports: {result['report_dir']}")
