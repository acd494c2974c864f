"""``kerascenes backbones``: the registry as a table."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json


@click.command("backbones")
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def backbones(pattern: str, as_json: bool) -> None:
    """List backbones (optionally matching a PATTERN such as 'dense*')."""
    import fnmatch

    from kerascenes.backbones import describe_backbones

    rows = [r for r in describe_backbones() if fnmatch.fnmatch(r["name"].lower(), pattern.lower())]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No backbone matches {pattern!r}.")
        return
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'name':<{width}}  {'family':<18}  size  min  {'params':>11}  prep   alpha")
    for r in rows:
        params = f"{r['params']:,}" if r["params"] else "-"
        click.echo(f"{r['name']:<{width}}  {r['family']:<18}  {r['default_size']:>4}  {r['min_size']:>3}  {params:>11}  "
                   f"{r['preprocessing']:<5}  {r['alpha']}")
