"""`kerascenes ensemble`: weights learned out of fold, a run like any other, members checked every time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli

FIT = ["--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size", "32", "--epochs", "2",
       "--batch-size", "8", "--dense", "16", "--augment", "none", "--tta", "flip"]
BOW = ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--vocab-samples", "2000", "--n-jobs", "1"]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result, result.output


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    from conftest import write_image_folder

    root = tmp_path_factory.mktemp("ensemble")
    train = write_image_folder(root / "train", per_class=8, seed=0)
    val = write_image_folder(root / "val", per_class=4, seed=1)
    logdir = root / "logs"
    for args in (["fit", *FIT, "--name", "cnn"], ["bow", "fit", *BOW, "--name", "bow"]):
        result, output = invoke(*args, "--data", train, "--val-data", val, "--logdir", logdir, "-q")
        assert result.exit_code == 0, output
    result, output = invoke("ensemble", logdir / "cnn", logdir / "bow", "--folds", "3", "--logdir", logdir,
                            "--name", "fused", "-q")
    assert result.exit_code == 0, output
    return {"train": train, "val": val, "logdir": logdir, "output": output, "root": root}


def test_the_ensemble_is_a_run_with_reports_and_learned_weights(members):
    run = members["logdir"] / "fused"
    for name in ("config.json", "ensemble.json", "oof.npz", "confusion_matrix.png", "predictions.csv",
                 "mistakes.png", "summary.json"):
        assert (run / name).is_file(), name
    spec = json.loads((run / "ensemble.json").read_text())
    assert [m["run"] for m in spec["members"]] == ["cnn", "bow"] and all(len(m["checksum"]) == 64 for m in spec["members"])
    weights = spec["params"]["weights"]
    assert len(weights) == 2 and all(w >= 0 for w in weights)
    summary = json.loads((run / "summary.json").read_text())
    m = summary["metrics"]
    assert summary["kind"] == "ensemble" and summary["status"] == "completed"
    assert {"val_accuracy", "val_accuracy_cnn", "val_accuracy_bow", "val_accuracy_equal_weights",
            "train_accuracy", "train_accuracy_cnn", "train_accuracy_bow"} <= set(m)
    # the members' out-of-fold probabilities are really out of fold: one row per training image, each a distribution
    with np.load(run / "oof.npz") as oof:
        assert oof["member0"].shape == (24, 3) and np.allclose(oof["member1"].sum(axis=1), 1, atol=1e-5)
    assert "Weights learned out of fold" in members["output"]
    from kerascenes.workbook import read_workbook

    assert [r["run"] for r in read_workbook(members["logdir"] / "overall_results.xlsx")["ensembles"]] == ["fused"]


def test_evaluate_and_predict_work_on_the_ensemble(members):
    from kerascenes.inference import EVALUATION_KEYS

    run = members["logdir"] / "fused"
    result, output = invoke("evaluate", run, "--data", members["val"], "--json")
    assert result.exit_code == 0, output
    report = json.loads(output)
    assert tuple(report) == EVALUATION_KEYS and report["kind"] == "ensemble" and report["n_images"] == 12
    summary = json.loads((run / "summary.json").read_text())
    assert report["accuracy"] == pytest.approx(summary["metrics"]["val_accuracy"], abs=1e-4)
    result, output = invoke("predict", run, members["val"] / "beta", "--json")
    assert result.exit_code == 0, output
    assert len(json.loads(output)) == 4


def test_a_changed_or_missing_member_is_refused(members, tmp_path):
    import shutil

    copy = tmp_path / "logs"
    shutil.copytree(members["logdir"], copy)
    spec_file = copy / "fused" / "ensemble.json"
    spec = json.loads(spec_file.read_text())
    for m in spec["members"]:
        m["path"] = str(copy / m["run"])
    spec_file.write_text(json.dumps(spec))
    (copy / "bow" / "bow_model.json").write_text((copy / "bow" / "bow_model.json").read_text() + " ")
    result, output = invoke("evaluate", copy / "fused", "--data", members["val"])
    assert result.exit_code == 2 and "changed since" in output
    shutil.rmtree(copy / "cnn")
    result, output = invoke("predict", copy / "fused", members["val"] / "beta")
    assert result.exit_code == 2 and "which is gone" in output


def test_members_must_share_classes_and_be_finished(members, tmp_path):
    from conftest import write_image_folder

    other = write_image_folder(tmp_path / "other", classes=("a", "b", "c", "d"), per_class=6)
    result, output = invoke("bow", "fit", *BOW, "--data", other, "--logdir", tmp_path / "logs", "--name", "other", "-q")
    assert result.exit_code == 0, output
    result, output = invoke("ensemble", members["logdir"] / "cnn", tmp_path / "logs" / "other", "--data",
                            members["train"], "--logdir", tmp_path / "logs")
    assert result.exit_code == 2 and "other classes" in output
    result, output = invoke("ensemble", members["logdir"] / "cnn", "--logdir", tmp_path / "logs")
    assert result.exit_code == 2 and "at least 2 member runs" in output
    runs = sorted(p.name for p in (tmp_path / "logs").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert runs == ["other"]  # the refused ensembles left no run folder


def test_combiners_learn_from_out_of_fold_probabilities():
    from kerascenes.ensemble.combine import combine, equal_weights, fit_combiner

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    good = np.full((300, 3), 0.1)
    good[np.arange(300), labels] = 0.8
    noise = rng.dirichlet(np.ones(3), 300)
    for method in ("geometric", "arithmetic", "stacking"):
        params = fit_combiner(method, [good, noise], labels)
        assert (combine([good, noise], params).argmax(1) == labels).mean() == 1.0, method
    weights = fit_combiner("geometric", [good, noise], labels)["weights"]
    assert weights[0] > 2 * weights[1]  # the informative member counts more
    assert np.allclose(combine([good, good], equal_weights("geometric", 2)), good / good.sum(1, keepdims=True))


def test_head_refits_replay_the_runs_learning_rates(members, tmp_path):
    """Each fold's head trains at the rate each epoch of the run had (history.csv), padded with the last."""
    import shutil

    from kerascenes.ensemble.members import _learning_rates, open_member

    run = open_member(members["logdir"] / "cnn")
    with open(run.path / "history.csv", newline="") as fh:
        recorded = [float(row["learning_rate"]) for row in csv.DictReader(fh)]
    assert _learning_rates(run, 2, 0.5) == pytest.approx(recorded[:2])
    copy = tmp_path / "copy"
    shutil.copytree(run.path, copy)
    (copy / "history.csv").write_text("epoch,accuracy,learning_rate,loss\n0,0.5,0.01,1.0\n1,0.6,0.005,0.9\n")
    assert _learning_rates(open_member(copy), 4, 0.5) == [0.01, 0.005, 0.005, 0.005]
    (copy / "history.csv").unlink()
    assert _learning_rates(open_member(copy), 3, 0.5) == [0.5, 0.5, 0.5]  # no history: the run's --lr


def test_members_keep_their_validation_probabilities_for_the_ensemble(members, tmp_path):
    """Each member keeps what it predicted for its validation images; the ensemble reuses it, and it is
    what the member's predictor says; anything else than those images and that model is not reused."""
    import shutil

    from conftest import write_image_folder
    from kerascenes.data.folders import load_image_folder
    from kerascenes.ensemble.members import open_member
    from kerascenes.inference import load_predictor, predict_in_chunks
    from kerascenes.kept_predictions import VAL_PROBA_FILE, keep_val_proba, load_val_proba

    paths = load_image_folder(members["val"]).paths
    for name in ("cnn", "bow"):
        run = open_member(members["logdir"] / name)
        kept = load_val_proba(run.path, run.kind, paths)
        assert kept is not None and kept.shape == (len(paths), 3)
        fresh = predict_in_chunks(load_predictor(run, progress=False), paths, progress=False)
        np.testing.assert_allclose(kept, fresh, atol=1e-4)
        assert load_val_proba(run.path, run.kind, paths[::-1]) is None  # other order
        assert load_val_proba(run.path, run.kind, paths[:-1]) is None  # other images
        copy = tmp_path / name
        shutil.copytree(run.path, copy)
        model = copy / ("model.keras" if name == "cnn" else "bow_model.npz")
        model.write_bytes(model.read_bytes() + b"\0")
        assert load_val_proba(copy, run.kind, paths) is None  # another model
        (copy / VAL_PROBA_FILE).write_bytes(b"damaged")
        assert load_val_proba(copy, run.kind, paths) is None
    # an image changed in place is another image (copies, so the fixture's files stay as they are)
    shutil.copytree(members["val"], tmp_path / "val-copy")
    bow_copy = shutil.copytree(members["logdir"] / "bow", tmp_path / "bow-copy")
    copied = load_image_folder(tmp_path / "val-copy").paths
    keep_val_proba(bow_copy, "bow", np.full((len(copied), 3), 1 / 3, np.float32), copied)
    assert load_val_proba(bow_copy, "bow", copied) is not None
    Path(copied[0]).write_bytes(Path(copied[0]).read_bytes() + b"\0")
    assert load_val_proba(bow_copy, "bow", copied) is None
    # an ensemble reported on other images predicts them through its members
    other = write_image_folder(tmp_path / "other", per_class=2, seed=5)
    result, output = invoke("ensemble", members["logdir"] / "cnn", members["logdir"] / "bow", "--folds", "3",
                            "--val-data", other, "--logdir", members["logdir"], "--name", "fused-other", "-q")
    assert result.exit_code == 0, output
    summary = json.loads((members["logdir"] / "fused-other" / "summary.json").read_text())
    labels = load_image_folder(other).labels
    for name in ("cnn", "bow"):
        proba = predict_in_chunks(load_predictor(open_member(members["logdir"] / name), progress=False),
                                  load_image_folder(other).paths, progress=False)
        assert summary["metrics"][f"val_accuracy_{name}"] == pytest.approx(float((proba.argmax(1) == labels).mean()),
                                                                         abs=1e-4)


def test_the_ensemble_reports_with_the_probabilities_its_members_kept(members, tmp_path):
    """Kept validation probabilities are what the ensemble reports with (no second prediction)."""
    import shutil

    from kerascenes.data.folders import load_image_folder
    from kerascenes.kept_predictions import keep_val_proba

    logdir = tmp_path / "logs"
    for name in ("cnn", "bow"):
        shutil.copytree(members["logdir"] / name, logdir / name)
    val = load_image_folder(members["val"])
    wrong = np.zeros((len(val), 3), np.float32)
    wrong[np.arange(len(val)), (np.asarray(val.labels) + 1) % 3] = 1.0  # every image a mistake
    keep_val_proba(logdir / "cnn", "classifier", wrong, val.paths)
    result, output = invoke("ensemble", logdir / "cnn", logdir / "bow", "--folds", "3", "--logdir", logdir,
                            "--name", "fused", "-q")
    assert result.exit_code == 0, output
    metrics = json.loads((logdir / "fused" / "summary.json").read_text())["metrics"]
    assert metrics["val_accuracy_cnn"] == 0.0
    bow_val = json.loads((logdir / "bow" / "summary.json").read_text())["metrics"]["val_accuracy"]
    assert metrics["val_accuracy_bow"] == pytest.approx(bow_val, abs=1e-3)


def test_head_refits_train_at_the_recorded_rates(members, tmp_path):
    """Each epoch of a fold's refit trains at the rate history.csv records for it (not the first rate)."""
    import shutil

    from sklearn.model_selection import StratifiedKFold

    from kerascenes.data.folders import load_image_folder
    from kerascenes.ensemble.members import open_member, out_of_fold

    images = load_image_folder(members["train"])
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(images.paths, images.labels))
    copy = shutil.copytree(members["logdir"] / "cnn", tmp_path / "cnn")
    summary = json.loads((copy / "summary.json").read_text())
    summary["metrics"]["best_epoch"] = 2  # both epochs of the fixture's run
    (copy / "summary.json").write_text(json.dumps(summary))
    with open(copy / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2

    def refit(rates):
        with open(copy / "history.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows([{**row, "learning_rate": rate} for row, rate in zip(rows, rates)])
        return out_of_fold(open_member(copy), images.paths, images.labels, folds, seed=0)

    both = refit([0.01, 0.01])
    np.testing.assert_allclose(refit([0.01, 0.01]), both, atol=1e-6)  # deterministic
    first_only = refit([0.01, 0.0])  # the second epoch changes nothing
    assert np.abs(both - first_only).max() > 1e-4
