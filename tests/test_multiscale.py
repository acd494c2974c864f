"""Multi-scale features (--image-size 224,288,352): one backbone at several input sizes, fused."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from conftest import build_tiny_any_size, registered_backbone
from kerascenes.classify.config import FitConfig, input_size_of, parse_image_size
from kerascenes.errors import KerascenesError

TINY = "TestTinyAnySize"
DIM = 6


_build_tiny = functools.partial(build_tiny_any_size, channels=DIM)


@pytest.fixture(autouse=True)
def tiny_backbone():
    yield from registered_backbone(TINY, _build_tiny)


def test_image_size_parses_one_size_or_several_scales():
    assert parse_image_size("288") == 288
    assert parse_image_size("352, 224,288") == (224, 288, 352)
    assert parse_image_size([288]) == 288
    assert input_size_of([224, 352, 288]) == 352 and input_size_of(288) == 288
    with pytest.raises(KerascenesError, match="repeats a size"):
        parse_image_size("224,224")
    with pytest.raises(KerascenesError, match="comma-separated list of sizes"):
        parse_image_size("224,big")
    config = FitConfig(image_size="224,288")
    assert config.scales == (224, 288) and config.input_size == 288
    # config.json stores a list; reading it back gives the same config
    again = FitConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.image_size == (224, 288)
    with pytest.raises(KerascenesError, match="between 1 and 2048"):
        FitConfig(data="d", backbone="b", image_size="0,32").validate()


@pytest.mark.parametrize("fusion, dim", [("concat", 2 * DIM), ("mean", DIM)])
def test_one_backbone_runs_at_every_scale_and_the_split_model_is_the_whole(fusion, dim):
    import keras

    from kerascenes.classify.cached import split_classifier
    from kerascenes.classify.model import HeadConfig, build_classifier

    keras.utils.set_random_seed(0)
    model = build_classifier(_build_tiny(None, None, None, None), 3, HeadConfig((5,), 0.0, "relu"), "tf", 48,
                             scales=(32, 48), fusion=fusion)
    assert model.input_shape == (None, 48, 48, 3)
    backbones = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert len(backbones) == 1  # shared weights, not one copy per scale
    extractor, head = split_classifier(model)
    assert extractor.output_shape == (None, dim)
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    np.testing.assert_allclose(head.predict(extractor.predict(x, verbose=0), verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    # the scales really differ: features of the 32 px branch are not those of the 48 px one
    f = extractor.predict(x, verbose=0)
    if fusion == "concat":
        assert not np.allclose(f[:, :DIM], f[:, DIM:])


def test_a_multiscale_run_trains_on_cached_features_saves_one_model_and_replays(image_folders, tmp_path):
    from kerascenes.classify import fit_classifier
    from kerascenes.classify.evaluate import KerasPredictor
    from kerascenes.export import export_run
    from kerascenes.runs import RunFolder

    train, val = image_folders
    config = FitConfig(data=str(train), val_data=str(val), backbone=TINY, weights="imagenet", image_size="32,48",
                       tta="flip", dense=(8,), epochs=3, batch_size=8, patience=0, augment="none",
                       logdir=str(tmp_path / "logs"), name="multi")
    result = fit_classifier(config, verbose=0)
    stored = json.loads((result.run.path / "config.json").read_text())["options"]
    assert stored["image_size"] == [32, 48] and stored["scale_fusion"] == "concat"
    assert stored["cache_features"] is True and result.summary["metrics"]["feature_cache_s"] >= 0
    replay = FitConfig.from_dict(stored).resolve()
    assert replay == FitConfig.from_dict(stored) and replay.to_dict() == stored
    predictor = KerasPredictor.load(RunFolder.open(result.run.path, "classifier"))
    assert predictor.image_size == 48 and predictor.model.input_shape == (None, 48, 48, 3)
    proba = predictor.predict_proba([str(p) for p in sorted(val.rglob("*.png"))[:4]])
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # the resizing inside the model exports: TFLite gives the probabilities of model.keras
    exported = export_run(result.run.path, "tflite", tmp_path / "multi.tflite")
    assert exported["image_size"] == 48 and exported["max_abs_diff"] <= 1e-4


def test_several_scales_are_refused_where_the_family_cannot_fuse_them(image_folders, tmp_path):
    train, _ = image_folders
    config = FitConfig(data=str(train), backbone="vit_tiny", weights="none", image_size="32,64",
                       logdir=str(tmp_path / "logs"))
    with pytest.raises(KerascenesError, match="several scales"):
        config.resolve()
    with pytest.raises(KerascenesError, match="too small"):
        FitConfig(data=str(train), backbone=TINY, image_size="8,32", logdir=str(tmp_path / "logs")).resolve()
