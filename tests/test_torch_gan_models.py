"""The torch generator/discriminator are layer-for-layer twins of the Keras models."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kerascenes.gan.architectures import conv, conv_transpose, get_architecture, list_architectures  # noqa: E402
from kerascenes.torch_gan import convert  # noqa: E402
from kerascenes.torch_gan import models as tm  # noqa: E402
from kerascenes.torch_gan.dcgan import TorchDCGAN  # noqa: E402

ARCHS = list_architectures()


@pytest.fixture(scope="module")
def keras_models():
    from kerascenes.gan import models as km

    return {name: (km.build_generator(name, seed=3), km.build_discriminator(name, seed=3)) for name in ARCHS}


def _nhwc(t: torch.Tensor) -> np.ndarray:
    array = t.detach().numpy()
    return array.transpose(0, 2, 3, 1) if array.ndim == 4 else array


@pytest.mark.parametrize("name", ARCHS)
def test_layers_and_parameters_match_keras(name, keras_models):
    kg, kd = keras_models[name]
    for keras_model, torch_model in ((kg, tm.build_generator(name, 0)), (kd, tm.build_discriminator(name, 0))):
        assert len(torch_model) == len(keras_model.layers)
        for module, layer, shape in zip(torch_model, keras_model.layers, torch_model.shapes):
            assert tuple(layer.output.shape[1:]) == shape, (module, layer.name)
            assert convert.keras_layout(module) == [tuple(w.shape) for w in layer.weights], (module, layer.name)
        trainable = sum(p.numel() for p in torch_model.parameters())
        statistics = sum(b.numel() for n, b in torch_model.named_buffers() if n.endswith(("running_mean", "running_var")))
        assert trainable == sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
        assert statistics == sum(int(np.prod(w.shape)) for w in keras_model.non_trainable_weights)


@pytest.mark.parametrize("name", ARCHS)
def test_same_weights_give_the_same_outputs(name, keras_models):
    kg, kd = keras_models[name]
    tg = convert.load_keras_weights(tm.build_generator(name), [layer.get_weights() for layer in kg.layers])
    td = convert.load_keras_weights(tm.build_discriminator(name), [layer.get_weights() for layer in kd.layers])
    for ours, theirs in zip(convert.to_keras_weights(tg), (layer.get_weights() for layer in kg.layers)):
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, get_architecture(name).latent_dim)).astype(np.float32)
    x = rng.uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    # training=True: BatchNorm normalises with the batch statistics in both frameworks
    for training in (False, True):
        tg.train(training)
        np.testing.assert_allclose(_nhwc(tg(torch.from_numpy(z))), np.asarray(kg(z, training=training)), atol=2e-5)
    td.eval()  # dropout off
    np.testing.assert_allclose(td(torch.from_numpy(x.transpose(0, 3, 1, 2))).detach().numpy(),
                               np.asarray(kd(x, training=False)), atol=2e-5)


@pytest.mark.parametrize("size,kernel,strides", [(28, 5, 2), (28, 4, 2), (14, 5, 1), (7, 3, 2), (9, 4, 3)])
def test_same_padding_matches_keras_for_odd_and_even_totals(size, kernel, strides):
    import keras

    layers = [conv(3, kernel, strides), conv_transpose(3, kernel, strides)]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, size, size, 2)).astype(np.float32)
    for layer in layers:
        k_layer = (keras.layers.Conv2D if layer["type"] == "conv" else keras.layers.Conv2DTranspose)(
            3, kernel, strides=strides, padding="same")
        expected = np.asarray(k_layer(x))
        t_layer = tm.build_layer(layer, (size, size, 2))
        convert.load_keras_weights(torch.nn.Sequential(t_layer), [k_layer.get_weights()])
        got = _nhwc(t_layer(torch.from_numpy(x.transpose(0, 3, 1, 2))))
        assert got.shape == expected.shape, layer["type"]
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_keras_conventions_are_translated():
    gan = TorchDCGAN("tutorial", seed=0)
    bn = [m for m in gan.generator if isinstance(m, torch.nn.BatchNorm1d)][0]
    assert bn.momentum == pytest.approx(0.01) and bn.eps == pytest.approx(1e-3)
    slopes = {m.negative_slope for m in gan.discriminator if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.3}
    for opt in (gan.g_optimizer, gan.d_optimizer):
        group = opt.param_groups[0]
        assert group["eps"] == 1e-7 and group["lr"] == 1e-4 and group["betas"] == (0.9, 0.999)
    biases = [m.bias for m in gan.discriminator if isinstance(m, torch.nn.Conv2d)]
    assert all(float(b.detach().abs().max()) == 0.0 for b in biases)
    # glorot-uniform: every kernel value within sqrt(6 / (fan_in + fan_out)) and the spread fills it
    dense = gan.generator[0].weight.detach()
    limit = np.sqrt(6.0 / sum(dense.shape))
    assert float(dense.abs().max()) <= limit and float(dense.abs().max()) > 0.95 * limit
    cpu = TorchDCGAN("cpu", seed=0)
    assert float(cpu.generator[1].weight.detach().std()) == pytest.approx(0.02, rel=0.05)  # [0]: the code


def test_seed_makes_initialisation_reproducible():
    a, b, c = TorchDCGAN("cpu", seed=5), TorchDCGAN("cpu", seed=5), TorchDCGAN("cpu", seed=6)
    assert torch.equal(a.generator[1].weight, b.generator[1].weight)  # [0] is the weightless code layer
    assert torch.equal(a.discriminator[0].weight, b.discriminator[0].weight)
    assert not torch.equal(a.generator[1].weight, c.generator[1].weight)
    assert not torch.equal(a.generator[1].weight[:10, 0], a.discriminator[-1].weight[0, :10])
