"""Cached-feature training of the frozen stage (``--cache-features``).

While the backbone is frozen and runs in inference mode, its output for an image never
changes, so recomputing it every epoch wastes almost all of the time. Here the backbone
runs once per image (once more for its mirror image where the augmentation policy flips, and
once per augmented view, ``--cache-views K``), the features are kept in memory or in a ``.npy``
file, and the head is trained on them, one view of each image per epoch.

The head that is trained is not a copy: :func:`split_classifier` rebuilds the classifier
as two functional models, ``extractor`` (image -> features) and ``head`` (features ->
probabilities), from the very same layer objects, so every weight the head learns is a
weight of the complete image -> class model that is saved.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kerascenes.classify.feature_store import (FeatureSet, check_room, choose_store, estimate_feature_bytes,
                                               format_bytes)
from kerascenes.errors import KerascenesError
from kerascenes.runs import read_json, safe_points, save_npy, write_json

log = logging.getLogger("kerascenes")

def split_classifier(model):
    """Split a classifier from :func:`~kerascenes.classify.model.build_classifier` in two.

    Args:
        model: a functional classifier: input -> preprocessing -> backbone -> [pool] -> head.

    Returns:
        ``(extractor, head)``: ``extractor`` maps images to backbone features (the backbone
        in inference mode), ``head`` maps features to class probabilities. Both reuse the
        layers of ``model``: training ``head`` trains ``model``.
    """
    import keras

    from kerascenes.classify.layers import SpatialPyramidPooling
    from kerascenes.classify.model import FUSION_LAYER, find_backbone

    backbone = find_backbone(model)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in layers]
    if FUSION_LAYER in names:  # several scales: the fused features are the graph's own tensor
        cut = names.index(FUSION_LAYER) + 1
        extractor = keras.Model(model.inputs, layers[cut - 1].output, name=f"{model.name}_features")
    else:
        cut = layers.index(backbone) + 1
        # weightless pooling right after the backbone belongs to the (cached) features
        while cut < len(layers) and isinstance(layers[cut], (keras.layers.GlobalAveragePooling2D,
                                                             SpatialPyramidPooling)):
            cut += 1
        image = keras.Input(model.input_shape[1:], name="image")
        x = image
        for layer in layers[:cut]:
            x = layer(x, training=False) if layer is backbone else layer(x)
        extractor = keras.Model(image, x, name=f"{model.name}_features")
    features = keras.Input(tuple(extractor.output_shape[1:]), name="features")
    y = features
    for layer in layers[cut:]:
        y = layer(y)
    head = keras.Model(features, y, name=f"{model.name}_head")
    return extractor, head


def extract_features(extractor, paths: Sequence[str], labels: Sequence[int], image_size: int, batch_size: int,
                     views: int = 1, augment: str = "none", seed: int = 0, path: str | Path | None = None,
                     cache_images: bool = True, desc: str = "features", show_progress: bool = True,
                     flip: bool = False, mirror_view: bool = False) -> FeatureSet:
    """Run the frozen backbone once per image and view.

    View 0 is the image itself; with ``mirror_view`` view 1 is its mirror image; the ``views - 1``
    augmented views (policy ``augment``, new random draws for every view) come last.

    Args:
        extractor: image -> features model (see :func:`split_classifier`).
        paths, labels: the images.
        image_size: square input size.
        batch_size: images per forward pass.
        views: the image and its ``views - 1`` augmented views (``--cache-views``).
        augment: augmentation policy of the augmented views.
        seed: augmentation seed.
        path: a ``.npy`` file to hold the features (memory-mapped); ``None`` keeps them in memory.
        cache_images: keep decoded images in memory between views.
        desc: progress bar label.
        flip: features of the mirror images (what flip test-time augmentation adds).
        mirror_view: add the mirror images as one more view (view 1).

    Returns:
        A :class:`FeatureSet` of ``views + mirror_view`` views.
    """
    import tensorflow as tf

    from kerascenes.data.augment import augment_dataset
    from kerascenes.data.pipeline import image_dataset
    from kerascenes.progress import progress

    if flip and mirror_view:
        raise ValueError("flip=True already mirrors every view; mirror_view would add the plain images")
    if views > 1 and augment == "none":
        raise KerascenesError(f"--cache-views {views} needs an augmentation policy (--augment default or strong); "
                              "without one every view is the same image.")
    n, item = len(paths), tuple(int(d) for d in extractor.output_shape[1:])
    total = views + int(mirror_view)
    shape = (total, n, *item)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = np.lib.format.open_memmap(str(path), mode="w+", dtype=np.float32, shape=shape)
    else:
        store = np.empty(shape, np.float32)
    base = image_dataset(paths, labels, image_size, batch_size, training=False, cache=cache_images)

    def mirrored(ds):
        return ds.map(lambda x, y: (tf.reverse(x, axis=[2]), y))

    if flip:
        base = mirrored(base)
    # the views in order: the image, its mirror, then augmented view j (seed + j)
    plan = [base] + ([mirrored(base)] if mirror_view else [])
    plan += [augment_dataset(base, augment, seed=seed + j) for j in range(1, views)]
    forward = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
    t0 = time.perf_counter()
    with progress(n * total, desc, enabled=show_progress and n * total > 0) as bar:
        for view, ds in enumerate(plan):
            start = 0
            for images, _ in ds:
                out = np.asarray(forward(images), np.float32).reshape(len(images), *item)
                store[view, start:start + len(out)] = out
                start += len(out)
                bar.update(len(out))
    if path is not None:
        store.flush()
    return FeatureSet(store, np.asarray(labels, np.int64), Path(path) if path is not None else None,
                      time.perf_counter() - t0, mirror_view)


@dataclass
class CachedFit:
    """What :func:`fit_frozen_on_features` returns (``history`` as in ``keras.callbacks.History``)."""

    history: dict[str, list[float]]
    cache_seconds: float
    cache_bytes: int
    store: str
    epoch_seconds: list[float] = field(default_factory=list)
    train: FeatureSet | None = None
    val: FeatureSet | None = None

    def metrics(self) -> dict[str, Any]:
        """Flat figures for a run summary."""
        return {"feature_cache_s": round(self.cache_seconds, 1), "feature_cache_bytes": int(self.cache_bytes),
                "feature_store": self.store}


def cached_features(extractor, data, image_size: int, config, batch: int, folder: Path | None,
                    store: str, show_progress: bool = True) -> tuple[Any, Any, float]:
    """The training and validation features, computed once per run.

    With a ``folder`` they are written there (``train.npy``, ``val.npy`` and ``features.json``)
    and read back by a resumed run instead of being computed again. With an augmentation policy
    that flips images (``default``, ``strong``) the training images' mirror images are one more
    view: the cached equivalent of the flips the head would get on images (and, with flip TTA,
    the mirror features the final scores need anyway).

    Returns:
        ``(train FeatureSet, val FeatureSet, seconds the backbone took)``.
    """
    from kerascenes.data.augment import flips

    mirror = flips(config.augment)
    views, item = int(config.cache_views), [int(d) for d in extractor.output_shape[1:]]
    meta_file = folder / "features.json" if folder is not None else None
    if meta_file is not None and meta_file.is_file():
        meta = read_json(meta_file)
        if meta.get("shape") == [views + mirror, len(data.train), *item] and bool(meta.get("mirror_view")) == mirror:
            mmap = "r" if store == "disk" else None
            train = FeatureSet(np.load(folder / "train.npy", mmap_mode=mmap), np.asarray(data.train.labels, np.int64),
                               mirror_view=mirror)
            val = FeatureSet(np.load(folder / "val.npy", mmap_mode=mmap), np.asarray(data.val.labels, np.int64))
            log.info("Reusing the cached features of the run (%s)", folder)
            return train, val, float(meta["seconds"])
    if meta_file is not None:
        # the old description goes first: features stopped half-way are never taken for the old ones
        meta_file.unlink(missing_ok=True)
    disk = folder if store == "disk" else None
    train_f = extract_features(extractor, data.train.paths, data.train.labels, image_size, batch, views=views,
                               augment=config.augment, seed=config.seed,
                               path=disk / "train.npy" if disk else None, cache_images=config.cache_images,
                               desc="caching training features", show_progress=show_progress, mirror_view=mirror)
    val_f = extract_features(extractor, data.val.paths, data.val.labels, image_size, batch, views=1,
                             path=disk / "val.npy" if disk else None, cache_images=False,
                             desc="caching validation features", show_progress=show_progress)
    seconds = train_f.seconds + val_f.seconds
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        if disk is None:
            save_npy(folder / "train.npy", train_f.features)
            save_npy(folder / "val.npy", val_f.features)
        write_json(meta_file, {"shape": [views + mirror, len(data.train), *item], "mirror_view": mirror,
                               "seconds": seconds})
    return train_f, val_f, seconds


def fit_frozen_on_features(model, data, image_size: int, config, callbacks: list, verbose: int | str = "auto",
                           compile_head: Callable[[Any], None] | None = None, feature_dir: str | Path | None = None,
                           batch_size: int | None = None, initial_epoch: int = 0,
                           class_weight: dict[int, float] | None = None,
                           split: Callable[[Any], tuple[Any, Any]] | None = None) -> CachedFit:
    """The frozen stage of :func:`~kerascenes.classify.train.fit_classifier` on cached features.

    Args:
        model: the complete classifier (its backbone frozen); its head layers are trained.
        data: ``PreparedData`` (``train``, ``val`` image sets).
        image_size: input size.
        config: the run's ``FitConfig`` (``epochs``, ``batch_size``, ``cache_views``,
            ``augment``, ``seed``, ``cache_images``, ``feature_store``: auto, memory or disk).
        callbacks: the same callbacks the image-based stage would get (early stopping,
            LR schedule, CSV, TensorBoard, checkpoint); they see the head model, whose weights
            are the classifier's.
        verbose: Keras ``fit`` verbosity.
        compile_head: compiles the head like the full model (optimizer, loss, metrics);
            defaults to Adam(``config.lr``) and sparse categorical cross-entropy.
        feature_dir: folder that keeps the features for a resumed run (required for the disk store).
        batch_size: global batch size (defaults to ``config.batch_size``).
        split: ``model -> (extractor, head)`` of the backbone's family (default :func:`split_classifier`).
        initial_epoch: epochs already trained (a resumed run).
        class_weight: Keras ``fit(class_weight=...)``, ``{class index: weight}`` (``--class-weight``).

    Returns:
        A :class:`CachedFit` with the Keras history and the cache's cost.
    """
    import keras

    from kerascenes.classify.timing import EpochTimer

    batch = int(batch_size or config.batch_size)
    extractor, head = (split or split_classifier)(model)
    if compile_head is None:
        head.compile(optimizer=keras.optimizers.Adam(config.lr), loss="sparse_categorical_crossentropy",
                     metrics=["accuracy"])
    else:
        compile_head(head)
    from kerascenes.data.augment import flips

    views = int(config.cache_views) + flips(config.augment)
    dim = int(np.prod(extractor.output_shape[1:]))
    nbytes = estimate_feature_bytes(len(data.train), views, dim) + estimate_feature_bytes(len(data.val), 1, dim)
    store = choose_store(nbytes, config.feature_store)
    if store == "disk" and feature_dir is None:
        raise KerascenesError("An on-disk feature cache needs a folder; pass feature_dir or use feature_store='memory'.")
    feature_dir = Path(feature_dir) if feature_dir is not None else None
    check_room(nbytes, store, feature_dir)
    where = "in memory" if store == "memory" else f"on disk in {feature_dir}"
    log.info("Caching backbone features %s: (%d training images x %d view%s + %d validation images) x %d floats = %s",
             where, len(data.train), views, "s" if views > 1 else "", len(data.val), dim, format_bytes(nbytes))
    train_f, val_f, seconds = cached_features(extractor, data, image_size, config, batch, feature_dir, store,
                                              show_progress=verbose != 0)
    log.info("Features cached in %.1f s; training the head on them", seconds)
    timer = EpochTimer()
    with safe_points():  # Ctrl-C stops between batches (the callbacks' StopAtSafePoint)
        h = head.fit(train_f.dataset(batch, training=True, seed=config.seed + initial_epoch),
                     validation_data=val_f.dataset(batch), epochs=config.epochs, initial_epoch=initial_epoch,
                     callbacks=[timer, *callbacks], verbose=verbose, shuffle=False, class_weight=class_weight)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:  # a saved model then loads without optimizer warnings
        optimizer.build(model.trainable_variables)
    return CachedFit(dict(h.history), seconds, nbytes, store, timer.seconds, train_f, val_f)


def score_on_cached_features(extractor, cached: CachedFit, data, image_size: int, batch_size: int, tta: str,
                             show_progress: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The features of the training and validation images as the saved model sees them, from the cache.

    View 0 of the cache is each image itself; with ``tta="flip"`` the mirror images' features come
    from the cache where the training images' mirrors are a view, and are computed once here
    otherwise (the validation images' always: the only backbone pass left). Valid only while the
    backbone's weights are those the cache was made with (no fine-tuning kept).

    Returns:
        ``(train views, val views)``: lists of ``(n, *feature shape)`` arrays, one per TTA view.
    """
    def mirrored(images, name):
        return extract_features(extractor, images.paths, images.labels, image_size, batch_size, cache_images=False,
                                desc=f"features of the mirrored {name} images", show_progress=show_progress,
                                flip=True).features[0]

    train, val = [np.asarray(cached.train.features[0])], [np.asarray(cached.val.features[0])]
    if tta == "flip":
        train.append(np.asarray(cached.train.features[1]) if cached.train.mirror_view
                     else mirrored(data.train, "training"))
        val.append(mirrored(data.val, "validation"))
    return train, val


def head_proba(head, views: Sequence[np.ndarray], batch_size: int) -> np.ndarray:
    """The head's probabilities averaged over the views (as the saved TTA model averages them)."""
    return np.mean([np.asarray(head.predict(v, batch_size=batch_size, verbose=0), np.float32) for v in views], axis=0)
