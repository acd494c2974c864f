"""``<logdir>/overall_results.xlsx``: one row per ended run, rebuilt from summaries.

The workbook is never edited in place. :func:`update_workbook` re-reads every
``<logdir>/*/summary.json`` and writes a fresh workbook to a temporary file that then
replaces the old one atomically, all under an inter-process file lock. Two runs that
finish at the same moment therefore both appear, and a reader never sees a half-written
file. Each kind of run (``classifier``, ``bow``, ``gan``) gets its own sheet.

One bad run folder never breaks the workbook for the others: a summary that cannot be read
or written to Excel is skipped and named once in a warning, characters Excel refuses are
replaced, and an existing workbook that is not a readable ``.xlsx`` is kept aside under a new
name instead of being overwritten.

A summary is a JSON object with at least::

    {"kind": "classifier", "run": "<name>", "status": "completed", "started": "<ISO time>",
     "wall_time_s": 12.3, "hparams": {...}, "metrics": {...}}
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

from kerascenes.files import replacing

log = logging.getLogger("kerascenes")

WORKBOOK_NAME = "overall_results.xlsx"
SHEETS = {"classifier": "classifiers", "bow": "bag_of_words", "gan": "gan", "ensemble": "ensembles"}
#: First columns of every sheet: which run, how it ended, its headline numbers, its time.
_LEADING = ["run", "status", "val_accuracy", "train_accuracy", "fd", "confident_share", "wall_time_s", "started"]
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what openpyxl refuses in a cell
_MAX_CELL = 32_767
_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def collect_summaries(logdir: str | os.PathLike) -> tuple[list[dict[str, Any]], list[str]]:
    """All readable run summaries under ``logdir`` (oldest first), and the ones skipped.

    Returns:
        ``(summaries, skipped)``: ``skipped`` lists ``"path: reason"`` for summaries that are not
        readable JSON objects with a ``kind`` (a run still writing is picked up by the next rebuild).
    """
    summaries, skipped = [], []
    for path in sorted(Path(logdir).glob("*/summary.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            skipped.append(f"{path}: not readable JSON ({type(exc).__name__})")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            skipped.append(f"{path}: not a run summary (no kind)")
            continue
        data.setdefault("run", path.parent.name)
        for section in ("hparams", "metrics"):
            if not isinstance(data.get(section, {}), dict):
                data[section] = {}
        summaries.append(data)
    summaries.sort(key=lambda s: (str(s.get("started", "")), str(s["run"])))
    return summaries, skipped


def excel_text(text: str) -> str:
    """``text`` with the control characters Excel refuses replaced, cut to Excel's cell limit."""
    return _ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)[:_MAX_CELL]


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value if not isinstance(value, int) or abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return excel_text(value)
    return excel_text(json.dumps(value, default=str))


def summary_rows(summaries: Iterable[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Flatten summaries of one kind into a header and rows (headline columns, hparams, metrics)."""
    summaries = list(summaries)
    columns: list[str] = []
    for s in summaries:
        for key in (*s.get("hparams", {}), *s.get("metrics", {})):
            key = str(key)
            if key not in columns:
                columns.append(key)
    present = {k for s in summaries for k in (*s, *s.get("metrics", {}))}
    leading = [k for k in _LEADING if k in ("run", "status") or k in present]
    header = leading + [k for k in columns if k not in leading]
    rows = []
    for s in summaries:
        merged = {"status": "completed", **{k: s.get(k) for k in leading if k in s}}
        merged.update({str(k): v for k, v in s.get("hparams", {}).items()})
        merged.update({str(k): v for k, v in s.get("metrics", {}).items()})
        rows.append([_cell(merged.get(k)) for k in header])
    return [excel_text(h) for h in header], rows


def _sheet_name(kind: str, taken: set[str]) -> str:
    name = SHEETS.get(kind) or (_SHEET_CHARS.sub("_", kind).strip("'")[:31] or "runs")
    base, i = name, 2
    while name.lower() in taken:
        name = f"{base[:28]}-{i}"
        i += 1
    taken.add(name.lower())
    return name


def _fill_sheet(sheet, header: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "B2"
    if header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    for i, name in enumerate(header, start=1):
        longest = max([len(str(name))] + [len(str(r[i - 1])) for r in rows if r[i - 1] is not None])
        sheet.column_dimensions[get_column_letter(i)].width = max(8, min(40, longest + 2))


def build_workbook(summaries: list[dict[str, Any]], skipped: list[str]):
    """An openpyxl workbook with one sheet per kind; summaries that cannot be written are added to ``skipped``."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        by_kind.setdefault(s["kind"], []).append(s)
    taken: set[str] = set()
    for kind in list(SHEETS) + sorted(set(by_kind) - set(SHEETS)):
        good = []
        for s in by_kind.get(kind, []):
            try:
                summary_rows([s])  # one summary at a time: a bad one cannot take the others down
                good.append(s)
            except Exception as exc:  # noqa: BLE001 - any content of a user's file
                skipped.append(f"run {s.get('run')}: cannot be written to Excel ({type(exc).__name__}: {exc})")
        _fill_sheet(book.create_sheet(_sheet_name(kind, taken)), *summary_rows(good))
    return book


def _keep_aside(target: Path) -> None:
    """Move an existing workbook that is not a readable ``.xlsx`` out of the way (never delete it)."""
    if not target.is_file() or zipfile.is_zipfile(target):
        return
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.stem}.unreadable-{stamp}{target.suffix}")
    os.replace(target, aside)
    log.warning("%s was not a readable workbook; kept it as %s and wrote a new one.", target, aside.name)


def update_workbook(logdir: str | os.PathLike, timeout: float = 120.0) -> Path:
    """Rebuild ``<logdir>/overall_results.xlsx`` from every run summary in ``logdir``.

    Args:
        logdir: the folder holding the run folders.
        timeout: seconds to wait for another process holding the workbook lock.

    Returns:
        The workbook path.
    """
    from filelock import FileLock

    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    target = logdir / WORKBOOK_NAME
    with FileLock(str(logdir / f".{WORKBOOK_NAME}.lock"), timeout=timeout):
        summaries, skipped = collect_summaries(logdir)
        book = build_workbook(summaries, skipped)
        if skipped:
            log.warning("The workbook %s leaves out %d run(s):\n  %s", target, len(skipped), "\n  ".join(skipped))
        _keep_aside(target)
        with replacing(target) as tmp:
            book.save(tmp)
    return target


def read_workbook(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """Read the workbook back as ``{sheet: [row dict, ...]}`` (handy in notebooks and tests)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    result: dict[str, list[dict[str, Any]]] = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            result[sheet.title] = []
            continue
        header = rows[0]
        result[sheet.title] = [dict(zip(header, r)) for r in rows[1:]]
    book.close()
    return result
