"""Export a classifier run (CNN or ViT) as a SavedModel, a TFLite file or an ONNX file.

Every exported file has the same signature as the run's ``model.keras``, preprocessing and
test-time augmentation included:

* input ``image``: ``float32`` ``(batch, size, size, 3)``, RGB pixels in [0, 255], where
  ``size`` is the run's ``--image-size``;
* output ``probabilities``: ``float32`` ``(batch, classes)``, in the order of the run's
  ``class_names``.

The file is written to a temporary path beside ``out``, run once in its own runtime
(``tf.saved_model.load``, the TFLite interpreter, onnxruntime) on a few random images and
compared with the Keras model, then renamed to ``out``: a failed export leaves nothing
behind, and an existing ``out`` is never replaced. TensorFlow, tf2onnx and onnxruntime are
imported only inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from kerascenes.classify.config import input_size_of
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder

EXPORT_FORMATS = ("savedmodel", "tflite", "onnx")
#: The packages each format needs beyond TensorFlow (the ``[export]`` extra).
FORMAT_PACKAGES: dict[str, tuple[str, ...]] = {"savedmodel": (), "tflite": (),
                                               "onnx": ("onnx", "tf2onnx", "onnxruntime")}
INPUT_NAME, OUTPUT_NAME = "image", "probabilities"
#: The ONNX opset written (tf2onnx 1.17's default; onnxruntime has run it since 1.10).
ONNX_OPSET = 15
#: Largest difference allowed between the exported file and ``model.keras`` on the check images.
TOLERANCE = 1e-4
#: Where the SavedModel keeps the run's class names (TF Serving's folder for extra assets).
SAVEDMODEL_INFO = Path("assets.extra") / "kerascenes.json"


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`EXPORT_FORMATS`, else one sentence naming the choices."""
    if fmt not in EXPORT_FORMATS:
        raise KerascenesError(f"--format {fmt!r} is not an export format; choose one of {', '.join(EXPORT_FORMATS)}.")
    return fmt


def require_packages(fmt: str) -> None:
    """Refuse ``fmt`` when a package it needs is not installed, naming the extra that brings it."""
    missing = [name for name in FORMAT_PACKAGES[fmt] if importlib.util.find_spec(name) is None]
    if missing:
        raise KerascenesError(f"--format {fmt} needs the {', '.join(missing)} package(s), which are not installed; "
                              "install them with `pip install kerascenes[export]`.")


#: The file name ending of each file format (a SavedModel is a folder: none of these)
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


def check_out_path(out: str | os.PathLike, fmt: str | None = None) -> Path:
    """``out`` as a path, refused when it exists already, its folder cannot be written, or its
    name ends in another format's suffix (``--format onnx --out x.tflite``)."""
    from kerascenes.runs import check_output_dir

    out = Path(out)
    suffix = out.suffix.lower()
    if fmt in SUFFIXES and suffix != SUFFIXES[fmt]:
        raise KerascenesError(f"--out {out} does not end in {SUFFIXES[fmt]}, the file type of --format {fmt}; "
                              f"pass a path such as {out.with_suffix(SUFFIXES[fmt]).name}.")
    if fmt == "savedmodel" and suffix in (*SUFFIXES.values(), ".keras", ".h5"):
        raise KerascenesError(f"--out {out} names a {suffix} file, but --format savedmodel writes a folder; "
                              f"pass a folder path such as {out.with_suffix('').name}_savedmodel, or the --format "
                              "of that file.")
    if out.exists() or out.is_symlink():
        raise KerascenesError(f"--out {out} already exists; pass a new path (exports never overwrite).")
    check_output_dir(out.parent, "--out")
    return out


def _make_parents(path: Path) -> list[Path]:
    """Create the missing folders above ``path``; returns them, deepest first, to remove after a failure."""
    missing = [parent for parent in path.parents if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    return missing


def inference_model(model, image_size: int):
    """The run's model as one Keras model: RGB images in [0, 255] -> class probabilities.

    A KerasHub task (ViT runs) scales its images in its ``preprocessor``, outside its
    graph (``predict`` applies it in the input pipeline), so the image converter is put in
    front of it here. Other models (CNN runs) already hold their preprocessing layer and
    any ``--tta`` flip-averaging.
    """
    import keras

    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    if converter is None:
        return model
    inputs = keras.Input((image_size, image_size, 3), name=INPUT_NAME, dtype="float32")
    return keras.Model(inputs, model(converter(inputs)), name=f"{model.name}_with_preprocessing")


def _serving_function(model, image_size: int):
    """A ``tf.function`` ``image -> {"probabilities": ...}`` that runs ``model`` in inference mode.

    ``training=False`` is explicit: a KerasHub task nested in a functional model keeps its
    dropout active when called with the default ``training=None``.
    """
    import tensorflow as tf

    spec = tf.TensorSpec((None, image_size, image_size, 3), tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec], autograph=False)
    def serve(image):
        return {OUTPUT_NAME: model(image, training=False)}

    return serve, spec


def write_savedmodel(model, path: Path, image_size: int, info: dict[str, Any]) -> None:
    """A TensorFlow SavedModel folder with the ``serve`` and ``serving_default`` endpoints.

    The endpoints of ``model.export(path, format="tf_saved_model")``, saved from a plain
    ``tf.Module`` holding the model's variables and :func:`_serving_function`: the call is
    made with ``training=False``, and saving skips Keras' ``ExportArchive``, which traces
    every layer of the model once more.
    """
    import tensorflow as tf

    serve, _ = _serving_function(model, image_size)
    concrete = serve.get_concrete_function()
    module = tf.Module()
    # the tf.Variables the graph reads (not the Keras variables that wrap them: the TFLite
    # converter would find those uninitialised)
    module.graph_variables = list(concrete.variables)
    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": concrete})
    (path / SAVEDMODEL_INFO).parent.mkdir(exist_ok=True)
    (path / SAVEDMODEL_INFO).write_text(json.dumps(info, indent=2) + "\n")


def write_tflite(model, path: Path, image_size: int, info: dict[str, Any]) -> None:
    """A float32 TFLite flat buffer, converted from the SavedModel (builtin ops only)."""
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="kerascenes-tflite-", dir=path.parent) as tmp:
        saved = Path(tmp) / "savedmodel"
        write_savedmodel(model, saved, image_size, info)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
        path.write_bytes(converter.convert())


def _erfc_as_erf(ctx, node, name, args) -> None:
    """tf2onnx handler for ``Erfc`` (exact GELU in ViTs), which ONNX lacks: ``erfc(x) = 1 - erf(x)``."""
    from tf2onnx import utils

    node.type = "Erf"
    one = ctx.make_const(utils.make_name(f"{name}_one"),
                         np.array(1.0, utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))))
    sub = ctx.insert_new_node_on_output("Sub", node.output[0], name=utils.make_name(name),
                                        inputs=[one.output[0], node.output[0]])
    ctx.copy_shape(node.output[0], sub.output[0])


def write_onnx(model, path: Path, image_size: int, info: dict[str, Any]) -> None:
    """An ONNX model converted by tf2onnx, with the class names in its metadata (``kerascenes``).

    The function is frozen here rather than by ``tf2onnx.convert.from_function`` (which
    ``model.export(format="onnx")`` calls): that one turns every constant the graph captures
    (a ViT's position ids) into an extra ONNX input.
    """
    import tf2onnx

    serve, _ = _serving_function(model, image_size)
    concrete = serve.get_concrete_function()
    inputs = [t.name for t in concrete.inputs[:1]]  # the image; the other inputs are captures
    outputs = [t.name for t in concrete.outputs]
    graph_def = tf2onnx.tf_loader.from_function(concrete, inputs, outputs)
    proto, _ = tf2onnx.convert.from_graph_def(
        graph_def, name="kerascenes", input_names=inputs, output_names=outputs, opset=ONNX_OPSET,
        tensors_to_rename={inputs[0]: INPUT_NAME, outputs[0]: OUTPUT_NAME},
        custom_op_handlers={"Erfc": (_erfc_as_erf, [])})
    entry = proto.metadata_props.add()
    entry.key, entry.value = "kerascenes", json.dumps(info)
    path.write_bytes(proto.SerializeToString())


@contextlib.contextmanager
def _quiet_converters() -> Iterator[None]:
    """The converters log every step (tf2onnx at INFO, TensorFlow's TF1 notices); keep only their errors."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


WRITERS: dict[str, Callable[..., None]] = {"savedmodel": write_savedmodel, "tflite": write_tflite, "onnx": write_onnx}


def run_exported(path: str | os.PathLike, fmt: str, images: np.ndarray) -> np.ndarray:
    """The probabilities an exported file gives for ``images`` (float32 ``(n, size, size, 3)`` in [0, 255]),
    computed in the format's own runtime."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    if fmt == "savedmodel":
        import tensorflow as tf

        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        return serve(**{INPUT_NAME: tf.constant(images)})[OUTPUT_NAME].numpy()
    if fmt == "tflite":
        return _run_tflite(path, images)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: images})[0]


def _run_tflite(path: str | os.PathLike, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter warns that it moves to ai_edge_litert
        interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**{INPUT_NAME: images})[OUTPUT_NAME]


def check_export(model, path: Path, fmt: str, image_size: int, n: int = 4, seed: int = 0) -> float:
    """The largest difference between the exported file and ``model`` on ``n`` random images.

    Raises:
        KerascenesError: if it exceeds :data:`TOLERANCE` (the export is then not kept).
    """
    images = np.random.default_rng(seed).uniform(0, 255, (n, image_size, image_size, 3)).astype(np.float32)
    expected = np.asarray(model(images, training=False), dtype=np.float32)
    got = run_exported(path, fmt, images)
    diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
    if not diff <= TOLERANCE:
        raise KerascenesError(f"The {fmt} export differs from model.keras by {diff:.3g} (more than {TOLERANCE}); "
                              "it was not written, please report this with the run's config.json.")
    return diff


def publish(tmp: Path, out: Path) -> None:
    """Move the finished export ``tmp`` to ``out`` without ever replacing an existing ``out``."""
    if tmp.is_dir():
        if out.exists():
            raise KerascenesError(f"--out {out} appeared during the export; pass a new path.")
        os.rename(tmp, out)  # fails rather than replacing a non-empty folder
        return
    try:
        os.link(tmp, out)  # atomic, and refuses an existing out
    except FileExistsError:
        raise KerascenesError(f"--out {out} appeared during the export; pass a new path.") from None
    except OSError:  # a file system without hard links
        if out.exists():
            raise KerascenesError(f"--out {out} appeared during the export; pass a new path.") from None
        os.rename(tmp, out)
    else:
        tmp.unlink()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def export_run(run_dir: str | os.PathLike, fmt: str, out: str | os.PathLike) -> dict[str, Any]:
    """Export the model of a classifier run (CNN or ViT, ``--tta`` included) in ``fmt``.

    Args:
        run_dir: a finished classifier run folder.
        fmt: one of :data:`EXPORT_FORMATS`.
        out: the file (tflite, onnx) or folder (savedmodel) to create; it must not exist.

    Returns:
        ``{"run", "format", "out", "image_size", "class_names", "input", "output", "max_abs_diff",
        "bytes", "wall_time_s"}``.

    Raises:
        KerascenesError: for another kind of run, an existing ``out``, a missing package, or
            an export that does not reproduce ``model.keras``.
    """
    t0 = time.perf_counter()
    fmt = check_format(fmt)
    run = RunFolder.open(run_dir, "classifier", action="export")
    out = check_out_path(out, fmt)
    require_packages(fmt)
    from kerascenes.classify.evaluate import load_run_model

    config = run.read_config()
    size, class_names = input_size_of(config["image_size"]), list(config["class_names"])
    model = inference_model(load_run_model(run), size)
    info = {"run": run.name, "backbone": config.get("backbone"), "image_size": size, "class_names": class_names,
            "input": f"{INPUT_NAME}: float32 (batch, {size}, {size}, 3) RGB in [0, 255]",
            "output": f"{OUTPUT_NAME}: float32 (batch, {len(class_names)})"}
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    created = _make_parents(out)
    try:
        with _quiet_converters():
            WRITERS[fmt](model, tmp, size, info)
        diff = check_export(model, tmp, fmt, size)
        publish(tmp, out)
    except BaseException:
        _remove(tmp)
        for folder in created:  # the folders made for this export, if it left them empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return {"run": run.name, "format": fmt, "out": str(out), "image_size": size, "class_names": class_names,
            "input": info["input"], "output": info["output"], "max_abs_diff": diff, "bytes": _size(out),
            "wall_time_s": round(time.perf_counter() - t0, 2)}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
