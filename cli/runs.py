"""``kerascenes runs``: the runs of a log folder, and a rebuild of its workbook."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json, json_option, quiet_option


def _value(row: dict) -> str:
    value = row["value"]
    return "-" if value is None else f"{row['metric']} {value:.4f}" if isinstance(value, float) else f"{row['metric']} {value}"


@click.command("runs")
@click.argument("logdir", default="logs", type=click.Path())
@click.option("--rebuild", is_flag=True, help="Rebuild LOGDIR/overall_results.xlsx from the run folders "
                                              "(an unreadable workbook is kept aside, never deleted).")
@json_option("Print a JSON list of {run, kind, status, metric, value, started, wall_time_s, path} "
             "(and problem, for a damaged run).")
@quiet_option
def runs(logdir: str, rebuild: bool, as_json: bool) -> None:
    """List the runs in LOGDIR (default: logs) of every kind, with their status and headline metric."""
    from kerascenes.listing import list_runs

    rows = list_runs(logdir)
    if rebuild:
        from kerascenes.workbook import update_workbook

        path = update_workbook(logdir)
        if not as_json:
            click.echo(f"Rebuilt {path} from {sum(r['status'] in ('completed', 'interrupted', 'failed') for r in rows)} "
                       "run summaries.")
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No runs in {logdir}.")
        return
    width = max(len(r["run"]) for r in rows)
    click.echo(f"{'run':<{width}}  {'kind':<10}  {'status':<11}  {'headline':<24}  {'time':>7}  started")
    for r in rows:
        seconds = "-" if r["wall_time_s"] is None else f"{r['wall_time_s']:.0f} s"
        click.echo(f"{r['run']:<{width}}  {str(r['kind']):<10}  {str(r['status']):<11}  {_value(r):<24}  "
                   f"{seconds:>7}  {r['started'] or '-'}")
    for r in rows:
        if r.get("problem"):
            click.echo(f"{r['run']}: {r['problem']}; train the run again (or restore the file) before using it.")
