"""PyTorch DCGAN: training step, run folders in the TF layout, resume, sampling through the shared API."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kerascenes.gan import layout  # noqa: E402
from kerascenes.runs import RunFolder  # noqa: E402
from kerascenes.torch_gan.dcgan import TorchDCGAN  # noqa: E402
from kerascenes.gan import GanConfig  # noqa: E402
from kerascenes.gan import train_gan as _train_gan  # noqa: E402
from kerascenes.torch_gan.train import epoch_batches  # noqa: E402


def train_gan(resume=False, verbose=0, images=None, device="cpu", **options):
    """Train a torch run through the shared entry point: ``(run, summary)``."""
    result = _train_gan(GanConfig(framework="torch", **options), resume=resume, verbose=verbose, images=images,
                        device=device)
    return result.run, result.summary

# two epochs on 96 bars collapse by design; the scores on so few samples are singular
pytestmark = [pytest.mark.filterwarnings("ignore:Matrix is singular")]


def digit_like_images(n: int = 96, seed: int = 0) -> np.ndarray:
    """Bright strokes (a bar at a random angle) on black, uint8 (n, 28, 28)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    angles = rng.uniform(0, np.pi, n)[:, None, None]
    distance = np.abs(xx * np.sin(angles) - yy * np.cos(angles))
    images = np.where((distance < 2.0) & (np.hypot(xx, yy) < 10), 255, 0) + rng.normal(0, 10, (n, 28, 28))
    return np.clip(images, 0, 255).astype(np.uint8)


def test_train_step_updates_both_networks_and_reports_metrics():
    gan = TorchDCGAN("cpu", seed=0)
    before_g = [p.detach().clone() for p in gan.generator.parameters()]
    before_d = [p.detach().clone() for p in gan.discriminator.parameters()]
    real = torch.from_numpy((digit_like_images(16).astype(np.float32)[:, None] - 127.5) / 127.5)
    metrics = gan.train_step(real)
    assert set(metrics) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "info_loss"}  # cpu has a code
    values = {k: float(v) for k, v in metrics.items()}
    assert all(np.isfinite(v) for v in values.values())
    assert values["g_loss"] > 0 and values["d_loss"] > 0
    assert 0.0 <= values["d_acc_real"] <= 1.0 and 0.0 <= values["d_acc_fake"] <= 1.0
    assert all(not torch.equal(a, b) for a, b in zip(before_g, gan.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(before_d, gan.discriminator.parameters()))
    # the same simultaneous step as the TF tutorial: d_loss is BCE(real->1) + BCE(fake->0) at log(2) each initially
    assert values["d_loss"] == pytest.approx(2 * np.log(2), abs=0.3)
    assert gan.generate(gan.noise(3)).shape == (3, 1, 28, 28)


def test_epoch_batches_depend_on_seed_and_epoch_only():
    a = epoch_batches(100, 32, seed=1, epoch=2)
    assert a.shape == (3, 32) and len(np.unique(a)) == 96
    np.testing.assert_array_equal(a, epoch_batches(100, 32, seed=1, epoch=2))
    assert not np.array_equal(a, epoch_batches(100, 32, seed=1, epoch=3))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("logs")
    run, summary = train_gan(arch="cpu", epochs=2, batch_size=32, logdir=str(logdir), name="straight",
                             seed=4, eval_samples=60, images=digit_like_images())
    return run, summary


def test_run_folder_has_the_shared_layout(trained_run):
    run, summary = trained_run
    config = run.read_config()
    assert config["framework"] == "torch" and config["arch"] == "cpu" and config["batch_size"] == 32
    for name in ("samples/epoch_001.png", "samples/epoch_002.png", layout.HISTORY_CSV, layout.LOSSES_PNG,
                 layout.FIXED_NOISE_FILE, layout.STATE_FILE, "checkpoint/dcgan.pt", "generator.pt",
                 "discriminator.pt", layout.EVALUATION_FILE, "summary.json"):
        assert (run.path / name).is_file(), name
    with open(run.path / layout.HISTORY_CSV) as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(float(r["images_per_second"]) > 0 and float(r["sample_diversity"]) > 0 for r in rows)
    assert json.loads((run.path / layout.STATE_FILE).read_text())["epoch"] == 2
    assert summary["kind"] == "gan" and summary["hparams"]["framework"] == "torch"
    m = summary["metrics"]
    assert np.isfinite(m["fd"]) and np.isfinite(m["kid"]) and 0.0 <= m["confident_share"] <= 1.0
    assert m["seconds_per_epoch"] > 0 and m["images_per_second"] > 0
    assert (run.logdir / "overall_results.xlsx").is_file()


def test_tensorboard_uses_the_tf_tags(trained_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, _ = trained_run
    events = EventAccumulator(str(run.tensorboard_dir)).Reload()
    tags = events.Tags()
    assert set(layout.SCALAR_TAGS) <= set(tags["scalars"])
    assert tags["images"] == [layout.IMAGE_TAG]
    assert [e.step for e in events.Scalars("g_loss")] == [1, 2]


def test_resume_continues_exactly_where_it_stopped(trained_run):
    run, _ = trained_run
    logdir = run.logdir
    common = dict(arch="cpu", batch_size=32, logdir=str(logdir), seed=4, eval_samples=60, images=digit_like_images())
    train_gan(epochs=1, name="interrupted", **common)
    resumed, summary = train_gan(epochs=2, name="interrupted", resume=True, **common)
    assert resumed.path == logdir / "interrupted"
    assert [row["epoch"] for row in layout.read_history(resumed)] == [1, 2]
    a = torch.load(run.path / "generator.pt", weights_only=True)["state_dict"]
    b = torch.load(resumed.path / "generator.pt", weights_only=True)["state_dict"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="--epochs"):
        train_gan(epochs=2, name="interrupted", resume=True, **common)


def test_shared_sampling_dispatches_to_torch(trained_run, tmp_path):
    from kerascenes.gan.evaluate import generate_from_run
    from kerascenes.torch_gan.evaluate import load_generator

    run, _ = trained_run
    images = generate_from_run(run.path, n=5, seed=7)
    assert images.shape == (5, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    noise = np.random.default_rng(7).standard_normal((5, 64)).astype(np.float32)
    with torch.no_grad():
        direct = load_generator(run.path)(torch.from_numpy(noise))[:, 0].numpy()
    np.testing.assert_allclose(images, np.clip((direct + 1) / 2, 0, 1), atol=1e-6)
    np.testing.assert_array_equal(images, generate_from_run(run.path, n=5, seed=7))


def test_unfinished_run_samples_from_its_checkpoint(trained_run, tmp_path):
    import shutil

    from kerascenes.gan.evaluate import generate_from_run

    run, _ = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(run.path, copy)
    (copy / "generator.pt").unlink()
    np.testing.assert_allclose(generate_from_run(copy, n=4, seed=1), generate_from_run(run.path, n=4, seed=1))
    (copy / "checkpoint" / "dcgan.pt").unlink()
    with pytest.raises(ValueError, match="train at least one epoch"):
        generate_from_run(RunFolder(copy).path, n=4)


def test_openmp_threads_sleep_while_waiting_by_default():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, kerascenes.torch_gan; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "PASSIVE"


def test_weight_averaged_generator_follows_the_keras_rule():
    gan = TorchDCGAN("cpu", seed=0)
    assert gan.architecture.ema_decay > 0 and gan.sampler is gan.generator_ema
    initial = gan.generator[1].weight.detach().clone()
    real = torch.from_numpy((digit_like_images(16).astype(np.float32)[:, None] - 127.5) / 127.5)
    gan.train_step(real)
    # first step: t = 0, decay = min(ema_decay, 1 / 10)
    expected = 0.1 * initial + 0.9 * gan.generator[1].weight.detach()
    torch.testing.assert_close(gan.generator_ema[1].weight, expected)
    torch.testing.assert_close(gan.generator_ema[2].running_mean, 0.9 * gan.generator[2].running_mean)
    assert TorchDCGAN("tutorial", seed=0).sampler is not None and TorchDCGAN("tutorial").generator_ema is None


def test_time_budget_ends_the_epoch_and_the_run(tmp_path):
    run, summary = train_gan(arch="cpu", epochs=3, batch_size=16, logdir=str(tmp_path), name="budget",
                             eval_samples=40, images=digit_like_images(), max_minutes=1e-6)
    history = layout.read_history(run)
    assert [row["epoch"] for row in history] == [1]
    assert history[0]["images_per_second"] > 0 and history[0]["fd_quick"] > 0
    assert run.read_config()["max_minutes"] == 1e-6 and (run.path / "generator.pt").is_file()


def test_label_smoothing_matches_the_keras_twin(constant_logit_loss):
    from kerascenes.gan.architectures import get_architecture

    gan = TorchDCGAN(get_architecture("cpu").replace(label_smoothing=0.2, latent_dim=24), seed=4)
    last = [m for m in gan.discriminator.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(1.0)  # every logit is 1
    real = torch.from_numpy((digit_like_images(16).astype(np.float32)[:, None] - 127.5) / 127.5)
    metrics = gan.train_step(real)
    assert float(metrics["d_loss"]) == pytest.approx(constant_logit_loss(0.2), rel=1e-5)


def test_a_checkpoint_write_stopped_half_way_keeps_the_previous_one(tmp_path, monkeypatch):
    from kerascenes.torch_gan import train as torch_train
    from kerascenes.torch_gan.train import CHECKPOINT_FILE, load_checkpoint, save_checkpoint

    run = RunFolder.create(tmp_path, "r", "gan", {})
    gan = TorchDCGAN("cpu", seed=0)
    save_checkpoint(run, gan, 1, 1.0, 0)
    before = (run.path / CHECKPOINT_FILE).read_bytes()
    real_save = torch.save

    def ctrl_c_half_way(obj, path):
        real_save(obj, path)
        with open(path, "r+b") as fh:
            fh.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch_train.torch, "save", ctrl_c_half_way)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(run, gan, 2, 2.0, 0)
    monkeypatch.undo()
    checkpoint = run.path / CHECKPOINT_FILE
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["dcgan.pt", "state.json"]
    assert load_checkpoint(run, gan)["epoch"] == 1
