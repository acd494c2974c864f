"""--pooling pyramid: the last feature map pooled as a whole and by quarters (spatial pyramid 1 + 2x2)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from conftest import build_tiny_any_size, registered_backbone
from kerascenes.classify.config import FitConfig
from kerascenes.errors import KerascenesError

TINY = "TestTinyPyramid"
DIM = 6


_build_tiny = functools.partial(build_tiny_any_size, channels=DIM)


@pytest.fixture(autouse=True)
def tiny_backbone():
    yield from registered_backbone(TINY, _build_tiny)


def test_the_pyramid_is_the_mean_of_the_map_and_of_each_quarter():
    from kerascenes.classify.layers import SpatialPyramidPooling

    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype("float32")
    out = np.asarray(SpatialPyramidPooling((1, 2))(x))
    expected = [x.mean((1, 2)), x[:, :2, :2].mean((1, 2)), x[:, :2, 2:].mean((1, 2)),
                x[:, 2:, :2].mean((1, 2)), x[:, 2:, 2:].mean((1, 2))]
    np.testing.assert_allclose(out, np.concatenate(expected, 1), atol=1e-6)
    # a map smaller than the grid: every cell still has at least one row and column
    tiny = np.asarray(SpatialPyramidPooling((1, 2))(x[:, :1, :1]))
    np.testing.assert_allclose(tiny, np.tile(x[:, 0, 0], 5), atol=1e-6)
    layer = SpatialPyramidPooling.from_config(SpatialPyramidPooling((1, 3)).get_config())
    assert layer.levels == (1, 3) and layer.compute_output_shape((None, 7, 7, 8)) == (None, 80)
    with pytest.raises(ValueError, match="positive"):
        SpatialPyramidPooling((0,))


@pytest.mark.parametrize("scales", [None, (32, 48)])
def test_the_pyramid_belongs_to_the_cached_features(scales):
    import keras

    from kerascenes.classify.cached import split_classifier
    from kerascenes.classify.model import HeadConfig, build_classifier

    keras.utils.set_random_seed(0)
    model = build_classifier(_build_tiny(None, None, None if scales else 48, None), 3, HeadConfig((5,), 0.0, "relu"),
                             "tf", 48, scales=scales, pooling="pyramid")
    extractor, head = split_classifier(model)
    assert extractor.output_shape == (None, 5 * DIM * (len(scales) if scales else 1))
    x = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    np.testing.assert_allclose(head.predict(extractor.predict(x, verbose=0), verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_a_pyramid_run_trains_on_cached_features_replays_and_exports(image_folders, tmp_path):
    from kerascenes.classify import fit_classifier
    from kerascenes.classify.evaluate import KerasPredictor
    from kerascenes.export import export_run
    from kerascenes.runs import RunFolder

    train, val = image_folders
    config = FitConfig(data=str(train), val_data=str(val), backbone=TINY, weights="imagenet", image_size=48,
                       pooling="pyramid", dense=(8,), epochs=3, batch_size=8, patience=0, augment="none",
                       logdir=str(tmp_path / "logs"), name="pyramid")
    result = fit_classifier(config, verbose=0)
    stored = json.loads((result.run.path / "config.json").read_text())["options"]
    assert stored["pooling"] == "pyramid" and stored["cache_features"] is True
    assert FitConfig.from_dict(stored).resolve().to_dict() == stored
    predictor = KerasPredictor.load(RunFolder.open(result.run.path, "classifier"))
    assert any(type(layer).__name__ == "SpatialPyramidPooling" for layer in _all_layers(predictor.model))
    proba = predictor.predict_proba([str(p) for p in sorted(val.rglob("*.png"))[:4]])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    exported = export_run(result.run.path, "tflite", tmp_path / "pyramid.tflite")
    assert exported["max_abs_diff"] <= 1e-4


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def test_pyramid_pooling_is_refused_where_there_is_no_feature_map(image_folders, tmp_path):
    train, _ = image_folders
    with pytest.raises(KerascenesError, match="--pooling pyramid applies to keras.applications"):
        FitConfig(data=str(train), backbone="vit_tiny", weights="none", pooling="pyramid",
                  logdir=str(tmp_path / "logs")).resolve()
    with pytest.raises(KerascenesError, match="--pooling"):
        FitConfig(data=str(train), backbone=TINY, pooling="max", logdir=str(tmp_path / "logs")).validate()
