"""The backbone registry: every network ``kerascenes fit --backbone`` accepts.

One entry per backbone holds everything that is true of it (one source of truth): its
family, constructor, ImageNet preprocessing, default and minimum input sizes, whether it
takes a width multiplier (``alpha``) and its parameter count without the top layer.

The registry is plain data and imports no model code: every name (the 13
``keras.applications`` networks, the KerasHub ViT presets and the from-scratch ViT configs of
:mod:`kerascenes.vit.presets`) is in :data:`BACKBONES` from the start. What a family *does*
(build a classifier, open layers for fine-tuning, which options it supports) lives in a
family object (:class:`kerascenes.classify.family.BackboneFamily`) that :func:`get_family`
imports on first use; nothing imported here imports the registry back.
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
        family: the key of its family in :data:`FAMILIES` (``"keras.applications"``, ``"keras_hub"``).
        constructor: ``"module:attribute"`` of the model constructor.
        preprocessing: ``"tf"`` (scale to [-1, 1]), ``"caffe"`` (BGR, ImageNet mean
            subtracted) or ``"torch"`` (scale to [0, 1], ImageNet mean/std), as in
            ``keras.applications``; ``"none"`` if the model preprocesses itself.
        default_size: input size of the published ImageNet weights.
        min_size: smallest input size the architecture accepts.
        params: parameters without the classification top, at the default width.
        alphas: the width multipliers with published weights (empty if not supported).
        description: one line for ``kerascenes backbones``.
        builder: optional ``(spec, weights, image_size, alpha) -> feature model`` used instead
            of ``constructor`` (custom or test networks of the keras.applications family).
        pretrained: whether ``--weights imagenet`` has weights to load (from-scratch
            architectures have none and start from random weights).
        source: family-specific data (a ViT's preset name or from-scratch config).
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
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def supports_alpha(self) -> bool:
        return bool(self.alphas)


#: family key -> ``"module:attribute"`` of its :class:`~kerascenes.classify.family.BackboneFamily`.
FAMILIES: dict[str, str] = {
    "keras.applications": "kerascenes.classify.family:KERAS_APPLICATIONS",
    "keras_hub": "kerascenes.vit.family:KERAS_HUB_VIT",
    "hybrid": "kerascenes.vit.hybrid:KERAS_HYBRID_VIT",
}


def get_family(spec_or_key: BackboneSpec | str):
    """The family object that builds and fine-tunes a backbone (imported on first use).

    Args:
        spec_or_key: a backbone spec, or a family key as stored in a run's config.
    """
    import importlib

    key = spec_or_key.family if isinstance(spec_or_key, BackboneSpec) else str(spec_or_key)
    if key not in FAMILIES:
        raise KerascenesError(f"Unknown backbone family {key!r}; kerascenes knows {', '.join(FAMILIES)}.")
    module, attr = FAMILIES[key].split(":")
    return getattr(importlib.import_module(module), attr)


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


def _vit_specs() -> list[BackboneSpec]:
    from kerascenes.vit import presets

    specs = [_vit_spec(name, presets.ViTSource(preset=name, patch_size=patch), size, params, True,
                       f"{text} (KerasHub preset, downloaded from Kaggle)")
             for name, (size, patch, params, text) in presets.KERAS_HUB_PRESETS.items()]
    specs += [vit_config_spec(name, config) for name, config in presets.SCRATCH_CONFIGS.items()]
    return specs


def _vit_spec(name: str, source, default_size: int, params: int, pretrained: bool, description: str) -> BackboneSpec:
    from kerascenes.vit import presets

    return BackboneSpec(name=name, family=presets.FAMILY, constructor=presets.CONSTRUCTOR,
                        preprocessing=presets.PREPROCESSING, default_size=default_size, min_size=source.patch_size,
                        params=params, description=description, pretrained=pretrained, source=source)


def vit_config_spec(name: str, config, description: str = "") -> BackboneSpec:
    """The spec of a from-scratch ViT architecture (a :class:`~kerascenes.vit.presets.ViTConfig`)."""
    from kerascenes.vit import presets

    text = description or (f"from scratch (no pretrained weights): patch {config.patch_size}, "
                           f"{config.num_layers} blocks, {config.num_heads} heads, width {config.hidden_dim}")
    return _vit_spec(name, presets.ViTSource(config=config, patch_size=config.patch_size), config.image_size,
                     config.params(), False, text)


BACKBONES.update({spec.name: spec for spec in _vit_specs()})
BACKBONES["vit_hybrid"] = BackboneSpec(
    "vit_hybrid", "hybrid", "kerascenes.vit.hybrid:build_hybrid_classifier", "stem", 224, 32, 0,
    description="hybrid ViT: the feature map of a keras.applications CNN (--stem NAME) as tokens under 2 KerasHub "
                "transformer blocks (width 192); --weights and --alpha are the stem's")


def register_backbone(spec: BackboneSpec) -> None:
    """Add a backbone of a known family to the registry (e.g. a custom ViT config)."""
    BACKBONES[spec.name] = spec


def list_backbones(pattern: str = "*") -> list[str]:
    """Names of registered backbones matching a shell-style pattern (case-insensitive)."""
    import fnmatch

    return sorted(n for n in BACKBONES if fnmatch.fnmatch(n.lower(), pattern.lower()))


def preset_folder_spec(path: str) -> BackboneSpec:
    """A spec for ``--backbone PATH``, the folder of a local KerasHub ViT preset."""
    from kerascenes.vit import presets

    info = presets.read_preset_folder(path)
    arch = info["config"]
    description = (f"local KerasHub preset: patch {info['patch_size']}, {arch.get('num_layers')} blocks, "
                   f"width {arch.get('hidden_dim')}")
    source = presets.ViTSource(preset=str(path), patch_size=info["patch_size"], local=True)
    # not added to the registry: a folder is an argument, not a name `kerascenes backbones` lists
    return _vit_spec(path, source, info["image_size"], info["params"], True, description)


def get_backbone(name: str) -> BackboneSpec:
    """Look a backbone up by name (case-insensitive) or preset folder; unknown names fail with close matches."""
    if name in BACKBONES:
        return BACKBONES[name]
    by_lower = {n.lower(): n for n in BACKBONES}
    if name.lower() in by_lower:
        return BACKBONES[by_lower[name.lower()]]
    if Path(os.path.expanduser(name)).is_dir():
        return preset_folder_spec(os.path.expanduser(name))
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


def resolve_weights(weights: str | None, spec: BackboneSpec | None = None) -> str:
    """Normalise ``--weights``: ``"imagenet"``, ``"none"`` (random init) or an existing file path.

    For a backbone without pretrained weights (``spec.pretrained`` false) ``"imagenet"``
    means random initialisation, so it resolves to ``"none"``.
    """
    if weights is None or str(weights).lower() in ("none", "random", ""):
        return "none"
    if str(weights).lower() == "imagenet":
        return "imagenet" if spec is None or spec.pretrained else "none"
    path = Path(os.path.expanduser(str(weights)))
    if not path.is_file():
        raise KerascenesError(f"--weights {weights} is neither 'imagenet', 'none' nor an existing weights file; check the path.")
    with path.open("rb") as fh:
        signature = fh.read(8)
    if signature != b"\x89HDF\r\n\x1a\n":  # every Keras weights file (.h5, .weights.h5) is HDF5
        raise KerascenesError(f"--weights {weights} is not a Keras weights file (not HDF5); pass the backbone's "
                              "*_no_top .h5 weights file.")
    return str(weights)


def keras_weights(weights: str) -> str | None:
    """``--weights`` as ``keras.applications`` takes it (``"none"`` -> ``None``)."""
    return None if weights == "none" else weights


def build_backbone(name: str, weights: str | None = "imagenet", image_size: int | None = None,
                   alpha: float | None = None):
    """Build a backbone without its classification top, ending in global average pooling.

    Args:
        name: registry name (see :func:`list_backbones`) or a preset folder.
        weights: ``"imagenet"`` (downloaded by Keras), ``"none"`` for random initialisation,
            or the path of a local weights file (``include_top=False``).
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
    return get_family(spec).build_features(spec, weights, size, alpha)


def build_keras_application(spec: BackboneSpec, weights: str, size: int | None, alpha: float | None,
                            pooling: str | None = "avg"):
    """A ``keras.applications`` network without its top, errors in one sentence.

    Args:
        size: the square input size; ``None`` builds a network that takes any size (several scales).
        pooling: ``"avg"`` ends in global average pooling (a feature vector); ``None`` keeps the
            last feature map (the tokens of a hybrid ViT).
    """
    import importlib

    if spec.builder is not None:
        return spec.builder(spec, keras_weights(weights), size, alpha)
    module_name, attr = spec.constructor.split(":")
    constructor = getattr(importlib.import_module(module_name), attr)
    kwargs: dict[str, Any] = {"include_top": False, "weights": keras_weights(weights), "input_shape": (size, size, 3),
                              "pooling": pooling}
    if alpha is not None:
        kwargs["alpha"] = float(alpha)
    try:
        return constructor(**kwargs)
    except ValueError as exc:
        if weights not in ("none", "imagenet"):
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
        if weights not in ("none", "imagenet"):  # an HDF5 file that h5py or Keras cannot read
            raise KerascenesError(f"Weights file {weights} is damaged or not a {spec.name} weights file "
                                  f"({type(exc).__name__}); pass the matching *_no_top .h5 file.") from exc
        raise


def _looks_like_download_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("url", "http", "download", "connection", "resolve", "network", "fetch"))


def describe_backbones() -> list[dict[str, Any]]:
    """Rows for ``kerascenes backbones``: name, family, input sizes, parameters, preprocessing."""
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
