"""Command-line options generated from the task configs, and the options every command shares.

:func:`config_options` turns the fields of a :class:`kerascenes.config.TaskConfig` into click
options (same names, help and defaults: they cannot drift from the config), adds ``--config``
and hidden deprecated spellings; :func:`build_config` turns the parsed values back into the
config. Values come, in increasing priority, from the config's defaults, a ``--config`` file,
and the options given on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing
from typing import Any, Callable

import click
from click.core import ParameterSource

from kerascenes.config import TaskConfig, _is_optional, option_name, read_config_file

CONFIG_KEY = "kerascenes.config_file"
_ALIAS = "_alias__"


class Choices(click.ParamType):
    """Shows the allowed values in ``--help``; the config checks them (with close matches and hints)."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...]):
        self.choices = choices

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


def _default_text(field: dataclasses.Field) -> str | bool:
    if field.metadata.get("default_text"):
        return str(field.metadata["default_text"])
    default = field.default
    if default is None:
        return False
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    return True


def _field_option(field: dataclasses.Field, hint: Any) -> Callable:
    meta = field.metadata
    name = option_name(field)
    _, inner = _is_optional(hint)
    common = {"help": meta.get("help", ""), "metavar": meta.get("metavar")}
    if inner is bool:
        return click.option(f"{name}/--no-{name[2:]}", field.name, default=field.default, show_default=True, **common)
    # the default shown; build_config ignores values the command line did not give
    kwargs: dict[str, Any] = {"default": field.default, "show_default": _default_text(field)}
    if isinstance(field.default, tuple):
        kwargs.update(default=",".join(map(str, field.default)) or "none", show_default=True)
    if typing.get_origin(inner) is tuple and meta.get("parse") is None:
        kwargs.update(multiple=True, default=field.default, show_default=False)
    elif meta.get("choices") and typing.get_origin(inner) is not tuple:
        kwargs["type"] = Choices(meta["choices"])
    elif meta.get("parse") is not None:
        kwargs["type"] = str  # parsed (with its own error sentence) by the config
    elif inner in (int, float):
        kwargs["type"] = inner
    return click.option(name, field.name, **kwargs, **common)


def _alias_options(field: dataclasses.Field, hint: Any) -> list[Callable]:
    options = []
    _, inner = _is_optional(hint)
    for i, alias in enumerate(field.metadata.get("aliases", ())):
        dest = f"{_ALIAS}{field.name}__{i}"
        if inner is bool:
            options.append(click.option(alias, dest, is_flag=True, default=False, hidden=True))
        else:
            options.append(click.option(alias, dest, default=None, hidden=True,
                                        type=inner if inner in (int, float) else str))
    return options


def config_option(cls: type[TaskConfig]) -> Callable:
    """``--config FILE``: a run's ``config.json`` (or a JSON object of options) fills the options."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value:
            ctx.meta[CONFIG_KEY] = (value, read_config_file(value, cls))
        return value

    return click.option("--config", type=click.Path(dir_okay=False), callback=callback, is_eager=True,
                        expose_value=False,
                        help="A run's config.json (or a JSON object of options): replays that run; options given "
                             "beside it override it.")


def config_options(cls: type[TaskConfig], exclude: tuple[str, ...] = ()) -> Callable:
    """Decorate a command with one option per field of ``cls`` (and ``--config``)."""
    hints = typing.get_type_hints(cls)
    decorators = [config_option(cls)]
    for field in dataclasses.fields(cls):
        if field.name in exclude or not field.metadata.get("cli", True):
            continue
        decorators.append(_field_option(field, hints[field.name]))
        decorators.extend(_alias_options(field, hints[field.name]))

    def decorate(func: Callable) -> Callable:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


def build_config(cls: type[TaskConfig], ctx: click.Context, params: dict[str, Any]):
    """The config of a command: its defaults, then ``--config``, then what the command line gave.

    Consumes the config's fields (and their deprecated spellings) from ``params``.
    """
    hints = typing.get_type_hints(cls)
    source_file, values = ctx.meta.get(CONFIG_KEY, (None, {}))
    values = dict(values)
    for field in dataclasses.fields(cls):
        if field.name in params:
            value = params.pop(field.name)
            if ctx.get_parameter_source(field.name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
                values[field.name] = list(value) if isinstance(value, tuple) else value
        _, inner = _is_optional(hints[field.name])
        for i, alias in enumerate(field.metadata.get("aliases", ())):
            value = params.pop(f"{_ALIAS}{field.name}__{i}", None)
            if value in (None, False):
                continue
            click.echo(f"Note: {alias} is deprecated; use {_replacement(field, alias)}.", err=True)
            values[field.name] = (not alias.startswith("--no-")) if inner is bool else value
    return cls.from_dict(values, source=f"--config {source_file}" if source_file else "the options")


def _replacement(field: dataclasses.Field, alias: str) -> str:
    name = option_name(field)
    return f"--no-{name[2:]}" if alias.startswith("--no-") else name


def set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """``-q/--quiet``: only warnings and errors, and no progress bars (same meaning on every command)."""
    if value:
        ctx.find_root().meta["kerascenes.quiet"] = True
        logging.getLogger("kerascenes").setLevel(logging.WARNING)
    return value


def quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True, callback=set_quiet, expose_value=False,
                        help="Only print warnings and errors (no progress bars).")(func)


def is_quiet(ctx: click.Context | None = None) -> bool:
    """Whether ``-q/--quiet`` was given to the root command or to this one."""
    ctx = ctx or click.get_current_context()
    return bool(ctx.find_root().meta.get("kerascenes.quiet"))


def json_option(help_text: str) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def echo_json(data: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(data, indent=2, default=str))
