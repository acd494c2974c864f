"""Two-stage transfer learning: train the head on a frozen backbone, then fine-tune.

:func:`fit_classifier` resolves and checks the whole config first (backbone, sizes, options
the backbone family does not support), then scans the data, creates the run folder and
writes there: ``config.json``, ``model.keras``, ``history.csv``, ``curves.png``, TensorBoard
events, the evaluation files of the validation set and ``summary.json``; finally it rebuilds
the results workbook (:meth:`kerascenes.runs.RunFolder.finish`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from kerascenes.backbones import get_backbone, get_family
from kerascenes.classify.config import FitConfig
from kerascenes.data.folders import ImageSet, check_same_classes, load_image_folder, stratified_split
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


def fit_classifier(config: FitConfig, verbose: int | str = "auto", callbacks: Sequence[Any] = ()) -> FitResult:
    """Train a classifier as described by ``config`` and write its run folder.

    Args:
        config: the run's options (resolved here: backbone defaults filled in and checked).
        verbose: Keras ``fit`` verbosity (``"auto"``: a progress bar on a terminal,
            one line per epoch otherwise).
        callbacks: more Keras callbacks, called in both stages after the run's own.

    Returns:
        A :class:`FitResult` with the run folder, the trained model and the summary.
    """
    import keras

    from kerascenes.classify.distribute import training_scope

    config = config.resolve()  # unsupported options fail here, before any image is read
    # a fresh Keras state, so --seed gives the same run twice in one process (notebooks):
    # the global seed generator and layer-name counters would otherwise carry over
    keras.backend.clear_session()
    # models and optimizers are created under the --strategy scope and --mixed-precision policy
    # (entered first: a multi-worker strategy without TF_CONFIG fails before the data is read)
    with training_scope(config.strategy, config.mixed_precision) as runtime:
        session = _FitSession(config, prepare_data(config), runtime, verbose, list(callbacks))
        session.train_frozen()
        session.fine_tune()
        return session.finish()


def _compile(model, lr: float, jit_compile: bool = False) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)


def _merge(history: dict[str, list[float]], new: dict[str, list[float]]) -> None:
    for key, values in new.items():
        history.setdefault(key, []).extend(float(v) for v in values)


class _FitSession:
    """One classifier run, step by step: build, frozen stage, fine-tuning, reports."""

    def __init__(self, config: FitConfig, data: PreparedData, runtime, verbose: int | str, user_callbacks: list):
        import keras

        self.config, self.data, self.runtime = config, data, runtime
        self.spec = get_backbone(config.backbone)
        self.family = get_family(self.spec)
        self.from_scratch = self.family.trains_from_scratch(self.spec, config.weights)
        self.verbose = (1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose
        self.user_callbacks = user_callbacks
        self.batch = runtime.global_batch(config.batch_size)  # --batch-size is per replica
        self.history: dict[str, list[float]] = {}
        self.stage_boundaries: list[int] = []
        self.fine_tune_used = False
        self.cached = None
        self._datasets = None
        self.started = _dt.datetime.now().isoformat(timespec="seconds")
        self.t0 = time.perf_counter()
        keras.utils.set_random_seed(config.seed)
        self.model = self.family.build_classifier(self.spec, config, len(data.class_names))
        derived = {"family": self.spec.family, "preprocessing": self.spec.preprocessing,
                   "class_names": data.class_names, "n_train": len(data.train), "n_val": len(data.val),
                   "started": self.started, "train_backbone": self.from_scratch, "runtime": runtime.to_dict(),
                   "global_batch_size": self.batch}
        self.run = RunFolder.create(config.logdir, config.name or default_run_name(self.spec.name), "classifier",
                                    config, derived)
        log.info("Run folder: %s (%d training, %d validation images, %d classes)", self.run.path, len(data.train),
                 len(data.val), len(data.class_names))

    def datasets(self):
        """The training and validation image pipelines (made on first use)."""
        if self._datasets is None:
            from kerascenes.data.pipeline import imageset_dataset

            c = self.config
            self._datasets = (
                imageset_dataset(self.data.train, c.image_size, self.batch, training=True, augment=c.augment,
                                 seed=c.seed, cache=c.cache_images),
                imageset_dataset(self.data.val, c.image_size, self.batch, cache=c.cache_images),
            )
        return self._datasets

    def callbacks(self, append: bool):
        """``(early_stopping, all callbacks)`` of one stage."""
        import keras

        from kerascenes.classify.callbacks import BestWeightsEarlyStopping, LearningRateLogger

        patience = self.config.patience
        talk = 1 if self.verbose else 0
        early = BestWeightsEarlyStopping(monitor="val_loss", patience=patience if patience else 10**9, verbose=talk)
        return early, [
            LearningRateLogger(),
            early,
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, patience // 2),
                                              min_lr=1e-7, verbose=talk),
            keras.callbacks.CSVLogger(str(self.run.path / "history.csv"), append=append),
            keras.callbacks.TensorBoard(log_dir=str(self.run.tensorboard_dir), write_graph=False),
            *self.user_callbacks,
        ]

    def train_frozen(self) -> None:
        """Stage 1: the head on a frozen backbone (on cached features with ``--cache-features``)."""
        c = self.config
        _compile(self.model, c.lr, c.jit_compile)
        self.early, callbacks = self.callbacks(append=False)
        if c.cache_features:  # backbone once per image and view, head trained on the features
            from kerascenes.classify.cached import fit_frozen_on_features

            h = self.cached = fit_frozen_on_features(
                self.model, self.data, c.image_size, c, callbacks, self.verbose, batch_size=self.batch,
                compile_head=lambda m: _compile(m, c.lr, c.jit_compile), cache_dir=self.run.path / "features")
        else:
            train_ds, val_ds = self.datasets()
            h = self.model.fit(train_ds, validation_data=val_ds, epochs=c.epochs, callbacks=callbacks,
                               verbose=self.verbose, shuffle=False)
        _merge(self.history, h.history)

    def fine_tune(self) -> None:
        """Stage 2: open the last ``--fine-tune`` layers; keep the result only if it lowers val_loss."""
        c = self.config
        if not (c.fine_tune and c.fine_tune_epochs):
            return
        if self.from_scratch:
            log.info("Skipping --fine-tune: with random initial weights every layer was already trained.")
            return
        stage1_best = self.early.best_value
        stage1_weights = {v.path: v.numpy() for v in self.model.weights}
        n_unfrozen = self.family.unfreeze(self.model, c.fine_tune)
        log.info("Fine-tuning the last %d backbone %s (%d layers with weights) at lr %g", c.fine_tune,
                 self.family.fine_tune_unit, n_unfrozen, c.fine_tune_lr)
        _compile(self.model, c.fine_tune_lr, c.jit_compile)
        done = len(self.history.get("loss", []))
        self.stage_boundaries.append(done)
        early, callbacks = self.callbacks(append=True)
        train_ds, val_ds = self.datasets()
        h = self.model.fit(train_ds, validation_data=val_ds, initial_epoch=done, epochs=done + c.fine_tune_epochs,
                           callbacks=callbacks, verbose=self.verbose, shuffle=False)
        _merge(self.history, h.history)
        self.fine_tune_used = early.best_value <= stage1_best
        if not self.fine_tune_used:
            log.info("Fine-tuning did not improve val_loss (%.4f > %.4f); keeping the stage-1 weights.",
                     early.best_value, stage1_best)
            for v in self.model.weights:
                v.assign(stage1_weights[v.path])

    def finish(self) -> FitResult:
        """Save the model (with test-time augmentation), write the reports and end the run."""
        from kerascenes.classify.evaluate import write_run_evaluation
        from kerascenes.classify.model import with_test_time_augmentation

        c = self.config
        train_time = time.perf_counter() - self.t0
        model = with_test_time_augmentation(self.model, c.tta)
        model.save(str(self.run.path / "model.keras"))
        metrics = write_run_evaluation(self.run, model, self.data, c.image_size, self.batch, self.history,
                                       self.stage_boundaries)
        if self.cached is not None:
            metrics.update(self.cached.metrics())
        metrics.update({"train_time_s": round(train_time, 1), "epochs_run": len(self.history.get("loss", [])),
                        "fine_tune_used": self.fine_tune_used, "params": int(model.count_params()),
                        "trainable_params": int(sum(int(w.numpy().size) for w in model.trainable_weights))})
        wall = time.perf_counter() - self.t0
        summary = self.run.finish(c.hparams() | {"family": self.spec.family}, metrics, self.started, wall)
        log.info("val accuracy %.4f, train accuracy %.4f, %.0f s", metrics["val_accuracy"], metrics["train_accuracy"],
                 wall)
        return FitResult(self.run, model, summary, self.history)
