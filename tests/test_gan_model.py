"""DCGAN model: Keras layers match the specs, one train step updates both networks, save/reload keeps state."""

import keras
import numpy as np
import pytest

from kerascenes.gan.architectures import get_architecture
from kerascenes.gan.dcgan import DCGAN
from kerascenes.gan.models import build_discriminator, build_generator


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")


def test_tutorial_models_match_the_tensorflow_tutorial_sizes():
    generator, discriminator = build_generator("tutorial"), build_discriminator("tutorial")
    assert generator.count_params() == 2_330_944
    assert discriminator.count_params() == 212_865
    assert generator.output_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)


def test_relu32_and_cpu_build_with_spec_settings():
    disc = build_discriminator("relu32")
    assert disc.layers[0].filters == 32
    gen = build_generator("cpu")
    bn = [layer for layer in gen.layers if isinstance(layer, keras.layers.BatchNormalization)][0]
    spec_bn = [layer for layer in get_architecture("cpu").generator if layer["type"] == "batchnorm"][0]
    assert bn.momentum == spec_bn["momentum"] and bn.epsilon == spec_bn["epsilon"]
    assert gen(np.zeros((2, 64), "float32")).shape == (2, 28, 28, 1)


def test_train_step_tracks_finite_metrics_and_updates_both_networks(images):
    gan = DCGAN("cpu", latent_dim=24, seed=1)
    gan.compile()
    g_before = [w.copy() for w in gan.generator.get_weights()]
    d_before = [w.copy() for w in gan.discriminator.get_weights()]
    history = gan.fit(images, batch_size=32, epochs=1, verbose=0).history
    assert set(history) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "info_loss"}  # cpu has a code
    assert all(np.isfinite(v[0]) for v in history.values())
    assert 0.0 <= history["d_acc_real"][0] <= 1.0 and 0.0 <= history["d_acc_fake"][0] <= 1.0
    assert int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 2
    assert any(not np.allclose(a, b) for a, b in zip(g_before, gan.generator.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d_before, gan.discriminator.get_weights()))
    samples = gan.generate(5, seed=3)
    assert samples.shape == (5, 28, 28) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_allclose(samples, gan.generate(5, seed=3))


def test_custom_optimizers_and_loss_are_used(images):
    gan = DCGAN("cpu", latent_dim=24, seed=2)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.02),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1))
    gan.fit(images, batch_size=32, epochs=1, verbose=0)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.02)


def test_get_config_round_trip():
    gan = DCGAN("tutorial", latent_dim=16, seed=5)
    config = gan.get_config()
    again = DCGAN.from_config(config)
    assert again.latent_dim == 16 and again.spec == gan.spec
    assert again.generator.count_params() == gan.generator.count_params()


def test_save_and_reload_keeps_weights_and_optimizer_state(images, tmp_path):
    gan = DCGAN("cpu", latent_dim=24, seed=3)
    gan.compile()
    gan.fit(images, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again, DCGAN)
    noise = gan.noise(4, seed=9)
    np.testing.assert_allclose(gan.generate(noise=noise), again.generate(noise=noise), atol=1e-6)
    for a, b in zip(gan.g_optimizer.variables + gan.d_optimizer.variables,
                    again.g_optimizer.variables + again.d_optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    assert int(again.g_optimizer.iterations) == 2
    again.fit(images, batch_size=32, epochs=1, verbose=0)  # training continues from the restored state
    assert int(again.g_optimizer.iterations) == 4


def test_weight_averaged_generator_follows_training_and_is_saved(images, tmp_path):
    arch = get_architecture("cpu").replace(latent_dim=24, ema_decay=0.9)
    gan = DCGAN(arch, seed=4)
    gan.compile()
    initial = [w.copy() for w in gan.generator_ema.get_weights()]
    gan.fit(images, batch_size=16, epochs=1, verbose=0)
    averaged, trained = gan.generator_ema.get_weights(), gan.generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(initial, averaged))
    assert any(not np.allclose(a, b) for a, b in zip(trained, averaged))
    assert gan.sampler is gan.generator_ema and not gan.generator_ema.trainable_weights
    gan.save(tmp_path / "ema.keras")
    again = keras.saving.load_model(tmp_path / "ema.keras")
    for a, b in zip(averaged, again.generator_ema.get_weights()):
        np.testing.assert_allclose(a, b)


def test_label_smoothing_is_one_sided_on_real_targets(images, constant_logit_loss):
    spec = get_architecture("cpu").replace(label_smoothing=0.2, latent_dim=24)
    gan = DCGAN(spec, seed=4)
    gan.compile()
    kernel, bias = gan.discriminator.layers[-1].get_weights()
    gan.discriminator.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])  # every logit is 1
    metrics = gan.train_step(images[:16])
    assert float(metrics["d_loss"]) == pytest.approx(constant_logit_loss(0.2), rel=1e-5)
