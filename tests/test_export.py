"""`kerascenes export --format savedmodel|tflite|onnx`: each file, run in its own runtime, gives
model.keras's probabilities.

A tiny MobileNet run (alpha 0.25, 32x32, --tta flip) and a tiny ViT run (32x32, patch 8, 2 blocks)
on synthetic folders. Each export is loaded with its runtime's own API (``tf.saved_model.load``,
``tf.lite.Interpreter``, ``onnxruntime``), not with kerascenes' helpers.
"""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.errors import KerascenesError
from kerascenes.vit.family import register_vit_config
from kerascenes.vit.presets import ViTConfig

register_vit_config("vit_export32", ViTConfig(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                              mlp_dim=64, dropout_rate=0.0), "tiny ViT for the export tests")

FAST = ["--backbone", "MobileNet", "--alpha", "0.25", "--image-size", "32", "--epochs", "1", "--batch-size", "8",
        "--dense", "16", "--patience", "1", "--quiet"]
NEEDS_ONNX = pytest.mark.skipif(any(importlib.util.find_spec(name) is None for name in ("tf2onnx", "onnxruntime", "onnx")),
                                reason="needs the export extra: pip install kerascenes[export]")
FORMATS = ("savedmodel", "tflite", pytest.param("onnx", marks=NEEDS_ONNX))
SUFFIX = {"savedmodel": "_savedmodel", "tflite": ".tflite", "onnx": ".onnx"}
CLASSES = ["alpha", "beta", "gamma"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _layers(layer):
    for sub in getattr(layer, "layers", []):
        yield sub
        yield from _layers(sub)


def calibrate_batchnorm(run_dir, images: np.ndarray):
    """Give every BatchNorm of the run's model the statistics of ``images`` and save model.keras again.

    With random MobileNet weights and BatchNorm's initial statistics the activations vanish,
    so every image would get the same probabilities and the comparison would prove nothing.
    The (frozen) BatchNorm layers are opened for this one batch only.
    """
    import keras

    from kerascenes.classify.evaluate import load_run_model
    from kerascenes.runs import RunFolder

    model = load_run_model(RunFolder.open(run_dir, "classifier"))
    norms = [layer for layer in _layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        layer.trainable, layer.momentum = True, 0.0  # the moving statistics become those of this one batch
    model(images, training=True)
    for layer in norms:
        layer.trainable, layer.momentum = False, 0.99
    model.save(str(run_dir / "model.keras"))
    return model


def load_images(folder, size: int = 32) -> np.ndarray:
    from kerascenes.data.images import load_image

    return np.stack([load_image(p, size) for p in sorted(folder.rglob("*.png"))]).astype(np.float32)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from conftest import write_image_folder

    root = tmp_path_factory.mktemp("export")
    train = write_image_folder(root / "train", per_class=6, seed=0)
    return train, write_image_folder(root / "val", per_class=2, seed=1), root


@pytest.fixture(scope="module")
def cnn_run(data):
    """A MobileNet run with --tta flip, its check images, model.keras's probabilities for them,
    and those of the classifier under the flip-averaging."""
    from kerascenes.backbones import build_backbone

    train, val, root = data
    weights = root / "mobilenet.weights.h5"  # a frozen backbone trains faster than --weights none
    build_backbone("MobileNet", None, 32, 0.25).save_weights(str(weights))
    result = invoke("fit", *FAST, "--weights", weights, "--tta", "flip", "--data", train, "--val-data", val,
                    "--logdir", root / "logs", "--name", "cnn")
    assert result.exit_code == 0, result.output
    model = calibrate_batchnorm(root / "logs" / "cnn", load_images(train))
    images = load_images(val)
    (inner,) = [layer for layer in model.layers if hasattr(layer, "layers")]
    return root / "logs" / "cnn", images, model.predict(images, verbose=0), inner.predict(images, verbose=0)


@pytest.fixture(scope="module")
def vit_run(data):
    """A tiny ViT run, its check images and model.keras's probabilities for them."""
    from kerascenes.classify.config import FitConfig
    from kerascenes.classify.train import fit_classifier

    train, val, root = data
    config = FitConfig(data=str(train), val_data=str(val), backbone="vit_export32", epochs=1, batch_size=8, dense=(16,),
                       dropout=0.3, logdir=str(root / "logs"), name="vit", seed=1)
    result = fit_classifier(config, verbose=0)
    images = load_images(val)
    return result.run.path, images, result.model.predict(images, verbose=0)


def runtime_probabilities(path, fmt: str, images: np.ndarray) -> np.ndarray:
    """Run an exported file with its runtime's plain API."""
    if fmt == "savedmodel":
        import tensorflow as tf

        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        return serve(image=tf.constant(images))["probabilities"].numpy()
    if fmt == "tflite":
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_path=str(path))
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        assert list(inp["shape_signature"]) == [-1, *images.shape[1:]] and inp["dtype"] == np.float32
        interpreter.resize_tensor_input(inp["index"], images.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], images)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.type, inp.shape[1:]) == ("image", "tensor(float)", [*images.shape[1:]])
    assert out.name == "probabilities"
    return session.run(None, {"image": images})[0]


def check_export(run_dir, fmt: str, out, images: np.ndarray, expected: np.ndarray) -> None:
    """Export through the CLI, then compare the runtime's probabilities with model.keras's."""
    result = invoke("export", run_dir, "--format", fmt, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["format"] == fmt and info["out"] == str(out) and info["max_abs_diff"] <= 1e-4
    assert info["class_names"] == CLASSES and info["image_size"] == 32
    assert info["input"] == "image: float32 (batch, 32, 32, 3) RGB in [0, 255]"
    assert out.exists() and not list(out.parent.glob(f".{out.name}.tmp*"))
    got = runtime_probabilities(out, fmt, images)
    assert got.shape == expected.shape == (len(images), 3)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert expected.std(axis=0).max() > 1e-3  # the probabilities depend on the image
    assert stored_class_names(out, fmt) == (None if fmt == "tflite" else CLASSES)


def stored_class_names(out, fmt: str) -> list[str] | None:
    """The class names kept in the export (none in a TFLite file)."""
    if fmt == "savedmodel":
        return json.loads((out / "assets.extra" / "kerascenes.json").read_text())["class_names"]
    if fmt == "onnx":
        import onnx

        return json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["kerascenes"])["class_names"]
    return None


@pytest.mark.parametrize("fmt", FORMATS)
def test_cnn_export_with_tta_matches_model_keras(cnn_run, tmp_path, fmt):
    run, images, expected, without_tta = cnn_run
    check_export(run, fmt, tmp_path / f"cnn{SUFFIX[fmt]}", images, expected)
    assert np.abs(without_tta - expected).max() > 1e-4  # the export matches the flip-averaged model, not the bare one


@pytest.mark.parametrize("fmt", FORMATS[1:])  # the TFLite file is converted from the SavedModel writer's output
def test_vit_export_includes_its_preprocessing(vit_run, tmp_path, fmt):
    run, images, expected = vit_run
    check_export(run, fmt, tmp_path / f"vit{SUFFIX[fmt]}", images, expected)


def fake_run(root, kind: str = "classifier"):
    """A run folder with only config.json (what the checks before loading the model read)."""
    run = root / f"{kind}-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": kind, "options": {"image_size": 32, "backbone": "MobileNet"},
                                                 "derived": {"class_names": CLASSES}}))
    return run


def tiny_model():
    import keras

    inputs = keras.Input((32, 32, 3), name="image")
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    return keras.Model(inputs, outputs)


def test_existing_out_is_never_overwritten(tmp_path):
    out = tmp_path / "model.tflite"
    out.write_bytes(b"keep me")
    result = invoke("export", fake_run(tmp_path), "--format", "tflite", "--out", out)
    assert result.exit_code == 2 and "already exists" in result.output and "Traceback" not in result.output
    assert out.read_bytes() == b"keep me"


def test_a_failed_export_leaves_nothing(tmp_path, monkeypatch):
    import kerascenes.classify.evaluate
    import kerascenes.export as export

    def broken(model, path, image_size, info):
        path.write_bytes(b"half")
        raise RuntimeError("converter crashed")

    def wrong(model, path, image_size, info):
        (path / "variables").mkdir(parents=True)
        (path / "saved_model.pb").write_bytes(b"wrong")

    run, out_dir = fake_run(tmp_path), tmp_path / "exports"
    out_dir.mkdir()
    monkeypatch.setattr(kerascenes.classify.evaluate, "load_run_model", lambda run: tiny_model())
    monkeypatch.setitem(export.WRITERS, "tflite", broken)
    with pytest.raises(RuntimeError, match="converter crashed"):
        export.export_run(run, "tflite", out_dir / "m.tflite")
    monkeypatch.setitem(export.WRITERS, "savedmodel", wrong)
    monkeypatch.setattr(export, "run_exported", lambda path, fmt, images: np.zeros((len(images), 3), np.float32))
    with pytest.raises(KerascenesError, match="differs from model.keras by"):
        export.export_run(run, "savedmodel", out_dir / "sm")
    assert list(out_dir.iterdir()) == []


def test_missing_export_packages_name_the_extra(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    result = invoke("export", fake_run(tmp_path), "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "tf2onnx" in result.output and "pip install kerascenes[export]" in result.output
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("args, message", [
    ([], "exactly one of --format"),
    (["--format", "onnx", "--preset", "p"], "exactly one of --format"),
    (["--format", "tflite"], "needs --out"),
    (["--preset", "p", "--out", "x"], "--out goes with --format"),
    (["--format", "keras", "--out", "x"], "'keras' is not one of"),
])
def test_format_and_preset_are_alternatives(tmp_path, args, message):
    result = invoke("export", fake_run(tmp_path), *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_other_run_kinds_are_refused(tmp_path):
    result = invoke("export", fake_run(tmp_path, "bow"), "--format", "savedmodel", "--out", tmp_path / "sm")
    assert result.exit_code == 2 and "is a bow run" in result.output and not (tmp_path / "sm").exists()


def test_vit_preset_export_still_works(vit_run, tmp_path):
    result = invoke("export", vit_run[0], "--preset", tmp_path / "preset")
    assert result.exit_code == 0, result.output
    assert "Wrote KerasHub preset" in result.output and (tmp_path / "preset" / "kerascenes.json").is_file()
