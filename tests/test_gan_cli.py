"""`kerascenes gan train|sample|evaluate` on tiny synthetic data: run folder, workbook row, resume, errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.runs import RunFolder
from kerascenes.workbook import read_workbook
from conftest import write_tiny_digits


def _tiny_digits(path, n=160):
    return write_tiny_digits(path, n)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    data = _tiny_digits(root / "tiny.npz")
    logdir = root / "logs"
    args = ["gan", "train", "--dataset", "mnist", "--data", str(data), "--epochs", "1", "--batch-size", "64",
            "--latent-dim", "24", "--eval-samples", "200", "--name", "tiny", "--logdir", str(logdir), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return logdir / "tiny", data, logdir, result.output


def test_train_writes_the_run_folder(trained):
    run_dir, _, logdir, output = trained
    for name in ["config.json", "fixed_noise.npy", "samples/epoch_001.png", "history.csv", "losses.png",
                 "generator.keras", "discriminator.keras", "checkpoint/dcgan.keras", "checkpoint/state.json",
                 "evaluation.json", "class_histogram.png", "summary.json"]:
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tensorboard").glob("events.out.tfevents*"))
    summary = RunFolder.open(run_dir).read_summary()
    assert summary["kind"] == "gan" and summary["hparams"]["latent_dim"] == 24
    assert summary["hparams"]["codes"] == 20  # the cpu default's InfoGAN code: one grid row per value
    assert np.load(run_dir / "fixed_noise.npy").shape == (20 * 8, 24)
    from kerascenes.gan import layout

    assert np.isfinite(layout.read_history(RunFolder.open(run_dir))[0]["info_loss"])
    assert np.isfinite(summary["metrics"]["g_loss"]) and summary["metrics"]["fd"] > 0
    rows = read_workbook(logdir / "overall_results.xlsx")
    assert any(row.get("run") == "tiny" for row in rows["gan"])
    assert "FD" in output and str(run_dir) in output
    from kerascenes.gan import layout

    first = layout.read_history(RunFolder.open(run_dir))[0]  # per-epoch scores of 2000 samples
    assert first["fd_quick"] > 0 and 0 <= first["confident_share_quick"] <= 1


def test_tensorboard_has_scalars_and_grid(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained[0] / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    assert {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "samples"} <= tags


def test_sample_png_and_npy(trained, tmp_path):
    run_dir = trained[0]
    runner = CliRunner()
    result = runner.invoke(cli, ["gan", "sample", str(run_dir), "--n", "10", "--out", str(tmp_path / "s.npy"), "--seed", "4"])
    assert result.exit_code == 0, result.output
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (10, 28, 28) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    result = runner.invoke(cli, ["gan", "sample", str(run_dir), "--n", "9", "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 0 and (tmp_path / "g.png").stat().st_size > 1000
    result = runner.invoke(cli, ["gan", "sample", str(run_dir), "--out", str(tmp_path / "g.jpg")])
    assert result.exit_code == 2 and ".png" in result.output


def test_a_fresh_process_loads_the_generator_with_its_code_layer(trained, tmp_path):
    import subprocess
    import sys

    run_dir = trained[0]
    out = tmp_path / "fresh.npy"
    subprocess.run([sys.executable, "-m", "kerascenes.cli.main", "gan", "sample", str(run_dir), "--n", "4",
                    "--out", str(out)], check=True, capture_output=True)
    assert np.load(out).shape == (4, 28, 28)


def test_evaluate_json(trained):
    result = CliRunner().invoke(cli, ["gan", "evaluate", str(trained[0]), "--n", "150", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["n_samples"] == 150 and {"fd", "kid", "confident_share", "real_fd"} <= set(scores)
    text = CliRunner().invoke(cli, ["gan", "evaluate", str(trained[0]), "--n", "100"]).output
    assert "real-vs-real" in text


def test_resume_continues_from_last_epoch(trained):
    run_dir, data, logdir, _ = trained
    result = CliRunner().invoke(cli, ["gan", "train", "--data", str(data), "--epochs", "2", "--name", "tiny",
                                      "--logdir", str(logdir), "--resume", "--quiet", "--eval-samples", "100"])
    assert result.exit_code == 0, result.output
    history = (run_dir / "history.csv").read_text().strip().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2"]
    assert (run_dir / "samples/epoch_002.png").is_file()
    assert json.loads((run_dir / "checkpoint/state.json").read_text())["epoch"] == 2
    assert RunFolder.open(run_dir).read_config()["latent_dim"] == 24  # the saved settings win
    again = CliRunner().invoke(cli, ["gan", "train", "--data", str(data), "--epochs", "2", "--name", "tiny",
                                     "--logdir", str(logdir), "--resume"])
    assert again.exit_code == 2 and "already trained 2 of 2" in again.output
    changed = CliRunner().invoke(cli, ["gan", "train", "--data", str(data), "--epochs", "3", "--name", "tiny",
                                       "--logdir", str(logdir), "--resume", "--latent-dim", "32"])
    assert changed.exit_code == 2 and "--latent-dim 32 differs from the run's 24" in changed.output


def test_user_errors_exit_2(tmp_path, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(cli, ["gan", "train", "--resume", "--logdir", str(tmp_path)])
    assert result.exit_code == 2 and "No unfinished" in result.output
    result = runner.invoke(cli, ["gan", "evaluate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(cli, ["gan", "train", "--latent-dim", "6", "--logdir", str(tmp_path)])
    assert result.exit_code == 2 and "--codes 20 (the default of architecture cpu on mnist)" in result.output
    assert "noise vector of 6 values" in result.output  # the given --latent-dim, not the architecture's
    for bad, said in ((["--seed", "-1"], "--seed must be between 0 and"), (["--lr", "inf"], "finite number"),
                      (["--latent-dim", "100000"], "--latent-dim must be between 1 and")):
        result = runner.invoke(cli, ["gan", "train", *bad, "--logdir", str(tmp_path)])
        assert result.exit_code == 2 and said in result.output, result.output
    result = runner.invoke(cli, ["gan", "sample", str(tmp_path / "nope"), "--n", "100000000", "--out", "x.npy"])
    assert result.exit_code == 2 and "--n must be between 1 and 100,000" in result.output
    assert not list(tmp_path.iterdir())  # nothing written for a rejected setting
    import kerascenes.gan.session as session

    monkeypatch.setitem(session.TRAINERS, "torch", "kerascenes.torch_gan_missing_for_test:train_session")
    result = runner.invoke(cli, ["gan", "train", "--framework", "torch", "--logdir", str(tmp_path)])
    assert result.exit_code == 2 and "pip install kerascenes[torch]" in result.output


def test_help_lists_commands_without_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from kerascenes.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['gan', 'train', '--help']); print(r.exit_code, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False"]


def test_time_budget_ends_training_early(tmp_path):
    from kerascenes.gan import GanConfig, train_gan

    images = np.load(_tiny_digits(tmp_path / "tiny.npz"))["x_train"]
    config = GanConfig(epochs=3, batch_size=16, latent_dim=24, logdir=str(tmp_path / "logs"), name="budget",
                       eval_samples=100, max_minutes=1e-6)
    result = train_gan(config, verbose=0, images=images)
    run, summary = result.run, result.summary
    assert summary["metrics"]["epochs_done"] == 1 and summary["hparams"]["epochs"] == 3
    assert summary["hparams"]["max_minutes"] == 1e-6
    assert json.loads((run.path / "checkpoint/state.json").read_text())["epoch"] == 1
    assert not (run.path / "samples/epoch_002.png").exists()
