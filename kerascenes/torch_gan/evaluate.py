"""Sample a PyTorch GAN run (``kerascenes gan sample`` / ``evaluate`` / ``compare`` call this for torch runs)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from kerascenes.errors import KerascenesError, reading
from kerascenes.gan import layout
from kerascenes.runs import RunFolder
from kerascenes.torch_gan.models import ImageSequential, build_generator

_CHECKPOINT_FILE = f"{layout.CHECKPOINT_DIR}/dcgan.pt"


def load_generator(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> ImageSequential:
    """The generator of a torch run: ``generator.pt``, or the last checkpoint of an unfinished run.

    Returns:
        The generator in eval mode.
    """
    run = RunFolder.open(run_dir, "gan", action="sample")
    config = run.read_config()
    final, checkpoint = run.path / layout.GENERATOR_FILE["torch"], run.path / _CHECKPOINT_FILE
    if not final.is_file() and not checkpoint.is_file():
        raise KerascenesError(f"{run.path} has no generator yet (no {layout.GENERATOR_FILE['torch']} or checkpoint); train at least one epoch.")
    source = final if final.is_file() else checkpoint
    with reading(source, "a kerascenes PyTorch file", "train the run again or restore the file"):
        saved = torch.load(source, map_location=device, weights_only=True)
        state = saved["state_dict"] if source == final else (saved.get("generator_ema") or saved["generator"])
        generator = build_generator(config["architecture_spec"]).to(device)
        generator.load_state_dict(state)
    return generator.eval()


def generate_from_run(run_dir: str | os.PathLike | Path, n: int = 64, seed: int = 0,
                      batch_size: int = 500) -> np.ndarray:
    """``n`` generated images in [0, 1], shape ``(n, 28, 28)``, float32.

    The latent vectors come from ``layout.sample_noise``, exactly as for TensorFlow runs, so a
    seed picks the same noise in both frameworks.
    """
    generator = load_generator(run_dir)
    latent_dim = generator.input_shape[0]
    noise = layout.sample_noise(n, latent_dim, seed)
    with torch.no_grad():
        return layout.generate_images(lambda z: generator(torch.from_numpy(z))[:, 0].numpy(), noise, batch_size)
