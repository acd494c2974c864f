"""ViTs that learn on a CPU: cached ViT features from a local preset, the hybrid ViT on a CNN stem, distillation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.vit.family import register_vit_config
from kerascenes.vit.presets import ViTConfig

TINY = ViTConfig(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, dropout_rate=0.0)
register_vit_config("vit_cpu_test", TINY, "tiny ViT for tests")
COMMON = ["--epochs", "2", "--batch-size", "8", "--patience", "2", "-q"]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result, result.output


def options(run) -> dict:
    return json.loads((run / "config.json").read_text())["options"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from conftest import write_image_folder

    root = tmp_path_factory.mktemp("vitcpu")
    return (write_image_folder(root / "train", per_class=8, seed=0), write_image_folder(root / "val", per_class=4, seed=1),
            root)


@pytest.fixture(scope="module")
def stem_weights(data):
    from kerascenes.backbones import build_backbone

    path = data[2] / "mobilenet_0.25_no_top.weights.h5"
    build_backbone("MobileNet", "none", 64, 0.25).save_weights(str(path))
    return path


def test_a_local_vit_preset_trains_on_cached_features_then_fine_tunes(data, tmp_path):
    import keras
    import keras_hub

    train, val, _ = data
    keras.utils.set_random_seed(1)
    preset = tmp_path / "preset"
    keras_hub.models.ViTBackbone(**TINY.backbone_kwargs()).save_to_preset(str(preset))
    result, output = invoke("fit", "--backbone", preset, "--data", train, "--val-data", val, "--logdir",
                            tmp_path / "logs", "--name", "cached", "--fine-tune", "1", "--fine-tune-epochs", "1", *COMMON)
    assert result.exit_code == 0, output
    run = tmp_path / "logs" / "cached"
    config, summary = options(run), json.loads((run / "summary.json").read_text())
    assert config["cache_features"] is True and config["tta"] == "none" and config["image_size"] == 32
    assert summary["metrics"]["feature_cache_bytes"] == (2 * 24 + 12) * 32 * 4  # one class token per image (and mirror)
    assert summary["metrics"]["epochs_run"] == 3  # 2 on cached features, 1 fine-tuning on images
    result, output = invoke("evaluate", run, "--data", val, "--json")
    assert result.exit_code == 0, output
    assert json.loads(output)["accuracy"] == pytest.approx(summary["metrics"]["val_accuracy"], abs=1e-4)


def test_the_hybrid_vit_trains_on_cached_stem_feature_maps(data, stem_weights, tmp_path):
    train, val, _ = data
    result, output = invoke("fit", "--backbone", "vit_hybrid", "--stem", "MobileNet", "--alpha", "0.25", "--weights",
                            stem_weights, "--image-size", "64", "--data", train, "--val-data", val, "--logdir",
                            tmp_path / "logs", "--name", "hybrid", *COMMON)
    assert result.exit_code == 0, output
    run = tmp_path / "logs" / "hybrid"
    config, summary = options(run), json.loads((run / "summary.json").read_text())
    assert config["stem"] == "MobileNet" and config["cache_features"] is True and config["tta"] == "flip"
    # cached: the stem's 2x2x256 feature map of each image, not a pooled vector
    assert summary["metrics"]["feature_cache_bytes"] == (2 * 24 + 12) * 2 * 2 * 256 * 4  # training images: + mirrors
    assert summary["metrics"]["trainable_params"] < summary["metrics"]["params"]  # the stem stayed frozen
    image = sorted((val / "beta").iterdir())[0]
    result, output = invoke("predict", run, image, "--json")
    assert result.exit_code == 0 and len(json.loads(output)[0]["top"]) == 3, output
    # a normal run: it exports (checked inside export against model.keras) ...
    result, output = invoke("export", run, "--format", "tflite", "--out", tmp_path / "hybrid.tflite")
    assert result.exit_code == 0 and (tmp_path / "hybrid.tflite").stat().st_size > 0, output


def test_the_hybrid_vit_fine_tunes_its_stem_on_images(data, stem_weights, tmp_path):
    train, val, _ = data
    result, output = invoke("fit", "--backbone", "vit_hybrid", "--stem", "MobileNet", "--alpha", "0.25", "--weights",
                            stem_weights, "--image-size", "64", "--data", train, "--val-data", val, "--logdir",
                            tmp_path / "logs", "--name", "tuned", "--fine-tune", "4", "--fine-tune-epochs", "1",
                            *COMMON)
    assert result.exit_code == 0, output
    summary = json.loads((tmp_path / "logs" / "tuned" / "summary.json").read_text())
    # 2 frozen epochs on cached feature maps, then 1 epoch on images with the stem's last layers open
    assert summary["metrics"]["epochs_run"] == 3, summary["metrics"]


def test_token_grid_dropout_keeps_a_random_window_subset_in_training_only(tmp_path):
    import keras

    from kerascenes.vit.hybrid import token_grid_dropout_layer

    layer = token_grid_dropout_layer()((9, 9), crop=7 / 9, keep=0.5, seed=0)
    assert layer.sizes() == (7, 7, 24)
    tokens = np.tile(np.arange(82, dtype="float32")[None, :, None], (16, 1, 2))  # token i holds the number i
    kept = np.asarray(layer(tokens, training=True))[..., 0].astype(int)
    assert kept.shape == (16, 25) and (kept[:, 0] == 0).all()  # the class token, then 24 cell tokens
    for row in kept[:, 1:]:
        assert len(set(row)) == 24
        r, c = (row - 1) // 9, (row - 1) % 9
        assert r.max() - r.min() < 7 and c.max() - c.min() < 7  # all inside one 7 x 7 window
    assert len({tuple(sorted(row)) for row in kept}) == 16  # each image its own window and subset
    np.testing.assert_array_equal(np.asarray(layer(tokens)), tokens)  # inference: every token
    model = keras.Sequential([keras.Input((82, 2)), layer])
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").layers[0].sizes() == (7, 7, 24)


def test_hybrid_options_are_checked_before_any_image_is_read(tmp_path):
    missing = tmp_path / "missing"
    for args, message in ((["--backbone", "vit_hybrid"], "needs --stem"),
                          (["--backbone", "vit_hybrid", "--stem", "vit_tiny"], "is a keras_hub backbone"),
                          (["--backbone", "vit_hybrid", "--stem", "VGG16", "--alpha", "0.5"], "--alpha applies only"),
                          (["--backbone", "MobileNetV2", "--stem", "MobileNet"], "--stem applies only")):
        result, output = invoke("fit", *args, "--data", missing)
        assert result.exit_code == 2 and message in output, (args, output)


def test_a_student_learns_from_a_teacher_run(data, tmp_path):
    train, val, _ = data
    logdir = tmp_path / "logs"
    result, output = invoke("fit", "--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size",
                            "32", "--dense", "16", "--data", train, "--val-data", val, "--logdir", logdir, "--name",
                            "teacher", *COMMON)
    assert result.exit_code == 0, output
    result, output = invoke("fit", "--backbone", "vit_cpu_test", "--teacher", logdir / "teacher", "--data", train,
                            "--val-data", val, "--logdir", logdir, "--name", "student", *COMMON)
    assert result.exit_code == 0, output
    student = logdir / "student"
    assert options(student)["teacher"] == str(logdir / "teacher") and options(student)["cache_features"] is False
    history = (student / "history.csv").read_text().splitlines()
    assert len(history) == 3 and "val_loss" in history[0]
    # the saved model is the student alone: an ordinary ViT run that evaluates
    result, output = invoke("evaluate", student, "--data", val, "--json")
    assert result.exit_code == 0, output
    result, output = invoke("fit", "--backbone", "vit_cpu_test", "--teacher", logdir / "teacher", "--cache-features",
                            "--data", train, "--logdir", logdir)
    assert result.exit_code == 2 and "--teacher needs the augmented images" in output


def test_the_distillation_loss_mixes_labels_and_soft_targets():
    import keras

    from kerascenes.classify.distill import Distiller

    keras.utils.set_random_seed(0)
    inputs = keras.Input((2, 2, 3))
    student = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    fixed = np.array([0.7, 0.2, 0.1], np.float32)

    class Teacher(keras.Model):
        def call(self, x, training=False):
            return keras.ops.tile(keras.ops.convert_to_tensor(fixed[None]), [keras.ops.shape(x)[0], 1])

    images = np.random.default_rng(0).uniform(0, 0.5, (4, 2, 2, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    alpha, t = 0.5, 2.0
    loss, predicted = Distiller(student, Teacher(), teacher_size=2, alpha=alpha, temperature=t)._distill_losses(
        images, labels, training=False)
    p = np.asarray(student(images))

    def tempered(q):
        q = np.exp(np.log(q) / t)
        return q / q.sum(axis=1, keepdims=True)

    soft, mine = tempered(np.tile(fixed, (4, 1))), tempered(p)
    hard = -np.log(p[np.arange(4), labels])
    kl = np.sum(soft * np.log(soft / mine), axis=1)
    assert float(loss) == pytest.approx(float(np.mean((1 - alpha) * hard + alpha * t * t * kl)), rel=1e-4)
