"""Sample from and score a GAN run folder, whichever framework trained it."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from kerascenes.errors import KerascenesError, reading
from kerascenes.gan import layout
from kerascenes.runs import RunFolder, save_npy, write_json


def _gan_run(run_dir: str | os.PathLike, action: str = "evaluate") -> tuple[RunFolder, dict[str, Any]]:
    run = RunFolder.open(run_dir, "gan", action=action)
    return run, run.read_config()


def generate_from_run(run_dir: str | os.PathLike, n: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` generated images in [0, 1], shape ``(n, 28, 28)``, float32.

    A tf run loads ``generator.keras`` (or the last checkpoint of an unfinished run); a
    torch run is delegated to ``kerascenes.torch_gan.evaluate.generate_from_run``.
    """
    layout.check_sampling(n, seed)
    run, config = _gan_run(run_dir, "sample")
    framework = config.get("framework", "tf")
    if framework == "torch":
        try:
            module = importlib.import_module("kerascenes.torch_gan.evaluate")
        except ImportError:
            raise KerascenesError(f"{run.path} was trained with PyTorch; install it with `pip install kerascenes[torch]`.") from None
        return module.generate_from_run(run.path, n=n, seed=seed)
    import keras

    import kerascenes.gan.models  # noqa: F401 - registers the CategoricalCode layer for deserialisation
    from kerascenes.gan.callbacks import GanCheckpoint

    generator_file = run.path / layout.GENERATOR_FILE["tf"]
    checkpoint = run.path / GanCheckpoint.FILE
    fix = "train the run again or restore the file"
    if generator_file.is_file():
        with reading(generator_file, "a Keras model file", fix):
            generator = keras.saving.load_model(generator_file, compile=False)
    elif checkpoint.is_file():
        import kerascenes.gan.dcgan  # noqa: F401 - registers DCGAN for deserialisation

        with reading(checkpoint, "a Keras model file", fix):
            generator = keras.saving.load_model(checkpoint, compile=False).sampler
    else:
        raise KerascenesError(f"{run.path} has no generator yet (no {layout.GENERATOR_FILE['tf']} or checkpoint); train at least one epoch.")
    noise = layout.sample_noise(n, config["latent_dim"], seed)
    return layout.generate_images(lambda z: np.asarray(generator(z, training=False))[..., 0], noise)


def evaluate_run(run_dir: str | os.PathLike, n: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Score ``n`` samples of a run on its dataset's shipped classifier.

    Writes ``evaluation.json`` and ``class_histogram.png`` into the run folder.

    Returns:
        ``fd``, ``kid``, ``confident_share``, ``classes_covered``, ``class_histogram``,
        the real-vs-real figures (``real_fd``, ``real_kid``, ``real_confident_share``) and ``fd_ratio``.
    """
    from kerascenes.gan.metrics import score_samples
    from kerascenes.plots import plot_class_counts

    layout.check_sampling(n, seed)
    run, config = _gan_run(run_dir)
    images = generate_from_run(run.path, n=n, seed=seed)
    scores = score_samples(images, config["dataset"])
    scores.update({"run": run.name, "framework": config.get("framework", "tf"), "architecture": config["arch"],
                   "seed": seed})
    write_json(run.file(layout.EVALUATION_FILE), scores)
    plot_class_counts(scores["class_histogram"], run.file("class_histogram.png"),
                      title=f"Classes of {n} generated images ({config['dataset']})")
    return scores


def save_samples(images: np.ndarray, out: str | os.PathLike) -> Path:
    """Write samples as a ``.png`` grid or a raw ``.npy`` (float32 in [0, 1], ``(n, 28, 28)``)."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise KerascenesError(f"--out {out} must end in .png (a grid) or .npy (raw samples).")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        save_npy(out, np.asarray(images, dtype=np.float32))
    else:
        from kerascenes.plots import save_image_grid

        save_image_grid(images, out)
    return out
