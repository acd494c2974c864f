"""Bad input and faults: one sentence and exit 2, nothing of an earlier run touched, runs that resume.

Each test here backs one row of the README's bad-input table.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_helpers import invoke, one_error
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder
from kerascenes.workbook import read_workbook, update_workbook

FIT = ["--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size", "32", "--batch-size", "8",
       "--dense", "16", "--augment", "none"]
BOW = ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--vocab-samples", "2000", "--n-jobs", "1"]
GAN = ["--epochs", "1", "--batch-size", "32", "--latent-dim", "24", "--eval-samples", "100"]
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONFAULTHANDLER": "1"}  # a crash prints its stack





def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from conftest import write_image_folder, write_tiny_digits

    root = tmp_path_factory.mktemp("reliability")
    return {"train": write_image_folder(root / "train", per_class=6, seed=0),
            "val": write_image_folder(root / "val", per_class=3, seed=1),
            "digits": write_tiny_digits(root / "digits.npz", 96), "root": root}


@pytest.fixture(scope="module")
def runs(data):
    """A finished classifier, bag-of-words and GAN run in one log folder."""
    logdir = data["root"] / "logs"
    for args in (["fit", *FIT, "--epochs", "1", "--data", data["train"], "--val-data", data["val"], "--name", "cnn"],
                 ["bow", "fit", *BOW, "--data", data["train"], "--val-data", data["val"], "--name", "bow"],
                 ["gan", "train", *GAN, "--data", data["digits"], "--name", "gan"]):
        result, output = invoke(*args, "--logdir", logdir, "--quiet")
        assert result.exit_code == 0, output
    return logdir


# -- the workbook survives any single bad run folder ------------------------------------------
def _summary(run, **extra):
    return {"kind": "classifier", "run": run, "status": "completed", "started": f"2026-01-01T00:00:0{len(run) % 10}",
            "wall_time_s": 1.0, "hparams": {"backbone": "MobileNet"}, "metrics": {"val_accuracy": 0.5}} | extra


@pytest.mark.parametrize("bad", [
    "{ not json", "[1, 2, 3]", json.dumps({"run": "no kind"}),
    json.dumps(_summary("ctrl", hparams={"data": "train\x00\x07\x1b/folder", "x\x01": "y"})),
    json.dumps(_summary("nan", metrics={"val_accuracy": float("nan"), "fd": float("inf"), "n": 10**30})),
    json.dumps(_summary("shapes", hparams=[1, 2], metrics="oops", status=None)),
    json.dumps(_summary("huge", hparams={"note": "x" * 100_000, "nested": {"a": [1, {"b": None}]}})),
    json.dumps(_summary("sheet", kind="odd/kind:[*]?")),
], ids=["garbage", "list", "no-kind", "control-chars", "nan-inf-bigint", "wrong-types", "huge", "sheet-name"])
def test_one_bad_summary_never_breaks_the_workbook(tmp_path, bad, caplog):
    for name in ("good1", "good2"):
        RunFolder.create(tmp_path, name, "classifier", {}).write_summary(_summary(name))
    (RunFolder.create(tmp_path, "bad", "classifier", {}).path / "summary.json").write_text(bad)
    sheets = read_workbook(update_workbook(tmp_path))
    runs = [row["run"] for rows in sheets.values() for row in rows]
    assert {"good1", "good2"} <= set(runs)


def test_skipped_summaries_are_named_once(tmp_path, caplog):
    RunFolder.create(tmp_path, "good", "classifier", {}).write_summary(_summary("good"))
    (RunFolder.create(tmp_path, "broken", "classifier", {}).path / "summary.json").write_text("{")
    with caplog.at_level("WARNING", logger="kerascenes"):
        update_workbook(tmp_path)
    messages = [r.getMessage() for r in caplog.records if "leaves out" in r.getMessage()]
    assert len(messages) == 1 and "broken" in messages[0]


def test_an_unreadable_workbook_is_kept_aside_not_deleted(tmp_path):
    RunFolder.create(tmp_path, "good", "classifier", {}).write_summary(_summary("good"))
    (tmp_path / "overall_results.xlsx").write_bytes(b"not a workbook")
    result, output = invoke("runs", tmp_path, "--rebuild")
    assert result.exit_code == 0, output
    assert read_workbook(tmp_path / "overall_results.xlsx")["classifiers"][0]["run"] == "good"
    (aside,) = tmp_path.glob("overall_results.unreadable-*.xlsx")
    assert aside.read_bytes() == b"not a workbook"


def test_runs_lists_every_kind_with_status(runs, tmp_path):
    result, output = invoke("runs", runs, "--json")
    assert result.exit_code == 0, output
    rows = {r["run"]: r for r in json.loads(output)}
    assert {rows[n]["kind"] for n in ("cnn", "bow", "gan")} == {"classifier", "bow", "gan"}
    assert all(rows[n]["status"] == "completed" for n in ("cnn", "bow", "gan"))
    assert rows["gan"]["metric"] == "fd" and rows["bow"]["metric"] == "val_accuracy"
    assert "cnn" in invoke("runs", runs)[1]
    one_error(*invoke("runs", tmp_path / "missing"), "does not exist")


# -- unusable output paths, damaged files: one sentence, exit 2 -----------------------------------
def test_output_paths_below_a_file_or_that_are_folders(data, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["fit", *FIT, "--data", data["train"]], ["bow", "fit", *BOW, "--data", data["train"]],
                 ["gan", "train", *GAN, "--data", data["digits"]]):
        one_error(*invoke(*args, "--logdir", blocker / "logs"), "--logdir", "is below")
    (tmp_path / "logs" / "overall_results.xlsx").mkdir(parents=True)
    one_error(*invoke("bow", "fit", *BOW, "--data", data["train"], "--logdir", tmp_path / "logs"), "is a folder")
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["overall_results.xlsx"]
    one_error(*invoke("data", "describe", data["train"], "--out", blocker / "chart.png"), "--out", "is below")


def test_damaged_saved_files_are_one_sentence_and_stay_untouched(runs, data, tmp_path):
    import shutil

    image = sorted((data["val"] / "alpha").iterdir())[0]
    cases = [("cnn", "model.keras", b"", ["evaluate", "{run}", "--data", data["val"]], "is damaged or not a Keras model"),
             ("cnn", "model.keras", b"PK\x03\x04junk", ["predict", "{run}", image], "is damaged or not a Keras model"),
             ("cnn", "config.json", b"{", ["evaluate", "{run}", "--data", data["val"]], "is damaged"),
             ("gan", "generator.keras", b"junk", ["gan", "sample", "{run}", "--out", tmp_path / "s.png"],
              "is damaged or not a Keras model"),
             ("gan", "checkpoint/dcgan.keras", b"", ["gan", "train", "--name", "{name}", "--logdir", "{logdir}",
                                                     "--resume", "--epochs", "3"], "is damaged or not a Keras model"),
             ("bow", "bow_model.npz", b"junk", ["bow", "evaluate", "{run}", "--data", data["val"]],
              "is damaged or not a kerascenes bag-of-words model")]
    for i, (kind, name, content, args, message) in enumerate(cases):
        copy = tmp_path / f"{kind}-{i}"
        shutil.copytree(runs / kind, copy)
        (copy / name).write_bytes(content)
        before = snapshot(copy)
        values = {"run": str(copy), "name": copy.name, "logdir": str(copy.parent)}
        one_error(*invoke(*[str(a).format(**values) for a in args]), message)
        assert snapshot(copy) == before, f"{kind} {name}: a failed command changed the run"


def test_a_garbage_weights_file_is_refused_before_any_work(data, tmp_path):
    weights = tmp_path / "weights.h5"
    weights.write_bytes(os.urandom(2048))
    one_error(*invoke("fit", *FIT, "--weights", weights, "--data", data["train"], "--logdir", tmp_path / "logs"),
              "not a Keras weights file")
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("make, message", [
    (lambda: np.zeros((10, 28, 27), np.uint8), "expected (n, 28, 28)"),
    (lambda: np.full((40, 28, 28), np.nan, np.float32), "NaN"),
    (lambda: np.full((40, 28, 28), 300.0), "0..255"),
], ids=["shape", "nan", "range"])
def test_bad_gan_arrays_are_refused_before_a_run_folder_exists(tmp_path, make, message):
    np.savez(tmp_path / "d.npz", x_train=make(), y_train=np.zeros(len(make()), np.int64),
             x_test=make(), y_test=np.zeros(len(make()), np.int64))
    one_error(*invoke("gan", "train", *GAN, "--data", tmp_path / "d.npz", "--logdir", tmp_path / "logs"), message)
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


# -- a failed command leaves no half-made run, and a retry gets the same name ----------------------
def test_failed_runs_leave_no_folder_and_the_name_stays_free(data, tmp_path):
    logdir = tmp_path / "logs"
    one_error(*invoke("bow", "fit", *BOW[:2], "--vocab", "100000", *BOW[4:], "--data", data["train"], "--logdir",
                      logdir, "--name", "retry"), "--vocab 100000 is larger")
    assert not (logdir / "retry").exists()
    one_error(*invoke("gan", "train", *GAN, "--data", tmp_path / "missing.npz", "--logdir", logdir, "--name", "g"),
              "does not exist")
    assert not (logdir / "g").exists()
    result, output = invoke("bow", "fit", *BOW, "--data", data["train"], "--logdir", logdir, "--name", "retry", "-q")
    assert result.exit_code == 0 and (logdir / "retry" / "summary.json").is_file(), output


def test_bow_fit_reads_every_file_validation_accepts(data, tmp_path):
    """GIF, 16-bit PNG, palette and CMYK files decode with the classifiers' decoder (OpenCV reads no GIF)."""
    import shutil

    train = tmp_path / "train"
    shutil.copytree(data["train"], train)
    for i, cls in enumerate(sorted(p.name for p in train.iterdir())):
        src = Image.open(next((train / cls).iterdir()))
        src.convert("P").save(train / cls / "palette.gif")
        Image.fromarray((np.asarray(src, np.uint16) * 257)).save(train / cls / "deep.png")
        src.convert("CMYK").save(train / cls / "cmyk.jpg")
    result, output = invoke("bow", "fit", *BOW, "--data", train, "--logdir", tmp_path / "logs", "--name", "odd", "-q")
    assert result.exit_code == 0, output
    assert json.loads((tmp_path / "logs" / "odd" / "summary.json").read_text())["metrics"]["n_train"] == 27


# -- images ---------------------------------------------------------------------------------------
def test_sixteen_bit_images_are_scaled_by_bit_depth_not_content(tmp_path):
    from kerascenes.data.images import load_gray, load_image

    for value, expected in ((200, 1), (32768, 128), (65535, 255)):
        Image.fromarray(np.full((8, 8), value, np.uint16)).save(tmp_path / "deep.png")
        assert load_image(tmp_path / "deep.png")[0, 0, 0] == expected
        assert load_gray(tmp_path / "deep.png")[0, 0] == expected


def test_large_images_decode_and_huge_ones_get_one_sentence(tmp_path, monkeypatch):
    from kerascenes.data import images

    Image.new("L", (10_000, 10_000)).save(tmp_path / "100mp.png")  # above Pillow's own 89 MP guard
    assert images.check_image(tmp_path / "100mp.png") is None
    monkeypatch.setattr(images, "MAX_MEGAPIXELS", 50)
    assert images.check_image(tmp_path / "100mp.png").startswith("too large (100 megapixels")


def test_decoder_warnings_are_collected_not_printed(tmp_path, monkeypatch, caplog, capsys):
    import warnings

    from conftest import write_image_folder
    from kerascenes.data.folders import load_image_folder

    folder = write_image_folder(tmp_path / "data", per_class=2)
    original = Image.Image.load

    def noisy_load(self):
        warnings.warn("Corrupt EXIF data", UserWarning)
        return original(self)

    monkeypatch.setattr(Image.Image, "load", noisy_load)
    with caplog.at_level("WARNING", logger="kerascenes"):
        images = load_image_folder(folder)
    assert len(images) == 6
    notes = [r.getMessage() for r in caplog.records if "decoded with warnings" in r.getMessage()]
    assert len(notes) == 1 and "Corrupt EXIF data" in notes[0]
    assert "Corrupt EXIF" not in capsys.readouterr().err


def test_random_bytes_and_images_never_escape_the_loaders(tmp_path):
    """Whatever bytes or image a file holds, both loaders answer with a skip reason or their own error."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from kerascenes.bow.images import to_gray
    from kerascenes.data.images import check_image, load_image

    modes = st.sampled_from(["L", "RGB", "RGBA", "P", "CMYK", "I;16", "I", "F", "1", "LA"])
    formats = st.sampled_from(["PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP", "PPM"])

    def expect_documented(path):
        problem = check_image(path)
        for load in (lambda: load_image(path, 16), lambda: to_gray(str(path), 64)):
            try:
                out = load()
            except KerascenesError:
                assert problem is not None
                continue
            except Exception as exc:  # noqa: BLE001
                assert problem is not None, f"{path}: {type(exc).__name__} {exc} although validation accepted it"
                continue
            assert problem is None or out is not None
            assert np.asarray(out).dtype in (np.uint8, np.float32)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=2048), st.sampled_from([".jpg", ".png", ".tif", ".gif", ".webp", ".bmp"]))
    def random_bytes(content, suffix):
        path = tmp_path / f"random{suffix}"
        path.write_bytes(content)
        expect_documented(path)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(modes, formats, st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16 - 1), st.booleans())
    def random_images(mode, fmt, w, h, seed, truncate):
        rng = np.random.default_rng(seed)
        image = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).convert(mode if mode != "I;16" else "I")
        path = tmp_path / f"image.{fmt.lower()}"
        try:
            image.save(path, format=fmt)
        except (OSError, ValueError, KeyError):
            return  # a mode this format cannot store
        if truncate:
            path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
        expect_documented(path)

    random_bytes()
    random_images()


# -- interruption and resume (real subprocesses) -----------------------------------------------------
def _wait_for_epoch(state_file: Path, epochs: int, proc, timeout: float = 240) -> None:
    start = time.time()
    while time.time() - start < timeout:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if json.loads(state_file.read_text())["epochs_done"] >= epochs:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"no checkpoint of epoch {epochs} after {timeout} s")


def _fit_command(data, logdir, name, epochs):
    return [sys.executable, "-m", "kerascenes.cli.main", "fit", *FIT, "--epochs", str(epochs), "--patience", "0",
            "--data", str(data["train"]), "--val-data", str(data["val"]), "--logdir", str(logdir), "--name", name, "-q"]


def test_a_killed_fit_resumes_from_its_last_epoch(data, tmp_path):
    logdir = tmp_path / "logs"
    command = _fit_command(data, logdir, "killed", 8)
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch(logdir / "killed" / "checkpoint" / "state.json", 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads((logdir / "killed" / "checkpoint" / "state.json").read_text())["epochs_done"]
    assert 2 <= done < 8 and not (logdir / "killed" / "summary.json").exists()
    listed = subprocess.run([sys.executable, "-m", "kerascenes.cli.main", "runs", str(logdir), "--json"], env=ENV,
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(listed)[0]["status"] == "resumable"
    resumed = subprocess.run([*command, "--resume"], env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run = logdir / "killed"
    epochs = [line.split(",")[0] for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert epochs == [str(i) for i in range(8)]  # complete, no epoch twice
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["metrics"]["epochs_run"] == 8
    assert not (run / "checkpoint").exists() and (run / "model.keras").is_file()
    assert [r["status"] for r in read_workbook(logdir / "overall_results.xlsx")["classifiers"]] == ["completed"]


def test_ctrl_c_keeps_the_best_model_marks_the_run_and_prints_the_resume_command(data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import api_pb2, metadata

    logdir = tmp_path / "logs"
    command = _fit_command(data, logdir, "stopped", 10)
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch(logdir / "stopped" / "checkpoint" / "state.json", 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stderr[-2000:]
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith("Interrupted after epoch") and "kept the best model so far" in last
    assert "Resume it with: kerascenes fit" in last and last.endswith("--name stopped --resume")
    run = logdir / "stopped"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["metrics"]["epochs_run"] >= 2
    assert (run / "model.keras").is_file() and (run / "checkpoint" / "state.json").is_file()
    assert not list(run.rglob(".tmp-*"))
    assert read_workbook(logdir / "overall_results.xlsx")["classifiers"][0]["status"] == "interrupted"
    events = EventAccumulator(str(run / "tensorboard" / "hparams"), size_guidance={"tensors": 0})
    events.Reload()
    content = events.SummaryMetadata("_hparams_/session_end_info").plugin_data.content
    assert metadata.parse_session_end_info_plugin_data(content).status == api_pb2.STATUS_FAILURE
    # the printed command resumes it to completion
    resume = shlex.split(last.split("Resume it with: ", 1)[1])
    assert resume[0] == "kerascenes"
    finished = subprocess.run([sys.executable, "-m", "kerascenes.cli.main", *resume[1:]], env=ENV,
                              capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_resume_refuses_changed_options_and_finished_runs(runs, data):
    one_error(*invoke("fit", *FIT, "--epochs", "1", "--data", data["train"], "--val-data", data["val"], "--logdir",
                      runs, "--name", "cnn", "--resume"), "already completed")
    one_error(*invoke("fit", *FIT, "--epochs", "1", "--data", data["train"], "--logdir", runs, "--name", "nope",
                      "--resume"), "does not exist")
    one_error(*invoke("fit", *FIT, "--epochs", "1", "--data", data["train"], "--resume"), "--resume needs --name")


def test_an_interrupted_gan_run_is_marked_and_resumes(data, tmp_path, monkeypatch):
    import kerascenes.gan.session as session
    from kerascenes.gan.train import train_session

    def one_epoch_then_ctrl_c(run_session, images, verbose, **kwargs):
        train_session(run_session, images, verbose)
        raise KeyboardInterrupt

    monkeypatch.setitem(session.TRAINERS, "tf", f"{__name__}:_stub")
    monkeypatch.setattr(sys.modules[__name__], "_stub", one_epoch_then_ctrl_c, raising=False)
    logdir = tmp_path / "logs"
    result, output = invoke("gan", "train", *GAN, "--data", data["digits"], "--logdir", logdir, "--name", "g", "-q")
    assert result.exit_code == 130, output
    assert "kept the checkpoint of epoch 1" in output and "--name g --resume" in output
    assert json.loads((logdir / "g" / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.setitem(session.TRAINERS, "tf", "kerascenes.gan.train:train_session")
    result, output = invoke("gan", "train", *GAN, "--epochs", "2", "--data", data["digits"], "--logdir", logdir,
                            "--name", "g", "--resume", "-q")
    assert result.exit_code == 0, output
    assert json.loads((logdir / "g" / "summary.json").read_text())["status"] == "completed"


def test_a_gan_interrupted_before_its_first_epoch_leaves_nothing(data, tmp_path, monkeypatch):
    import kerascenes.gan.session as session

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(session.TRAINERS, "tf", f"{__name__}:_stub")
    monkeypatch.setattr(sys.modules[__name__], "_stub", ctrl_c, raising=False)
    result, output = invoke("gan", "train", *GAN, "--data", data["digits"], "--logdir", tmp_path, "--name", "g")
    assert result.exit_code == 130 and "nothing was kept" in output
    assert not (tmp_path / "g").exists()


def test_bow_resume_reuses_the_learned_vocabulary(data, tmp_path, monkeypatch):
    import kerascenes.bow.runner as runner
    import kerascenes.bow.transformer as transformer

    real = runner._fit_classifier

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_fit_classifier", ctrl_c)
    logdir = tmp_path / "logs"
    args = ["bow", "fit", *BOW, "--data", data["train"], "--val-data", data["val"], "--logdir", logdir, "--name", "b",
            "-q"]
    result, output = invoke(*args)
    assert result.exit_code == 130 and "kept it in" in output and "--name b --resume" in output, output
    assert (logdir / "b" / "checkpoint" / "vocabulary.npz").is_file()
    assert json.loads((logdir / "b" / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(runner, "_fit_classifier", real)
    monkeypatch.setattr(transformer, "fit_kmeans", lambda *a, **k: pytest.fail("the vocabulary was learned again"))
    result, output = invoke(*args, "--resume")
    assert result.exit_code == 0, output
    assert json.loads((logdir / "b" / "summary.json").read_text())["status"] == "completed"
    assert not (logdir / "b" / "checkpoint" / "vocabulary.npz").exists()


# -- a full disk: one sentence, no half-made run, earlier runs untouched ------------------------
@pytest.mark.parametrize("command", ["fit", "bow", "gan", "predict"])
def test_a_disk_that_fills_up_gives_one_sentence_and_leaves_earlier_runs_intact(runs, data, command, monkeypatch):
    import errno

    logdir = runs
    kept = {k: v for k, v in snapshot(logdir).items() if not k.startswith(".")}

    def full(target, *args, **kwargs):
        if hasattr(target, "write"):
            target.write(b"\x93NUMPY half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    monkeypatch.setattr(np, "savez", full)
    args = {"fit": ["fit", *FIT, "--epochs", "2", "--data", data["train"], "--val-data", data["val"]],
            "bow": ["bow", "fit", *BOW, "--data", data["train"], "--val-data", data["val"], "--no-cache-descriptors"],
            "gan": ["gan", "train", *GAN, "--data", data["digits"]],
            "predict": ["predict", logdir / "cnn", data["train"], "--out", logdir / "predictions.csv"]}[command]
    if command != "predict":
        args += ["--logdir", logdir, "--name", "full", "--quiet"]
    else:
        monkeypatch.setattr("kerascenes.reports.write_csv", full)
    one_error(*invoke(*args), "No space left on device", "free some space")
    assert not (logdir / "full").exists() and not (logdir / "predictions.csv").exists()
    assert {k: v for k, v in snapshot(logdir).items() if not k.startswith(".")} == kept
    assert not list(logdir.rglob(".tmp-*"))


def test_a_fit_that_fails_after_its_first_checkpoint_keeps_only_whole_epochs(data, tmp_path, monkeypatch):
    import errno

    real = np.savez

    def full_at_epoch_two(target, *args, **kwargs):
        if "epoch-002" in str(getattr(target, "name", target)) and "optimizer" in str(getattr(target, "name", target)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(np, "savez", full_at_epoch_two)
    logdir = tmp_path / "logs"
    args = ["fit", *FIT, "--epochs", "3", "--patience", "0", "--data", data["train"], "--val-data", data["val"],
            "--logdir", logdir, "--name", "full", "--quiet"]
    one_error(*invoke(*args), "No space left on device", "free some space")
    checkpoint = logdir / "full" / "checkpoint"
    # the run can be resumed from epoch 1; the epoch whose checkpoint failed half-way is gone
    assert sorted(p.name for p in checkpoint.iterdir()) == ["epoch-001", "state.json"]
    assert not list(logdir.rglob(".tmp-*"))
    monkeypatch.undo()
    result, output = invoke(*args[:-1], "--resume", "--quiet")
    assert result.exit_code == 0, output
    assert json.loads((logdir / "full" / "summary.json").read_text())["status"] == "completed"


def test_storage_errors_name_the_file_and_the_fix():
    import errno

    from kerascenes.cli.main import storage_error

    assert storage_error(OSError(errno.EROFS, "Read-only file system", "/mnt/logs/x")) == \
        "Read-only file system (/mnt/logs/x): pass --logdir (or --out) on a writable disk."
    assert "permissions" in storage_error(PermissionError(errno.EACCES, "Permission denied", "/logs"))


def test_a_file_that_may_not_be_read_is_told_apart_from_a_folder_that_may_not_be_written(tmp_path, monkeypatch):
    import errno

    from kerascenes.cli.main import storage_error

    image = tmp_path / "a.png"
    image.write_bytes(b"x")
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != image)  # root may read anything
    assert storage_error(PermissionError(errno.EACCES, "Permission denied", str(image))) == \
        f"Permission denied ({image}): make it readable (chmod u+r; u+rx for a folder) or pass another path."
    assert "--logdir" in storage_error(PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "new.csv")))
    assert storage_error(OSError(errno.EIO, "Input/output error")) is None  # not a storage fault a user can fix
