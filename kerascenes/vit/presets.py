"""The ViT choices of ``--backbone`` as plain data: KerasHub presets, from-scratch configs, preset folders.

:mod:`kerascenes.backbones` reads these tables into its registry; nothing here imports the
registry, TensorFlow or KerasHub (:mod:`kerascenes.vit.family` and :mod:`kerascenes.vit.model`
build the networks).

Three kinds of ViT backbone:

* **KerasHub presets** (``vit_base_patch16_224_imagenet``, ...): pretrained on ImageNet,
  downloaded from Kaggle by KerasHub (then cached); the names and sizes mirror
  ``keras_hub.src.models.vit.vit_presets`` of KerasHub 0.32.
* **From-scratch configs** (``vit_tiny``, ``vit_small``): small architectures for a CPU,
  without pretrained weights; every layer trains from the first epoch.
* **A preset folder** (``--backbone PATH``): written by ``save_to_preset`` (for example by
  ``kerascenes export``), loaded with no network.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kerascenes.errors import KerascenesError

FAMILY = "keras_hub"
CONSTRUCTOR = "keras_hub.models:ViTBackbone"
# ViT presets scale pixels to [-1, 1] (mean 0.5, std 0.5), the same arithmetic as "tf".
PREPROCESSING = "tf"


@dataclass(frozen=True)
class ViTConfig:
    """Architecture of a ViT trained from scratch (the arguments of ``keras_hub.models.ViTBackbone``).

    Attributes:
        image_size: default square input size (any multiple of ``patch_size`` works).
        patch_size: side of the square patches that become tokens.
        num_layers: transformer blocks.
        num_heads: attention heads per block.
        hidden_dim: token width.
        mlp_dim: hidden width of each block's MLP.
        dropout_rate: dropout inside the encoder (regularises small datasets).
    """

    image_size: int
    patch_size: int
    num_layers: int
    num_heads: int
    hidden_dim: int
    mlp_dim: int
    dropout_rate: float = 0.1

    def backbone_kwargs(self, image_size: int | None = None) -> dict[str, Any]:
        """Keyword arguments of ``ViTBackbone`` for square images of ``image_size``."""
        size = int(image_size or self.image_size)
        kwargs = asdict(self)
        del kwargs["image_size"]
        return kwargs | {"image_shape": (size, size, 3)}

    def params(self, image_size: int | None = None) -> int:
        """Parameter count of the backbone (patch embedding, class token, positions, blocks)."""
        size = int(image_size or self.image_size)
        d, m, p = self.hidden_dim, self.mlp_dim, self.patch_size
        tokens = (size // p) ** 2 + 1
        embedding = p * p * 3 * d + d + d + tokens * d
        block = 2 * d + 4 * (d * d + d) + 2 * d + (d * m + m) + (m * d + d)
        return embedding + self.num_layers * block + 2 * d


# name -> (image size, patch size, parameters, description); see keras_hub's vit_presets.py.
KERAS_HUB_PRESETS: dict[str, tuple[int, int, int, str]] = {
    "vit_base_patch16_224_imagenet": (224, 16, 85_798_656, "ViT-B/16, ImageNet-1k"),
    "vit_base_patch16_384_imagenet": (384, 16, 86_090_496, "ViT-B/16, ImageNet-1k"),
    "vit_base_patch32_384_imagenet": (384, 32, 87_528_192, "ViT-B/32, ImageNet-1k"),
    "vit_large_patch16_224_imagenet": (224, 16, 303_301_632, "ViT-L/16, ImageNet-1k"),
    "vit_large_patch16_384_imagenet": (384, 16, 303_690_752, "ViT-L/16, ImageNet-1k"),
    "vit_large_patch32_384_imagenet": (384, 32, 305_607_680, "ViT-L/32, ImageNet-1k"),
    "vit_base_patch16_224_imagenet21k": (224, 16, 85_798_656, "ViT-B/16, ImageNet-21k"),
    "vit_base_patch32_224_imagenet21k": (224, 32, 87_455_232, "ViT-B/32, ImageNet-21k"),
    "vit_large_patch16_224_imagenet21k": (224, 16, 303_301_632, "ViT-L/16, ImageNet-21k"),
    "vit_large_patch32_224_imagenet21k": (224, 32, 305_510_400, "ViT-L/32, ImageNet-21k"),
    "vit_huge_patch14_224_imagenet21k": (224, 14, 630_764_800, "ViT-H/14, ImageNet-21k"),
}

# Sized for a CPU: vit_tiny is DeiT-Tiny with half its blocks, vit_small DeiT-Small with 8.
SCRATCH_CONFIGS: dict[str, ViTConfig] = {
    "vit_tiny": ViTConfig(image_size=224, patch_size=16, num_layers=6, num_heads=3, hidden_dim=192, mlp_dim=768),
    "vit_small": ViTConfig(image_size=224, patch_size=16, num_layers=8, num_heads=6, hidden_dim=384, mlp_dim=1536),
}


@dataclass(frozen=True)
class ViTSource:
    """Where a ViT backbone comes from: a preset (name or folder) or a from-scratch config."""

    preset: str | None = None
    config: ViTConfig | None = None
    patch_size: int = 16
    local: bool = False


def read_preset_folder(path: str | os.PathLike) -> dict[str, Any]:
    """Check that ``path`` is a KerasHub ViT preset folder and read its architecture.

    Returns:
        ``{"image_size", "patch_size", "params", "config", "has_image_converter", "has_task"}``.

    Raises:
        KerascenesError: if the folder holds no ``config.json`` or another model than a ViT.
    """
    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise KerascenesError(
            f"--backbone {path} is a folder but not a KerasHub preset (no config.json); pass a folder written by "
            "save_to_preset or `kerascenes export`."
        )
    try:
        config = json.loads(config_file.read_text())
        class_name = config.get("class_name")
        arch = config["config"]
    except (ValueError, KeyError, AttributeError) as exc:
        raise KerascenesError(f"{config_file} is not a KerasHub backbone config ({exc}); re-export the preset.") from None
    if class_name != "ViTBackbone":
        raise KerascenesError(f"--backbone {path} holds a {class_name} preset; kerascenes loads ViTBackbone presets only.")
    patch = arch.get("patch_size", 16)
    patch = int(patch[0] if isinstance(patch, (list, tuple)) else patch)
    params = 0
    metadata = folder / "metadata.json"
    if metadata.is_file():
        try:
            params = int(json.loads(metadata.read_text()).get("parameter_count", 0))
        except ValueError:
            params = 0
    return {"image_size": int(arch["image_shape"][0]), "patch_size": patch, "params": params, "config": arch,
            "has_image_converter": (folder / "image_converter.json").is_file(),
            "has_task": (folder / "task.json").is_file()}
