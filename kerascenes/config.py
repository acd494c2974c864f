"""Typed run configurations: one dataclass per task, shared by the CLI, the Python API and ``config.json``.

Every task (classifier, bag of words, GAN) describes its options as a :class:`TaskConfig`
dataclass. A field's name is at the same time

* the command-line option (``dense`` -> ``--dense``, a boolean ``cache_images`` ->
  ``--cache-images/--no-cache-images``; the options are generated from the fields, see
  :mod:`kerascenes.cli.options`),
* the keyword of the Python API (``FitConfig(dense=(512,))``), and
* the key in the run's ``config.json`` (section ``"options"``).

A field left at ``None`` means "the default of the chosen backbone / encoding /
architecture"; :meth:`TaskConfig.resolve` fills those in once, before any work starts, and
the run writes the resolved config, so replaying it (``--config RUN/config.json``) builds the
same run. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence, TypeVar

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, command_for

#: The one default seed of every task (``--seed``).
DEFAULT_SEED = 0
#: The largest ``--seed``: NumPy, TensorFlow and torch all take seeds in 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1
#: The largest whole number of any other option (what OpenCV, scikit-learn and TensorFlow take as a C int)
MAX_INT = 2**31 - 1
#: ``--tta`` of every classifier command: ``flip`` averages each image with its mirror image.
TTA_POLICIES = ("none", "flip")

T = TypeVar("T", bound="TaskConfig")


def option(default: Any = None, help: str = "", *, choices: Sequence[str] | None = None,
           parse: Callable[[str], Any] | None = None, aliases: Sequence[str] = (), flag: str | None = None,
           default_text: str | None = None, metavar: str | None = None, cli: bool = True) -> Any:
    """A config field with what the CLI needs to offer it as an option.

    Args:
        default: the field's default (``None``: resolved from the chosen model family).
        help: the option's help text.
        choices: allowed values (checked by :meth:`TaskConfig.validate` with close matches).
        parse: turns the command-line text into the field's value (e.g. ``"512,256"`` -> ``(512, 256)``).
        aliases: older spellings accepted as hidden options with a deprecation notice.
        flag: the option name when it is not ``--<field-name>`` (e.g. ``"--C"``).
        default_text: shown as the default in ``--help`` when ``default`` is ``None``.
        metavar: placeholder in ``--help``.
        cli: ``False`` for fields the command line does not offer.
    """
    meta = {"help": help, "choices": tuple(choices) if choices else None, "parse": parse, "aliases": tuple(aliases),
            "flag": flag, "default_text": default_text, "metavar": metavar, "cli": cli}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or None as the default of a config field")
    return dataclasses.field(default=default, metadata=meta)


def option_name(field: dataclasses.Field) -> str:
    """The command-line spelling of a config field (``fine_tune_lr`` -> ``--fine-tune-lr``)."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def _is_optional(hint: Any) -> tuple[bool, Any]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return True, rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
    return False, hint


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` (from JSON or Python) as the field's type, or one clear sentence."""
    optional, inner = _is_optional(hint)
    if value is None:
        if optional:
            return None
        raise KerascenesError(f"{name} cannot be null; give a value or leave the key out.")
    origin = typing.get_origin(inner)
    if origin is tuple:
        item = typing.get_args(inner)[0] if typing.get_args(inner) else Any
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise KerascenesError(f"{name} must be a list, got {value!r}.")
        return tuple(_coerce(name, v, item) for v in value)
    if origin in (typing.Union, types.UnionType):  # e.g. float | str: keep what JSON gave
        return value
    if inner is bool:
        if not isinstance(value, bool):
            raise KerascenesError(f"{name} must be true or false, got {value!r}.")
        return value
    if inner is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise KerascenesError(f"{name} must be an integer, got {value!r}.")
        return int(value)
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise KerascenesError(f"{name} must be a number, got {value!r}.")
        return float(value)
    if inner is str:
        if isinstance(value, Path):
            return str(value)
        if not isinstance(value, str):
            raise KerascenesError(f"{name} must be a string, got {value!r}.")
        return value
    return value


def closest(name: str, choices: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_choice(label: str, value: Any, choices: Sequence[str]) -> None:
    """Refuse ``value`` outside ``choices`` with the closest valid one."""
    if value not in choices:
        raise KerascenesError(f"{label} {value!r} is not supported{closest(value, choices)}; "
                              f"choose one of {', '.join(map(str, choices))}.")


def check_seed(seed: int, label: str = "--seed") -> int:
    """``seed`` when it is one NumPy, TensorFlow and torch all accept (0 .. 2**32 - 1), or one sentence."""
    if not 0 <= seed <= MAX_SEED:
        raise KerascenesError(f"{label} must be between 0 and {MAX_SEED}, got {seed}.")
    return seed


@dataclasses.dataclass
class TaskConfig:
    """Base of the per-task configs: conversion, checks and (de)serialisation.

    Subclasses set :attr:`KIND` (the run kind written to ``config.json``) and
    :attr:`COMMAND` (the command that trains such a run), declare their fields with
    :func:`option`, and override :meth:`validate` and :meth:`resolve`.
    """

    KIND: ClassVar[str] = ""
    COMMAND: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            parse = f.metadata.get("parse")
            if parse is not None and isinstance(value, str):  # command-line text, e.g. --dense 512,256
                value = parse(value)
            setattr(self, f.name, _coerce(option_name(f), value, hints[f.name]))

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], source: str = "the config") -> T:
        """Build a config from a dict of options; an unknown key is an error naming the closest valid one."""
        names = cls.field_names()
        for key in data:
            if key not in names:
                hint = closest(key, names)
                known = "" if hint else f"; {cls.COMMAND} takes {', '.join(names)}"
                raise KerascenesError(f"Unknown key {key!r} in {source}{hint}{known}; remove or rename it.")
        return cls(**dict(data))

    def replace(self: T, **changes: Any) -> T:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # -- checks -----------------------------------------------------------------------------
    def validate(self: T) -> T:
        """Check the fields' values (choices, finite numbers, the seed; subclasses add their
        numbers); returns ``self``."""
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value is not None:
                check_choice(option_name(f), value, choices)
            if f.name == "seed":
                check_seed(value, option_name(f))
                continue
            for number in value if isinstance(value, tuple) else (value,):
                if isinstance(number, float) and not math.isfinite(number):
                    raise KerascenesError(f"{option_name(f)} must be a finite number, got {number}.")
                if isinstance(number, int) and not isinstance(number, bool) and abs(number) > MAX_INT:
                    raise KerascenesError(f"{option_name(f)} {number} is too large; no option takes more than "
                                          f"{MAX_INT:,}.")
        return self

    def resolve(self: T) -> T:
        """A copy with every ``None`` that has a task-specific default filled in."""
        return self.validate()

    # -- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def hparams(self) -> dict[str, Any]:
        """Flat scalar hyperparameters for the workbook and TensorBoard (lists joined by commas)."""
        return {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in self.to_dict().items()}


def read_config_file(path: str | Path, cls: type[T]) -> dict[str, Any]:
    """The options stored in a JSON file: a run's ``config.json`` or a plain ``{option: value}`` object.

    Raises:
        KerascenesError: unreadable JSON, a run of another kind, or (later, in ``from_dict``) unknown keys.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise KerascenesError(f"--config {path} does not exist; pass a run's config.json (logs/<run>/config.json).") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KerascenesError(f"--config {path} is not readable JSON ({str(exc).splitlines()[0]}); "
                              "pass a config.json written by a run.") from None
    if not isinstance(data, dict):
        raise KerascenesError(f"--config {path} does not hold a JSON object; pass a config.json written by a run.")
    kind = data.get("kind")
    if kind is not None and kind != cls.KIND:
        command = command_for(kind, "train") or "the command that made it"
        raise KerascenesError(f"--config {path} is the config of a {kind} run, not a {cls.KIND} run; replay it with "
                              f"`{command} --config {path}`.")
    options = data.get("options", data)
    if not isinstance(options, dict):
        raise KerascenesError(f"--config {path} has no object of options; pass a config.json written by a run.")
    return {k: v for k, v in options.items() if k != "kind"}


def open_run_to_resume(config: TaskConfig):
    """The unfinished run ``config.name`` under ``config.logdir``, whose options must equal ``config``'s.

    Resuming continues a run; it does not change it, so a differing option is an error that
    names it.

    Returns:
        The :class:`~kerascenes.runs.RunFolder`.
    """
    if not getattr(config, "name", None):
        raise KerascenesError("--resume needs --name: the name of the run to continue (see `kerascenes runs`).")
    run = RunFolder.open(Path(config.logdir) / config.name, config.KIND, action="train")
    if run.status == "completed":
        raise KerascenesError(f"{run.path} is already completed; there is nothing to resume. Start a new run "
                              "without --resume.")
    stored = type(config).from_dict(run.read_raw_config().get("options", {}), source=str(run.path / "config.json"))
    for f in dataclasses.fields(config):
        mine, theirs = getattr(config, f.name), getattr(stored, f.name)
        if mine != theirs:
            raise KerascenesError(
                f"{option_name(f)} {mine!r} differs from the run's {theirs!r} ({run.path / 'config.json'}); "
                "resume with the command that started the run, or start a new run without --resume.")
    return run
