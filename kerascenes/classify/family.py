"""Backbone families: what differs between ``keras.applications`` CNNs and KerasHub ViTs.

Training, evaluation and the CLI talk to a family object, never to a family's name: the
family builds the classifier, opens layers for fine-tuning and says which options it
supports, so an unsupported option is refused before any image is read. The registry
(:mod:`kerascenes.backbones`) maps each backbone to its family key; :func:`get_family`
imports the family on first use.
"""

from __future__ import annotations

import logging
from typing import Any

from kerascenes.backbones import BackboneSpec, build_keras_application
from kerascenes.errors import KerascenesError

log = logging.getLogger("kerascenes")


class BackboneFamily:
    """The protocol every family implements (defaults: a frozen-backbone CNN family).

    Attributes:
        key: the family's key in :data:`kerascenes.backbones.FAMILIES`.
        supports_tta: whether ``--tta`` can wrap its classifiers.
        supports_cache_features: whether ``--cache-features`` can train its head on stored features.
        fine_tune_unit: what ``--fine-tune N`` counts (the last N of these are opened).
        supports_multiscale: whether ``--image-size`` may list several scales.
    """

    key = ""
    supports_tta = True
    supports_cache_features = True
    supports_multiscale = False
    fine_tune_unit = "layers"

    def trains_from_scratch(self, spec: BackboneSpec, weights: str) -> bool:
        """Whether every backbone layer trains from the first epoch (random initial weights)."""
        return weights == "none"

    def check(self, spec: BackboneSpec, config: Any) -> None:
        """Refuse options this family does not support (``config`` is a resolved ``FitConfig``)."""
        if config.alpha is not None and not spec.supports_alpha:
            raise KerascenesError(f"--alpha applies only to MobileNet and MobileNetV2, not {spec.name}; drop --alpha.")
        if getattr(config, "pooling", None) not in (None, "avg") and self.key != "keras.applications":
            raise KerascenesError(f"--pooling {config.pooling} applies to keras.applications CNNs, not {spec.name} "
                                  f"({spec.family}); drop --pooling.")
        if getattr(config, "stem", None) and self.key != "hybrid":
            raise KerascenesError(f"--stem applies only to --backbone vit_hybrid, not {spec.name}; drop --stem.")
        if config.tta != "none" and not self.supports_tta:
            raise KerascenesError(f"--tta is not available for {spec.name} ({spec.family}); drop it.")
        if config.cache_features and not self.supports_cache_features:
            raise KerascenesError(f"--cache-features is not available for {spec.name} ({spec.family}); drop it.")
        if config.cache_features and self.trains_from_scratch(spec, config.weights):
            raise KerascenesError("--cache-features needs pretrained weights (a frozen backbone); drop it or pass --weights.")

    def fit_size(self, spec: BackboneSpec, config: Any = None) -> int:
        """The input size ``kerascenes fit`` uses when ``--image-size`` is not given: the pretrained size."""
        return spec.default_size

    def defaults(self, spec: BackboneSpec, config: Any, weights: str) -> dict[str, Any]:
        """What ``None`` means for this family's input size, test-time augmentation and feature cache."""
        frozen = not self.trains_from_scratch(spec, weights)
        return {"image_size": self.fit_size(spec, config), "tta": "flip" if self.supports_tta else "none",
                "cache_features": self.supports_cache_features and frozen, "pooling": "avg"}

    def build_features(self, spec: BackboneSpec, weights: str, image_size: int, alpha: float | None):
        """The backbone alone: preprocessed images -> feature vector."""
        raise NotImplementedError

    def build_classifier(self, spec: BackboneSpec, config: Any, num_classes: int):
        """The complete classifier: RGB images in [0, 255] -> class probabilities."""
        raise NotImplementedError

    def unfreeze(self, model, n: int) -> int:
        """Open the last ``n`` fine-tuning units; returns how many layers with weights now train."""
        raise NotImplementedError

    def split(self, model):
        """``(extractor, head)`` of a classifier for cached-feature training (layers shared with ``model``)."""
        from kerascenes.classify.cached import split_classifier

        return split_classifier(model)

    def prepare_loading(self) -> None:
        """Register what ``keras.saving.load_model`` needs to read this family's saved models."""
        import kerascenes.classify.layers  # noqa: F401  (registers ImagePreprocessing)


class KerasApplications(BackboneFamily):
    """The 13 ``keras.applications`` CNNs: a frozen backbone in inference mode under a dense head."""

    key = "keras.applications"
    supports_multiscale = True

    def fit_size(self, spec, config=None):
        """1.25x the pretrained size, a multiple of 32: scene layouts gain from the finer feature grid of a
        convolutional backbone (MobileNet alpha 0.25 on the 15-Scene val half: 0.889 at 288 px, 0.866 at
        224 px, with cached features and flip TTA; README, results)."""
        return int(round(spec.default_size * 1.25 / 32) * 32)

    def defaults(self, spec, config, weights):
        """Spatial pyramid pooling at one input size (MobileNet alpha 0.25, 288 px, 15-Scene val half: 0.902 against
        0.889 with global average pooling; 5-fold cross-validation on the training images agrees); at several
        scales the 5x wider features overfit (0.884 against 0.894), so they are averaged."""
        several = len(getattr(config, "scales", ()) or ()) > 1
        return super().defaults(spec, config, weights) | {"pooling": "avg" if several else "pyramid"}

    def build_features(self, spec, weights, image_size, alpha):
        return build_keras_application(spec, weights, image_size, alpha)

    def build_classifier(self, spec, config, num_classes):
        from kerascenes.classify.model import HeadConfig, build_classifier

        scales = config.scales
        # several scales share one backbone that takes any input size
        size = None if len(scales) > 1 else config.input_size
        if config.pooling == "avg":
            backbone = self.build_features(spec, config.weights, size, config.alpha)
        else:  # the pyramid pools the last feature map itself
            backbone = build_keras_application(spec, config.weights, size, config.alpha, pooling=None)
        head = HeadConfig(config.dense, config.dropout, config.activation)
        from_scratch = self.trains_from_scratch(spec, config.weights)
        if from_scratch:
            log.info("Random initial weights: training all %d backbone layers.", len(backbone.layers))
        return build_classifier(backbone, num_classes, head, spec.preprocessing, config.input_size, seed=config.seed,
                                train_backbone=from_scratch, scales=scales if len(scales) > 1 else None,
                                fusion=config.scale_fusion, pooling=config.pooling)

    def unfreeze(self, model, n):
        from kerascenes.classify.model import find_backbone, unfreeze_last

        return unfreeze_last(find_backbone(model), n)


KERAS_APPLICATIONS = KerasApplications()
