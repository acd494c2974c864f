"""Hybrid Vision Transformers (Dosovitskiy et al., ICLR 2021, "R50+ViT-B/16"): CNN feature maps as tokens.

``--backbone vit_hybrid --stem NAME`` builds: RGB image in [0, 255] -> the stem's ImageNet
preprocessing -> a ``keras.applications`` CNN without its top (frozen, in inference mode) ->
its last feature map, one token per cell, projected to the transformer's width -> a learned
class token and position embeddings -> a few KerasHub ``TransformerEncoder`` blocks (pre-norm)
-> the class token next to the mean of the cell tokens -> the usual dense head. The stem is the
classifier's backbone sub-model, so
``--cache-features`` caches the stem's feature maps once per image (and view) and only the
transformer and head train on them; ``--fine-tune N`` then opens the stem's last N layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from kerascenes.backbones import BackboneSpec, build_keras_application, get_backbone
from kerascenes.classify.family import KerasApplications
from kerascenes.data.folders import require_classes
from kerascenes.errors import KerascenesError


@dataclass(frozen=True)
class HybridConfig:
    """The transformer on top of the stem.

    Attributes:
        width: token width after the projection of the stem's channels.
        num_layers: transformer encoder blocks.
        num_heads: attention heads per block.
        mlp_dim: hidden width of each block's MLP.
        dropout: dropout inside the blocks.
        crop: side of the random window of the token grid each training image keeps, as a share of
            the grid's side (a random crop of the feature map; 1 keeps the whole grid).
        keep: share of the window's tokens each training image keeps, chosen at random (patch
            dropout, Liu et al. 2022; 1 keeps them all). Both act in training only: predictions
            always see every token. The defaults (a 7 x 7 window of the 9 x 9 grid at 288 px, half of
            its tokens) halve the transformer's training cost; 3-fold cross-validation on 15-Scene's
            training images (MobileNet a=0.25 stem): 0.879 against 0.871 with every token (patch
            dropout alone 0.867, a 6 x 6 window 0.870).
    """

    width: int = 192
    num_layers: int = 2
    num_heads: int = 4
    mlp_dim: int = 384
    dropout: float = 0.1
    crop: float = 0.78
    keep: float = 0.5


HYBRID = HybridConfig()
NAME = "vit_hybrid"


def _register_layers():
    """The class-token layer (registered for safe loading of saved models)."""
    import keras

    @keras.saving.register_keras_serializable(package="kerascenes")
    class ClassToken(keras.layers.Layer):
        """Prepend one learned token to a token sequence ``(batch, n, width)``."""

        def build(self, input_shape):
            self.token = self.add_weight(shape=(1, 1, int(input_shape[-1])), initializer="zeros", name="token")

        def call(self, tokens):
            batch = keras.ops.shape(tokens)[0]
            return keras.ops.concatenate([keras.ops.tile(self.token, [batch, 1, 1]), tokens], axis=1)

        def compute_output_shape(self, input_shape):
            n = None if input_shape[1] is None else input_shape[1] + 1
            return (input_shape[0], n, input_shape[2])

    @keras.saving.register_keras_serializable(package="kerascenes")
    class TokenGridDropout(keras.layers.Layer):
        """Training-only augmentation of ``(batch, 1 + h * w, width)`` tokens (the class token first).

        Each image keeps a random ``crop`` window of the ``h x w`` grid of cell tokens (with their
        position embeddings, so the window is where it was), then a random ``keep`` share of the
        window's tokens; the class token always stays. At inference the tokens pass unchanged.
        """

        def __init__(self, grid, crop: float = 1.0, keep: float = 1.0, seed: int | None = None, **kwargs):
            super().__init__(**kwargs)
            self.grid, self.crop, self.keep, self.seed = (int(grid[0]), int(grid[1])), float(crop), float(keep), seed
            self.generator = keras.random.SeedGenerator(seed)

        def sizes(self) -> tuple[int, int, int]:
            """Window height and width, and the tokens kept of it."""
            (h, w), crop = self.grid, self.crop
            ch, cw = max(1, round(h * crop)), max(1, round(w * crop))
            return ch, cw, max(1, round(ch * cw * self.keep))

        def call(self, tokens, training=None):
            (h, w), (ch, cw, k) = self.grid, self.sizes()
            if not training or k == h * w:
                return tokens
            ops = keras.ops
            batch = ops.shape(tokens)[0]
            top = keras.random.randint((batch, 1, 1), 0, h - ch + 1, seed=self.generator)
            left = keras.random.randint((batch, 1, 1), 0, w - cw + 1, seed=self.generator)
            rows, cols = ops.arange(ch, dtype="int32")[None, :, None], ops.arange(cw, dtype="int32")[None, None, :]
            index = ops.reshape((top + rows) * w + left + cols, (batch, ch * cw))
            if k < ch * cw:
                _, pick = ops.top_k(keras.random.uniform((batch, ch * cw), seed=self.generator), k)
                index = ops.take_along_axis(index, pick, axis=1)
            cells = ops.take_along_axis(tokens[:, 1:], ops.expand_dims(index, -1), axis=1)
            return ops.concatenate([tokens[:, :1], cells], axis=1)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return super().get_config() | {"grid": list(self.grid), "crop": self.crop, "keep": self.keep,
                                           "seed": self.seed}

    return ClassToken, TokenGridDropout


_LAYERS = None


def _hybrid_layers():
    global _LAYERS
    if _LAYERS is None:
        _LAYERS = _register_layers()
    return _LAYERS


def class_token_layer():
    return _hybrid_layers()[0]


def token_grid_dropout_layer():
    return _hybrid_layers()[1]


def stem_spec(config) -> BackboneSpec:
    """The ``keras.applications`` backbone named by ``--stem`` (required for ``vit_hybrid``)."""
    if not config.stem:
        raise KerascenesError("--backbone vit_hybrid needs --stem NAME, the CNN whose feature map becomes the tokens "
                              "(e.g. --stem MobileNet --alpha 0.25 --weights FILE).")
    spec = get_backbone(config.stem)
    if spec.family != "keras.applications":
        raise KerascenesError(f"--stem {config.stem} is a {spec.family} backbone; pass a keras.applications CNN "
                              "(run `kerascenes backbones`).")
    return spec


def _layers(config, hybrid: HybridConfig, num_classes: int, h: int, w: int) -> dict:
    """The layers above the stem, by name (the names :func:`head_graph` finds them by)."""
    import keras
    import keras_hub

    layers = {"token_projection": keras.layers.Dense(hybrid.width, name="token_projection"),
              "tokens": keras.layers.Reshape((h * w, hybrid.width), name="tokens"),
              "class_token": class_token_layer()(name="class_token"),
              "position_embedding": keras_hub.layers.PositionEmbedding(h * w + 1, name="position_embedding"),
              "token_dropout": token_grid_dropout_layer()((h, w), hybrid.crop, hybrid.keep, seed=config.seed,
                                                          name="token_dropout"),
              "encoder_norm": keras.layers.LayerNormalization(epsilon=1e-6, name="encoder_norm"),
              "pooled": keras.layers.Concatenate(name="pooled"),
              "probabilities": keras.layers.Dense(num_classes, activation="softmax", name="probabilities",
                                                  dtype="float32")}
    for i in range(hybrid.num_layers):
        layers[f"encoder_{i}"] = keras_hub.layers.TransformerEncoder(
            hybrid.mlp_dim, hybrid.num_heads, dropout=hybrid.dropout, activation="gelu", normalize_first=True,
            name=f"encoder_{i}")
    for i, units in enumerate(config.dense):
        layers[f"head_dropout_{i}"] = keras.layers.Dropout(config.dropout, seed=config.seed, name=f"head_dropout_{i}")
        layers[f"head_dense_{i}"] = keras.layers.Dense(units, activation=config.activation, name=f"head_dense_{i}")
    if config.dropout:
        layers["head_dropout_out"] = keras.layers.Dropout(config.dropout, seed=config.seed, name="head_dropout_out")
    return layers


def head_graph(feature_map, layers: dict):
    """The transformer and head on a stem feature map ``(batch, h, w, channels)``, from the given layers.

    Used to build the classifier and, with the same layer objects, the head that trains on
    cached feature maps.
    """
    import keras

    x = layers["tokens"](layers["token_projection"](feature_map))
    x = layers["class_token"](x)
    x = x + layers["position_embedding"](x)
    if "token_dropout" in layers:  # runs saved before it have none
        x = layers["token_dropout"](x)
    i = 0
    while f"encoder_{i}" in layers:
        x = layers[f"encoder_{i}"](x)
        i += 1
    x = layers["encoder_norm"](x)
    # the class token, and the mean of the cell tokens: the path a linear head on pooled CNN features
    # takes, which the attention blocks refine rather than replace
    x = layers["pooled"]([x[:, 0], keras.ops.mean(x[:, 1:], axis=1)])
    i = 0
    while f"head_dense_{i}" in layers:
        x = layers[f"head_dense_{i}"](layers[f"head_dropout_{i}"](x))
        i += 1
    if "head_dropout_out" in layers:
        x = layers["head_dropout_out"](x)
    return layers["probabilities"](x)


def build_hybrid_classifier(config, num_classes: int, hybrid: HybridConfig = HYBRID):
    """The hybrid classifier: images in [0, 255] -> class probabilities (its stem is the backbone sub-model)."""
    import keras

    from kerascenes.classify.layers import ImagePreprocessing

    stem = stem_spec(config)
    require_classes(num_classes)
    cnn = build_keras_application(stem, config.weights, config.image_size, config.alpha, pooling=None)
    cnn.trainable = config.weights == "none"
    inputs = keras.Input((config.image_size, config.image_size, 3), name="image")
    x = ImagePreprocessing(stem.preprocessing, name="preprocessing")(inputs)
    x = cnn(x) if cnn.trainable else cnn(x, training=False)
    layers = _layers(config, hybrid, num_classes, int(x.shape[1]), int(x.shape[2]))
    return keras.Model(inputs, head_graph(x, layers), name=f"kerascenes_vit_hybrid_{stem.name}")


def split_hybrid(model):
    """``(extractor, head)``: images -> stem feature maps, feature maps -> probabilities (shared layers)."""
    import keras

    from kerascenes.classify.model import find_backbone

    stem = find_backbone(model)
    image = keras.Input(model.input_shape[1:], name="image")
    maps = stem(model.get_layer("preprocessing")(image), training=False)
    extractor = keras.Model(image, maps, name=f"{model.name}_features")
    features = keras.Input(tuple(maps.shape[1:]), name="features")
    names = {layer.name for layer in model.layers}
    layers = {name: model.get_layer(name) for name in names}
    return extractor, keras.Model(features, head_graph(features, layers), name=f"{model.name}_head")


class KerasHybridViT(KerasApplications):
    """``vit_hybrid``: a ``keras.applications`` stem under KerasHub transformer blocks.

    Everything a CNN run has works the same (cached stem feature maps, ``--fine-tune`` of the
    stem's last layers, TTA, export); ``--weights``, ``--alpha`` and the input size are the stem's.
    """

    key = "hybrid"

    def defaults(self, spec, config, weights):
        """The CNN defaults, less ``--pooling`` (the transformer reads the stem's whole feature map)."""
        return super().defaults(spec, config, weights) | {"pooling": "avg"}

    def stem(self, config) -> BackboneSpec:
        return stem_spec(config)

    def fit_size(self, spec, config=None):
        """The stem's fit size (1.25x its pretrained size)."""
        return super().fit_size(stem_spec(config) if config is not None else spec)

    def check(self, spec, config):
        stem = stem_spec(config)
        if config.alpha is not None and not stem.supports_alpha:
            raise KerascenesError(f"--alpha applies only to MobileNet and MobileNetV2, not the stem {stem.name}; "
                                  "drop --alpha.")
        if config.image_size < stem.min_size:
            raise KerascenesError(f"--image-size {config.image_size} is too small for the stem {stem.name}; use at "
                                  f"least {stem.min_size}.")
        probe = config.replace(alpha=None)
        super().check(spec, probe)

    def build_classifier(self, spec, config, num_classes):
        return build_hybrid_classifier(config, num_classes)

    def split(self, model):
        return split_hybrid(model)

    def prepare_loading(self):
        super().prepare_loading()
        import keras_hub  # noqa: F401  (registers TransformerEncoder and PositionEmbedding)

        class_token_layer()


KERAS_HYBRID_VIT = KerasHybridViT()
