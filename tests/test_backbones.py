"""Every backbone of the registry builds, has the registered size, and trains a step."""

import numpy as np
import pytest

from kerascenes.backbones import BACKBONES, build_backbone, get_backbone, list_backbones, resolve_image_size
from kerascenes.errors import KerascenesError

KERAS_APPS = sorted(n for n, s in BACKBONES.items() if s.family == "keras.applications")


def test_registry_has_the_thirteen_keras_applications():
    assert KERAS_APPS == ["DenseNet121", "DenseNet169", "DenseNet201", "InceptionResNetV2", "InceptionV3", "MobileNet",
                          "MobileNetV2", "NASNetLarge", "NASNetMobile", "ResNet50", "VGG16", "VGG19", "Xception"]


@pytest.mark.parametrize("name", KERAS_APPS)
def test_backbone_builds_counts_and_trains_one_step(name):
    import keras

    from kerascenes.classify.model import HeadConfig, build_classifier

    spec = BACKBONES[name]
    size = max(spec.min_size, 32)
    backbone = build_backbone(name, weights=None, image_size=size)
    assert backbone.count_params() == spec.params  # parameter count does not depend on input size
    model = build_classifier(backbone, 3, HeadConfig((8,), 0.1, "leaky_relu"), spec.preprocessing, size, seed=1)
    # eager: tracing a graph for a single step of a 1000-layer model costs more than the step
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", run_eagerly=True)
    x = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype("float32")
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.array([0, 2]))
    assert np.isfinite(loss)
    assert tuple(model(x, training=False).shape) == (2, 3)
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, model.trainable_weights))
    assert all(not w.trainable for w in backbone.weights)


def test_unknown_names_suggest_close_matches():
    with pytest.raises(KerascenesError, match="did you mean.*MobileNetV2"):
        get_backbone("MobileNetV3")
    with pytest.raises(KerascenesError, match="kerascenes backbones"):
        get_backbone("zzzz")
    assert get_backbone("resnet50").name == "ResNet50"
    assert "DenseNet121" in list_backbones("dense*")


def test_size_alpha_and_weights_checks(tmp_path):
    with pytest.raises(KerascenesError, match="too small for InceptionV3; use at least 75"):
        resolve_image_size(BACKBONES["InceptionV3"], 64)
    assert resolve_image_size(BACKBONES["Xception"], None) == 299
    with pytest.raises(KerascenesError, match="--alpha applies only to MobileNet"):
        build_backbone("VGG16", weights=None, image_size=32, alpha=0.5)
    with pytest.raises(KerascenesError, match="neither 'imagenet', 'none' nor an existing"):
        build_backbone("MobileNet", weights=str(tmp_path / "missing.h5"), image_size=32)


def test_local_weights_file_round_trip_and_mismatch(tmp_path):
    source = build_backbone("MobileNet", weights=None, image_size=32, alpha=0.25)
    path = tmp_path / "mobilenet_0.25_no_top.weights.h5"
    source.save_weights(str(path))
    loaded = build_backbone("MobileNet", weights=str(path), image_size=32, alpha=0.25)
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(KerascenesError, match="does not fit MobileNet.*alpha 0.5"):
        build_backbone("MobileNet", weights=str(path), image_size=32, alpha=0.5)


def test_offline_imagenet_download_gives_one_clear_sentence(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] Temporary failure")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.mobilenet.file_utils.get_file", offline)
    with pytest.raises(KerascenesError, match="Could not download the ImageNet weights of MobileNet.*--weights PATH"):
        build_backbone("MobileNet", weights="imagenet", image_size=224, alpha=0.25)
