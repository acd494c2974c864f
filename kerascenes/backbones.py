"""The backbone registry: every network ``kerascenes fit --backbone`` accepts.

One entry per backbone holds everything that is true of it (one source of truth): the
constructor, its ImageNet preprocessing, default and minimum input sizes, whether it
takes a width multiplier (``alpha``) and its parameter count without the top layer. Other
families (e.g. KerasHub ViT presets) register themselves in the same table with
:func:`register_backbone`.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kerascenes.errors import KerascenesError


@dataclass(frozen=True)
class BackboneSpec:
    """What kerascenes knows about one backbone.

    Attributes:
        name: the name users type (``--backbone``).
        family: ``"keras.applications"`` or another family that registered itself.
        constructor: ``"module:attribute"`` of the model constructor.
        preprocessing: ``"tf"`` (scale to [-1, 1]), ``"caffe"`` (BGR, ImageNet mean
            subtracted) or ``"torch"`` (scale to [0, 1], ImageNet mean/std), as in
            ``keras.applications``; ``"none"`` if the model preprocesses itself.
        default_size: input size of the published ImageNet weights.
        min_size: smallest input size the architecture accepts.
        params: parameters without the classification top, at the default width.
        alphas: the width multipliers with published weights (empty if not supported).
        builder: for other families, a callable ``(spec, weights, image_size, alpha) -> model``.
        pretrained: whether ``--weights imagenet`` has weights to load (from-scratch
            architectures have none and start from random weights).
        classifier_builder: for families that build their own complete classifier (KerasHub
            tasks), a callable ``(spec, weights, image_size, num_classes, head, seed) -> model``
            taking RGB images in [0, 255]; used by training instead of ``build_classifier``.
        unfreeze: for such families, a callable ``(model, n_layers) -> count`` that opens the
            last layers for fine-tuning (instead of ``unfreeze_last``).
    """

    name: str
    family: str
    constructor: str
    preprocessing: str
    default_size: int
    min_size: int
    params: int
    alphas: tuple[float, ...] = ()
    description: str = ""
    builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    pretrained: bool = True
    classifier_builder: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    unfreeze: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def supports_alpha(self) -> bool:
        return bool(self.alphas)


def _keras_app(name: str, module: str, preprocessing: str, default: int, minimum: int, params: int,
               alphas: tuple[float, ...] = (), description: str = "") -> BackboneSpec:
    return BackboneSpec(name, "keras.applications", f"keras.applications:{name}", preprocessing, default,
                        minimum, params, alphas, description)


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        _keras_app("DenseNet121", "densenet", "torch", 224, 32, 7_037_504),
        _keras_app("DenseNet169", "densenet", "torch", 224, 32, 12_642_880),
        _keras_app("DenseNet201", "densenet", "torch", 224, 32, 18_321_984),
        _keras_app("InceptionResNetV2", "inception_resnet_v2", "tf", 299, 75, 54_336_736),
        _keras_app("InceptionV3", "inception_v3", "tf", 299, 75, 21_802_784),
        _keras_app("MobileNet", "mobilenet", "tf", 224, 32, 3_228_864, (0.25, 0.5, 0.75, 1.0)),
        _keras_app("MobileNetV2", "mobilenet_v2", "tf", 224, 32, 2_257_984, (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)),
        _keras_app("NASNetLarge", "nasnet", "tf", 331, 32, 84_916_818),
        _keras_app("NASNetMobile", "nasnet", "tf", 224, 32, 4_269_716),
        _keras_app("ResNet50", "resnet", "caffe", 224, 32, 23_587_712),
        _keras_app("VGG16", "vgg16", "caffe", 224, 32, 14_714_688),
        _keras_app("VGG19", "vgg19", "caffe", 224, 32, 20_024_384),
        _keras_app("Xception", "xception", "tf", 299, 71, 20_861_480),
    ]
}


_RESOLVERS: list[Callable[[str], BackboneSpec | None]] = []


def register_backbone(spec: BackboneSpec) -> None:
    """Add a backbone (or a whole family, one call per name) to the registry."""
    BACKBONES[spec.name] = spec


def register_resolver(resolver: Callable[[str], BackboneSpec | None]) -> None:
    """Add a function that turns a name outside the registry (e.g. a folder path) into a spec.

    Resolvers are asked in order for names the registry does not know; they return ``None``
    for names that are not theirs and raise :class:`KerascenesError` for broken ones.
    """
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def list_backbones(pattern: str = "*") -> list[str]:
    """Names of registered backbones matching a shell-style pattern (case-insensitive)."""
    import fnmatch

    _load_plugins()
    return sorted(n for n in BACKBONES if fnmatch.fnmatch(n.lower(), pattern.lower()))


def _load_plugins() -> None:
    """Register optional families (kept lazy so importing this module stays cheap)."""
    try:
        import kerascenes.vit.presets  # noqa: F401  (registers ViT names)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("kerascenes"):
            raise


def get_backbone(name: str) -> BackboneSpec:
    """Look a backbone up by name (case-insensitive); unknown names fail with close matches."""
    _load_plugins()
    if name in BACKBONES:
        return BACKBONES[name]
    by_lower = {n.lower(): n for n in BACKBONES}
    if name.lower() in by_lower:
        return BACKBONES[by_lower[name.lower()]]
    for resolver in _RESOLVERS:
        spec = resolver(name)
        if spec is not None:
            return spec
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(by_lower[c] for c in close)}?" if close else "run `kerascenes backbones` for the list."
    raise KerascenesError(f"Unknown backbone {name!r}; {hint}")


def resolve_image_size(spec: BackboneSpec, image_size: int | None) -> int:
    """The input size to use: the backbone's default, or a checked user value."""
    if image_size is None:
        return spec.default_size
    if image_size < spec.min_size:
        raise KerascenesError(
            f"--image-size {image_size} is too small for {spec.name}; use at least {spec.min_size} (default {spec.default_size})."
        )
    return int(image_size)


def resolve_weights(weights: str | None, spec: BackboneSpec | None = None) -> str | None:
    """Normalise ``--weights``: ``"imagenet"``, ``None`` (random init) or an existing file path.

    For a backbone without pretrained weights (``spec.pretrained`` false) ``"imagenet"``
    means random initialisation.
    """
    if weights is None or str(weights).lower() in ("none", "random", ""):
        return None
    if str(weights).lower() == "imagenet":
        return "imagenet" if spec is None or spec.pretrained else None
    path = Path(os.path.expanduser(str(weights)))
    if not path.is_file():
        raise KerascenesError(f"--weights {weights} is neither 'imagenet', 'none' nor an existing weights file; check the path.")
    return str(path)


def build_backbone(name: str, weights: str | None = "imagenet", image_size: int | None = None,
                   alpha: float | None = None):
    """Build a backbone without its classification top, ending in global average pooling.

    Args:
        name: registry name (see :func:`list_backbones`).
        weights: ``"imagenet"`` (downloaded by Keras), ``None`` / ``"none"`` for random
            initialisation, or the path of a local weights file (``include_top=False``).
        image_size: square input size; defaults to the backbone's.
        alpha: width multiplier (MobileNet, MobileNetV2 only).

    Returns:
        A ``keras.Model`` mapping preprocessed ``(size, size, 3)`` images to a feature vector.
    """
    spec = get_backbone(name)
    size = resolve_image_size(spec, image_size)
    weights = resolve_weights(weights, spec)
    if alpha is not None and not spec.supports_alpha:
        raise KerascenesError(f"--alpha applies only to MobileNet and MobileNetV2, not {spec.name}; drop --alpha.")
    if spec.builder is not None:
        return spec.builder(spec, weights, size, alpha)
    import importlib

    module_name, attr = spec.constructor.split(":")
    constructor = getattr(importlib.import_module(module_name), attr)
    kwargs: dict[str, Any] = {"include_top": False, "weights": weights, "input_shape": (size, size, 3), "pooling": "avg"}
    if alpha is not None:
        kwargs["alpha"] = float(alpha)
    try:
        model = constructor(**kwargs)
    except ValueError as exc:
        if weights not in (None, "imagenet"):
            raise KerascenesError(
                f"Weights file {weights} does not fit {spec.name}"
                f"{f' (alpha {alpha})' if alpha else ''} without its top layer ({str(exc).splitlines()[0][:160]}); "
                "pass the matching *_no_top weights file."
            ) from exc
        raise KerascenesError(f"Cannot build {spec.name} with these options: {str(exc).splitlines()[0][:200]}") from exc
    except Exception as exc:  # network errors come in many types (URLError, HTTPError, OSError)
        if weights == "imagenet" and _looks_like_download_error(exc):
            raise KerascenesError(
                f"Could not download the ImageNet weights of {spec.name} (no internet access?); "
                "pass --weights PATH to a local weights file or --weights none to start from random weights."
            ) from exc
        raise
    return model


def _looks_like_download_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("url", "http", "download", "connection", "resolve", "network", "fetch"))


def describe_backbones() -> list[dict[str, Any]]:
    """Rows for ``kerascenes backbones``: name, family, input sizes, parameters, preprocessing."""
    _load_plugins()
    return [
        {
            "name": s.name,
            "family": s.family,
            "default_size": s.default_size,
            "min_size": s.min_size,
            "params": s.params,
            "alpha": ", ".join(str(a) for a in s.alphas) if s.alphas else "-",
            "preprocessing": s.preprocessing,
            "description": s.description,
        }
        for s in sorted(BACKBONES.values(), key=lambda s: (s.family != "keras.applications", s.name))
    ]
