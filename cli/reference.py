"""The command-line reference (``docs/cli.md``), generated from the click commands themselves.

    python -m kerascenes.cli.reference > docs/cli.md

Every command and option of ``kerascenes`` appears with its help text, default and choices, so
the reference cannot drift from the code (a test regenerates it and compares).
"""

from __future__ import annotations

from typing import Iterator

import click

HEADER = """# Command-line reference

Generated from the click commands by `python -m kerascenes.cli.reference > docs/cli.md`; a test checks
that it is current. `kerascenes COMMAND --help` prints the same text.
"""


def walk(command: click.Command, path: tuple[str, ...] = ("kerascenes",),
         ctx: click.Context | None = None) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command of the tree, depth first: ``(words, command, its context)``."""
    ctx = click.Context(command, info_name=path[-1], parent=ctx, **command.context_settings)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name), ctx)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def option_rows(command: click.Command, ctx: click.Context) -> list[str]:
    """One markdown table row per visible parameter: option, value, default, help."""
    rows = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, click.Argument):
            rows.append(f"| `{param.human_readable_name}` | argument, {'required' if param.required else 'optional'}"
                        f"{', repeatable' if param.nargs == -1 else ''} |")
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} |")
    return rows


def reference() -> str:
    """The whole reference as markdown."""
    from kerascenes.cli.main import cli

    out = [HEADER]
    for path, command, ctx in walk(cli):
        words = " ".join(path)
        out.append(f"\n## `{words}`\n")
        usage = " ".join(command.collect_usage_pieces(ctx))
        out.append(f"```\n{words} {usage}\n```\n")
        if command.help:
            out.append(_cell(command.help.split("\n\n")[0]) + "\n")
        if isinstance(command, click.Group):
            subs = [name for name in command.list_commands(ctx)
                    if (c := command.get_command(ctx, name)) is not None and not c.hidden]
            out.append("Commands: " + ", ".join(f"`{words} {name}`" for name in subs) + "\n")
        rows = option_rows(command, ctx)
        if rows:
            out.append("| option | help |\n|---|---|")
            out.extend(rows)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(reference(), nl=False)
