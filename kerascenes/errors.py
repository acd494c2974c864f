"""The one exception type for bad user input, and a helper for damaged files.

A ``KerascenesError`` carries a single sentence that names the culprit (a file, an
option, a value) and says how to fix it. The CLI prints it without a traceback and
exits with status 2; library users can catch it like any ``ValueError``.
"""

import contextlib
from typing import Iterator


class KerascenesError(ValueError):
    """Bad input from the user: a wrong path, name, number or file."""


@contextlib.contextmanager
def reading(path, what: str, fix: str) -> Iterator[None]:
    """Turn any failure to read ``path`` into one sentence: ``<path> is damaged or not <what>; <fix>.``

    For saved files (models, checkpoints, weights) whose libraries fail in many ways and often
    with misleading messages (Keras says "File not found" for an empty ``.keras`` file).
    """
    try:
        yield
    except KerascenesError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip, h5py, pickle, json and shape errors alike
        raise KerascenesError(f"{path} is damaged or not {what} ({type(exc).__name__}); {fix}.") from exc


def printable(text: str) -> str:
    """``text`` for a message or a figure: bytes of a file name that are not UTF-8 shown as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
