"""ViT classifiers through KerasHub: registry, training, run folder, reload, presets, CLI.

Tiny ViTs (32x32 images, patch 8, 2 blocks) on synthetic folders; no network: preset
folders are written here with ``save_to_preset`` and downloads are simulated to fail.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.backbones import describe_backbones, get_backbone
from kerascenes.classify.config import FitConfig
from kerascenes.errors import KerascenesError
from kerascenes.vit.family import register_vit_config
from kerascenes.vit.presets import KERAS_HUB_PRESETS, SCRATCH_CONFIGS, ViTConfig

TINY = ViTConfig(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, dropout_rate=0.0)
register_vit_config("vit_test32", TINY, "tiny ViT for tests")

RUN_FILES = {"config.json", "model.keras", "history.csv", "curves.png", "summary.json", "confusion_matrix.csv",
             "confusion_matrix.png", "per_class.csv", "predictions.csv", "mistakes.png"}


def _fit(train, val, logdir, **overrides):
    from kerascenes.classify.train import fit_classifier

    options = dict(data=str(train), val_data=str(val), backbone="vit_test32", epochs=4, batch_size=8, lr=2e-3,
                   patience=3, dense=(16,), dropout=0.1, augment="default", logdir=str(logdir), seed=7)
    return fit_classifier(FitConfig(**(options | overrides)), verbose=0)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from conftest import write_image_folder

    root = tmp_path_factory.mktemp("vitdata")
    return write_image_folder(root / "train", per_class=12, seed=0), write_image_folder(root / "val", per_class=5, seed=1)


@pytest.fixture(scope="module")
def vit_run(folders, tmp_path_factory):
    train, val = folders
    return _fit(train, val, tmp_path_factory.mktemp("vitlogs"))


@pytest.fixture(scope="module")
def backbone_preset(tmp_path_factory):
    """A ViTBackbone preset folder (32x32, patch 8, 2 blocks) with known random weights."""
    import keras
    import keras_hub

    keras.utils.set_random_seed(3)
    backbone = keras_hub.models.ViTBackbone(**TINY.backbone_kwargs())
    path = tmp_path_factory.mktemp("presets") / "tiny_vit"
    backbone.save_to_preset(str(path))
    return path, [w.numpy() for w in backbone.weights]


# -- registry --------------------------------------------------------------------------------
def test_registered_presets_are_keras_hub_vit_presets():
    from keras_hub.src.models.vit.vit_presets import backbone_presets

    assert set(KERAS_HUB_PRESETS) <= set(backbone_presets)  # the 11 presets of KerasHub 0.32
    assert len(KERAS_HUB_PRESETS) == 11
    for name, (size, patch, params, _) in KERAS_HUB_PRESETS.items():
        assert backbone_presets[name]["metadata"]["params"] == params
        assert f"patch{patch}_{size}" in name
        spec = get_backbone(name)
        assert (spec.family, spec.default_size, spec.min_size, spec.pretrained) == ("keras_hub", size, patch, True)


@pytest.mark.parametrize("config", [TINY, SCRATCH_CONFIGS["vit_tiny"]], ids=["tiny32", "vit_tiny"])
def test_scratch_config_params_match_keras_hub(config):
    import keras_hub

    backbone = keras_hub.models.ViTBackbone(**config.backbone_kwargs())
    assert backbone.count_params() == config.params()


def test_scratch_configs_are_listed_without_pretrained_weights():
    rows = {r["name"]: r for r in describe_backbones()}
    tiny = rows["vit_tiny"]
    assert tiny["family"] == "keras_hub" and tiny["default_size"] == 224 and tiny["min_size"] == 16
    assert 2_000_000 < tiny["params"] < 4_000_000 and "from scratch" in tiny["description"]
    assert "vit_small" in rows and "vit_base_patch16_224_imagenet" in rows and "MobileNetV2" in rows
    assert not get_backbone("vit_tiny").pretrained
    # --weights imagenet means random initialisation for a from-scratch config, and stays so for CNNs
    from kerascenes.backbones import resolve_weights

    assert resolve_weights("imagenet", get_backbone("vit_tiny")) == "none"
    assert resolve_weights("imagenet", get_backbone("MobileNetV2")) == "imagenet"


def test_backbones_command_lists_vit():
    from kerascenes.cli.main import cli

    result = CliRunner().invoke(cli, ["backbones", "vit_*"])
    assert result.exit_code == 0, result.output
    assert "vit_tiny" in result.output and "vit_large_patch16_384_imagenet" in result.output
    assert "MobileNet" not in result.output


def test_folder_that_is_not_a_vit_preset_is_refused(tmp_path):
    with pytest.raises(KerascenesError, match="not a KerasHub preset"):
        get_backbone(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"class_name": "ResNetBackbone", "config": {}}))
    with pytest.raises(KerascenesError, match="ResNetBackbone preset"):
        get_backbone(str(tmp_path))


# -- training, run folder, reload ------------------------------------------------------------
def test_tiny_vit_trains_and_writes_the_cnn_run_layout(vit_run):
    run = vit_run.run
    assert RUN_FILES <= {p.name for p in run.path.iterdir()}
    assert any(run.tensorboard_dir.rglob("events.out.tfevents*"))
    config = run.read_config()
    assert config["family"] == "keras_hub" and config["backbone"] == "vit_test32" and config["weights"] == "none"
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["kind"] == "classifier"
    assert summary["hparams"]["family"] == "keras_hub" and summary["hparams"]["weights"] == "none"
    # from scratch: every layer trains, and training lowers the loss
    m = summary["metrics"]
    assert m["trainable_params"] == m["params"] == vit_run.model.count_params()
    assert vit_run.history["loss"][-1] < vit_run.history["loss"][0]
    assert 1 <= m["epochs_run"] <= 4 and 0.0 <= m["val_accuracy"] <= 1.0
    import keras_hub

    assert isinstance(vit_run.model, keras_hub.models.ViTImageClassifier)


def test_workbook_row_beside_cnn_runs(vit_run, folders):
    """A CNN run in the same log folder: same files, same columns, one row each."""
    from kerascenes.classify.train import fit_classifier
    from kerascenes.workbook import SHEETS, read_workbook

    train, val = folders
    logdir = vit_run.run.logdir
    cnn = fit_classifier(FitConfig(data=str(train), val_data=str(val), backbone="MobileNetV2", weights="none", alpha=0.35, tta="none",
                                   image_size=32, epochs=1, batch_size=8, logdir=str(logdir)), verbose=0)
    vit_summary = vit_run.summary
    assert {p.name for p in cnn.run.path.iterdir()} == {p.name for p in vit_run.run.path.iterdir()}
    assert set(cnn.summary["hparams"]) == set(vit_summary["hparams"])
    assert set(cnn.summary["metrics"]) == set(vit_summary["metrics"])
    rows = read_workbook(logdir / "overall_results.xlsx")[SHEETS["classifier"]]
    by_backbone = {row["backbone"]: row for row in rows}
    assert by_backbone["vit_test32"]["family"] == "keras_hub"
    assert by_backbone["MobileNetV2"]["family"] == "keras.applications"
    assert by_backbone["vit_test32"]["val_accuracy"] == vit_summary["metrics"]["val_accuracy"]


def test_reloaded_vit_predicts_the_same(vit_run, folders):
    from kerascenes.classify.evaluate import load_run_model, predict_proba
    from kerascenes.inference import evaluate_run, predict_files

    train, val = folders
    run = vit_run.run
    files = sorted(str(p) for p in val.rglob("*.png"))
    before = predict_proba(vit_run.model, files, 32)
    reloaded = load_run_model(run)
    np.testing.assert_allclose(predict_proba(reloaded, files, 32), before, atol=1e-5)
    top = predict_files(run.path, files[:3], top_k=2)
    names = run.read_config()["class_names"]
    assert [t["top"][0]["class"] for t in top] == [names[i] for i in before[:3].argmax(1)]
    result = evaluate_run(run.path, val)
    assert result["accuracy"] == pytest.approx(vit_run.summary["metrics"]["val_accuracy"], abs=1e-4)


def test_seed_fixes_the_initial_weights():
    import keras

    from kerascenes.classify.model import HeadConfig
    from kerascenes.vit.model import build_vit_classifier

    spec, head = get_backbone("vit_test32"), HeadConfig((16,), 0.1)
    weights = []
    for seed in (5, 5, 6):
        keras.utils.set_random_seed(seed)
        weights.append(build_vit_classifier(spec, "none", 32, 3, head).get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))


# -- preset folders: --backbone PATH and export -------------------------------------------------
def test_preset_folder_loads_offline_with_its_weights(backbone_preset):
    from kerascenes.classify.model import HeadConfig
    from kerascenes.vit.model import build_vit_classifier, unfreeze_vit_blocks

    path, preset_weights = backbone_preset
    spec = get_backbone(str(path))
    assert (spec.family, spec.default_size, spec.min_size, spec.pretrained) == ("keras_hub", 32, 8, True)
    assert spec.params == TINY.params() and spec.name not in {r["name"] for r in describe_backbones()}
    model = build_vit_classifier(spec, "imagenet", 32, 4, HeadConfig((), 0.0))
    backbone = model.backbone
    for loaded, saved in zip(backbone.get_weights(), preset_weights):
        np.testing.assert_array_equal(loaded, saved)
    assert not backbone.trainable and model.output_shape == (None, 4)
    # the preset has no image converter: the standard one scales [0, 255] to [-1, 1]
    converter = model.preprocessor.image_converter
    assert converter.scale == pytest.approx(1 / 127.5) and converter.offset == -1
    assert unfreeze_vit_blocks(model, 1) == 2  # last block + final LayerNorm
    first_block, last_block = backbone.get_layer("vit_encoder").encoder_layers
    assert last_block.trainable and not first_block.trainable
    assert not backbone.get_layer("vit_patching_and_embedding").trainable
    random_init = build_vit_classifier(spec, "none", 48, 4, HeadConfig((), 0.0))
    assert random_init.backbone.trainable and tuple(random_init.backbone.image_shape) == (48, 48, 3)


def test_pretrained_preset_refuses_another_image_size(backbone_preset, folders, tmp_path):
    path, _ = backbone_preset
    train, val = folders
    with pytest.raises(KerascenesError, match="position embeddings"):
        _fit(train, val, tmp_path, backbone=str(path), image_size=48)
    with pytest.raises(KerascenesError, match="multiple of the patch size"):
        _fit(train, val, tmp_path, image_size=36)
    with pytest.raises(KerascenesError, match="at most one"):
        _fit(train, val, tmp_path, dense=(32, 16))
    assert not list(tmp_path.iterdir())  # nothing was written


def test_export_round_trips_through_keras_hub_and_backbone_path(vit_run, folders, tmp_path):
    import keras_hub

    from kerascenes.classify.evaluate import predict_proba
    from kerascenes.cli.main import cli
    from kerascenes.vit.export import read_class_names

    train, val = folders
    out = tmp_path / "preset"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(vit_run.run.path), "--preset", str(out)])
    assert result.exit_code == 0, result.output
    assert {"config.json", "task.json", "image_converter.json", "model.weights.h5"} <= {p.name for p in out.iterdir()}
    assert read_class_names(out) == vit_run.run.read_config()["class_names"]
    classifier = keras_hub.models.ImageClassifier.from_preset(str(out))
    files = sorted(str(p) for p in val.rglob("*.png"))
    np.testing.assert_allclose(predict_proba(classifier, files, 32), predict_proba(vit_run.model, files, 32), atol=1e-5)
    again = runner.invoke(cli, ["export", str(vit_run.run.path), "--preset", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output
    # the exported preset is a --backbone PATH: frozen stage, then the last block fine-tuned
    tuned = _fit(train, val, tmp_path / "logs", backbone=str(out), epochs=1, fine_tune=1, fine_tune_epochs=1)
    assert tuned.summary["hparams"]["backbone"] == str(out) and tuned.run.read_config()["weights"] == "imagenet"
    assert tuned.summary["metrics"]["trainable_params"] < tuned.summary["metrics"]["params"]
    def frozen_part(backbone):
        return (backbone.get_layer("vit_patching_and_embedding").get_weights()
                + backbone.get_layer("vit_encoder").encoder_layers[0].get_weights())

    for now, before in zip(frozen_part(tuned.model.backbone), frozen_part(vit_run.model.backbone), strict=True):
        np.testing.assert_array_equal(now, before)


def test_export_refuses_cnn_runs(tmp_path):
    from kerascenes.cli.main import cli
    from kerascenes.runs import RunFolder

    run = RunFolder.create(tmp_path, "cnn", "classifier", {"backbone": "MobileNetV2"},
                           {"family": "keras.applications", "class_names": ["a", "b"]})
    result = CliRunner().invoke(cli, ["export", str(run.path), "--preset", str(tmp_path / "out")])
    assert result.exit_code == 2 and "only ViT (KerasHub) runs" in result.output
    assert not (tmp_path / "out").exists()


# -- CLI errors for presets -------------------------------------------------------------------
def test_cli_unknown_preset_name_exits_2(folders, tmp_path):
    from kerascenes.cli.main import cli

    train, _ = folders
    result = CliRunner().invoke(cli, ["fit", "--backbone", "vit_base_patch16_224_imagenett", "--data", str(train),
                                      "--logdir", str(tmp_path)])
    assert result.exit_code == 2
    assert "Unknown backbone 'vit_base_patch16_224_imagenett'" in result.output
    assert "vit_base_patch16_224_imagenet" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_cli_preset_download_failure_exits_2(folders, tmp_path, monkeypatch):
    import keras_hub
    import requests

    from kerascenes.cli.main import cli

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr(keras_hub.models.ViTBackbone, "from_preset", offline)
    train, _ = folders
    result = CliRunner().invoke(cli, ["fit", "--backbone", "vit_base_patch16_224_imagenet", "--data", str(train),
                                      "--logdir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Could not download the KerasHub preset vit_base_patch16_224_imagenet" in result.output
    assert "--backbone PATH" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())
