"""`kerascenes predict` / `kerascenes bow predict` on folders: recursive search, skipped files, chunks, --out CSV."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.errors import KerascenesError
from kerascenes.inference import PREDICTION_KEYS, find_image_files, predict_in_chunks

FAST = ["--backbone", "MobileNet", "--alpha", "0.25", "--image-size", "32", "--epochs", "1", "--batch-size", "8",
        "--dense", "16", "--patience", "1", "--quiet"]
BOW = ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--pyramid", "1", "--vocab-samples", "2000",
       "--n-jobs", "1", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny CNN run and a tiny bag-of-words run (classes stripes / blobs)."""
    from bow_helpers import write_tree

    from kerascenes.backbones import build_backbone

    root = tmp_path_factory.mktemp("predict")
    train, val = write_tree(root / "train", 4, seed=0), write_tree(root / "val", 2, seed=1)
    weights = root / "mobilenet.weights.h5"  # a frozen backbone trains faster than --weights none
    build_backbone("MobileNet", None, 32, 0.25).save_weights(str(weights))
    for args, name in ((["fit", *FAST, "--weights", weights], "cnn"), (["bow", "fit", *BOW], "bow")):
        result = invoke(*args, "--data", train, "--val-data", val, "--logdir", root / "logs", "--name", name)
        assert result.exit_code == 0, result.output
    return {"cnn": root / "logs" / "cnn", "bow": root / "logs" / "bow"}


@pytest.fixture
def photos(tmp_path):
    """``photos/``: 4 images in nested folders, a text file, a hidden folder, a corrupt and an empty image."""
    from bow_helpers import write_tree

    top = tmp_path / "photos"
    (top / "trip" / "day2").mkdir(parents=True)
    (top / ".thumbs").mkdir()
    images = sorted(write_tree(tmp_path / "scenes", 2, seed=2).rglob("*.png"))
    shutil.copy(images[0], top / "a.png")
    shutil.copy(images[1], top / "trip" / "b.png")
    shutil.copy(images[2], top / "trip" / "day2" / "c.PNG")
    shutil.copy(images[3], top / "trip" / "day2" / "d.png")
    shutil.copy(images[0], top / ".thumbs" / "a.png")
    (top / "notes.txt").write_text("not an image")
    (top / "trip" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    (top / "trip" / "empty.jpg").write_bytes(b"")
    return top


class Messages(logging.Handler):
    """The messages of one logger, with their levels."""

    def __init__(self):
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))

    def at(self, level: str) -> list[str]:
        return [message for name, message in self.records if name == level]


@pytest.fixture
def kerascenes_log():
    """What the ``kerascenes`` logger says during a test (the CLI keeps it from propagating)."""
    logger, handler = logging.getLogger("kerascenes"), Messages()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_folders_are_searched_for_readable_images(photos):
    extra = photos.parent / "extra.png"
    shutil.copy(photos / "a.png", extra)
    files, skipped = find_image_files([photos, extra, photos / "a.png"])
    assert [str(Path(f).relative_to(photos.parent)) for f in files] == [
        "photos/a.png", "photos/trip/b.png", "photos/trip/day2/c.PNG", "photos/trip/day2/d.png", "extra.png"]
    # sorted and recursive; no hidden folder, no text file, no duplicate
    reasons = dict(skipped)
    assert sorted(reasons) == [str(photos / "trip" / "broken.png"), str(photos / "trip" / "empty.jpg")]
    assert reasons[str(photos / "trip" / "empty.jpg")] == "empty file (0 bytes)"


@pytest.mark.parametrize("kind", ["cnn", "bow"])
def test_predict_folder_json_and_csv(runs, photos, tmp_path, kind, kerascenes_log):
    out = tmp_path / "out" / "predictions.csv"
    command = ["predict"] if kind == "cnn" else ["bow", "predict"]
    result = invoke(*command, runs[kind], photos, "--top-k", "2", "--json", "--out", out)
    assert result.exit_code == 0, result.output
    predictions = json.loads(result.stdout)
    assert [tuple(p) for p in predictions] == [PREDICTION_KEYS] * 4
    assert [p["file"].split("/")[-1] for p in predictions] == ["a.png", "b.png", "c.PNG", "d.png"]
    for p in predictions:
        assert [t["class"] for t in p["top"]][0] == p["predicted"] and len(p["top"]) == 2
        first, second = (t["probability"] for t in p["top"])
        assert first >= second and first + second <= 1 + 1e-5
    warnings = kerascenes_log.at("WARNING")
    assert len(warnings) == 1 and "Skipping 2 unusable file(s)" in warnings[0]
    assert "broken.png" in warnings[0] and "empty.jpg" in warnings[0] and "notes.txt" not in warnings[0]
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["file", "predicted", "top1", "top1_prob", "top2", "top2_prob"]
    assert rows[1:] == [[p["file"], p["predicted"], *[v for t in p["top"] for v in (t["class"], str(t["probability"]))]]
                        for p in predictions]
    again = invoke(*command, runs[kind], photos, "--out", out)
    assert again.exit_code == 2 and "already exists" in again.output and len(out.read_text().splitlines()) == 5


def test_a_folder_predicts_what_its_files_predict(runs, photos):
    from kerascenes.inference import predict_files

    by_folder = predict_files(runs["bow"], [photos], top_k=2, n_jobs=1)
    one_by_one = [predict_files(runs["bow"], [p["file"]], top_k=2, n_jobs=1)[0] for p in by_folder]
    assert by_folder == one_by_one
    assert len({p["top"][0]["probability"] for p in by_folder}) > 1  # the probabilities depend on the image


def test_text_output_and_out_summary(runs, photos, tmp_path):
    result = invoke("predict", runs["bow"], photos / "trip", "-q")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith(str(photos / "trip" / "b.png") + ": ")
    result = invoke("predict", runs["bow"], photos, "--out", tmp_path / "p.csv", "-q")
    assert result.exit_code == 0 and result.stdout.strip() == f"Wrote 4 predictions to {tmp_path / 'p.csv'}"


@pytest.mark.parametrize("culprit, message", [
    ("trip/broken.png", "cannot be used"),
    ("trip/empty.jpg", "cannot be used (empty file (0 bytes))"),
    ("missing.png", "does not exist"),
])
def test_explicit_paths_must_be_readable_images(runs, photos, culprit, message):
    result = invoke("predict", runs["cnn"], photos / "a.png", photos / culprit)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert culprit.split("/")[-1] in result.output


def test_a_folder_without_images_is_refused(runs, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no images here")
    result = invoke("bow", "predict", runs["bow"], tmp_path / "docs")
    assert result.exit_code == 2 and "No readable image" in result.output and "Traceback" not in result.output


class CountingPredictor:
    """Row i of the probabilities is (i / 10, 1 - i / 10), i counting the images seen so far."""

    class_names = ["a", "b"]

    def __init__(self):
        self.calls: list[int] = []

    def predict_proba(self, paths):
        start = sum(self.calls)
        self.calls.append(len(paths))
        i = np.arange(start, start + len(paths)) / 10
        return np.stack([i, 1 - i], axis=1)


def test_chunks_keep_the_order_and_report_progress(kerascenes_log):
    predictor = CountingPredictor()
    proba = predict_in_chunks(predictor, [f"{i}.png" for i in range(7)], chunk_size=3, progress=True)
    assert predictor.calls == [3, 3, 1]
    np.testing.assert_allclose(proba[:, 0], np.arange(7) / 10)
    (line,) = kerascenes_log.at("INFO")  # stderr is no terminal here: one line when done
    assert line.startswith("Predicting: 7 img in ")
    kerascenes_log.records.clear()
    predict_in_chunks(CountingPredictor(), ["x.png"] * 7, chunk_size=3, progress=False)
    assert kerascenes_log.records == []


def test_a_terminal_gets_a_progress_bar(monkeypatch, capsys, kerascenes_log):
    """A bar on stderr instead of the closing line."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    predict_in_chunks(CountingPredictor(), ["x.png"] * 7, chunk_size=3, progress=True)
    assert "Predicting" in capsys.readouterr().err and kerascenes_log.records == []


def test_quiet_and_json_print_no_progress(runs, photos, monkeypatch, kerascenes_log):
    import kerascenes.inference

    monkeypatch.setattr(kerascenes.inference, "PREDICT_CHUNK", 2)
    paths = [photos / "trip" / "day2", photos / "a.png"]
    result = invoke("predict", runs["bow"], *paths)
    assert result.exit_code == 0 and len(result.stdout.strip().splitlines()) == 3
    (line,) = kerascenes_log.at("INFO")
    assert line.startswith("Predicting: 3 img in ")
    for flag in ("-q", "--json"):
        kerascenes_log.records.clear()
        result = invoke("predict", runs["bow"], *paths, flag)
        assert result.exit_code == 0 and kerascenes_log.records == [], flag


def test_top_k_below_one_is_refused(runs, photos):
    from kerascenes.inference import predict_files

    with pytest.raises(KerascenesError, match="--top-k must be at least 1"):
        predict_files(runs["cnn"], [photos], top_k=0)


def test_console_script_keeps_tensorflow_start_up_lines_off_stderr(runs, photos, tmp_path):
    """`kerascenes predict` in its own process: predictions on stdout, no native TensorFlow line on stderr."""
    import os
    import subprocess

    script = Path(sys.executable).with_name("kerascenes")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kerascenes.cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    done = subprocess.run([*command, "predict", str(runs["cnn"]), str(photos / "a.png")], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "a.png" in done.stdout
    for marker in ("absl::InitializeLog", "oneDNN", "cuda", "cuInit", "cpu_feature_guard", "I0000", "E0000"):
        assert marker not in done.stderr, done.stderr


def test_start_up_filter_keeps_real_errors():
    from kerascenes.quiet_start import is_startup_chatter

    assert is_startup_chatter("I0000 00:00:1796584889.025340   30180 port.cc:153] oneDNN custom operations are on.")
    assert is_startup_chatter("E0000 00:00:1796584817.927464   30076 cuda_platform.cc:52] failed call to cuInit")
    assert is_startup_chatter("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not is_startup_chatter("E0000 00:00:1796584817.927464   30076 op_kernel.cc:1830] OP_REQUIRES failed")
    assert not is_startup_chatter("Error: Image photos/x.png does not exist; pass an image file.")
