"""Root of the ``kerascenes`` command: a click group whose subcommands load lazily.

Each subcommand lives in its own module and is imported only when it is invoked (or
when its own ``--help`` is asked for), so ``kerascenes --help`` never imports TensorFlow.
User errors (:class:`kerascenes.KerascenesError`) become a :class:`UserError`, a
``click.ClickException`` with exit status 2: the shell sees one sentence and status 2, and a
program calling the click app with ``standalone_mode=False`` gets the exception.
"""

from __future__ import annotations

import errno
import importlib
import os
import shlex
import sys
from pathlib import Path

import click

from kerascenes import KerascenesError, __version__, quiet_start

quiet_start.install()  # before anything imports TensorFlow: its native start-up lines stay off the terminal

# name -> (module, attribute, one-line help shown by ``kerascenes --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "fit": ("kerascenes.cli.fit", "fit", "Train a scene classifier on a class-per-folder image tree."),
    "evaluate": ("kerascenes.cli.evaluate", "evaluate", "Evaluate a trained run on an image folder."),
    "predict": ("kerascenes.cli.predict", "predict", "Classify images with a trained run."),
    "backbones": ("kerascenes.cli.backbones", "backbones", "List the available backbones."),
    "data": ("kerascenes.cli.data", "data", "Inspect image datasets."),
    "bow": ("kerascenes.cli.bow", "bow", "Bag-of-visual-words classifiers (SIFT, KAZE, FREAK, dense SIFT)."),
    "gan": ("kerascenes.cli.gan", "gan", "Train, sample and evaluate DCGANs on MNIST / Fashion-MNIST."),
    "export": ("kerascenes.cli.export", "export", "Export a classifier run (SavedModel, TFLite, ONNX, KerasHub preset)."),
    "runs": ("kerascenes.cli.runs", "runs", "List the runs of a log folder; rebuild its workbook."),
    "ensemble": ("kerascenes.cli.ensemble", "ensemble", "Combine classifier and bag-of-words runs into an ensemble."),
}


class UserError(click.ClickException):
    """A user error on the command line: printed as ``Error: <sentence>``, exit status 2."""

    exit_code = 2


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is needed.

    ``lazy`` maps a command name to ``(module, attribute, short_help)``; the short help is
    shown in the group's ``--help`` without importing anything.
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attr, _ = self.lazy[name]
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith("kerascenes"):
                    return None  # that command is not part of this installation
                raise
            return getattr(module, attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][2]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args=None, *pargs, **kwargs):
        self.argv = list(sys.argv[1:] if args is None else args)  # for the resume command of an interrupted run
        return super().main(args, *pargs, **kwargs)

    def invoke(self, ctx: click.Context):
        from kerascenes.runs import RunInterrupted

        try:
            return super().invoke(ctx)
        except KerascenesError as exc:
            raise UserError(str(exc)) from exc
        except RunInterrupted as exc:
            resume = f" Resume it with: {resume_command(getattr(self, 'argv', []), exc.run.name)}" if exc.resumable else ""
            click.echo(f"{exc.message}{resume}", err=True)
            raise click.exceptions.Exit(130) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was saved.", err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as exc:
            sentence = storage_error(exc)
            if sentence is None:
                raise
            raise UserError(sentence) from exc


#: errno -> what to do about it, for the storage faults a command can meet while writing its files
_STORAGE_FIXES = {
    errno.ENOSPC: "free some space, or pass --logdir (or --out) on a disk with room, and run the command again",
    errno.EDQUOT: "free some space within your quota, or pass --logdir (or --out) elsewhere, and run the command again",
    errno.EROFS: "pass --logdir (or --out) on a writable disk",
    errno.EACCES: "pass --logdir (or --out) in a folder you may write to, or fix its permissions",
    errno.EPERM: "pass --logdir (or --out) in a folder you may write to, or fix its permissions",
}


def _unreadable(path: str) -> bool:
    """An existing file or folder this process may not read (the failure was a read, not a write)."""
    try:
        target = Path(path)
        return target.exists() and not os.access(target, os.R_OK | (os.X_OK if target.is_dir() else 0))
    except OSError:
        return False


def storage_error(exc: OSError) -> str | None:
    """One sentence for a full, read-only or forbidden disk (the run's earlier files stay as they were), else ``None``."""
    fix = _STORAGE_FIXES.get(exc.errno)
    if fix is None:
        return None
    if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename and _unreadable(exc.filename):
        fix = "make it readable (chmod u+r; u+rx for a folder) or pass another path"
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or os.strerror(exc.errno)}{where}: {fix}."


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kerascenes")
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors (no progress bars).")
def cli(quiet: bool) -> None:
    """kerascenes: scene classification and image generation with Keras 3.

    \b
    Train a classifier:   kerascenes fit --backbone MobileNetV2 --data train/ --val-data val/
    Evaluate it:          kerascenes evaluate logs/<run> --data test/
    List backbones:       kerascenes backbones
    """
    setup_logging(quiet)
    if quiet:
        click.get_current_context().meta["kerascenes.quiet"] = True


def resume_command(argv: list[str], run_name: str) -> str:
    """The command line that resumes run ``run_name``: the same options, its actual ``--name``, and ``--resume``."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--name":
            skip = True
        elif not arg.startswith("--name=") and arg != "--resume":
            args.append(arg)
    return shlex.join(["kerascenes", *args, "--name", run_name, "--resume"])


def setup_logging(quiet: bool = False) -> None:
    """Print the library's messages (``kerascenes`` logger) on stderr, without decoration."""
    import logging

    logger = logging.getLogger("kerascenes")
    if not any(getattr(h, "_kerascenes", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._kerascenes = True
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    # TensorFlow's Python warnings (e.g. tf.function retracing advice) are not the user's to act on
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


if __name__ == "__main__":  # pragma: no cover
    cli()
