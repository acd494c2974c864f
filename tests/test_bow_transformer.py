"""BagOfVisualWords as a scikit-learn transformer, on tiny synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from bow_helpers import dataset
from kerascenes import KerascenesError
from kerascenes.bow import BagOfVisualWords, make_classifier, make_pipeline
from kerascenes.bow.encoding import level_weights, n_regions

FAST = dict(encoding="histogram", vocab_size=8, patch_sizes=(16,), step=8, vocab_samples=2000, n_jobs=1)


def test_init_stores_params_only_and_clone_works():
    bow = BagOfVisualWords(vocab_size=7, detector="sift", pyramid_levels=1)
    assert vars(bow) == bow.get_params()
    assert not [k for k in vars(bow) if k.endswith("_")]
    twin = clone(bow)
    assert twin is not bow and twin.get_params() == bow.get_params()
    assert bow.set_params(vocab_size=9) is bow and bow.vocab_size == 9
    # no validation in __init__: a bad name only fails at fit
    BagOfVisualWords(detector="nope")


def test_not_fitted_error():
    images, _ = dataset(2)
    with pytest.raises(NotFittedError):
        BagOfVisualWords(**FAST).transform(images)


def test_fit_returns_self_and_pyramid_dimensions():
    images, _ = dataset(4)
    for levels in (0, 1, 2):
        bow = BagOfVisualWords(pyramid_levels=levels, **FAST)
        assert bow.fit(images) is bow
        X = bow.transform(images)
        assert X.shape == (len(images), 8 * n_regions(levels)) == (len(images), bow.n_features_out_)
        assert bow.vocabulary_.shape == (8, 128)
        # every level of an L1 pyramid sums to its Lazebnik weight
        per_level = [X[:, 8 * (n_regions(l) - 4 ** l): 8 * n_regions(l)].sum(1) for l in range(levels + 1)]
        np.testing.assert_allclose(np.stack(per_level, 1), np.tile(level_weights(levels), (len(X), 1)), rtol=1e-5)
    np.testing.assert_allclose(level_weights(2), [0.25, 0.25, 0.5])


def test_fit_transform_matches_fit_then_transform_and_is_seeded():
    images, _ = dataset(4)
    a = BagOfVisualWords(**FAST).fit_transform(images)
    b = BagOfVisualWords(**FAST).fit(images).transform(images)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_paths_and_arrays_give_the_same_encoding(tmp_path):
    import cv2

    images, _ = dataset(3)
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], img)
    bow = BagOfVisualWords(**FAST).fit(images)
    np.testing.assert_allclose(bow.transform(paths), bow.transform(images), atol=1e-6)
    rgb = [np.repeat(img[..., None], 3, axis=2) for img in images]
    np.testing.assert_allclose(bow.transform(rgb), bow.transform(images), atol=1e-2)


@pytest.mark.parametrize("encoding,dim", [("vlad", 4 * 16), ("fisher", 2 * 4 * 16)])
def test_vlad_and_fisher_dimensions_and_norm(encoding, dim):
    images, _ = dataset(4)
    bow = BagOfVisualWords(encoding=encoding, vocab_size=4, pca_dim=16, pyramid_levels=1,
                           patch_sizes=(16,), step=8, n_jobs=1, tta="none")
    X = bow.fit_transform(images)
    assert X.shape == (len(images), dim * 5)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("encoding", ["histogram", "fisher"])
def test_flip_tta_is_the_mean_of_the_image_and_its_mirror(encoding, tmp_path):
    images, _ = dataset(3)
    mirrors = [np.ascontiguousarray(img[:, ::-1]) for img in images]
    params = dict(encoding=encoding, vocab_size=4, pca_dim=16, pyramid_levels=1, patch_sizes=(16,), step=8,
                  n_jobs=1)
    plain = BagOfVisualWords(**params, tta="none").fit(images)
    flip = BagOfVisualWords(**params, tta="flip", cache_dir=str(tmp_path)).fit(images)
    np.testing.assert_allclose(flip.vocabulary_, plain.vocabulary_)  # the vocabulary sees the images alone
    expected = (plain.transform(images) + plain.transform(mirrors)) / 2
    assert np.abs(plain.transform(images) - plain.transform(mirrors)).max() > 1e-3  # the mirror is another image
    np.testing.assert_allclose(flip.transform(images), expected, atol=1e-6)
    np.testing.assert_allclose(flip.transform(mirrors), expected, atol=1e-6)  # so mirror images look alike
    np.testing.assert_allclose(flip.fit_transform(images), expected, atol=1e-6)
    # the mirror images' descriptors are cached apart from the images': a second pass reads both back
    np.testing.assert_allclose(flip.transform(images), expected, atol=1e-6)
    assert len(list(tmp_path.iterdir())) == 2
    with pytest.raises(KerascenesError, match="Unknown tta 'rotate'"):
        BagOfVisualWords(**params, tta="rotate").fit(images)


def test_soft_assignment_and_matchers_agree_with_exact():
    images, _ = dataset(3)
    exact = BagOfVisualWords(**FAST).fit(images)
    hard = exact.transform(images)
    for matcher in ("bruteforce", "flann"):
        other = clone(exact).set_params(matcher=matcher).fit(images).transform(images)
        assert np.abs(other - hard).sum(1).max() < 0.1  # FLANN is approximate, brute force exact
    soft = clone(exact).set_params(soft_assignment=True).fit(images)
    Xs = soft.transform(images)
    assert soft.soft_sigma_ > 0 and (Xs > 0).sum() > (hard > 0).sum()


def test_pipeline_and_grid_search_separate_two_classes():
    images, y = dataset(8)
    test_images, y_test = dataset(4, seed=1)
    pipe = make_pipeline("svm-intersection", **{**FAST, "pyramid_levels": 1})
    search = GridSearchCV(pipe, {"bow__vocab_size": [4, 8]}, cv=2)
    search.fit(images, y)
    assert search.best_estimator_.score(test_images, y_test) >= 0.9
    for name in ("svm-linear", "svm-rbf", "svm-chi2", "random-forest"):
        pipe = make_pipeline(name, **{**FAST, "pyramid_levels": 0, "normalization": "hellinger"})
        assert pipe.fit(images, y).score(test_images, y_test) >= 0.75, name


def test_zero_keypoint_image_gives_zero_histogram():
    images, _ = dataset(3)
    flat = np.full((64, 64), 128, np.uint8)
    bow = BagOfVisualWords(detector="sift", vocab_size=4, pyramid_levels=1, n_jobs=1).fit(images)
    X = bow.transform([flat, images[-1]])
    assert not X[0].any() and X[1].any()


def test_bad_inputs_fail_with_one_sentence(tmp_path):
    images, _ = dataset(2)
    with pytest.raises(KerascenesError, match="--vocab 100000 is larger"):
        BagOfVisualWords(vocab_size=100000, patch_sizes=(16,), n_jobs=1).fit(images)
    with pytest.raises(KerascenesError, match="did you mean 'dense-sift'"):
        BagOfVisualWords(detector="dense-sfit").fit(images)
    with pytest.raises(KerascenesError, match="patented"):
        BagOfVisualWords(detector="surf").fit(images)
    with pytest.raises(KerascenesError, match="Unknown classifier"):
        make_classifier("svm-cosine")
    with pytest.raises(KerascenesError, match="Unknown matcher"):
        BagOfVisualWords(matcher="annoy").fit(images)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    bow = BagOfVisualWords(**FAST).fit(images)
    with pytest.raises(KerascenesError, match="broken.jpg could not be read"):
        bow.transform([bad])
    with pytest.raises(KerascenesError, match="does not exist"):
        bow.transform([tmp_path / "missing.png"])
