"""ViT classifiers built with KerasHub: ``keras_hub.models.ViTImageClassifier`` and its parts.

The classifier of a ViT run is a genuine KerasHub task: its preprocessor (a
``ViTImageConverter``: resize and rescale to [-1, 1]) is part of the saved model, so it takes
RGB images in [0, 255] like every kerascenes classifier, and ``save_to_preset`` writes it as
a KerasHub preset (:mod:`kerascenes.vit.export`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kerascenes.backbones import BackboneSpec
from kerascenes.data.folders import require_classes
from kerascenes.errors import KerascenesError
from kerascenes.vit.presets import ViTSource

log = logging.getLogger("kerascenes")

#: ViT presets scale pixels with mean 0.5 and std 0.5: [0, 255] -> [-1, 1].
SCALE, OFFSET = 1.0 / 127.5, -1.0


def vit_source(spec: BackboneSpec) -> ViTSource:
    """The :class:`ViTSource` behind a ViT backbone spec."""
    if not isinstance(spec.source, ViTSource):
        raise KerascenesError(f"Backbone {spec.name!r} is not a ViT backbone; run `kerascenes backbones` for the list.")
    return spec.source


def _download_failed(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("connection", "resolve", "http", "url", "network", "kaggle", "download"))


def check_size(spec: BackboneSpec, source: ViTSource, weights: str, image_size: int) -> None:
    """Refuse input sizes the ViT cannot take (not a multiple of its patch, or not its pretrained size)."""
    if image_size % source.patch_size:
        raise KerascenesError(
            f"--image-size {image_size} is not a multiple of the patch size {source.patch_size} of {spec.name}; "
            f"use e.g. {max(1, image_size // source.patch_size) * source.patch_size}."
        )
    if weights != "none" and source.config is None and image_size != spec.default_size:
        raise KerascenesError(
            f"--image-size {image_size} does not fit {spec.name}: its pretrained position embeddings are for "
            f"{spec.default_size}x{spec.default_size} images; drop --image-size or pass --weights none."
        )


def check_head(dense) -> None:
    """A ViT head has at most one hidden layer (KerasHub's pre-logits layer)."""
    if len(dense) > 1:
        raise KerascenesError(
            f"--dense {','.join(map(str, dense))} has {len(dense)} layers but a ViT head takes at most one "
            "(KerasHub's pre-logits layer); pass e.g. --dense 256 or --dense none."
        )


def _from_preset(spec: BackboneSpec, source: ViTSource, loader):
    """Call a KerasHub ``from_preset`` and turn download failures into one clear sentence."""
    try:
        return loader(source.preset)
    except KerascenesError:
        raise
    except Exception as exc:
        if not source.local and _download_failed(exc):
            raise KerascenesError(
                f"Could not download the KerasHub preset {spec.name} (no internet access and not in the Kaggle "
                "cache); pass --backbone PATH to a local preset folder written by save_to_preset or `kerascenes export`."
            ) from exc
        raise KerascenesError(f"Cannot load the KerasHub preset {source.preset}: {str(exc).splitlines()[0][:200]}") from exc


def load_vit_backbone(spec: BackboneSpec, weights: str, image_size: int):
    """The ``keras_hub.models.ViTBackbone`` of a ViT spec.

    Args:
        spec: a ViT backbone spec (preset name, preset folder or from-scratch config).
        weights: ``"imagenet"`` loads the preset's weights; ``"none"`` starts from random weights.
        image_size: square input size (the preset's own size when its weights are loaded).

    Returns:
        The backbone: images scaled to [-1, 1] -> token sequence ``(batch, tokens, width)``.
    """
    import keras_hub

    source = vit_source(spec)
    if weights not in ("none", "imagenet"):
        raise KerascenesError(
            f"--weights {weights} does not apply to ViT backbones; pass the preset folder itself as --backbone PATH."
        )
    check_size(spec, source, weights, image_size)
    if source.config is not None:
        return keras_hub.models.ViTBackbone(**source.config.backbone_kwargs(image_size), name="vit_backbone")
    pretrained = weights != "none"
    overrides: dict[str, Any] = {} if pretrained else {"image_shape": (image_size, image_size, 3)}
    return _from_preset(spec, source, lambda preset: keras_hub.models.ViTBackbone.from_preset(
        preset, load_weights=pretrained, **overrides))


def load_vit_converter(spec: BackboneSpec, image_size: int):
    """The preset's ``ViTImageConverter`` at ``image_size``, or the standard [-1, 1] one.

    From-scratch configs and preset folders without ``image_converter.json`` (backbone-only
    presets) get the standard converter.
    """
    import keras_hub

    source = vit_source(spec)
    size = (image_size, image_size)
    standard = keras_hub.layers.ViTImageConverter(image_size=size, scale=SCALE, offset=OFFSET)
    if source.preset is None or (source.local and not (Path(source.preset) / "image_converter.json").is_file()):
        return standard
    try:
        return _from_preset(spec, source, lambda preset: keras_hub.layers.ViTImageConverter.from_preset(
            preset, image_size=size))
    except KerascenesError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):  # a downloaded backbone-only preset
            return standard
        raise


def build_vit_classifier(spec: BackboneSpec, weights: str, image_size: int, num_classes: int, head,
                         seed: int | None = None):
    """A ``keras_hub.models.ViTImageClassifier`` for kerascenes training.

    The head is KerasHub's: the class token, an optional ``pre_logits`` dense layer (tanh,
    as in the ViT paper; ``--dense`` gives its width), dropout and a softmax layer. With
    pretrained weights the backbone starts frozen (the head trains first, then
    ``--fine-tune N`` opens the last N transformer blocks); without, every layer trains.

    Args:
        spec: a ViT backbone spec.
        weights: ``"imagenet"`` (the preset's weights) or ``"none"``.
        image_size: square input size.
        num_classes: number of classes.
        head: a :class:`kerascenes.classify.model.HeadConfig` (at most one hidden layer).
        seed: unused beyond the global seed (KerasHub's dropout takes none); kept for the hook.

    Returns:
        The classifier: RGB images in [0, 255] -> class probabilities.
    """
    import keras_hub

    require_classes(num_classes)
    check_head(head.dense)
    backbone = load_vit_backbone(spec, weights, image_size)
    converter = load_vit_converter(spec, image_size)
    preprocessor = keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter)
    model = keras_hub.models.ViTImageClassifier(
        backbone=backbone, num_classes=num_classes, preprocessor=preprocessor, pooling="token",
        intermediate_dim=head.dense[0] if head.dense else None, activation="softmax", dropout=head.dropout,
        head_dtype="float32", name="kerascenes_vit",
    )
    backbone.trainable = weights == "none"
    if weights == "none":
        log.info("%s starts from random weights: every layer trains from the first epoch.", spec.name)
    return model


def build_vit_features(spec: BackboneSpec, weights: str, image_size: int):
    """A feature extractor: images scaled to [-1, 1] -> the class token."""
    import keras

    backbone = load_vit_backbone(spec, weights, image_size)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    tokens = backbone(inputs)
    return keras.Model(inputs, tokens[:, 0], name=f"{backbone.name}_features")


def transformer_blocks(backbone) -> list:
    """The transformer blocks of a ``ViTBackbone``, first to last."""
    return list(backbone.get_layer("vit_encoder").encoder_layers)


def unfreeze_vit_blocks(model, n_blocks: int) -> int:
    """Open the last ``n_blocks`` transformer blocks (and the final LayerNorm) of a ViT classifier.

    A backbone that trains already (from scratch) is left as it is.

    Returns:
        The number of layers with weights that are trainable afterwards in the backbone.
    """
    backbone = model.backbone
    blocks = transformer_blocks(backbone)
    if n_blocks <= 0:
        return 0
    if backbone.trainable:
        return len(blocks) + 2
    backbone.trainable = True
    cut = max(0, len(blocks) - n_blocks)
    for block in blocks[:cut]:
        block.trainable = False
    # the patch embedding opens only when more blocks are asked for than there are
    backbone.get_layer("vit_patching_and_embedding").trainable = n_blocks > len(blocks)
    return len(blocks) - cut + 1 + int(n_blocks > len(blocks))
