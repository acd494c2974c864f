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


def test_a_write_stopped_half_way_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    import numpy as np

    from kerascenes.runs import read_json, save_npz, write_json

    target = tmp_path / "state.json"
    write_json(target, {"epoch": 1})
    arrays = tmp_path / "model.npz"
    save_npz(arrays, a=np.arange(3))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    # Ctrl-C half-way through each write
    monkeypatch.setattr("pathlib.Path.write_text", lambda self, text: (open(self, "w").write(text[:5]), ctrl_c()))
    with pytest.raises(KeyboardInterrupt):
        write_json(target, {"epoch": 2})
    monkeypatch.setattr(np, "savez", lambda fh, **kw: (fh.write(b"PK half"), ctrl_c()))
    with pytest.raises(KeyboardInterrupt):
        save_npz(arrays, a=np.zeros(3))
    monkeypatch.undo()
    assert read_json(target) == {"epoch": 1}
    with np.load(arrays) as data:
        assert data["a"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "state.json"]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    from kerascenes.runs import write_json

    shared = tmp_path / "overall.json"
    write_json(shared, {"rows": 1})
    shared.chmod(0o664)
    write_json(shared, {"rows": 2})
    assert shared.stat().st_mode & 0o777 == 0o664


def test_an_interrupted_checkpoint_keeps_only_the_epoch_its_state_points_at(tmp_path):
    import keras

    from kerascenes.classify.checkpoint import Checkpoint

    run = RunFolder.create(tmp_path, "r", "classifier", {})
    checkpoint = Checkpoint(run)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    for name in ("epoch-002", "epoch-003"):
        checkpoint.save_weights(model, f"{name}/model.npz")
    checkpoint.write_state({"phase": "frozen", "folder": "epoch-002", "epochs_done": 2})
    checkpoint.tidy()
    assert sorted(p.name for p in checkpoint.folder.iterdir()) == ["epoch-002", "state.json"]
    checkpoint.load_weights(model, "epoch-002/model.npz")
