"""--strategy and --mixed-precision: tf.distribute strategies, TF_CONFIG checks, dtype policies."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerascenes.classify.distribute import Runtime, check_strategy, is_chief, read_tf_config
from kerascenes.errors import KerascenesError

WORKERS = {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 1}}


def test_check_strategy():
    assert check_strategy("mirrored") == "mirrored"
    with pytest.raises(KerascenesError, match="Unknown --strategy 'tpu'"):
        check_strategy("tpu")


@pytest.mark.parametrize("value, message", [
    ("", "needs the TF_CONFIG environment variable"),
    ("{cluster", "not valid JSON"),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "no cluster.worker list"),
    ('{"cluster": {"worker": ["a:1"]}}', "no task with a type and an index"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "task worker 3 is not in its cluster"),
])
def test_read_tf_config_errors(value, message):
    with pytest.raises(KerascenesError, match=message):
        read_tf_config({"TF_CONFIG": value})


def test_read_tf_config_and_chief():
    config = read_tf_config({"TF_CONFIG": json.dumps(WORKERS)})
    assert config["task"]["index"] == 1 and not is_chief(config)
    assert is_chief(WORKERS | {"task": {"type": "worker", "index": 0}})
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["w:1"]}, "task": {"type": "worker", "index": 0}}
    assert not is_chief(with_chief)
    assert is_chief(None)
    assert Runtime(replicas=4).global_batch(32) == 128


def test_precision_policy_is_scoped():
    import keras

    from kerascenes.classify.distribute import training_scope

    before = keras.config.dtype_policy().name
    with training_scope("default", mixed_precision=True) as runtime:
        assert runtime.precision == "mixed_float16" and runtime.replicas == 1
        dense = keras.layers.Dense(2)
        out = keras.layers.Dense(2, dtype="float32")(dense(keras.Input((3,))))
        assert dense.compute_dtype == "float16" and dense.kernel.dtype == "float32"
        assert out.dtype == "float32"
    assert keras.config.dtype_policy().name == before


def _run(script: str, env: dict[str, str] | None = None, timeout: int = 300) -> dict:
    """Run a Python script in a fresh interpreter (devices must be set before TensorFlow starts)."""
    full_env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"} | (env or {})
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


TINY_BACKBONE = """
import json, sys
import numpy as np
sys.path.insert(0, {tests!r})
from kerascenes.backbones import BackboneSpec, register_backbone
from test_speed_cached import _build_tiny
register_backbone(BackboneSpec("TestTinyCNN", "keras.applications", "", "tf", 32, 16, 0, builder=_build_tiny))
"""


def test_mirrored_strategy_on_two_logical_cpus_trains(image_folders, tmp_path):
    train, val = image_folders
    script = TINY_BACKBONE.format(tests=os.path.dirname(__file__)) + f"""
from kerascenes.classify.distribute import configure_cpu_devices
n_devices = configure_cpu_devices(2)
from kerascenes.classify import FitConfig, fit_classifier
common = dict(data={str(train)!r}, val_data={str(val)!r}, backbone="TestTinyCNN", weights="imagenet", image_size=32,
              dense=(8,), epochs=2, batch_size=4, patience=0, augment="none", logdir={str(tmp_path / "logs")!r},
              strategy="mirrored")
# stage 1 on cached features, stage 2 (fine-tuning) on images: both under the strategy
result = fit_classifier(FitConfig(name="mirrored", cache_features=True, fine_tune=2, fine_tune_epochs=1, **common),
                        verbose=0)
config = json.load(open(result.run.path / "config.json"))["derived"]
print(json.dumps({{"devices": n_devices, "runtime": config["runtime"], "global_batch": config["global_batch_size"],
                  "loss": result.history["loss"], "strategy": type(result.model.distribute_strategy).__name__,
                  "val_accuracy": result.summary["metrics"]["val_accuracy"]}}))
"""
    out = _run(script)
    assert out["devices"] == 2
    assert out["runtime"]["strategy"] == "mirrored" and out["runtime"]["replicas"] == 2
    assert len(out["runtime"]["devices"]) == 2 and all("CPU" in d for d in out["runtime"]["devices"])
    assert out["global_batch"] == 8
    assert out["strategy"] == "MirroredStrategy"
    assert len(out["loss"]) == 3 and all(0 < v < 10 for v in out["loss"])
    assert 0.0 <= out["val_accuracy"] <= 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def test_two_workers_train_together():
    """Two local workers of MultiWorkerMirroredStrategy, configured by TF_CONFIG, fit one model."""
    workers = [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]
    script = textwrap.dedent("""
        import json
        import numpy as np, keras, tensorflow as tf
        from kerascenes.classify.distribute import training_scope
        with training_scope("multiworker") as runtime:
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
            x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
            ds = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int64"))).batch(runtime.global_batch(8))
            h = model.fit(ds, validation_data=ds, epochs=3, verbose=0)
        print(json.dumps({"runtime": runtime.to_dict(), "loss": h.history["loss"],
                          "val_loss": h.history["val_loss"], "kernel": model.layers[-1].kernel.numpy().tolist(),
                          "multiworker": isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy)}))
    """)
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_CONFIG": json.dumps(tf_config)}
        procs.append(subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env))
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    for index, out in enumerate(outs):
        assert out["multiworker"] is True
        assert out["runtime"]["replicas"] == 2 and out["runtime"]["chief"] is (index == 0)
        assert len(out["loss"]) == 3 and out["loss"][-1] < out["loss"][0]
    # gradients are all-reduced: both workers end with the same weights and the same (global) logs
    np.testing.assert_allclose(outs[0]["kernel"], outs[1]["kernel"], rtol=1e-5)
    np.testing.assert_allclose(outs[0]["val_loss"], outs[1]["val_loss"], rtol=1e-5)


def test_multiworker_without_tf_config_fails_before_work(monkeypatch, tmp_path):
    from kerascenes.classify import FitConfig, fit_classifier

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(KerascenesError, match="TF_CONFIG"):
        fit_classifier(FitConfig(data=str(tmp_path), backbone="MobileNetV2", strategy="multiworker",
                                 logdir=str(tmp_path / "logs")))
    assert not (tmp_path / "logs").exists()
