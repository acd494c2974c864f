"""Detectors, dense SIFT, kernels, the descriptor cache and model files."""

from __future__ import annotations

import numpy as np
import pytest

from bow_helpers import blobs, dataset, stripes
from kerascenes import KerascenesError
from kerascenes.bow import BagOfVisualWords, IntersectionMap, KernelSVC, intersection_kernel, load_model, make_pipeline, save_model
from kerascenes.bow import detectors, extraction
from kerascenes.bow.dense_sift import dense_sift


@pytest.mark.parametrize("name,dim,dtype", [("dense-sift", 128, np.uint8), ("sift", 128, np.uint8), ("kaze", 64, np.float32),
                                            ("akaze", 488, np.uint8), ("orb", 256, np.uint8), ("fast-freak", 512, np.uint8)])
def test_each_detector_finds_descriptors(name, dim, dtype):
    rng = np.random.default_rng(0)
    img = np.kron(rng.integers(0, 2, (12, 12)), np.ones((10, 10))).astype(np.float32)  # 120 px checker blocks
    img = img * 0.8 + 0.1 + rng.normal(0, 0.02, img.shape).astype(np.float32)
    desc, pos = detectors.extract(np.clip(img, 0, 1).astype(np.float32), name, max_keypoints=200)
    assert desc.ndim == 2 and desc.shape[1] == dim and desc.dtype == dtype and len(desc) > 5
    assert pos.shape == (len(desc), 2) and (pos >= 0).all() and (pos <= 1).all()
    if dtype == np.uint8 and name in ("akaze", "orb", "fast-freak"):
        assert set(np.unique(desc)) <= {0, 1}  # unpacked bits: squared L2 = Hamming
    if name != "dense-sift":
        assert len(desc) <= 200


def test_surf_is_reported_as_patented():
    with pytest.raises(KerascenesError, match="SURF is patented and unavailable"):
        detectors.check_detector("SURF")


def test_dense_sift_grid_orientation_and_scales():
    rng = np.random.default_rng(0)
    img = stripes(rng, 96).astype(np.float32) / 255  # horizontal stripes: vertical gradients
    desc, pos = dense_sift(img, patch_sizes=(16,), step=8)
    n = len(range(2, 96 - 12 - 2, 8))
    assert desc.shape == (n * n, 128)
    hist = desc.reshape(-1, 16, 8).astype(float).sum(axis=(0, 1))
    assert hist[[2, 6]].sum() > 0.6 * hist.sum()  # orientations pi/2 and 3pi/2
    rotated, _ = dense_sift(np.ascontiguousarray(img.T), patch_sizes=(16,), step=8)
    hist_r = rotated.reshape(-1, 16, 8).astype(float).sum(axis=(0, 1))
    assert hist_r[[0, 4]].sum() > 0.6 * hist_r.sum()
    multi, _ = dense_sift(img, patch_sizes=(16, 24, 32), step=8)
    assert len(multi) > len(desc)
    flat, _ = dense_sift(np.full((64, 64), 0.5, np.float32))
    assert not flat.any()  # no contrast -> zero descriptors
    assert dense_sift(np.zeros((8, 8), np.float32), patch_sizes=(16,))[0].shape == (0, 128)


def test_intersection_kernel_exact_and_map_close():
    rng = np.random.default_rng(0)
    X = rng.random((30, 50)).astype(np.float32)
    X[X < 0.5] = 0
    X /= X.sum(1, keepdims=True)
    ref = np.minimum(X[:, None], X[None]).sum(-1)
    np.testing.assert_allclose(intersection_kernel(X, X, n_jobs=2), ref, rtol=1e-5, atol=1e-6)
    M = IntersectionMap().transform(X)
    assert M.shape == (30, 150)
    assert np.corrcoef((M @ M.T).ravel(), ref.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("kernel", ["linear", "rbf", "intersection", "chi2"])
def test_kernel_svc_learns_and_scores(kernel):
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(0, 1, (60, 10))).astype(np.float32)
    y = np.arange(60) % 3
    X[np.arange(60), y] += 3.0
    clf = KernelSVC(kernel, C=10).fit(X, y)
    assert clf.score(X, y) > 0.95
    assert clf.decision_function(X).shape == (60, 3)
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0, rtol=1e-5)


def test_descriptor_cache_is_reused(tmp_path, monkeypatch):
    images, _ = dataset(3)
    bow = BagOfVisualWords(vocab_size=4, patch_sizes=(16,), cache_dir=str(tmp_path / "cache"), n_jobs=1)
    X1 = bow.fit_transform(images)
    files = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 2 * len(images)  # each image's and its mirror image's (tta="flip")

    def boom(*args, **kwargs):
        raise AssertionError("descriptors were recomputed")

    monkeypatch.setattr(extraction.detectors, "extract", boom)
    np.testing.assert_allclose(bow.transform(images), X1, atol=1e-6)
    # other detector parameters -> another cache key -> recomputed
    with pytest.raises(AssertionError, match="recomputed"):
        bow.set_params(step=6).transform(images)
    monkeypatch.undo()
    assert extraction.detector_key(bow.detector_spec()) != extraction.detector_key({**bow.detector_spec(), "step": 8})


def test_save_and_load_without_pickle(tmp_path):
    images, y = dataset(6)
    for name, kw in (("svm-intersection", {}), ("svm-chi2", {}), ("svm-linear", {"encoding": "fisher", "vocab_size": 4})):
        pipe = make_pipeline(name, **{"encoding": "histogram", "vocab_size": 6, "patch_sizes": (16,), "pyramid_levels": 1,
                                      "n_jobs": 1, **kw})
        pipe.fit(images, y)
        save_model(pipe, tmp_path / name, ["stripes", "blobs"])
        assert not list((tmp_path / name).glob("*.joblib"))
        loaded, meta = load_model(tmp_path / name)
        assert meta["class_names"] == ["stripes", "blobs"]
        np.testing.assert_allclose(loaded.decision_function(images), pipe.decision_function(images), rtol=1e-4, atol=1e-5)
    forest = make_pipeline("random-forest", vocab_size=6, patch_sizes=(16,), n_jobs=1).fit(images, y)
    save_model(forest, tmp_path / "rf", ["stripes", "blobs"])
    with pytest.raises(KerascenesError, match="pickled random forest"):
        load_model(tmp_path / "rf")
    loaded, _ = load_model(tmp_path / "rf", trust_pickle=True)
    assert (loaded.predict(images) == forest.predict(images)).all()
    with pytest.raises(KerascenesError, match="holds no bag-of-words model"):
        load_model(tmp_path)


def test_models_saved_before_tta_load_without_it(tmp_path):
    import json

    images, y = dataset(6)
    pipe = make_pipeline("svm-linear", encoding="fisher", vocab_size=4, patch_sizes=(16,), n_jobs=1, tta="none")
    save_model(pipe.fit(images, y), tmp_path / "old", ["stripes", "blobs"])
    meta_file = tmp_path / "old" / "bow_model.json"
    meta = json.loads(meta_file.read_text())
    del meta["bow_params"]["tta"]  # as written before the option existed
    meta_file.write_text(json.dumps(meta))
    loaded, _ = load_model(tmp_path / "old")
    assert loaded.named_steps["bow"].tta == "none"
    np.testing.assert_allclose(loaded.decision_function(images), pipe.decision_function(images), rtol=1e-4, atol=1e-5)


def test_histogram_kernels_refuse_negative_features():
    X = np.array([[0.5, -0.5], [0.2, 0.8]], np.float32)
    with pytest.raises(KerascenesError, match="non-negative features"):
        KernelSVC("chi2").fit(X, [0, 1])
    with pytest.raises(KerascenesError, match="non-negative features"):
        IntersectionMap().transform(X)
