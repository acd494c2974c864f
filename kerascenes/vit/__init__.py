"""Vision Transformer classifiers through KerasHub.

Importing :mod:`kerascenes.vit.presets` registers the ViT choices of ``--backbone`` (KerasHub
presets, from-scratch configs such as ``vit_tiny`` and local preset folders); training goes
through :func:`kerascenes.classify.fit_classifier` like every other backbone.
:mod:`kerascenes.vit.model` builds ``keras_hub.models.ViTImageClassifier`` models and
:mod:`kerascenes.vit.export` writes a trained run as a KerasHub preset. Only ``model`` and
``export`` import TensorFlow.
"""

__all__ = ["ViTConfig", "register_vit_config", "export_preset"]


def __getattr__(name):  # lazy: keeps `import kerascenes.vit` free of TensorFlow
    if name in ("ViTConfig", "register_vit_config"):
        from kerascenes.vit import presets

        return getattr(presets, name)
    if name == "export_preset":
        from kerascenes.vit.export import export_preset

        return export_preset
    raise AttributeError(name)
