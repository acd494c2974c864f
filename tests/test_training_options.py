"""Training options of ``kerascenes fit``: class weights, learning-rate schedules, label smoothing, MixUp / CutMix.

A few tiny real runs (a small conv net standing in for a pretrained backbone, 32 px, three
classes of synthetic scenes) are shared by the tests; each test reads what the runs wrote
(``history.csv``, ``config.json``, the summary, the workbook, ``model.keras``).
"""

from __future__ import annotations

import csv
import json
import logging

import click
import numpy as np
import pytest

from conftest import registered_backbone
from cli_helpers import invoke, one_error
from kerascenes.runs import RunInterrupted

TINY = "TestTinyOptionsCNN"
LR = 0.01


def _build_tiny(spec, weights, size, alpha):
    """A small conv net; its seeded initialisation plays the pretrained weights (the backbone stays frozen)."""
    import keras

    image = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(image)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg")(x)
    return keras.Model(image, x, name="tiny_cnn")


@pytest.fixture(scope="module", autouse=True)
def tiny_backbone():
    yield from registered_backbone(TINY, _build_tiny)


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _config(data, **kwargs):
    from kerascenes.classify import FitConfig

    base = dict(data=str(data["train"]), val_data=str(data["val"]), backbone=TINY, weights="imagenet", image_size=32,
                tta="none", dense=(8,), epochs=4, batch_size=8, patience=0, augment="none", lr=LR,
                logdir=str(data["logdir"]))
    return FitConfig(**(base | kwargs))


def _stop_at(last: int):
    """A callback that presses Ctrl-C at the end of the run's epoch ``last`` (1-based), after its checkpoint."""
    import keras

    def stop(epoch, logs=None):
        if epoch + 1 == last:
            raise KeyboardInterrupt

    return keras.callbacks.LambdaCallback(on_epoch_end=stop)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Imbalanced training classes (12 / 4 / 6 images), balanced validation (4 each)."""
    from conftest import write_image_folder

    root = tmp_path_factory.mktemp("options")
    train = write_image_folder(root / "train", per_class=12, seed=0)
    for name, keep in (("beta", 4), ("gamma", 6)):
        for path in sorted((train / name).iterdir())[keep:]:
            path.unlink()
    return {"train": train, "val": write_image_folder(root / "val", per_class=4, seed=1), "logdir": root / "logs"}


@pytest.fixture(scope="module")
def runs(data):
    """The shared runs: {name: FitResult}, and the log lines of the class-weighted one."""
    from kerascenes.classify import fit_classifier

    out = {}
    # frozen stage on cached features (the default with a frozen backbone)
    out["plain"] = fit_classifier(_config(data, name="plain", schedule="constant", warmup_epochs=2), verbose=0)
    logger, handler = logging.getLogger("kerascenes"), _ListHandler()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        out["balanced"] = fit_classifier(_config(data, name="balanced", schedule="constant", warmup_epochs=2,
                                                 class_weight="balanced"), verbose=0)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    out["balanced_log"] = handler.messages
    # cosine in both stages (fine-tuning on images), label smoothing
    cosine = dict(schedule="cosine", warmup_epochs=1, fine_tune=2, fine_tune_epochs=3, label_smoothing=0.1)
    out["cosine"] = fit_classifier(_config(data, name="cosine", **cosine), verbose=0)
    # the same run, stopped in the fine-tuning stage's first epoch, then resumed
    with pytest.raises(RunInterrupted):
        fit_classifier(_config(data, name="resumed", **cosine), verbose=0, callbacks=[_stop_at(5)])
    out["resumed"] = fit_classifier(_config(data, name="resumed", **cosine), verbose=0, resume=True)
    return out


def _column(run, name: str) -> list[float]:
    with open(run.path / "history.csv") as fh:
        return [float(row[name]) for row in csv.DictReader(fh)]


def _options(run) -> dict:
    return json.loads((run.path / "config.json").read_text())["options"]





# -- class weights ------------------------------------------------------------------------------------------
def test_balanced_class_weights_are_sklearns():
    from sklearn.utils.class_weight import compute_class_weight

    from kerascenes.classify.train import balanced_class_weights

    labels = np.array([0] * 12 + [1] * 4 + [2] * 6)
    weights = balanced_class_weights(labels, 3)
    np.testing.assert_allclose([weights[k] for k in range(3)],
                               compute_class_weight("balanced", classes=np.arange(3), y=labels))


def test_class_weights_change_the_loss_and_imbalance_is_logged(runs):
    plain, balanced = runs["plain"], runs["balanced"]
    # same data, seed and initial weights: only the weighting of the loss differs
    assert abs(balanced.history["loss"][0] - plain.history["loss"][0]) > 1e-3
    lines = [m for m in runs["balanced_log"] if m.startswith("Imbalanced training classes")]
    assert len(lines) == 1 and "alpha 12, beta 4, gamma 6" in lines[0] and "class weights are on" in lines[0]
    assert balanced.summary["hparams"]["class_weight"] == "balanced"
    assert plain.summary["hparams"]["class_weight"] == "none"


# -- learning-rate schedules --------------------------------------------------------------------------------
def test_schedule_rates_per_epoch():
    from kerascenes.classify.schedules import StageSchedule

    cosine = [StageSchedule("cosine", 1.0, 5).rate(e) for e in range(5)]
    expected = 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * np.arange(5) / 4))  # from 1 to 1/100 on the last epoch
    np.testing.assert_allclose(cosine, expected, rtol=1e-5)
    warm = [StageSchedule("constant", 1.0, 5, warmup=2).rate(e) for e in range(5)]
    np.testing.assert_allclose(warm, [0.1, 0.55, 1.0, 1.0, 1.0], rtol=1e-5)
    # plateau: the warm-up, then whatever ReduceLROnPlateau left (the current rate)
    plateau = StageSchedule("plateau", 1.0, 5, warmup=1, start=10)
    assert [round(plateau.rate(e, current=0.3), 5) for e in (10, 11, 12)] == [0.1, 1.0, 0.3]


def test_constant_with_warm_up_ramps_then_stays(runs):
    np.testing.assert_allclose(_column(runs["plain"].run, "learning_rate"), [LR / 10, 0.55 * LR, LR, LR], rtol=1e-5)


def test_cosine_decays_in_each_stage_and_a_resumed_run_continues_it(runs):
    ft = LR / 10  # --fine-tune-lr default
    rates = _column(runs["cosine"].run, "learning_rate")
    # frozen stage: warm-up from lr/10, then cosine to lr/100; fine-tuning: its own schedule from --fine-tune-lr
    np.testing.assert_allclose(rates, [LR / 10, LR, 0.505 * LR, LR / 100, ft / 10, ft, ft / 100], rtol=1e-5)
    resumed = runs["resumed"]
    assert resumed.summary["status"] == "completed" and resumed.summary["metrics"]["epochs_run"] == 7
    np.testing.assert_allclose(_column(resumed.run, "learning_rate"), rates, rtol=1e-6)
    assert [int(e) for e in _column(resumed.run, "epoch")] == list(range(7))


# -- label smoothing ----------------------------------------------------------------------------------------
def test_smoothed_cross_entropy_matches_keras_on_integer_and_soft_labels():
    import keras

    from kerascenes.classify.layers import SmoothedCrossEntropy

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), 6).astype("float32")
    labels = np.array([0, 1, 2, 3, 1, 0])
    onehot = np.eye(4, dtype="float32")[labels]
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(onehot, proba)
    loss = SmoothedCrossEntropy(0.2)
    np.testing.assert_allclose(loss(labels, proba), expected, rtol=1e-5)
    np.testing.assert_allclose(loss(labels[:, None], proba), expected, rtol=1e-5)
    np.testing.assert_allclose(loss(onehot, proba), expected, rtol=1e-5)
    # the lowest loss is reached by predicting the smoothed target itself: its entropy, above 0
    target = onehot * 0.8 + 0.05
    best = float(loss(labels, target))
    assert best == pytest.approx(float(-(target * np.log(target)).sum(1).mean()), rel=1e-4)
    assert float(loss(labels, onehot * 0.98 + 0.005)) > best and best > 0.5


def test_a_label_smoothing_run_reloads_compiled_with_its_loss_and_predicts(runs):
    import keras

    from kerascenes.classify.evaluate import load_run_model
    from kerascenes.classify.layers import SmoothedCrossEntropy
    from kerascenes.data.folders import load_image_folder
    from kerascenes.data.pipeline import load_images

    result = runs["cosine"]
    model = load_run_model(result.run)  # safe mode, compiled: the loss is a registered class
    assert isinstance(model.loss, SmoothedCrossEntropy) and model.loss.label_smoothing == pytest.approx(0.1)
    val = load_image_folder(_options(result.run)["val_data"])
    images = load_images(val.paths, 32).astype("float32")
    proba = model.predict(images, verbose=0)
    np.testing.assert_allclose(proba, result.model.predict(images, verbose=0), atol=1e-5)
    # the reloaded model evaluates with the smoothed loss, which differs from the plain cross-entropy
    loss = model.evaluate(images, val.labels, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(float(SmoothedCrossEntropy(0.1)(val.labels, proba)), rel=1e-4)
    assert abs(loss - float(keras.losses.SparseCategoricalCrossentropy()(val.labels, proba))) > 1e-3


# -- MixUp / CutMix -----------------------------------------------------------------------------------------
def test_mix_batches_mix_images_and_labels_alike():
    import tensorflow as tf

    from kerascenes.data.pipeline import mix_batches

    # image i is uniformly 10 * i and is the only image of class i: a label row says which images were mixed
    images = np.stack([np.full((32, 32, 3), 10.0 * i, np.float32) for i in range(8)])
    ds = tf.data.Dataset.from_tensor_slices((images, np.arange(8))).batch(8)
    for kwargs, atol in (({"mixup": 0.4}, 1e-3), ({"cutmix": 1.0}, 6.0)):  # CutMix: box area vs pixel grid
        x, y = (t.numpy() for t in next(iter(mix_batches(ds, 8, seed=3, **kwargs))))
        assert y.shape == (8, 8) and np.allclose(y.sum(1), 1.0) and (y.max(1) < 0.99).any()
        np.testing.assert_allclose(x.mean((1, 2, 3)), y @ (10.0 * np.arange(8)), atol=atol)


def _cli_fit(data, name, *extra):
    return invoke("fit", "--backbone", TINY, "--weights", "imagenet", "--image-size", 32, "--batch-size", 8,
                  "--dense", 8, "--tta", "none", "--augment", "none", "--patience", 0, "--data", data["train"],
                  "--val-data", data["val"], "--logdir", data["logdir"], "--name", name, "-q", *extra)


def test_mixup_and_cutmix_train_on_images_and_are_recorded(data):
    from kerascenes.workbook import read_workbook

    for name, extra in (("mixup", ("--mixup", 0.4, "--epochs", 2)),
                        ("cutmix", ("--cutmix", 1.0, "--epochs", 1, "--fine-tune", 2, "--fine-tune-epochs", 1,
                                    "--class-weight", "balanced"))):
        result, output = _cli_fit(data, name, *extra)
        assert result.exit_code == 0, output
        options = json.loads((data["logdir"] / name / "config.json").read_text())["options"]
        assert options["cache_features"] is False and options[name] == float(extra[1])
        summary = json.loads((data["logdir"] / name / "summary.json").read_text())
        assert summary["hparams"][name] == float(extra[1]) and summary["hparams"]["cache_features"] is False
        assert "feature_store" not in summary["metrics"]  # no feature cache: the frozen stage saw mixed images
    rows = {r["run"]: r for r in read_workbook(data["logdir"] / "overall_results.xlsx")["classifiers"]}
    assert rows["mixup"]["mixup"] == pytest.approx(0.4) and rows["cutmix"]["cutmix"] == pytest.approx(1.0)
    assert rows["mixup"]["cutmix"] == 0 and rows["cutmix"]["fine_tune"] == 2
    assert rows["cutmix"]["class_weight"] == "balanced"  # weights with soft labels, in both image stages


@pytest.mark.parametrize("args, words", [
    (("--mixup", 0.2, "--cache-features"), ("--mixup", "--no-cache-features")),
    (("--cutmix", 0.5, "--cache-features"), ("--cutmix", "--no-cache-features")),
    (("--mixup", 0.2, "--cutmix", 0.5), ("cannot be combined",)),
    (("--cutmix", 1.5), ("--cutmix", "[0, 1]")),
    (("--label-smoothing", 1.0), ("--label-smoothing", "[0, 1)")),
    (("--warmup-epochs", 4, "--epochs", 4), ("--warmup-epochs 4", "--epochs 4")),
    (("--class-weight", "balance"), ("--class-weight", "balanced")),
    (("--schedule", "cosin"), ("--schedule", "cosine")),
], ids=["mixup-cache", "cutmix-cache", "both", "cutmix-range", "smoothing", "warmup", "class-weight", "schedule"])
def test_impossible_combinations_are_one_sentence(data, args, words):
    one_error(*_cli_fit(data, "refused", *args), *words)
    assert not (data["logdir"] / "refused").exists()


# -- every option is recorded and replays --------------------------------------------------------------------
def test_options_land_in_config_hparams_and_workbook(runs, data):
    from kerascenes.workbook import read_workbook

    options = _options(runs["cosine"].run)
    assert {k: options[k] for k in ("schedule", "warmup_epochs", "label_smoothing", "class_weight", "mixup",
                                    "cutmix")} == {"schedule": "cosine", "warmup_epochs": 1, "label_smoothing": 0.1,
                                                   "class_weight": "none", "mixup": 0.0, "cutmix": 0.0}
    rows = {r["run"]: r for r in read_workbook(data["logdir"] / "overall_results.xlsx")["classifiers"]}
    assert rows["cosine"]["schedule"] == "cosine" and rows["cosine"]["label_smoothing"] == pytest.approx(0.1)
    assert rows["balanced"]["class_weight"] == "balanced" and rows["plain"]["warmup_epochs"] == 2


@pytest.mark.parametrize("name", ["balanced", "cosine", "resumed", "mixup", "cutmix"])
def test_config_replay_reproduces_the_resolved_options(runs, data, monkeypatch, name):
    import kerascenes.classify.train as train

    if not (data["logdir"] / name).exists():
        pytest.skip(f"the {name} run is made by test_mixup_and_cutmix_train_on_images_and_are_recorded")
    seen = []

    def recorder(config, *args, **kwargs):
        seen.append(config.resolve())
        raise click.exceptions.Exit(0)

    monkeypatch.setattr(train, "fit_classifier", recorder)
    config_file = data["logdir"] / name / "config.json"
    result, output = invoke("fit", "--config", config_file)
    assert result.exit_code == 0, output
    assert seen[0].to_dict() == json.loads(config_file.read_text())["options"]
