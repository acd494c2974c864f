"""Writing a run's files safely: atomic replacement (:func:`replacing`), ``.npz`` arrays and JSON."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any, Iterator


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends.

    If the block fails in any way (Ctrl-C included) the temporary file is removed and ``path``
    is left as it was, so a reader never sees a half-written file and nothing is left behind.
    The temporary name keeps ``path``'s suffix (``.tmp-<pid>-<random>-model.npz``): writers that pick
    the format from the suffix (Keras, NumPy) write the same file.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        try:
            yield tmp
            _keep_mode(path, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            # a failed write (a full disk) names no file, or the temporary one: name the file being written
            if exc.errno is not None and exc.filename in (None, str(tmp)):
                raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
            raise
    finally:
        tmp.unlink(missing_ok=True)


def _keep_mode(path: Path, tmp: Path) -> None:
    """Give the new file the permissions of the one it replaces (a shared workbook stays shared)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:  # nothing to replace yet: the new file keeps the umask's mode
        return
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """``numpy.savez`` atomically (see :func:`replacing`)."""
    import numpy as np

    path = Path(path)
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def save_npy(path: str | os.PathLike, array: Any) -> Path:
    """``numpy.save`` atomically (see :func:`replacing`), to exactly ``path`` whatever its suffix."""
    import numpy as np

    path = Path(path)
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (see :func:`replacing`)."""
    path = Path(path)
    text = json.dumps(data, indent=2, default=_json_default, sort_keys=False) + "\n"
    with replacing(path) as tmp:
        tmp.write_text(text)
    return path


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())
