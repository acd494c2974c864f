"""`kerascenes bow fit | evaluate | predict | sweep` round trip on tiny synthetic folders."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bow_helpers import write_tree
from kerascenes.cli.main import cli

SMALL = ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--pyramid", "1", "--vocab-samples", "2000", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("bow")
    return write_tree(root / "train", 6, seed=0), write_tree(root / "val", 4, seed=1), root


def test_help_lists_subcommands():
    result = CliRunner().invoke(cli, ["bow", "--help"])
    assert result.exit_code == 0
    for name in ("fit", "evaluate", "predict", "sweep"):
        assert name in result.output


def test_fit_evaluate_predict_round_trip(folders):
    from kerascenes.workbook import read_workbook

    train, val, root = folders
    logdir = root / "logs"
    runner = CliRunner()
    result = runner.invoke(cli, ["bow", "fit", "--data", str(train), "--val-data", str(val), "--logdir", str(logdir),
                                 "--name", "tiny", "--n-jobs", "2", *SMALL])
    assert result.exit_code == 0, result.output
    run = logdir / "tiny"
    for name in ("config.json", "bow_model.json", "bow_model.npz", "confusion_matrix.png", "per_class.csv",
                 "predictions.csv", "timings.json", "summary.json"):
        assert (run / name).is_file(), name
    assert not list(run.glob("*.joblib")) and not list(run.glob("*.pkl"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["kind"] == "bow" and summary["metrics"]["val_accuracy"] >= 0.75
    assert set(json.loads((run / "timings.json").read_text())) >= {"descriptors_s", "vocabulary_s", "classifier_s"}
    rows = read_workbook(logdir / "overall_results.xlsx")["bag_of_words"]
    assert rows[0]["run"] == "tiny" and rows[0]["vocab_size"] == 8
    assert list((logdir / ".bow-cache").rglob("*.npz"))  # descriptors were cached

    result = runner.invoke(cli, ["bow", "evaluate", str(run), "--data", str(val), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] == pytest.approx(summary["metrics"]["val_accuracy"])
    assert report["n_images"] == 8

    images = sorted((val / "blobs").glob("*.png"))[:2]
    result = runner.invoke(cli, ["bow", "predict", str(run), *map(str, images), "--json"])
    assert result.exit_code == 0, result.output
    preds = json.loads(result.output)
    assert [p["predicted"] for p in preds] == ["blobs", "blobs"]


def test_user_errors_exit_2_with_one_sentence(folders, tmp_path):
    train, val, _ = folders
    runner = CliRunner()
    result = runner.invoke(cli, ["bow", "fit", "--data", str(train), "--detector", "surf", "--logdir", str(tmp_path), *SMALL])
    assert result.exit_code == 2 and "SURF is patented" in result.output
    result = runner.invoke(cli, ["bow", "fit", "--data", str(train), "--vocab", "100000", "--patch-sizes", "16",
                                 "--logdir", str(tmp_path), "--quiet"])
    assert result.exit_code == 2 and "--vocab 100000 is larger" in result.output
    result = runner.invoke(cli, ["bow", "evaluate", str(tmp_path / "nope"), "--data", str(val)])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(cli, ["bow", "fit", "--data", str(train), "--n-jobs", "0", "--logdir", str(tmp_path), *SMALL])
    assert result.exit_code == 2 and "not a worker count" in result.output


def test_sweep_writes_table_and_rows(folders, tmp_path):
    from kerascenes.workbook import read_workbook

    train, val, _ = folders
    runner = CliRunner()
    result = runner.invoke(cli, ["bow", "sweep", "--data", str(train), "--val-data", str(val), "--logdir", str(tmp_path),
                                 "--name", "sw", "--only", "sift-100", "--quiet"])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "sw" / "sweep.md").read_text()
    assert "| sift-100 | study: SIFT, 100 words, linear SVM |" in table and table in result.output
    rows = read_workbook(tmp_path / "overall_results.xlsx")["bag_of_words"]
    assert [(r["run"], r["row"], r["detector"], r["vocab_size"]) for r in rows] == [("sw-sift-100", "sift-100", "sift", 100)]
    assert rows[0]["C"] in (0.1, 1.0, 10.0, 100.0)  # chosen by cross-validation
    # 12 tiny images hold fewer SIFT descriptors than 250 words: the error names the fix
    result = runner.invoke(cli, ["bow", "sweep", "--data", str(train), "--val-data", str(val), "--logdir", str(tmp_path),
                                 "--only", "rf-sift-250", "--quiet"])
    assert result.exit_code == 2 and "--vocab 250 is larger" in result.output
