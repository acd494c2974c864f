"""The KerasHub ViT family: presets, from-scratch configs and local preset folders."""

from __future__ import annotations

from kerascenes.backbones import BackboneSpec, register_backbone, vit_config_spec
from kerascenes.classify.family import BackboneFamily
from kerascenes.errors import KerascenesError
from kerascenes.vit.presets import ViTConfig


class KerasHubViT(BackboneFamily):
    """``keras_hub.models.ViTImageClassifier`` models; ``--fine-tune N`` opens the last N transformer blocks.

    A ViT's layers, for ``--fine-tune``, are its transformer blocks (then the patch embedding).
    """

    key = "keras_hub"
    supports_tta = False
    fine_tune_unit = "transformer blocks"

    def check(self, spec, config):
        from kerascenes.vit.model import check_head, check_size, vit_source

        if config.weights not in ("imagenet", "none"):
            raise KerascenesError(f"--weights {config.weights} does not apply to ViT backbones; pass the preset "
                                  "folder itself as --backbone PATH.")
        super().check(spec, config)
        check_size(spec, vit_source(spec), config.weights, config.image_size)
        check_head(config.dense)

    def build_features(self, spec, weights, image_size, alpha):
        from kerascenes.vit.model import build_vit_features

        return build_vit_features(spec, weights, image_size)

    def build_classifier(self, spec, config, num_classes):
        from kerascenes.classify.model import HeadConfig
        from kerascenes.vit.model import build_vit_classifier

        head = HeadConfig(config.dense, config.dropout, config.activation)
        return build_vit_classifier(spec, config.weights, config.image_size, num_classes, head, seed=config.seed)

    def unfreeze(self, model, n):
        from kerascenes.vit.model import unfreeze_vit_blocks

        return unfreeze_vit_blocks(model, n)

    def split(self, model):
        """``(extractor, head)`` of a ``ViTImageClassifier``: images -> class token, class token -> probabilities.

        The extractor applies the classifier's own image converter (resize, scale to [-1, 1]) and
        runs the backbone in inference mode; the head is the task's pre-logits, dropout and output
        layers themselves, so training the head trains the classifier.
        """
        import keras

        size = int(model.backbone.image_shape[0])
        image = keras.Input((size, size, 3), name="image")
        tokens = model.backbone(model.preprocessor.image_converter(image), training=False)
        extractor = keras.Model(image, tokens[:, 0], name=f"{model.name}_features")
        features = keras.Input((int(tokens.shape[-1]),), name="features")
        x = features
        for name in ("pre_logits", "output_dropout", "predictions"):
            if any(layer.name == name for layer in model.layers):
                x = model.get_layer(name)(x)
        return extractor, keras.Model(features, x, name=f"{model.name}_head")

    def prepare_loading(self):
        super().prepare_loading()
        import keras_hub  # noqa: F401  (registers the KerasHub classes)


KERAS_HUB_VIT = KerasHubViT()


def register_vit_config(name: str, config: ViTConfig, description: str = "") -> BackboneSpec:
    """Register a from-scratch ViT architecture under ``name`` (usable as ``--backbone name``).

    Args:
        name: the backbone name.
        config: the architecture.
        description: one line for ``kerascenes backbones``.

    Returns:
        The registered spec.
    """
    spec = vit_config_spec(name, config, description)
    register_backbone(spec)
    return spec
