"""Calling the click app in-process and checking its one-sentence user errors."""

from __future__ import annotations

from click.testing import CliRunner

from kerascenes.cli.main import cli


def invoke(*args):
    """``(result, output)`` of ``kerascenes ARGS...`` run in this process."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result, result.output


def one_error(result, output, *words):
    """Exit 2, one ``Error:`` sentence containing ``words``, no traceback."""
    assert result.exit_code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), output
    assert "Traceback" not in output
