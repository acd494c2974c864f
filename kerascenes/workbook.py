"""``<logdir>/overall_results.xlsx``: one row per completed run, rebuilt from summaries.

The workbook is never edited in place. :func:`update_workbook` re-reads every
``<logdir>/*/summary.json`` and writes a fresh workbook to a temporary file that then
replaces the old one atomically, all under an inter-process file lock. Two runs that
finish at the same moment therefore both appear, and a reader never sees a half-written
file. Each kind of run (``classifier``, ``bow``, ``gan``) gets its own sheet.

A summary is a JSON object with at least::

    {"kind": "classifier", "run": "<name>", "started": "<ISO time>",
     "wall_time_s": 12.3, "hparams": {...}, "metrics": {...}}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

WORKBOOK_NAME = "overall_results.xlsx"
SHEETS = {"classifier": "classifiers", "bow": "bag_of_words", "gan": "gan"}
_LEADING = ["run", "status", "started", "wall_time_s"]


def collect_summaries(logdir: str | os.PathLike) -> list[dict[str, Any]]:
    """All readable run summaries under ``logdir``, oldest first.

    Unreadable or half-written summaries are skipped (a run that is still writing will be
    picked up by the next rebuild).
    """
    summaries = []
    for path in sorted(Path(logdir).glob("*/summary.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "kind" in data:
            data.setdefault("run", path.parent.name)
            summaries.append(data)
    summaries.sort(key=lambda s: (str(s.get("started", "")), str(s["run"])))
    return summaries


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)


def summary_rows(summaries: Iterable[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Flatten summaries of one kind into a header and rows (hparams, then metrics)."""
    summaries = list(summaries)
    hparam_keys: list[str] = []
    metric_keys: list[str] = []
    for s in summaries:
        for key in s.get("hparams", {}):
            if key not in hparam_keys:
                hparam_keys.append(key)
        for key in s.get("metrics", {}):
            if key not in metric_keys:
                metric_keys.append(key)
    header = _LEADING + hparam_keys + [k for k in metric_keys if k not in hparam_keys]
    rows = []
    for s in summaries:
        merged = {k: s.get(k) for k in _LEADING}
        merged.update(s.get("hparams", {}))
        merged.update(s.get("metrics", {}))
        rows.append([_cell(merged.get(k)) for k in header])
    return header, rows


def update_workbook(logdir: str | os.PathLike, timeout: float = 120.0) -> Path:
    """Rebuild ``<logdir>/overall_results.xlsx`` from every run summary in ``logdir``.

    Args:
        logdir: the folder holding the run folders.
        timeout: seconds to wait for another process holding the workbook lock.

    Returns:
        The workbook path.
    """
    from filelock import FileLock
    from openpyxl import Workbook
    from openpyxl.styles import Font

    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    target = logdir / WORKBOOK_NAME
    with FileLock(str(logdir / f".{WORKBOOK_NAME}.lock"), timeout=timeout):
        summaries = collect_summaries(logdir)
        book = Workbook()
        book.remove(book.active)
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for s in summaries:
            by_kind.setdefault(str(s["kind"]), []).append(s)
        for kind in list(SHEETS) + sorted(set(by_kind) - set(SHEETS)):
            if kind not in by_kind and kind not in SHEETS:
                continue
            sheet = book.create_sheet(SHEETS.get(kind, kind[:31]))
            header, rows = summary_rows(by_kind.get(kind, []))
            sheet.append(header)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in rows:
                sheet.append(row)
            sheet.freeze_panes = "B2"
            for col, name in zip(sheet.iter_cols(min_row=1, max_row=1), header):
                sheet.column_dimensions[col[0].column_letter].width = max(10, min(40, len(name) + 2))
        tmp = logdir / f".{WORKBOOK_NAME}.tmp-{os.getpid()}"
        book.save(tmp)
        os.replace(tmp, target)
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
