"""The CLI end to end on tiny synthetic data: fit -> evaluate -> predict, errors, help."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import COMMANDS, cli
from kerascenes.workbook import read_workbook

FAST = ["--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size", "32", "--epochs", "2",
        "--batch-size", "8", "--dense", "16", "--patience", "2"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_help_of_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    for name in ["fit", "evaluate", "predict", "backbones", "data"]:
        sub = invoke(name, "--help")
        assert sub.exit_code == 0, sub.output
        assert "Usage" in sub.output
    assert "describe" in invoke("data", "--help").output
    assert invoke("--version").output.strip().startswith("kerascenes, version")


def test_help_does_not_import_tensorflow():
    code = ("import sys; from click.testing import CliRunner; from kerascenes.cli.main import cli;"
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0;"
            "bad = [m for m in ('tensorflow', 'keras', 'cv2', 'torch') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_backbones_lists_all_with_params():
    result = invoke("backbones", "--json")
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["MobileNet"]["params"] == 3_228_864 and rows["Xception"]["default_size"] == 299
    assert len([r for r in rows.values() if r["family"] == "keras.applications"]) == 13
    assert "DenseNet201" in invoke("backbones", "dense*").output


def test_data_describe_prints_counts_and_saves_chart(image_folder, tmp_path):
    chart = tmp_path / "chart.png"
    result = invoke("data", "describe", image_folder, "--out", chart, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["classes"] == {"alpha": 8, "beta": 8, "gamma": 8} and data["n_images"] == 24
    assert chart.stat().st_size > 1000


def test_fit_evaluate_predict_round_trip(image_folders, tmp_path):
    from kerascenes.backbones import build_backbone

    train, val = image_folders
    logdir = tmp_path / "logs"
    weights = tmp_path / "mobilenet_0.25_no_top.weights.h5"  # a local weights file: frozen stage + fine-tuning
    build_backbone("MobileNet", None, 32, 0.25).save_weights(str(weights))
    result = invoke("fit", *FAST, "--weights", weights, "--data", train, "--val-data", val, "--logdir", logdir, "--name", "tiny", "--tta", "flip",
                    "--fine-tune", "3", "--fine-tune-epochs", "1")
    assert result.exit_code == 0, result.output
    run = logdir / "tiny"
    expected = {"config.json", "model.keras", "history.csv", "curves.png", "confusion_matrix.png",
                "confusion_matrix.csv", "per_class.csv", "predictions.csv", "mistakes.png", "summary.json", "tensorboard"}
    assert expected <= {p.name for p in run.iterdir()}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["kind"] == "classifier" and summary["metrics"]["n_val"] == 15
    assert 0.0 <= summary["metrics"]["val_accuracy"] <= 1.0
    assert len((run / "history.csv").read_text().strip().splitlines()) == 1 + summary["metrics"]["epochs_run"]
    predictions = (run / "predictions.csv").read_text().splitlines()
    assert predictions[0].startswith("file,true,predicted,correct,top1,top1_prob,top2,top2_prob,top3,top3_prob")
    assert len(predictions) == 16
    events = list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert len(events) >= 3  # train, validation (+ confusion matrix), hparams
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "classifier" and config["options"]["image_size"] == 32
    assert config["derived"]["class_names"] == ["alpha", "beta", "gamma"]

    rows = read_workbook(logdir / "overall_results.xlsx")["classifiers"]
    assert len(rows) == 1 and rows[0]["run"] == "tiny"
    for column in ["backbone", "lr", "dense", "dropout", "train_accuracy", "val_accuracy", "params", "fine_tune"]:
        assert column in rows[0]
    assert rows[0]["val_accuracy"] == pytest.approx(summary["metrics"]["val_accuracy"])

    ev = invoke("evaluate", run, "--data", val, "--json")
    assert ev.exit_code == 0
    ev = json.loads(ev.output)
    assert ev["n_images"] == 15
    assert ev["accuracy"] == pytest.approx(summary["metrics"]["val_accuracy"], abs=1e-4)
    assert len(ev["per_class"]) == 3
    assert "accuracy" in invoke("evaluate", run, "--data", val).output

    image = sorted((val / "beta").iterdir())[0]
    pr = invoke("predict", run, image, "--top-k", "2", "--json")
    assert pr.exit_code == 0
    pr = json.loads(pr.output)
    assert pr[0]["file"] == str(image) and len(pr[0]["top"]) == 2
    assert sum(t["probability"] for t in pr[0]["top"]) <= 1.0 + 1e-6
    # the CSV written at training time agrees with predict on the same image
    row = next(line for line in predictions if line.startswith(str(image)))
    assert row.split(",")[4] == pr[0]["top"][0]["class"]

    # the saved model reloads and predicts exactly what the trained model predicted
    from kerascenes.classify.evaluate import load_run_model, predict_proba
    from kerascenes.runs import RunFolder

    model = load_run_model(RunFolder.open(run))
    p1 = predict_proba(model, [str(image)], 32)
    assert np.isclose(p1.max(), pr[0]["top"][0]["probability"], atol=1e-5)


def test_user_errors_exit_2_and_keep_earlier_runs(image_folders, tmp_path):
    train, val = image_folders
    logdir = tmp_path / "logs"
    ok = invoke("fit", *FAST, "--epochs", "1", "--data", train, "--val-split", "0.3", "--logdir", logdir, "--name", "first")
    assert ok.exit_code == 0, ok.output
    before = {p.name: p.stat().st_mtime_ns for p in (logdir / "first").iterdir()}
    workbook = (logdir / "overall_results.xlsx").read_bytes()
    (val / "extra_class").mkdir()
    (val / "extra_class" / "x.png").write_bytes((val / "alpha" / "alpha_000.png").read_bytes())
    cases = [
        (["--backbone", "MobileNetV3"], "did you mean"),
        (["--data", tmp_path / "missing"], "does not exist"),
        (["--val-data", val], "unknown extra_class"),
        (["--weights", tmp_path / "nope.h5"], "--weights"),
        (["--dense", "12,x"], "--dense"),
        (["--image-size", "8"], "too small"),
        (["--alpha", "0.5", "--backbone", "VGG16"], "--alpha applies only"),
    ]
    for extra, message in cases:
        args = [*FAST, "--data", train, "--logdir", logdir, *extra]
        result = CliRunner().invoke(cli, ["fit", *map(str, args)])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
        assert "Traceback" not in result.output
    assert sorted(p.name for p in logdir.iterdir() if p.is_dir()) == ["first"]
    assert {p.name: p.stat().st_mtime_ns for p in (logdir / "first").iterdir()} == before
    assert (logdir / "overall_results.xlsx").read_bytes() == workbook
    bad = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "nope"), "--data", str(train)])
    assert bad.exit_code == 2 and "does not exist" in bad.output
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8garbage")
    bad = CliRunner().invoke(cli, ["predict", str(logdir / "first"), str(corrupt)])
    assert bad.exit_code == 2 and "corrupt.jpg" in bad.output


def test_same_seed_repeats_the_run(image_folders, tmp_path):
    train, val = image_folders
    from kerascenes.classify import FitConfig, fit_classifier

    def run(name):
        cfg = FitConfig(data=str(train), val_data=str(val), backbone="MobileNet", alpha=0.25, weights="none", image_size=32, tta="none",
                        epochs=2, batch_size=8, dense=(16,), logdir=str(tmp_path / "logs"), name=name, seed=7)
        return fit_classifier(cfg, verbose=0)

    a, b = run("a"), run("b")
    assert a.history["loss"] == pytest.approx(b.history["loss"], rel=1e-4)
    np.testing.assert_allclose(a.model.layers[-1].get_weights()[0], b.model.layers[-1].get_weights()[0], rtol=1e-4, atol=1e-5)
