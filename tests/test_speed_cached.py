"""Cached-feature training (--cache-features): the head trains on features, the model stays whole."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from conftest import registered_backbone
from kerascenes.classify.cached import extract_features, split_classifier
from kerascenes.classify.feature_store import FeatureSet, choose_store, estimate_feature_bytes, format_bytes
from kerascenes.errors import KerascenesError


TINY = "TestTinyCNN"
DIM = 16
#: the cached features of a default run: --pooling pyramid, the map and its four quarters
POOLED = 5 * DIM


def _build_tiny(spec, weights, size, alpha):
    """A small conv net standing in for a pretrained backbone (fast on a CPU).

    Its "pretrained" weights are the seeded random initialisation: what matters here is that
    the backbone is frozen, as with ``--weights imagenet``.
    """
    import keras

    L = keras.layers
    image = keras.Input((size, size, 3))
    x = L.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(image)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.Conv2D(DIM, 3, strides=2, activation="relu", name="conv2")(x)
    x = L.GlobalAveragePooling2D(name="avg")(x)
    return keras.Model(image, x, name="tiny_cnn")


@pytest.fixture(autouse=True)
def tiny_backbone():
    yield from registered_backbone(TINY, _build_tiny)


def _tiny_classifier(num_classes=3, size=32, dense=(8,), seed=0):
    import keras

    from kerascenes.backbones import build_backbone
    from kerascenes.classify.model import HeadConfig, build_classifier

    keras.utils.set_random_seed(seed)
    backbone = build_backbone(TINY, None, size)
    return build_classifier(backbone, num_classes, HeadConfig(dense, 0.2, "relu"), "tf", size, seed=seed)


def _config(data, val, tmp_path, **kwargs):
    from kerascenes.classify import FitConfig

    base = dict(data=str(data), val_data=str(val), backbone=TINY, weights="imagenet", image_size=32, cache_features=False, tta="none",
                dense=(8,), epochs=3, batch_size=8, patience=2, augment="none", logdir=str(tmp_path / "logs"),
                name="run")
    base.update(kwargs)
    return FitConfig(**base)


def test_size_helpers():
    assert estimate_feature_bytes(1500, 2, 256) == 1500 * 2 * 256 * 4
    assert format_bytes(1_536_000) == "1.5 MB"
    assert format_bytes(12) == "12 B"
    assert choose_store(10, "auto", memory_limit=100) == "memory"
    assert choose_store(1000, "auto", memory_limit=100) == "disk"
    assert choose_store(1000, "memory", memory_limit=100) == "memory"
    with pytest.raises(KerascenesError, match="feature store"):
        choose_store(1, "ram")


def test_split_classifier_shares_weights_and_matches_full_model():
    model = _tiny_classifier()
    extractor, head = split_classifier(model)
    images = np.random.default_rng(0).uniform(0, 255, (5, 32, 32, 3)).astype("float32")
    full = model.predict(images, verbose=0)
    two_step = head.predict(extractor.predict(images, verbose=0), verbose=0)
    np.testing.assert_allclose(full, two_step, atol=1e-5)
    assert extractor.output_shape == (None, DIM)
    # the head owns exactly the classifier's trainable weights: training one trains the other
    assert {id(v) for v in head.trainable_weights} == {id(v) for v in model.trainable_weights}
    head.layers[-1].kernel.assign(np.zeros(head.layers[-1].kernel.shape, "float32"))
    np.testing.assert_allclose(model.get_layer("probabilities").kernel.numpy(), 0.0)


def test_extract_features_views_and_disk(image_folder, tmp_path):
    from kerascenes.data.folders import load_image_folder

    images = load_image_folder(image_folder)
    extractor, _ = split_classifier(_tiny_classifier())
    mem = extract_features(extractor, images.paths, images.labels, 32, 5, views=3, augment="strong", seed=1)
    assert mem.features.shape == (3, len(images), DIM) and mem.path is None
    assert mem.nbytes == estimate_feature_bytes(len(images), 3, DIM)
    # view 0 is the plain image, the augmented views differ from it
    from kerascenes.data.pipeline import load_images

    plain = extractor.predict(load_images(images.paths, 32).astype("float32"), verbose=0)
    np.testing.assert_allclose(mem.features[0], plain, rtol=1e-4, atol=1e-5)
    assert np.abs(mem.features[1] - mem.features[0]).max() > 1e-3
    disk = extract_features(extractor, images.paths, images.labels, 32, 5, views=1,
                            path=tmp_path / "cache" / "train.npy")
    assert disk.path.is_file() and isinstance(disk.features, np.memmap)
    np.testing.assert_allclose(np.load(disk.path)[0], plain, rtol=1e-4, atol=1e-5)
    disk.remove()
    assert not (tmp_path / "cache" / "train.npy").exists()
    with pytest.raises(KerascenesError, match="--cache-views 2 needs an augmentation"):
        extract_features(extractor, images.paths, images.labels, 32, 5, views=2, augment="none")


def test_extract_features_mirror_view_comes_second(image_folder):
    """``mirror_view`` adds the mirror images as view 1; the augmented views keep their random draws."""
    from kerascenes.data.folders import load_image_folder

    images = load_image_folder(image_folder)
    extractor, _ = split_classifier(_tiny_classifier())
    args = (extractor, images.paths, images.labels, 32, 5)
    plain = extract_features(*args, views=2, augment="strong", seed=1)
    both = extract_features(*args, views=2, augment="strong", seed=1, mirror_view=True)
    mirror = extract_features(*args, flip=True)
    assert both.features.shape == (3, len(images), DIM) and both.mirror_view and not plain.mirror_view
    np.testing.assert_allclose(both.features[0], plain.features[0], atol=1e-5)
    np.testing.assert_allclose(both.features[1], mirror.features[0], atol=1e-5)
    np.testing.assert_allclose(both.features[2], plain.features[1], atol=1e-5)
    assert np.abs(both.features[1] - both.features[0]).max() > 1e-3  # the tiny images are not symmetric


def test_cached_run_trains_on_the_mirror_images_where_the_policy_flips(image_folders, tmp_path):
    from kerascenes.classify import fit_classifier
    from kerascenes.classify.kept_features import load_run_features
    from kerascenes.data.folders import load_image_folder

    train, val = image_folders
    images = load_image_folder(train)
    flipped = fit_classifier(_config(train, val, tmp_path, name="flips", cache_features=True, augment="default",
                                     epochs=2, patience=0), verbose=0)
    metrics = flipped.summary["metrics"]
    assert metrics["feature_cache_bytes"] == (2 * len(images) + len(load_image_folder(val))) * POOLED * 4
    assert flipped.summary["hparams"]["augment"] == "mirror"
    kept = load_run_features(flipped.run.path, images.paths)  # kept for ensembles although --tta none
    extractor, _ = split_classifier(flipped.model)
    mirror = extract_features(extractor, images.paths, images.labels, 32, 8, flip=True)
    assert kept.shape == (2, len(images), POOLED)
    np.testing.assert_allclose(kept[1], mirror.features[0], atol=1e-5)
    plain = fit_classifier(_config(train, val, tmp_path, name="plain", cache_features=True, epochs=2, patience=0),
                           verbose=0)
    assert plain.summary["hparams"]["augment"] == "none"
    assert load_run_features(plain.run.path, images.paths).shape == (1, len(images), POOLED)


def test_feature_dataset_draws_one_view_per_image_each_epoch():
    feats = np.stack([np.full((6, 2), v, np.float32) + np.arange(6, dtype=np.float32)[:, None] * 10
                      for v in range(3)])
    fs = FeatureSet(feats, np.arange(6) % 2)
    ds = fs.dataset(4, training=True, seed=0)
    seen_views = set()
    for _ in range(3):  # epochs
        x = np.concatenate([b[0].numpy() for b in ds])
        y = np.concatenate([b[1].numpy() for b in ds])
        assert x.shape == (6, 2) and sorted((x[:, 0] // 10).astype(int)) == list(range(6))  # every image once
        seen_views |= set((x[:, 0] % 10).astype(int))
        assert y.shape == (6,)
    assert seen_views == {0, 1, 2}
    val = np.concatenate([b[0].numpy() for b in fs.dataset(4)])
    np.testing.assert_array_equal(val, feats[0])  # evaluation: view 0, in order


def test_cached_fit_gives_complete_model(image_folders, tmp_path):
    import keras

    from kerascenes.classify import fit_classifier
    from kerascenes.data.folders import load_image_folder
    from kerascenes.data.pipeline import load_images

    train, val = image_folders
    result = fit_classifier(_config(train, val, tmp_path, cache_features=True, cache_views=2, augment="default",
                                    epochs=4, patience=0), verbose=0)
    run = result.run
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert len(result.history["loss"]) == 4
    with open(run.path / "history.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 4
    assert any((run.tensorboard_dir / "train").iterdir())
    metrics = result.summary["metrics"]
    # training: the image, its mirror image (the policy flips) and one augmented view; validation: the image
    assert metrics["feature_store"] == "memory" and metrics["feature_cache_bytes"] == (3 * 30 + 15) * POOLED * 4
    assert not (run.path / "features").exists()
    # the saved file is an image -> class model whose predictions equal the head on cached features
    loaded = keras.models.load_model(run.path / "model.keras")
    images = load_image_folder(val)
    pixels = load_images(images.paths, 32).astype("float32")
    extractor, head = split_classifier(result.model)
    cached = extract_features(extractor, images.paths, images.labels, 32, 8)
    np.testing.assert_allclose(loaded.predict(pixels, verbose=0), head.predict(cached.features[0], verbose=0),
                               atol=1e-5)
    # evaluation numbers of the run come from the image model
    acc = float((loaded.predict(pixels, verbose=0).argmax(1) == images.labels).mean())
    assert metrics["val_accuracy"] == pytest.approx(acc, abs=1e-4)


def test_cached_fit_scores_and_keeps_features_like_the_saved_model(image_folders, tmp_path):
    """The final scores come from the cached features (one backbone pass for the mirror images)
    and equal what the saved TTA model says; the kept training features serve that model only."""
    import keras

    from kerascenes.classify import fit_classifier
    from kerascenes.classify.cached import head_proba
    from kerascenes.classify.kept_features import RUN_FEATURES_FILE, load_run_features
    from kerascenes.data.folders import load_image_folder
    from kerascenes.data.pipeline import load_images

    train, val = image_folders
    result = fit_classifier(_config(train, val, tmp_path, cache_features=True, tta="flip", epochs=3, patience=0),
                            verbose=0)
    run, metrics = result.run, result.summary["metrics"]
    loaded = keras.models.load_model(run.path / "model.keras")  # image -> class, flip TTA inside
    for folder, key in ((train, "train_accuracy"), (val, "val_accuracy")):
        images = load_image_folder(folder)
        proba = loaded.predict(load_images(images.paths, 32).astype("float32"), verbose=0)
        assert metrics[key] == pytest.approx(float((proba.argmax(1) == images.labels).mean()), abs=1e-4)
    images = load_image_folder(train)
    kept = load_run_features(run.path, images.paths)
    assert kept is not None and kept.shape == (2, len(images), POOLED)  # the image and its mirror image
    from kerascenes.ensemble.members import _base_classifier

    _, head = split_classifier(_base_classifier(result.model))  # the classifier inside the TTA wrapper
    np.testing.assert_allclose(head_proba(head, kept, 8),
                               loaded.predict(load_images(images.paths, 32).astype("float32"), verbose=0), atol=1e-5)
    # an ensemble refits the head on the kept features: the same out-of-fold probabilities as recomputing them
    from sklearn.model_selection import StratifiedKFold

    from kerascenes.ensemble.members import out_of_fold

    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(images.paths, images.labels))
    reused = out_of_fold(run, images.paths, images.labels, folds, seed=0)
    (run.path / RUN_FEATURES_FILE).rename(run.path / "aside.npz")
    np.testing.assert_allclose(out_of_fold(run, images.paths, images.labels, folds, seed=0), reused, atol=1e-3)
    (run.path / "aside.npz").rename(run.path / RUN_FEATURES_FILE)
    assert load_run_features(run.path, images.paths[::-1]) is None  # other images (or order)
    (run.path / "model.keras").write_bytes((run.path / "model.keras").read_bytes() + b"\0")
    assert load_run_features(run.path, images.paths) is None  # another model
    (run.path / RUN_FEATURES_FILE).write_bytes(b"not an npz")
    assert load_run_features(run.path, images.paths) is None  # damaged


def test_cached_fit_learns_like_naive_fit(image_folders, tmp_path):
    """Without augmentation the cached head sees exactly what the image-based head sees."""
    from kerascenes.classify import fit_classifier

    train, val = image_folders
    kwargs = dict(epochs=6, patience=0, dropout=0.0, lr=3e-3)
    naive = fit_classifier(_config(train, val, tmp_path, name="naive", **kwargs), verbose=0)
    # then fine-tuning runs on images as usual
    cached = fit_classifier(_config(train, val, tmp_path, name="cached", cache_features=True, fine_tune=2,
                                    fine_tune_epochs=1, feature_store="disk", **kwargs), verbose=0)
    assert len(cached.history["loss"]) == 7 and (cached.run.path / "model.keras").is_file()
    assert cached.summary["metrics"]["feature_store"] == "disk"
    # same data, same initial weights and the same shuffling seed: the losses follow each other
    np.testing.assert_allclose(cached.history["loss"][0], naive.history["loss"][0], rtol=0.05)
    assert cached.history["loss"][5] < cached.history["loss"][0]
    assert naive.history["loss"][5] < naive.history["loss"][0]



def test_split_classifier_under_mixed_precision(image_folder):
    from kerascenes.classify.distribute import precision_policy
    from kerascenes.data.folders import load_image_folder
    from kerascenes.data.pipeline import load_images

    images = load_image_folder(image_folder)
    with precision_policy(True):
        model = _tiny_classifier()
        extractor, head = split_classifier(model)
        cached = extract_features(extractor, images.paths, images.labels, 32, 8)
        assert cached.features.dtype == np.float32
        full = model.predict(load_images(images.paths, 32).astype("float32"), verbose=0)
        assert full.dtype == np.float32  # the softmax stays float32
        np.testing.assert_allclose(head.predict(cached.features[0], verbose=0), full, atol=1e-2)


def test_a_cache_that_cannot_fit_is_refused_before_anything_is_computed(tmp_path, monkeypatch):
    import collections
    import shutil

    from kerascenes.classify.feature_store import check_room

    folder = tmp_path / "run" / "checkpoint" / "features"  # not made yet: its disk is the parent's
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 5 * 10**6, 5 * 10**6))
    check_room(4 * 10**6, "disk", folder)
    with pytest.raises(KerascenesError, match=r"needs 6.0 MB on disk, but only 5.0 MB are free .*--cache-views"):
        check_room(6 * 10**6, "disk", folder)
    folder.mkdir(parents=True)
    np.save(folder / "train.npy", np.zeros(500_000, np.float32))  # an earlier cache of this run counts as room
    check_room(6 * 10**6, "disk", folder)
    monkeypatch.setattr("kerascenes.classify.feature_store.available_memory", lambda: 10**9)
    check_room(6 * 10**6, "memory", folder)  # the memory store's copy on disk fits beside the earlier cache
    folder.joinpath("train.npy").unlink()
    with pytest.raises(KerascenesError, match="on disk"):  # and is checked too
        check_room(6 * 10**6, "memory", folder)
    monkeypatch.setattr("kerascenes.classify.feature_store.available_memory", lambda: 4_096_000)
    with pytest.raises(KerascenesError, match=r"needs 6.0 MB of memory, but only 4.1 MB are available"):
        check_room(6 * 10**6, "memory")
    check_room(6 * 10**6, "disk", None)  # no folder: nothing to check
