"""Option helpers shared by the subcommands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _config_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Fill the command's defaults from a JSON file (e.g. a run's ``config.json``)."""
    if not value:
        return value
    path = Path(value)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path} as JSON ({exc}); pass a config.json written by a run.")
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} does not hold a JSON object; pass a config.json written by a run.")
    names = {p.name for p in ctx.command.params}
    defaults: dict[str, Any] = {}
    for key, val in data.items():
        key = key.replace("-", "_")
        if key not in names or val is None:
            continue
        if isinstance(val, list):
            val = ",".join(map(str, val))
        defaults[key] = val
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def config_option(help_text: str = "JSON file whose keys fill the defaults (a run's config.json reproduces it)."):
    return click.option("--config", type=click.Path(dir_okay=False), callback=_config_callback, is_eager=True,
                        expose_value=False, help=help_text)


def echo_json(data: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(data, indent=2, default=str))
