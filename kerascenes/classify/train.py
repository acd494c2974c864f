"""Two-stage transfer learning: train the head on a frozen backbone, then fine-tune.

:func:`fit_classifier` validates everything first (data, backbone, numbers), then creates
the run folder and writes there: ``config.json``, ``model.keras``, ``history.csv``,
``curves.png``, TensorBoard events, the evaluation files of the validation set and
``summary.json``; finally it rebuilds the results workbook.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascenes.classify.config import FitConfig
from kerascenes.data.folders import ImageSet, check_same_classes, load_image_folder, stratified_split
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, default_run_name

log = logging.getLogger("kerascenes")


@dataclass
class FitResult:
    """What :func:`fit_classifier` returns."""

    run: RunFolder
    model: Any
    summary: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class PreparedData:
    train: ImageSet
    val: ImageSet
    class_names: list[str]


def prepare_data(config: FitConfig) -> PreparedData:
    """Scan and validate the training (and validation) folders, or split them."""
    train = load_image_folder(config.data, strict=config.strict, option="--data")
    if config.val_data:
        val = load_image_folder(config.val_data, strict=config.strict, option="--val-data")
        check_same_classes(train, val)
    else:
        train, val = stratified_split(train, config.val_split, seed=config.seed)
    return PreparedData(train, val, list(train.class_names))


def _compile(model, lr: float, jit_compile: bool = False) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)


def _callbacks(config: FitConfig, run: RunFolder, append: bool):
    import keras

    from kerascenes.classify.callbacks import BestWeightsEarlyStopping, LearningRateLogger

    early = BestWeightsEarlyStopping(monitor="val_loss", patience=max(config.patience, 1) if config.patience else 10**9,
                                     verbose=1)
    return early, [
        LearningRateLogger(),
        early,
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, config.patience // 2),
                                          min_lr=1e-7, verbose=1),
        keras.callbacks.CSVLogger(str(run.path / "history.csv"), append=append),
        keras.callbacks.TensorBoard(log_dir=str(run.tensorboard_dir), write_graph=False),
    ]


def _merge(history: dict[str, list[float]], new: dict[str, list[float]]) -> None:
    for key, values in new.items():
        history.setdefault(key, []).extend(float(v) for v in values)


def fit_classifier(config: FitConfig, verbose: int | str = "auto") -> FitResult:
    """Train a classifier as described by ``config`` and write its run folder.

    Args:
        config: the run's options.
        verbose: Keras ``fit`` verbosity (``"auto"``: a progress bar on a terminal,
            one line per epoch otherwise).

    Returns:
        A :class:`FitResult` with the run folder, the trained model and the summary.
    """
    import keras

    from kerascenes.classify.distribute import training_scope

    # a fresh Keras state, so --seed gives the same run twice in one process (notebooks):
    # the global seed generator and layer-name counters would otherwise carry over
    keras.backend.clear_session()
    # models and optimizers are created under the --strategy scope and --mixed-precision policy
    with training_scope(config.strategy, config.mixed_precision) as runtime:
        return _fit_classifier(config, verbose, runtime)


def _fit_classifier(config: FitConfig, verbose: int | str, runtime) -> FitResult:
    from kerascenes.backbones import build_backbone, get_backbone, resolve_image_size, resolve_weights
    from kerascenes.classify.model import HeadConfig, build_classifier, find_backbone, unfreeze_last
    from kerascenes.data.augment import check_policy
    from kerascenes.data.pipeline import imageset_dataset

    # -- everything is checked before the run folder exists ------------------------------
    if verbose == "auto":  # one line per epoch when the output is a log file, not a terminal
        verbose = 1 if sys.stdout.isatty() else 2
    config.validate()
    check_policy(config.augment)
    spec = get_backbone(config.backbone)
    size = resolve_image_size(spec, config.image_size)
    weights = resolve_weights(config.weights, spec)
    head = HeadConfig(config.dense, config.dropout, config.activation)
    if config.alpha is not None and not spec.supports_alpha:
        raise KerascenesError(f"--alpha applies only to MobileNet and MobileNetV2, not {spec.name}; drop --alpha.")
    # random weights: a frozen random backbone learns nothing, so every layer trains
    from_scratch = weights is None and spec.classifier_builder is None
    if config.tta != "none" and spec.classifier_builder is not None:
        raise KerascenesError(f"--tta is not available for {spec.name} ({spec.family}); drop it.")
    if from_scratch and config.cache_features:
        raise KerascenesError("--cache-features needs pretrained weights (a frozen backbone); drop it or pass --weights.")
    data = prepare_data(config)
    import keras

    started = _dt.datetime.now().isoformat(timespec="seconds")
    t0 = time.perf_counter()

    keras.utils.set_random_seed(config.seed)
    if spec.classifier_builder is not None:  # families with their own task model (KerasHub ViT)
        if config.cache_features:
            raise KerascenesError(f"--cache-features is not available for {spec.name} ({spec.family}); drop it.")
        model = spec.classifier_builder(spec, weights, size, len(data.class_names), head, config.seed)
    else:
        backbone = build_backbone(spec.name, weights, size, config.alpha)
        model = build_classifier(backbone, len(data.class_names), head, spec.preprocessing, size, seed=config.seed,
                                 train_backbone=from_scratch)

    run = RunFolder.create(config.logdir, config.name or default_run_name(spec.name))
    resolved = config.to_dict() | {
        "backbone": spec.name, "image_size": size, "weights": weights, "family": spec.family,
        "preprocessing": spec.preprocessing, "class_names": data.class_names,
        "n_train": len(data.train), "n_val": len(data.val),
        "fine_tune_lr": config.resolved_fine_tune_lr, "run": run.name, "started": started,
        "train_backbone": from_scratch,
        "runtime": runtime.to_dict(), "global_batch_size": runtime.global_batch(config.batch_size),
    }
    run.write_config(resolved)
    log.info("Run folder: %s (%d training, %d validation images, %d classes)", run.path, len(data.train),
             len(data.val), len(data.class_names))
    if from_scratch:
        log.info("Random initial weights: training all %d backbone layers.", len(find_backbone(model).layers))

    batch = runtime.global_batch(config.batch_size)  # --batch-size is per replica
    train_ds = imageset_dataset(data.train, size, batch, training=True, augment=config.augment,
                                seed=config.seed, cache=config.cache)
    val_ds = imageset_dataset(data.val, size, batch, cache=config.cache)

    # -- stage 1: frozen backbone ----------------------------------------------------------
    history: dict[str, list[float]] = {}
    _compile(model, config.lr, config.jit_compile)
    early, callbacks = _callbacks(config, run, append=False)
    if config.cache_features:  # backbone once per image and view, head trained on the features
        from kerascenes.classify.cached import fit_frozen_on_features

        h = cached = fit_frozen_on_features(model, data, size, config, callbacks, verbose, batch_size=batch,
                                            compile_head=lambda m: _compile(m, config.lr, config.jit_compile),
                                            cache_dir=run.path / "features")
    else:
        h = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks, verbose=verbose,
                      shuffle=False)
    _merge(history, h.history)
    stage_boundaries = []
    fine_tune_used = False

    # -- stage 2: fine-tune the last layers -------------------------------------------------
    if config.fine_tune and config.fine_tune_epochs and from_scratch:
        log.info("Skipping --fine-tune: with random initial weights every layer was already trained.")
    elif config.fine_tune and config.fine_tune_epochs:
        stage1_best = early.best_value
        stage1_weights = {v.path: v.numpy() for v in model.weights}
        n_unfrozen = (spec.unfreeze(model, config.fine_tune) if spec.unfreeze is not None
                      else unfreeze_last(find_backbone(model), config.fine_tune))
        log.info("Fine-tuning the last %d backbone layers (%d with weights) at lr %g", config.fine_tune, n_unfrozen,
                 config.resolved_fine_tune_lr)
        _compile(model, config.resolved_fine_tune_lr, config.jit_compile)
        done = len(history.get("loss", []))
        stage_boundaries.append(done)
        early2, callbacks = _callbacks(config, run, append=True)
        h = model.fit(train_ds, validation_data=val_ds, initial_epoch=done, epochs=done + config.fine_tune_epochs,
                      callbacks=callbacks, verbose=verbose, shuffle=False)
        _merge(history, h.history)
        fine_tune_used = early2.best_value <= stage1_best
        if not fine_tune_used:
            log.info("Fine-tuning did not improve val_loss (%.4f > %.4f); keeping the stage-1 weights.",
                     early2.best_value, stage1_best)
            for v in model.weights:
                v.assign(stage1_weights[v.path])

    train_time = time.perf_counter() - t0
    if config.tta != "none":
        from kerascenes.classify.model import with_test_time_augmentation

        model = with_test_time_augmentation(model, config.tta)
    model.save(str(run.path / "model.keras"))

    from kerascenes.classify.evaluate import write_run_evaluation

    metrics = write_run_evaluation(run, model, data, size, batch, history, stage_boundaries)
    if config.cache_features:
        metrics.update(cached.metrics())
    metrics.update({"train_time_s": round(train_time, 1), "epochs_run": len(history.get("loss", [])),
                    "fine_tune_used": fine_tune_used, "params": int(model.count_params()),
                    "trainable_params": int(sum(int(w.numpy().size) for w in model.trainable_weights))})
    wall = time.perf_counter() - t0
    summary = {"kind": "classifier", "run": run.name, "started": started, "wall_time_s": round(wall, 1),
               "hparams": config.hparams() | {"backbone": spec.name, "family": spec.family, "image_size": size,
                                              "weights": weights or "none"},
               "metrics": metrics}
    from kerascenes.tboard import log_hparams

    log_hparams(run.tensorboard_dir / "hparams", summary["hparams"],
                {"val_accuracy": metrics["val_accuracy"], "train_accuracy": metrics["train_accuracy"]})
    run.write_summary(summary)
    from kerascenes.workbook import update_workbook

    update_workbook(run.logdir)
    log.info("val accuracy %.4f, train accuracy %.4f, %.0f s", metrics["val_accuracy"], metrics["train_accuracy"], wall)
    return FitResult(run, model, summary, history)
