"""Run folders never overwrite; the workbook is rebuilt from summaries, safely across processes."""

import multiprocessing as mp

import pytest

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder
from kerascenes.workbook import WORKBOOK_NAME, read_workbook, update_workbook


def _summary(name, kind="classifier", acc=0.5):
    return {"kind": kind, "run": name, "started": f"2026-01-01T00:00:{len(name):02d}", "wall_time_s": 1.0,
            "hparams": {"backbone": "MobileNet", "lr": 0.001}, "metrics": {"val_accuracy": acc}}


def test_run_names_never_collide(tmp_path):
    a, b, c = (RunFolder.create(tmp_path, "exp", "classifier", {}) for _ in range(3))
    assert [a.name, b.name, c.name] == ["exp", "exp-2", "exp-3"]
    weird = RunFolder.create(tmp_path, "my run/../x", "classifier", {})
    assert weird.path.parent == tmp_path and "/" not in weird.name


def test_open_rejects_non_runs(tmp_path):
    with pytest.raises(KerascenesError, match="does not exist"):
        RunFolder.open(tmp_path / "missing")
    with pytest.raises(KerascenesError, match="not a kerascenes run folder"):
        RunFolder.open(tmp_path)


def test_workbook_has_one_row_per_completed_run_and_sheet_per_kind(tmp_path):
    for i, kind in enumerate(["classifier", "classifier", "bow", "gan"]):
        run = RunFolder.create(tmp_path, f"r{i}", kind, {})
        run.write_summary(_summary(run.name, kind, acc=i / 10))
    RunFolder.create(tmp_path, "crashed", "classifier", {})  # no summary: not a row
    path = update_workbook(tmp_path)
    sheets = read_workbook(path)
    assert [r["run"] for r in sheets["classifiers"]] == ["r0", "r1"]
    assert sheets["classifiers"][1]["val_accuracy"] == pytest.approx(0.1)
    assert sheets["classifiers"][0]["backbone"] == "MobileNet"
    assert [r["run"] for r in sheets["bag_of_words"]] == ["r2"]
    assert [r["run"] for r in sheets["gan"]] == ["r3"]


def _writer(logdir, prefix, n):
    for i in range(n):
        run = RunFolder.create(logdir, f"{prefix}{i}", "classifier", {})
        run.write_summary(_summary(run.name))
        update_workbook(logdir)


def test_two_processes_writing_at_once_lose_no_rows(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), p, 6)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rows = read_workbook(tmp_path / WORKBOOK_NAME)["classifiers"]
    assert sorted(r["run"] for r in rows) == sorted([f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)])
    assert not list(tmp_path.glob(".*tmp*"))
