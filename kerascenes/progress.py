"""Progress of long steps: a bar on a terminal, one line at the end of the step elsewhere.

A ``\\r``-redrawn bar written into a log file (CI, ``nohup``, a job scheduler) turns into
megabytes of partial lines; off a terminal :func:`progress` therefore prints one line when the
step is done (``caching training features: 1500 img in 41.2 s``) through the ``kerascenes``
logger, which ``-q`` silences like the bar.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("kerascenes")


def on_terminal() -> bool:
    """Whether progress bars can be redrawn (standard error is a terminal)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class _Lines:
    """The off-terminal stand-in of a tqdm bar: counts, then says once what was done and how long it took."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.start = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        if self.n:
            log.info("%s: %d %s in %.1f s", self.desc, self.n, self.unit, time.perf_counter() - self.start)
        self.n = 0

    def __enter__(self) -> "_Lines":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(total: int, desc: str, unit: str = "img", enabled: bool = True):
    """A progress bar for ``total`` steps: tqdm on a terminal, a closing log line elsewhere.

    Args:
        total: number of steps.
        desc: what is being done.
        unit: what a step is.
        enabled: ``False`` shows nothing (``-q``, notebooks that asked for silence).

    Returns:
        An object with ``update(n)`` and ``close()``, usable as a context manager.
    """
    if enabled and on_terminal():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False)
    lines = _Lines(total, desc, unit)
    if not enabled:
        lines.desc = ""
        lines.close = lambda: None  # type: ignore[method-assign]
    return lines


def keras_verbose(enabled: bool = True) -> int:
    """Keras' ``verbose``: 1 (a bar) on a terminal, 2 (one line per epoch) elsewhere, 0 when silent."""
    if not enabled:
        return 0
    return 1 if sys.stdout.isatty() else 2
