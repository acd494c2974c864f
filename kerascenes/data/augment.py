"""Augmentation policies by name, applied in the input pipeline (never saved in the model).

Scenes have a ground and a sky, so only horizontal flips are used and rotations stay small.
Images are float32 RGB in [0, 255].
"""

from __future__ import annotations

POLICIES = {
    "none": "no augmentation",
    "default": "horizontal flip, rotation +-0.03 turn, zoom +-10%, contrast +-20%",
    "strong": "default + translation 10%, brightness +-20%, zoom +-20%, rotation +-0.06 turn",
}


def check_policy(name: str) -> str:
    """Validate an augmentation policy name."""
    from kerascenes.errors import KerascenesError

    if name not in POLICIES:
        raise KerascenesError(f"Unknown augmentation policy {name!r}; choose one of {', '.join(POLICIES)}.")
    return name


def build_augmenter(policy: str, seed: int | None = None):
    """A ``keras.Sequential`` of random layers for ``policy`` (``None`` for ``"none"``)."""
    import keras

    check_policy(policy)
    if policy == "none":
        return None
    L = keras.layers
    layers = [L.RandomFlip("horizontal", seed=seed)]
    if policy == "default":
        layers += [
            L.RandomRotation(0.03, fill_mode="reflect", seed=seed),
            L.RandomZoom(0.1, fill_mode="reflect", seed=seed),
            L.RandomContrast(0.2, seed=seed),
        ]
    else:
        layers += [
            L.RandomRotation(0.06, fill_mode="reflect", seed=seed),
            L.RandomZoom(0.2, fill_mode="reflect", seed=seed),
            L.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
            L.RandomContrast(0.2, seed=seed),
            L.RandomBrightness(0.2, value_range=(0, 255), seed=seed),
        ]
    return keras.Sequential(layers, name=f"augment_{policy}")
