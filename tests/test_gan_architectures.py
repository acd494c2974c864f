"""Architecture specs are plain data: consistent shapes, round trips, clear errors, no TensorFlow."""

import json
import subprocess
import sys

import pytest

from kerascenes.errors import KerascenesError
from kerascenes.gan.architectures import (ARCHITECTURES, DEFAULT_ARCHITECTURE, Architecture, get_architecture,
                                          list_architectures, output_shapes)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_specs_map_noise_to_image_and_image_to_logit(name):
    arch = get_architecture(name)
    assert output_shapes(arch.generator, (arch.latent_dim,))[-1] == (28, 28, 1)
    assert output_shapes(arch.discriminator, arch.image_shape)[-1] == (1 + arch.codes,)
    assert arch.generator[-1]["type"] == "tanh"


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_spec_round_trips_through_json(name):
    arch = get_architecture(name)
    again = Architecture.from_dict(json.loads(json.dumps(arch.to_dict())))
    assert again == arch


def test_registry_contents_and_defaults():
    assert {"tutorial", "relu32", "cpu"} <= set(list_architectures())
    assert DEFAULT_ARCHITECTURE == "cpu"
    tutorial, relu32 = get_architecture("tutorial"), get_architecture("relu32")
    assert tutorial.batch_size == 256 and tutorial.g_optimizer.learning_rate == 1e-4
    assert {layer["type"] for layer in relu32.generator} >= {"relu"}
    assert "leaky_relu" not in {layer["type"] for layer in relu32.generator}
    assert relu32.discriminator[0]["filters"] == 32
    assert len([l for l in relu32.discriminator if l["type"] == "conv"]) == 3
    cpu = get_architecture("cpu")
    assert cpu.g_optimizer.beta_1 == 0.5 and cpu.g_optimizer.learning_rate == 4e-4
    assert cpu.max_minutes == 13.5 and 0 < cpu.ema_decay < 1 and tutorial.ema_decay == 0.0
    # a hidden dense layer in both networks, before the 7x7 projection and after the convolutions
    assert cpu.codes == 20 and tutorial.codes == relu32.codes == 0
    assert [l["type"] for l in cpu.generator[1:5]] == ["dense", "batchnorm", "leaky_relu", "dense"]
    assert [l["type"] for l in cpu.discriminator[-4:]] == ["flatten", "dense", "leaky_relu", "dense"]


def test_replace_and_learning_rate_copy():
    arch = get_architecture("cpu").with_learning_rate(1e-3).replace(latent_dim=24)
    assert arch.g_optimizer.learning_rate == arch.d_optimizer.learning_rate == 1e-3
    assert arch.latent_dim == 24 and get_architecture("cpu").latent_dim != 24


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KerascenesError, match="did you mean tutorial"):
        get_architecture("tutorail")


def test_inconsistent_reshape_is_reported():
    with pytest.raises(KerascenesError, match="reshape"):
        output_shapes([{"type": "dense", "units": 10, "use_bias": True},
                       {"type": "reshape", "target_shape": (7, 7, 1)}], (4,))


def test_specs_do_not_import_tensorflow():
    code = "import sys, kerascenes.gan.architectures, kerascenes.gan.layout; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
