"""Impossible numbers, odd file names and misplaced paths: one sentence and exit 2, nothing written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cli_helpers import invoke, one_error

FIT = ["fit", "--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size", "32",
       "--batch-size", "8", "--dense", "8", "--augment", "none", "--epochs", "1"]
BOW = ["bow", "fit", "--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--vocab-samples", "2000",
       "--n-jobs", "1"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from conftest import write_image_folder, write_tiny_digits

    root = tmp_path_factory.mktemp("bad_options")
    train = write_image_folder(root / "train", per_class=4, size=32, seed=0)
    latin1 = root / "latin1"
    shutil.copytree(train, latin1)
    shutil.copy(latin1 / "alpha" / "alpha_000.png", os.fsdecode(bytes(latin1 / "alpha") + b"/\xe9t\xe9.png"))
    return {"root": root, "train": train, "latin1": latin1, "digits": write_tiny_digits(root / "digits.npz", 96)}


@pytest.mark.parametrize("command, bad, said", [
    ("fit", ["--seed", "-1"], "--seed must be between 0 and 4294967295"),
    ("fit", ["--seed", str(2**40)], "--seed must be between 0 and 4294967295"),
    ("fit", ["--lr", "inf"], "--lr must be a finite number"),
    ("fit", ["--dropout", "nan"], "--dropout must be a finite number"),
    ("fit", ["--dense", "99999999"], "--dense 99999999 has a layer outside 1 to 65536"),
    ("fit", ["--batch-size", "1000000000"], "--batch-size must be between 1 and 65536"),
    ("fit", ["--image-size", "99999999"], "--image-size must be between 1 and 2048"),
    ("fit", ["--val-split", "0"], "both excluded"),
    ("bow", ["--seed", "-5"], "--seed must be between 0"),
    ("bow", ["--C", "inf"], "--C must be a finite number"),
    ("bow", ["--max-keypoints", str(10**11)], "is too large"),
    ("gan", ["--seed", str(2**33)], "--seed must be between 0"),
    ("gan", ["--lr", "inf"], "--lr must be a finite number"),
    ("gan", ["--batch-size", "10000000"], "--batch-size must be between 1 and 65536"),
    ("gan", ["--latent-dim", "100000"], "--latent-dim must be between 1 and 4096"),
    ("gan", ["--eval-samples", "100000000"], "--eval-samples must be between 10 and 100,000"),
    ("gan", ["--codes", "99999", "--latent-dim", "100"], "noise vector of 100 values"),
])
def test_impossible_numbers_are_refused_before_anything_is_written(folders, tmp_path, command, bad, said):
    logdir = tmp_path / "logs"
    base = {"fit": [*FIT, "--data", folders["train"]], "bow": [*BOW, "--data", folders["train"]],
            "gan": ["gan", "train", "--data", folders["digits"], "--epochs", "1"]}[command]
    one_error(*invoke(*base, *bad, "--logdir", logdir), said)
    assert not logdir.exists() or not list(logdir.iterdir())


def test_sample_counts_and_seeds_of_the_samplers_are_bounded(tmp_path):
    one_error(*invoke("gan", "sample", tmp_path, "--n", "100000000", "--out", tmp_path / "x.npy"),
              "--n must be between 1 and 100,000")
    result, output = invoke("gan", "sample", tmp_path, "--seed", "-1", "--out", tmp_path / "x.npy")
    assert result.exit_code == 2 and "--seed" in output and "Traceback" not in output
    result, output = invoke("gan", "compare", tmp_path, "--seed", str(2**32))
    assert result.exit_code == 2 and "--seed" in output and "Traceback" not in output


def test_file_names_that_are_not_utf8_train_evaluate_and_predict(folders, tmp_path):
    logdir = tmp_path / "logs"
    result, output = invoke(*FIT, "--data", folders["latin1"], "--val-data", folders["latin1"], "--logdir", logdir,
                            "--name", "cnn", "-q")
    assert result.exit_code == 0, output
    predictions = (logdir / "cnn" / "predictions.csv").read_bytes()
    assert b"\xe9t\xe9.png" in predictions  # the file system's own bytes
    result, output = invoke("evaluate", logdir / "cnn", "--data", folders["latin1"], "--json")
    assert result.exit_code == 0, output
    assert json.loads(output)["n_images"] == 13
    out = tmp_path / "p.csv"
    result, output = invoke("predict", logdir / "cnn", folders["latin1"] / "alpha", "--out", out)
    assert result.exit_code == 0, output
    assert len(out.read_bytes().splitlines()) == 1 + 5


def test_a_class_name_that_is_not_utf8_is_refused_naming_the_folder(folders, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(folders["train"], data)
    os.rename(data / "beta", os.fsdecode(bytes(data) + b"/b\xeata"))
    for args in (FIT, BOW):
        one_error(*invoke(*args, "--data", data, "--logdir", tmp_path / "logs"), "not valid UTF-8", "rename it")
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").iterdir())


def test_a_one_class_bag_of_words_run_leaves_no_folder(folders, tmp_path):
    data = tmp_path / "one"
    shutil.copytree(folders["train"] / "alpha", data / "alpha")
    one_error(*invoke(*BOW, "--data", data, "--logdir", tmp_path / "logs"), "at least 2 classes")
    assert not list((tmp_path / "logs").glob("*/config.json"))


@pytest.mark.parametrize("extra, said", [
    (["--patch-sizes", "1000"], "smaller than the patches (--patch-sizes 1000)"),
    (["--detector", "orb", "--patch-sizes", "16"], "detector orb found no keypoints"),
    (["--vocab", "100000"], "--vocab 100000 is larger than the"),
])
def test_too_few_descriptors_name_the_option_to_change(tmp_path, extra, said):
    from conftest import write_image_folder

    flat = tmp_path / "flat"
    for name in ("a", "b"):
        (flat / name).mkdir(parents=True)
    write_image_folder(tmp_path / "tiny", classes=("a", "b"), per_class=3, size=24)
    data = tmp_path / "tiny" if "orb" not in extra else flat
    if data == flat:
        from PIL import Image

        for name in ("a", "b"):
            for i in range(3):
                Image.new("L", (40, 40), 128).save(flat / name / f"{i}.png")
    one_error(*invoke(*BOW, *extra, "--data", data, "--logdir", tmp_path / "logs"), said)


def test_a_file_of_a_run_passed_as_the_run_names_its_folder(folders, tmp_path):
    logdir = tmp_path / "logs"
    result, output = invoke(*FIT, "--data", folders["train"], "--logdir", logdir, "--name", "cnn", "-q")
    assert result.exit_code == 0, output
    model = logdir / "cnn" / "model.keras"
    for args in (("evaluate", model, "--data", folders["train"]), ("predict", model, folders["train"]),
                 ("export", model, "--format", "tflite", "--out", tmp_path / "m.tflite")):
        one_error(*invoke(*args), "is a file of run cnn", f"pass the run folder {logdir / 'cnn'}")
    one_error(*invoke("export", logdir / "cnn", "--format", "onnx", "--out", tmp_path / "m.tflite"),
              "does not end in .onnx")
    one_error(*invoke("export", logdir / "cnn", "--format", "savedmodel", "--out", tmp_path / "m.tflite"),
              "writes a folder")
    # a finished run whose model was removed or truncated is listed as damaged, not completed
    model.write_bytes(b"")
    result, output = invoke("runs", logdir, "--json")
    row = json.loads(output)[0]
    assert row["status"] == "damaged" and row["problem"] == "model.keras is empty"
    model.unlink()
    result, output = invoke("runs", logdir)
    assert "damaged" in output and "cnn: model.keras is missing" in output


def test_gan_outputs_are_never_overwritten_and_resume_refuses_a_changed_option(folders, tmp_path):
    logdir = tmp_path / "logs"
    gan = ["gan", "train", "--data", folders["digits"], "--batch-size", "32", "--latent-dim", "24",
           "--eval-samples", "100", "--logdir", logdir, "--name", "g", "-q"]
    result, output = invoke(*gan, "--epochs", "1")
    assert result.exit_code == 0, output
    out = tmp_path / "s.npy"
    out.write_bytes(b"keep me")
    one_error(*invoke("gan", "sample", logdir / "g", "--out", out), "already exists")
    assert out.read_bytes() == b"keep me"
    result, output = invoke("gan", "compare", logdir / "g", "--out", tmp_path / "cmp", "--n", "4",
                            "--eval-samples", "100")
    assert result.exit_code == 0, output
    one_error(*invoke("gan", "compare", logdir / "g", "--out", tmp_path / "cmp"), "already holds a comparison")
    for _ in range(2):  # the default folder is a new one each time
        assert invoke("gan", "compare", logdir / "g", "--n", "4")[0].exit_code == 0
    assert sorted(p.name for p in (logdir / "comparisons").iterdir()) == ["g", "g-2"]
    one_error(*invoke(*[a if a != "24" else "32" for a in gan], "--epochs", "2", "--resume"),
              "--latent-dim 32 differs from the run's 24")
    other_spelling = f"{folders['digits'].parent}/./{folders['digits'].name}"  # the same file
    resumed = [a if a != folders["digits"] else other_spelling for a in gan]
    result, output = invoke(*resumed, "--epochs", "2", "--resume")
    assert result.exit_code == 0, output
