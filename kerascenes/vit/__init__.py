"""Vision Transformer classifiers through KerasHub.

:mod:`kerascenes.vit.presets` lists the ViT choices of ``--backbone`` as plain data (KerasHub
presets, from-scratch configs such as ``vit_tiny``; local preset folders are read from disk);
the registry (:mod:`kerascenes.backbones`) holds them from the start. Training goes through
:func:`kerascenes.classify.fit_classifier` like every other backbone, through the family object
of :mod:`kerascenes.vit.family`. :mod:`kerascenes.vit.model` builds
``keras_hub.models.ViTImageClassifier`` models and :mod:`kerascenes.vit.export` writes a trained
run as a KerasHub preset. Only ``model`` and ``export`` import TensorFlow.
"""

__all__ = ["ViTConfig", "register_vit_config", "export_preset"]


def __getattr__(name):  # lazy: keeps `import kerascenes.vit` free of TensorFlow
    if name == "ViTConfig":
        from kerascenes.vit.presets import ViTConfig

        return ViTConfig
    if name == "register_vit_config":
        from kerascenes.vit.family import register_vit_config

        return register_vit_config
    if name == "export_preset":
        from kerascenes.vit.export import export_preset

        return export_preset
    raise AttributeError(name)
