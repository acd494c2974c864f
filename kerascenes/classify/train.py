"""Two-stage transfer learning: train the head on a frozen backbone, then fine-tune.

:func:`fit_classifier` resolves and checks the whole config first (backbone, sizes, options
the backbone family does not support), then scans the data, creates the run folder and
writes there: ``config.json``, ``model.keras``, ``history.csv``, ``curves.png``, TensorBoard
events, the evaluation files of the validation set and ``summary.json``; finally it rebuilds
the results workbook (:meth:`kerascenes.runs.RunFolder.finish`).

Every epoch ends with a checkpoint (:mod:`kerascenes.classify.checkpoint`), so a run stopped
in any way continues with ``resume=True`` (``kerascenes fit ... --resume``); Ctrl-C or SIGTERM
keeps the best model so far and marks the run ``interrupted``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from kerascenes.backbones import get_backbone, get_family
from kerascenes.classify.checkpoint import Checkpoint, EpochCheckpoint
from kerascenes.classify.config import FitConfig
from kerascenes.classify.resume import history_columns, interrupted_summary, open_for_resume, rewrite_history_csv
from kerascenes.data.folders import ImageSet, check_same_classes, load_image_folder, stratified_split
from kerascenes.errors import KerascenesError
from kerascenes.progress import keras_verbose
from kerascenes.runs import (RunFolder, RunInterrupted, default_run_name, replacing, safe_points,
                             stopping_signals)

log = logging.getLogger("kerascenes")


@dataclass
class FitResult:
    """What :func:`fit_classifier` returns."""

    run: RunFolder
    model: Any
    summary: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)

    def describe(self) -> str:
        """What the run reached and where everything is, in a few lines (printed by ``kerascenes fit``)."""
        m, h = self.summary["metrics"], self.summary["hparams"]
        tta = f" with {h['tta']} TTA ({m['val_accuracy_no_tta']:.4f} without)" if m.get("val_accuracy_no_tta") else ""
        best = f", best epoch {m['best_epoch']} of {m['epochs_run']}" if m.get("best_epoch") else ""
        pictures = ", ".join(p for p in ("curves.png", "confusion_matrix.png", "mistakes.png")
                             if (self.run.path / p).is_file())
        top3 = f"; top-3 {m['val_top3_accuracy']:.4f}" if m.get("val_top3_accuracy") is not None else ""
        return "\n".join([
            f"val accuracy {m['val_accuracy']:.4f}{tta}{top3}; train accuracy {m['train_accuracy']:.4f} (measured "
            f"without augmentation){best}; {self.summary['wall_time_s']:.0f} s",
            f"Run folder:  {self.run.path} ({pictures}, predictions.csv)",
            f"Workbook:    {self.run.logdir / 'overall_results.xlsx'}",
            f"TensorBoard: tensorboard --logdir {self.run.logdir}",
        ])


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


def fit_classifier(config: FitConfig, verbose: int | str = "auto", callbacks: Sequence[Any] = (),
                   resume: bool = False) -> FitResult:
    """Train a classifier as described by ``config`` and write its run folder.

    Args:
        config: the run's options (resolved here: backbone defaults filled in and checked).
        verbose: Keras ``fit`` verbosity (``"auto"``: a progress bar on a terminal,
            one line per epoch otherwise).
        callbacks: more Keras callbacks, called in both stages after the run's own.
        resume: continue the unfinished run ``config.name`` from its last completed epoch
            (its options must be the ones it was started with).

    Returns:
        A :class:`FitResult` with the run folder, the trained model and the summary.

    Raises:
        RunInterrupted: after Ctrl-C or SIGTERM, once the best model so far is saved.
    """
    import keras

    from kerascenes.classify.distribute import training_scope

    config = config.resolve()  # unsupported options fail here, before any image is read
    run, state = open_for_resume(config) if resume else (None, None)
    # a fresh Keras state, so --seed gives the same run twice in one process (notebooks):
    # the global seed generator and layer-name counters would otherwise carry over
    keras.backend.clear_session()
    # models and optimizers are created under the --strategy scope and --mixed-precision policy
    # (entered first: a multi-worker strategy without TF_CONFIG fails before the data is read)
    with training_scope(config.strategy, config.mixed_precision) as runtime:
        session = _FitSession(config, prepare_data(config), runtime, verbose, list(callbacks), run, state)
        with session.run.guard(keep=resume), stopping_signals():
            try:
                return session.train()
            except KeyboardInterrupt as exc:
                if isinstance(exc, RunInterrupted):
                    raise
                raise session.interrupted() from None
            except Exception:
                with contextlib.suppress(Exception):  # the error that stopped training is the one to report
                    session.checkpoint.tidy()  # an epoch's checkpoint folder that failed half-way
                raise
            finally:
                session.close_files()


def _compile(model, lr: float, jit_compile: bool = False, loss: Any = "sparse_categorical_crossentropy") -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=["accuracy"], jit_compile=jit_compile)


def balanced_class_weights(labels: Sequence[int], num_classes: int) -> dict[int, float]:
    """scikit-learn's ``"balanced"`` class weights: ``n / (num_classes * count of the class)``."""
    counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes)
    return {k: float(len(labels) / (num_classes * c)) for k, c in enumerate(counts)}  # no class is empty


def log_class_balance(data: PreparedData, class_weight: str) -> None:
    """Log the per-class training counts when the classes are imbalanced (largest / smallest >= 1.5)."""
    counts = np.bincount(np.asarray(data.train.labels, np.int64), minlength=len(data.class_names))
    if counts.max() < 1.5 * counts.min():
        return
    weights = ("on (--class-weight balanced: images / (classes x images of the class))" if class_weight == "balanced"
               else "off (--class-weight balanced weights the loss by images / (classes x images of the class))")
    log.info("Imbalanced training classes (largest/smallest %.1f): %s; class weights are %s.",
             counts.max() / counts.min(), ", ".join(f"{name} {n}" for name, n in zip(data.class_names, counts)),
             weights)


class _FitSession:
    """One classifier run, step by step: build, frozen stage, fine-tuning, reports."""

    def __init__(self, config: FitConfig, data: PreparedData, runtime, verbose: int | str, user_callbacks: list,
                 run: RunFolder | None = None, state: dict[str, Any] | None = None):
        import keras

        from kerascenes.classify.layers import classification_loss

        self.config, self.data, self.runtime = config, data, runtime
        self.spec = get_backbone(config.backbone)
        self.family = get_family(self.spec)
        self.from_scratch = self.family.trains_from_scratch(self.spec, config.weights)
        self.verbose = keras_verbose() if verbose == "auto" else verbose
        self.user_callbacks = user_callbacks
        self.batch = runtime.global_batch(config.batch_size)  # --batch-size is per replica
        self.state = state
        self.rows: list[dict[str, float]] = list(state["history"]) if state else []
        self.stage_boundaries: list[int] = list(state.get("stage_boundaries", [])) if state else []
        self.fine_tune_used = False
        self.cached = None
        self.early = None
        self._datasets = None
        self.offset = float(state.get("wall_time_s", 0.0)) if state else 0.0
        self.t0 = time.perf_counter()
        keras.utils.set_random_seed(config.seed)
        self.model = self.family.build_classifier(self.spec, config, len(data.class_names))
        self.loss = classification_loss(config.label_smoothing, soft_labels=config.mixes_images)
        self.class_weight = (balanced_class_weights(data.train.labels, len(data.class_names))
                             if config.class_weight == "balanced" else None)
        if run is None:
            self.started = _dt.datetime.now().isoformat(timespec="seconds")
            derived = {"family": self.spec.family, "preprocessing": self.spec.preprocessing,
                       "class_names": data.class_names, "n_train": len(data.train), "n_val": len(data.val),
                       "started": self.started, "train_backbone": self.from_scratch,
                       "runtime": runtime.to_dict(), "global_batch_size": self.batch}
            run = RunFolder.create(config.logdir, config.name or default_run_name(self.spec.name), "classifier",
                                   config, derived)
        else:
            self.started = run.read_config().get("started", _dt.datetime.now().isoformat(timespec="seconds"))
            rewrite_history_csv(run.path / "history.csv", self.rows)
        self.run = run
        self.checkpoint = Checkpoint(run)
        log.info("Run folder: %s (%d training, %d validation images, %d classes)", self.run.path, len(data.train),
                 len(data.val), len(data.class_names))
        log_class_balance(data, config.class_weight)

    def elapsed(self) -> float:
        return self.offset + time.perf_counter() - self.t0

    @property
    def history(self) -> dict[str, list[float]]:
        return history_columns(self.rows)

    def datasets(self):
        """The training and validation image pipelines (made on first use)."""
        if self._datasets is None:
            from kerascenes.data.pipeline import imageset_dataset

            c, k = self.config, len(self.data.class_names)
            train = imageset_dataset(self.data.train, c.input_size, self.batch, training=True, augment=c.augment,
                                     seed=c.seed + len(self.rows), cache=c.cache_images)
            val = imageset_dataset(self.data.val, c.input_size, self.batch, cache=c.cache_images)
            if c.mixes_images:  # soft labels in training, one-hot in validation (one "accuracy" for both)
                from kerascenes.data.pipeline import mix_batches, one_hot_labels

                train = mix_batches(train, k, c.mixup, c.cutmix, seed=c.seed + len(self.rows))
                val = one_hot_labels(val, k)
            self._datasets = (train, val)
        return self._datasets

    def callbacks(self, phase: str, resume: dict[str, Any] | None, schedule, extra: dict[str, Any] | None = None):
        """``(early_stopping, all callbacks)`` of one stage (the checkpoint after the counters it restores).

        Args:
            schedule: the stage's :class:`~kerascenes.classify.schedules.StageSchedule`.
        """
        import keras

        from kerascenes.classify.callbacks import (BestWeightsEarlyStopping, HistoryCSV, LearningRateLogger,
                                                   StopAtSafePoint)

        patience = self.config.patience
        talk = 1 if self.verbose else 0
        early = BestWeightsEarlyStopping(monitor="val_loss", patience=patience if patience else 10**9, verbose=talk)
        plateau, rates = schedule.callbacks(patience, verbose=talk)  # plateau: None unless --schedule plateau
        checkpoint = EpochCheckpoint(self.checkpoint, self.model, phase, early, plateau, self.rows,
                                     {"stage_boundaries": self.stage_boundaries, **(extra or {})}, resume,
                                     self.elapsed)
        self.early = early
        self.history_csv = HistoryCSV(str(self.run.path / "history.csv"), append=bool(self.rows))
        return early, [
            LearningRateLogger(), early, *rates, self.history_csv,
            keras.callbacks.TensorBoard(log_dir=str(self.run.tensorboard_dir), write_graph=False),
            checkpoint, *self.user_callbacks, StopAtSafePoint(),
        ]

    def close_files(self) -> None:
        """Close ``history.csv`` where a stage stopped with an exception (a completed stage closed it)."""
        if getattr(self, "history_csv", None) is not None:
            self.history_csv.close()

    def train(self) -> FitResult:
        """Both stages (from where a resumed run stopped) and the reports."""
        phase = self.state["phase"] if self.state else None
        if phase in (None, "frozen"):
            self.train_frozen(self.state if phase == "frozen" else None)
        elif phase != "trained":
            self.checkpoint.load_weights(self.model, "stage1.npz")
        if phase == "trained":
            self.checkpoint.load_weights(self.model, "final.npz")
            self.fine_tune_used = bool(self.state.get("fine_tune_used"))
        else:
            self.fine_tune(self.state if phase == "fine_tune" else None)
            self.checkpoint.save_weights(self.model, "final.npz")
            self._mark("trained", fine_tune_used=self.fine_tune_used)
        return self.finish()

    def _mark(self, phase: str, **extra: Any) -> None:
        self.checkpoint.write_state({"phase": phase, "epochs_done": len(self.rows), "history": self.rows,
                                     "stage_boundaries": self.stage_boundaries, "wall_time_s": self.elapsed(),
                                     **extra})

    def train_frozen(self, resume: dict[str, Any] | None) -> None:
        """Stage 1: the head on a frozen backbone (on cached features with ``--cache-features``)."""
        from kerascenes.classify.schedules import StageSchedule

        c = self.config
        _compile(self.model, c.lr, c.jit_compile, self.loss)
        early, callbacks = self.callbacks("frozen", resume, StageSchedule(c.schedule, c.lr, c.epochs, c.warmup_epochs))
        done = resume["epochs_done"] if resume else 0
        if c.cache_features:  # backbone once per image and view, head trained on the features
            from kerascenes.classify.cached import fit_frozen_on_features

            self.cached = fit_frozen_on_features(
                self.model, self.data, c.input_size, c, callbacks, self.verbose, batch_size=self.batch,
                compile_head=lambda m: _compile(m, c.lr, c.jit_compile, self.loss),
                feature_dir=self.checkpoint.path("features"), initial_epoch=done, class_weight=self.class_weight,
                split=self.family.split)
        else:
            train_ds, val_ds = self.datasets()
            with safe_points():  # Ctrl-C stops between batches, never inside a step or a checkpoint
                self._trainee().fit(train_ds, validation_data=val_ds, epochs=c.epochs, initial_epoch=done,
                                    callbacks=callbacks, verbose=self.verbose, shuffle=False,
                                    class_weight=self.class_weight)
        self.checkpoint.save_weights(self.model, "stage1.npz")
        self._mark("frozen_done", stage1_best=early.best_value)

    def _trainee(self):
        """What the frozen stage fits on images: the classifier, or a distiller around it (``--teacher``)."""
        import keras

        from kerascenes.classify.distill import Distiller, load_teacher

        if not self.config.teacher:
            return self.model
        teacher, size, names = load_teacher(self.config.teacher)
        if names != self.data.class_names:
            raise KerascenesError(f"--teacher {self.config.teacher} was trained on the classes {', '.join(names)}, "
                                  f"not {', '.join(self.data.class_names)}; pass a teacher of this dataset.")
        log.info("Distilling from %s: its probabilities on the augmented images join the labels", self.config.teacher)
        distiller = Distiller(self.model, teacher, size)
        distiller.compile(optimizer=keras.optimizers.Adam(self.config.lr), jit_compile=self.config.jit_compile)
        return distiller

    def fine_tune(self, resume: dict[str, Any] | None) -> None:
        """Stage 2: open the last ``--fine-tune`` layers; keep the result only if it lowers val_loss."""
        from kerascenes.classify.schedules import StageSchedule

        c = self.config
        if not (c.fine_tune and c.fine_tune_epochs):
            return
        if self.from_scratch:
            log.info("Skipping --fine-tune: with random initial weights every layer was already trained.")
            return
        stage1_best = float((self.state or {}).get("stage1_best", self.early.best_value if self.early else 1e9))
        n_unfrozen = self.family.unfreeze(self.model, c.fine_tune)
        log.info("Fine-tuning the last %d backbone %s (%d layers with weights) at lr %g", c.fine_tune,
                 self.family.fine_tune_unit, n_unfrozen, c.fine_tune_lr)
        _compile(self.model, c.fine_tune_lr, c.jit_compile, self.loss)
        if resume is None:
            self.stage_boundaries.append(len(self.rows))
        start = self.stage_boundaries[-1]
        schedule = StageSchedule(c.schedule, c.fine_tune_lr, c.fine_tune_epochs, c.warmup_epochs, start=start)
        early, callbacks = self.callbacks("fine_tune", resume, schedule, {"stage1_best": stage1_best})
        train_ds, val_ds = self.datasets()
        with safe_points():
            self.model.fit(train_ds, validation_data=val_ds, initial_epoch=len(self.rows),
                           epochs=start + c.fine_tune_epochs, callbacks=callbacks, verbose=self.verbose, shuffle=False,
                           class_weight=self.class_weight)
        self.fine_tune_used = early.best_value <= stage1_best
        if not self.fine_tune_used:
            log.info("Fine-tuning did not improve val_loss (%.4f > %.4f); keeping the stage-1 weights.",
                     early.best_value, stage1_best)
            self.checkpoint.load_weights(self.model, "stage1.npz")

    def finish(self) -> FitResult:
        """Save the model (with test-time augmentation), write the reports and end the run."""
        from kerascenes.classify.evaluate import write_run_evaluation
        from kerascenes.classify.model import with_test_time_augmentation

        c = self.config
        train_time = self.elapsed()
        model = with_test_time_augmentation(self.model, c.tta)
        with replacing(self.run.path / "model.keras") as tmp:
            model.save(str(tmp))
        metrics = write_run_evaluation(self.run, self.model, self.data, c.input_size, self.batch, self.history,
                                       self.stage_boundaries, tta=c.tta, scores=self._scores_from_cache())
        if self.cached is not None:
            metrics.update(self.cached.metrics())
        metrics.update({"train_time_s": round(train_time, 1), "epochs_run": len(self.rows),
                        "fine_tune_used": self.fine_tune_used, "params": int(model.count_params()),
                        "trainable_params": int(sum(int(w.numpy().size) for w in model.trainable_weights))})
        summary = self.run.finish(c.hparams() | {"family": self.spec.family}, metrics, self.started, self.elapsed())
        self.checkpoint.remove()
        return FitResult(self.run, model, summary, self.history)

    def _scores_from_cache(self):
        """The final scores from the cached features, while the backbone is the one they were made with.

        Saves the backbone passes over images whose features are cached (all but the validation
        images' mirrors for flip TTA), and keeps the training features, the images' and their mirror
        images' where those were cached or scored, for ensembles (``train_features.npz``).
        """
        from kerascenes.classify.cached import head_proba, score_on_cached_features
        from kerascenes.classify.kept_features import save_run_features

        if self.cached is None or self.cached.train is None or self.fine_tune_used:
            return None
        extractor, head = self.family.split(self.model)
        train, val = score_on_cached_features(extractor, self.cached, self.data, self.config.input_size,
                                              self.batch, self.config.tta, show_progress=self.verbose != 0)
        kept = list(train)
        if len(kept) == 1 and self.cached.train.mirror_view:  # the head also trained on the mirror images
            kept.append(np.asarray(self.cached.train.features[1]))
        save_run_features(self.run.path, kept, self.data.train.paths)
        val_views = [head_proba(head, [v], self.batch) for v in val]  # view 0: the images without TTA
        return head_proba(head, train, self.batch), np.mean(val_views, axis=0), val_views[0]

    def interrupted(self) -> RunInterrupted:
        """After Ctrl-C / SIGTERM: keep the best model so far, end the run as ``interrupted``."""
        from kerascenes.classify.model import with_test_time_augmentation

        if not self.rows:  # nothing trained yet: nothing worth keeping (the folder is removed)
            return RunInterrupted("Interrupted before the first epoch ended; nothing was kept.", self.run,
                                  resumable=False)
        if self.early is not None and self.early.best_weights is not None:
            self.early.model.set_weights(self.early.best_weights)
        state = self.checkpoint.state() or {}
        if state.get("phase") == "fine_tune" and self.early.best_value > float(state.get("stage1_best", 1e9)):
            self.checkpoint.load_weights(self.model, "stage1.npz")
        with replacing(self.run.path / "model.keras") as tmp:
            with_test_time_augmentation(self.model, self.config.tta).save(str(tmp))
        self.checkpoint.tidy()
        message, metrics = interrupted_summary(self.run, self.rows, self.config)
        self.run.finish(self.config.hparams() | {"family": self.spec.family}, metrics, self.started, self.elapsed(),
                        status="interrupted")
        return RunInterrupted(message, self.run)
