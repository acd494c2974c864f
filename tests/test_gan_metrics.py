"""FD, KID, diversity and the shipped domain classifiers."""

import numpy as np
import pytest

from kerascenes.gan import layout
from kerascenes.gan.domain import DomainScorer, classifier_path, reference_path
from kerascenes.gan.metrics import (class_histogram, feature_stats, frechet_distance, kernel_inception_distance,
                                    score_features, score_samples)


def test_frechet_distance_closed_form():
    d = 4
    assert frechet_distance(np.zeros(d), np.eye(d), np.zeros(d), np.eye(d)) == pytest.approx(0.0, abs=1e-8)
    # means 2 apart in one axis, variances 1 vs 4 in every axis: 4 + d * (1 + 4 - 2 * 2)
    mu2 = np.zeros(d)
    mu2[0] = 2
    assert frechet_distance(np.zeros(d), np.eye(d), mu2, 4 * np.eye(d)) == pytest.approx(4 + d, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same = kernel_inception_distance(a, b, subsets=5, subset_size=300)
    shifted = kernel_inception_distance(a, b + 1.0, subsets=5, subset_size=300)
    assert abs(same) < 0.05 and shifted > 10 * abs(same) and shifted > 0.1


def test_score_features_confidence_and_coverage():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 6))
    probs = np.full((200, 10), 0.01)
    probs[:150, 3] = 0.91  # 150 confident "3"s
    probs[150:, 7] = 0.5   # 50 unsure "7"s
    mu, sigma = feature_stats(rng.normal(size=(500, 6)))
    scores = score_features(features, probs, {"mu": mu, "sigma": sigma, "features": features},
                            [str(i) for i in range(10)])
    assert scores["confident_share"] == pytest.approx(0.75)
    assert scores["class_histogram"]["3"] == 150 and scores["class_histogram"]["7"] == 50
    assert scores["classes_covered"] == 2
    assert 0 < scores["class_entropy"] < 1
    assert class_histogram(probs).sum() == 200


def test_sample_diversity_and_collapse_message(caplog):
    rng = np.random.default_rng(0)
    varied = rng.uniform(size=(16, 28, 28))
    same = np.repeat(varied[:1], 16, axis=0)
    assert layout.sample_diversity(same) == pytest.approx(0.0, abs=1e-6)
    assert layout.sample_diversity(varied) > 0.3
    assert layout.collapse_message(0.01, 0.4, epoch=3) and "epoch 3" in layout.collapse_message(0.01, 0.4, 3)
    assert layout.collapse_message(0.3, 0.4, epoch=3) is None
    with caplog.at_level("WARNING", logger="kerascenes"):
        assert layout.warn_if_collapsed(0.0, 0.4, 1)
    assert [r.levelname for r in caplog.records] == ["WARNING"] and "mode collapse" in caplog.text


def test_sample_noise_is_seeded_and_generated_images_are_batched_into_unit_range():
    a, b = layout.sample_noise(5, 7, seed=3), layout.sample_noise(5, 7, seed=3)
    assert a.shape == (5, 7) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, layout.sample_noise(5, 7, seed=4))
    np.testing.assert_array_equal(layout.sample_noise(2, 7, seed=3), a[:2])  # a prefix of a longer draw
    images = layout.to_unit(np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 2.0]))
    np.testing.assert_allclose(images, [0.0, 0.0, 0.5, 0.75, 1.0, 1.0])
    assert images.dtype == np.float32
    calls = []

    def generate(z):  # a batch of latent vectors -> (b, 28, 28) in [-1, 1]
        calls.append(len(z))
        return np.tanh(np.repeat(z[:, :1, None], 28, axis=1).repeat(28, axis=2))

    batched = layout.generate_images(generate, a, batch_size=2)
    assert calls == [2, 2, 1] and batched.shape == (5, 28, 28) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, layout.generate_images(generate, a, batch_size=500))
    np.testing.assert_allclose(batched[:, 0, 0], (np.tanh(a[:, 0]) + 1) / 2, rtol=1e-6)
    assert layout.generate_images(generate, a[:0]).shape == (0, 28, 28)


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_shipped_classifiers_are_small_and_score_numpy_samples(dataset):
    assert classifier_path(dataset).stat().st_size < 1_500_000
    assert reference_path(dataset).stat().st_size < 1_500_000
    scorer = DomainScorer.load(dataset)
    assert scorer.meta["test_accuracy"] > 0.85 and scorer.meta["real_fd"] > 0
    noise = np.random.default_rng(0).uniform(size=(300, 28, 28)).astype(np.float32)
    scores = score_samples(noise, dataset)
    assert scores["fd"] > 20 * scores["real_fd"]  # noise is far from real images
    assert scores["n_samples"] == 300 and sum(scores["class_histogram"].values()) == 300
    assert {"fd", "kid", "confident_share", "real_fd", "fd_ratio"} <= set(scores)
