"""InfoGAN categorical codes: spec checks, the code layer, the extra loss in both frameworks, grid rows."""

import json

import keras
import numpy as np
import pytest

from kerascenes.errors import KerascenesError
from kerascenes.gan import layout
from kerascenes.gan.architectures import Architecture, categorical_code, get_architecture, output_shapes
from kerascenes.gan.dcgan import DCGAN
from kerascenes.gan.models import CategoricalCode


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")


def small_spec(codes: int = 4, **changes) -> Architecture:
    return get_architecture("cpu").with_codes(0).replace(latent_dim=8, **changes).with_codes(codes)


def test_spec_with_codes_adapts_both_networks_and_round_trips():
    plain = get_architecture("tutorial")
    info = plain.with_codes(10)
    assert plain.codes == 0 and info.codes == 10
    assert info.generator[0] == categorical_code(10) and info.generator[1:] == plain.generator
    assert info.discriminator[-1]["units"] == 11 and info.discriminator[:-1] == plain.discriminator[:-1]
    assert output_shapes(info.generator, (info.latent_dim,))[-1] == (28, 28, 1)
    assert output_shapes(info.discriminator, info.image_shape)[-1] == (11,)
    assert info.with_codes(0) == plain and info.with_codes(3).codes == 3
    assert Architecture.from_dict(json.loads(json.dumps(info.to_dict()))) == info


def test_inconsistent_code_specs_are_one_clear_sentence():
    plain, info = get_architecture("tutorial"), get_architecture("tutorial").with_codes(10)
    with pytest.raises(KerascenesError, match=r"must end in dense\(11\)"):
        info.replace(discriminator=plain.discriminator)
    with pytest.raises(KerascenesError, match=r"must end in dense\(1\)"):
        plain.replace(discriminator=info.discriminator)
    with pytest.raises(KerascenesError, match="must come first"):
        plain.replace(generator=plain.generator[:1] + (categorical_code(3),) + plain.generator[1:])
    with pytest.raises(KerascenesError, match="larger latent_dim"):
        info.replace(latent_dim=6)


def test_code_layer_is_the_one_hot_argmax_of_the_first_values():
    z = np.array([[0.1, 2.0, -1.0, 5.0, 6.0], [3.0, -2.0, 0.0, 7.0, 8.0]], "float32")
    np.testing.assert_array_equal(np.asarray(CategoricalCode(3)(z)), [[0, 1, 0, 5, 6], [1, 0, 0, 7, 8]])
    codes = np.asarray(CategoricalCode(4)(np.random.default_rng(1).standard_normal((4000, 6)).astype("float32")))
    assert np.all(codes[:, :4].sum(axis=1) == 1)
    assert np.allclose(codes[:, :4].mean(axis=0), 0.25, atol=0.03)  # uniform: the values are i.i.d.


def test_info_loss_is_added_for_both_networks(images, constant_logit_loss):
    gan = DCGAN(small_spec(4), seed=5)
    gan.compile()
    assert gan.discriminator.output_shape == (None, 5)
    kernel, bias = gan.discriminator.layers[-1].get_weights()
    # real/fake logit 1 and code logits 0 for every image: d_loss as a plain GAN, info_loss = log(codes)
    gan.discriminator.layers[-1].set_weights([np.zeros_like(kernel), np.array([1, 0, 0, 0, 0], bias.dtype)])
    metrics = gan.train_step(images[:16])
    assert float(metrics["d_loss"]) == pytest.approx(constant_logit_loss(0.0), rel=1e-5)
    assert float(metrics["info_loss"]) == pytest.approx(np.log(4), rel=1e-5)
    code_bias = gan.discriminator.layers[-1].get_weights()[1][1:]
    assert np.abs(code_bias).max() > 0  # the code head learns from the generated images

    off = DCGAN(small_spec(4, info_weight=0.0), seed=5)
    off.compile()
    off.discriminator.layers[-1].set_weights([np.zeros_like(kernel), np.array([1, 0, 0, 0, 0], bias.dtype)])
    off.train_step(images[:16])
    np.testing.assert_array_equal(off.discriminator.layers[-1].get_weights()[1][1:], 0.0)


def test_code_gan_trains_saves_and_reloads(images, tmp_path):
    gan = DCGAN(small_spec(3), seed=6)
    gan.compile()
    history = gan.fit(images, batch_size=32, epochs=1, verbose=0).history
    assert set(history) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "info_loss"}
    assert all(np.isfinite(v[0]) for v in history.values())
    gan.save(tmp_path / "gan.keras")
    again = keras.saving.load_model(tmp_path / "gan.keras")
    noise = gan.noise(6, seed=2)
    np.testing.assert_allclose(gan.generate(noise=noise), again.generate(noise=noise), atol=1e-6)
    gan.sampler.save(tmp_path / "generator.keras")
    generator = keras.saving.load_model(tmp_path / "generator.keras", compile=False)
    np.testing.assert_allclose(np.asarray(generator(noise)), np.asarray(gan.sampler(noise)), atol=1e-6)


def test_grid_noise_has_one_row_per_code_and_plain_history_has_no_info_column():
    noise = layout.fixed_noise(8, seed=0, codes=4)
    assert noise.shape == (4 * layout.GRID_COLUMNS, 8)
    np.testing.assert_array_equal(noise[:, :4].argmax(axis=1), np.arange(len(noise)) // layout.GRID_COLUMNS)
    np.testing.assert_array_equal(noise[:, 4:], layout.fixed_noise(8, seed=0)[:len(noise), 4:])
    assert layout.fixed_noise(8, seed=0).shape == (layout.GRID_SIZE, 8)
    plain = layout.loss_values({"g_loss": 1.0, "d_loss": 1.2, "d_acc_real": 0.5, "d_acc_fake": 0.5})
    assert layout.INFO_FIELD not in plain
    tags = [tag for tag, _ in layout.scalars({**plain, "info_loss": float("nan"), "seconds": 3.0})]
    assert "info_loss" not in tags and {"g_loss", "seconds"} <= set(tags)
    assert "info_loss" in dict(layout.scalars(layout.loss_values({**plain, "info_loss": 0.3})))


def test_torch_twin_computes_the_same_code_and_info_loss(images, constant_logit_loss):
    torch = pytest.importorskip("torch")
    from kerascenes.gan.models import build_generator as keras_generator
    from kerascenes.torch_gan import convert
    from kerascenes.torch_gan.dcgan import TorchDCGAN
    from kerascenes.torch_gan.models import build_generator

    spec = small_spec(4)
    kg = keras_generator(spec, seed=3)
    tg = convert.load_keras_weights(build_generator(spec), [layer.get_weights() for layer in kg.layers]).eval()
    z = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    np.testing.assert_allclose(tg(torch.from_numpy(z)).detach().numpy().transpose(0, 2, 3, 1),
                               np.asarray(kg(z, training=False)), atol=2e-5)

    gan = TorchDCGAN(spec, seed=4)
    last = [m for m in gan.discriminator.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
    metrics = gan.train_step(torch.from_numpy(images[:16].transpose(0, 3, 1, 2).copy()))
    assert set(metrics) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "info_loss"}
    assert float(metrics["d_loss"]) == pytest.approx(constant_logit_loss(0.0), rel=1e-5)
    assert float(metrics["info_loss"]) == pytest.approx(np.log(4), rel=1e-5)
    assert last.bias[1:].abs().max() > 0


def test_code_size_defaults_per_dataset_and_the_option_wins():
    from kerascenes.gan import GanConfig

    def codes(dataset, **kw):
        return GanConfig(dataset=dataset, **kw).resolve().codes

    assert codes("mnist") == 20 and codes("fashion_mnist") == 10
    assert codes("fashion_mnist", codes=0) == 0 and codes("mnist", codes=5) == 5
    assert codes("fashion_mnist", arch="tutorial") == 0
