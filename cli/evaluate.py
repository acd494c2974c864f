"""``kerascenes evaluate``: accuracy and per-class figures of a trained run on a folder."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json, is_quiet, json_option, quiet_option


def echo_evaluation(result: dict, data: str) -> None:
    """The human-readable report of an evaluation (any classifier-like run)."""
    click.echo(f"Run {result['run']} ({result['kind']}) on {data}: accuracy {result['accuracy']:.4f} "
               f"(macro F1 {result['macro_f1']:.4f}, {result['n_images']} images, {result['wall_time_s']:.1f} s)")
    width = max(len(r["class"]) for r in result["per_class"])
    click.echo(f"{'class':<{width}}  precision  recall     f1  support")
    for r in result["per_class"]:
        click.echo(f"{r['class']:<{width}}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['f1']:5.3f}  {r['support']:7d}")
    topk = ", ".join(f"{k.replace('top', 'top-')} {v:.4f}" for k, v in result["top_k_accuracy"].items())
    confused = "; ".join(f"{c['true']} -> {c['predicted']} ({c['count']})" for c in result["most_confused"][:5])
    click.echo(f"Accuracy {topk}")
    if confused:
        click.echo(f"Most confused: {confused}")
    click.echo(f"Reports: {result['report_dir']}")


@click.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--data", required=True, type=click.Path(), help="Images to evaluate on: DIR/<class>/<image>.")
@click.option("--batch-size", type=click.IntRange(1, 65536), default=32, show_default=True)
@click.option("--strict", is_flag=True, help="Fail on unusable image files instead of skipping them.")
@click.option("--trust-pickle", is_flag=True, help="Allow loading a pickled random forest (bag-of-words runs you trust).")
@json_option("Print one JSON object (run, kind, accuracy, macro_f1, n_images, per_class, confusion_matrix, ...).")
@quiet_option
def evaluate(run_dir: str, data: str, batch_size: int, strict: bool, trust_pickle: bool, as_json: bool) -> None:
    """Evaluate the model of RUN_DIR (a classifier or bag-of-words run) on --data; reports go to RUN_DIR/evaluations/."""
    from kerascenes.inference import evaluate_run

    result = evaluate_run(run_dir, data, strict=strict, batch_size=batch_size, trust_pickle=trust_pickle,
                          progress=not (as_json or is_quiet()))
    if as_json:
        echo_json(result)
        return
    echo_evaluation(result, data)
