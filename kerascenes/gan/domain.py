"""The small domain classifiers shipped with kerascenes to score generated digits and clothes.

One classifier per dataset (conv32 -> conv64 -> dense128 -> 10 classes), trained by
``scripts/train_domain_classifiers.py`` and stored in ``kerascenes/gan/assets/`` next to
reference statistics of the real data (feature mean/covariance of the training set, a
sample of real features for KID, and the real-vs-real figures that give the scores
their scale). They score numpy images in [0, 1] whichever framework generated them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kerascenes.data.digits import CLASS_NAMES
from kerascenes.errors import KerascenesError

ASSETS = Path(__file__).with_name("assets")
FEATURE_LAYER = "features"


def classifier_path(dataset: str) -> Path:
    return ASSETS / f"{dataset}_classifier.keras"


def reference_path(dataset: str) -> Path:
    return ASSETS / f"{dataset}_reference.npz"


def build_domain_classifier(num_classes: int = 10, seed: int = 0):
    """conv32 -> pool -> conv64 -> pool -> dense128 (``features``) -> softmax; input (28, 28, 1) in [0, 1]."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.25),
        layers.Dense(128, activation="relu", name=FEATURE_LAYER),
        layers.Dropout(0.4),
        layers.Dense(num_classes, activation="softmax", name="probabilities"),
    ], name="domain_classifier")


@dataclass
class DomainScorer:
    """A trained domain classifier plus its real-data reference statistics.

    Attributes:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        model: the Keras classifier (input ``(n, 28, 28, 1)`` in [0, 1]).
        reference: arrays ``mu``, ``sigma`` (training-set features), ``features`` (a sample
            of real features for KID) and the JSON ``meta`` (real-vs-real figures).
    """

    dataset: str
    model: Any
    reference: dict[str, Any]

    @classmethod
    def load(cls, dataset: str) -> "DomainScorer":
        """Load the shipped classifier of ``dataset`` (cached per process)."""
        return _load_scorer(dataset)

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES[self.dataset]

    @property
    def meta(self) -> dict[str, Any]:
        return self.reference["meta"]

    def predict(self, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, 128) and class probabilities (n, 10) of images in [0, 1]."""
        import keras

        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if x.shape[1:] != (28, 28, 1):
            raise KerascenesError(f"Samples have shape {x.shape[1:]}; the {self.dataset} classifier needs 28x28 grayscale images.")
        extractor = _feature_model(self)
        feats, probs = [], []
        for start in range(0, len(x), batch_size):
            f, p = extractor(keras.ops.convert_to_tensor(x[start:start + batch_size]), training=False)
            feats.append(np.asarray(f, dtype=np.float64))
            probs.append(np.asarray(p, dtype=np.float64))
        if not feats:
            return np.zeros((0, 128)), np.zeros((0, len(self.class_names)))
        return np.concatenate(feats), np.concatenate(probs)


_EXTRACTORS: dict[int, Any] = {}


def _feature_model(scorer: DomainScorer):
    key = id(scorer.model)
    if key not in _EXTRACTORS:
        import keras

        model = scorer.model
        _EXTRACTORS[key] = keras.Model(model.inputs, [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])
    return _EXTRACTORS[key]


@lru_cache(maxsize=4)
def _load_scorer(dataset: str) -> DomainScorer:
    if dataset not in CLASS_NAMES:
        raise KerascenesError(f"No domain classifier for {dataset!r}; choose one of {', '.join(CLASS_NAMES)}.")
    model_file, ref_file = classifier_path(dataset), reference_path(dataset)
    if not model_file.is_file() or not ref_file.is_file():
        raise KerascenesError(f"The {dataset} domain classifier is missing ({model_file}); reinstall kerascenes or run scripts/train_domain_classifiers.py.")
    import keras

    model = keras.saving.load_model(model_file, compile=False)
    with np.load(ref_file) as data:
        reference = {key: data[key] for key in data.files if key != "meta"}
        reference["meta"] = json.loads(str(data["meta"]))
    return DomainScorer(dataset, model, reference)
