"""Keep TensorFlow's native start-up lines off a command-line user's terminal.

TensorFlow 2.21 prints lines such as ``oneDNN custom operations are on...``,
``Could not find cuda drivers on your machine`` and ``failed call to cuInit`` from C++
(absl logging before it is initialised), so ``TF_CPP_MIN_LOG_LEVEL`` does not silence them
and Python's ``sys.stderr`` never sees them. :func:`install` arranges that the first
``import tensorflow`` in the process (wherever it happens, usually deep inside a command)
runs with file descriptor 2 captured, together with the first device query that triggers
the CUDA probe; captured lines that are not known start-up chatter are written back to
stderr, so real errors still reach the user.

Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything TensorFlow prints.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile

__all__ = ["install", "is_startup_chatter", "native_stderr_filtered"]

# absl's banner, info-level native lines, and the CUDA / CPU-feature probes at warning level
_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"
    r"|[WE]\d{4} [\d:.]+ +\d+ (cuda\w*|cudart_stub|dso_loader|gpu\w*|cpu_feature_guard|port)\.cc:\d+\]"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow)"
)


def is_startup_chatter(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's native start-up messages (not an error of the user's)."""
    return bool(_CHATTER.match(line.strip()))


@contextlib.contextmanager
def native_stderr_filtered():
    """Capture file descriptor 2 for the block, then write back the lines that are not start-up chatter."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded interpreter): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not is_startup_chatter(line)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8", "replace"))


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` with native stderr filtered, then probes devices once."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with native_stderr_filtered():
            self.loader.exec_module(module)
            with contextlib.suppress(Exception):
                module.config.list_physical_devices("GPU")  # the CUDA probe prints when it first runs
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual and wraps its loader in :class:`_QuietLoader` (once)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Filter TensorFlow's native start-up lines from stderr when it is first imported.

    Does nothing if TensorFlow is already imported or ``TF_CPP_MIN_LOG_LEVEL`` is set to 0.
    Also sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless set) for the lines TensorFlow does filter itself.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"].strip() == "0" or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
