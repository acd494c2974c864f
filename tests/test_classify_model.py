"""Head options, preprocessing layer, fine-tuning unfreezing."""

import keras
import numpy as np
import pytest

from kerascenes.backbones import build_backbone
from kerascenes.classify.layers import ImagePreprocessing
from kerascenes.classify.model import HeadConfig, build_classifier, find_backbone, parse_dense, unfreeze_last
from kerascenes.errors import KerascenesError


def test_parse_dense():
    assert parse_dense("512,256") == (512, 256)
    assert parse_dense(" 64 ") == (64,)
    assert parse_dense("none") == () and parse_dense("0") == ()
    with pytest.raises(KerascenesError, match="comma-separated"):
        parse_dense("512;abc")


def test_head_config_validation():
    with pytest.raises(KerascenesError, match="--dropout"):
        HeadConfig((8,), 1.5)
    with pytest.raises(KerascenesError, match="--activation 'tanhh'"):
        HeadConfig((8,), 0.1, "tanhh")
    with pytest.raises(KerascenesError, match="fewer than 1 unit"):
        HeadConfig((8, 0))


@pytest.mark.parametrize("dense,dropout,activation", [((), 0.0, "relu"), ((16, 8), 0.5, "leaky_relu")])
def test_head_layers_follow_the_config(dense, dropout, activation):
    backbone = build_backbone("MobileNet", None, 32, 0.25)
    model = build_classifier(backbone, 4, HeadConfig(dense, dropout, activation), "tf", 32)
    denses = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    assert [d.units for d in denses] == [*dense, 4]
    assert sum(isinstance(l, keras.layers.Dropout) for l in model.layers) == (len(dense) + 1 if dropout else 0)
    assert all(l.rate == dropout for l in model.layers if isinstance(l, keras.layers.Dropout))
    acts = [l for l in model.layers if isinstance(l, keras.layers.Activation)]
    assert len(acts) == len(dense) and all(activation in l.name for l in acts)
    assert model.output_shape == (None, 4)


@pytest.mark.parametrize("mode", ["tf", "torch", "caffe"])
def test_preprocessing_matches_keras_applications(mode):
    from keras.applications import imagenet_utils

    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype("float32")
    expected = imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_allclose(ImagePreprocessing(mode)(x).numpy(), expected, rtol=1e-5, atol=1e-4)


def test_unfreeze_last_keeps_batchnorm_frozen():
    backbone = build_backbone("MobileNet", None, 32, 0.25)
    model = build_classifier(backbone, 3, HeadConfig((8,)), "tf", 32)
    head_trainable = len(model.trainable_weights)
    n = unfreeze_last(find_backbone(model), 10)
    assert n > 0
    assert all(not l.trainable for l in backbone.layers if isinstance(l, keras.layers.BatchNormalization))
    assert not any(l.trainable for l in backbone.layers[:-10])
    assert len(model.trainable_weights) > head_trainable


def test_flip_tta_averages_image_and_mirror_and_reloads(tmp_path):
    from kerascenes.classify.model import with_test_time_augmentation

    backbone = build_backbone("MobileNet", None, 32, 0.25)
    model = build_classifier(backbone, 3, HeadConfig((8,)), "tf", 32, train_backbone=True)
    tta = with_test_time_augmentation(model, "flip")
    assert with_test_time_augmentation(model, "none") is model
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = (model(x, training=False).numpy() + model(x[:, :, ::-1], training=False).numpy()) / 2
    np.testing.assert_allclose(tta(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert tta.count_params() == model.count_params()
    tta.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(KerascenesError, match="--tta 'rotate'"):
        with_test_time_augmentation(model, "rotate")
