"""``kerascenes fit``: train a transfer-learning classifier on a class-per-folder tree."""

from __future__ import annotations

import click

from kerascenes.cli.options import config_option


@click.command("fit")
@config_option()
@click.option("--backbone", required=True, help="Backbone name (see `kerascenes backbones`), e.g. MobileNetV2.")
@click.option("--data", required=True, type=click.Path(), help="Training images: DIR/<class>/<image>.")
@click.option("--val-data", type=click.Path(), default=None, help="Validation images with the same class folders.")
@click.option("--val-split", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Stratified, seeded share of --data used for validation when --val-data is not given.")
@click.option("--name", default=None, help="Run name (default: <backbone>-<date>-<time>); a taken name gets a suffix.")
@click.option("--logdir", type=click.Path(file_okay=False), default="logs", show_default=True, help="Folder of all runs.")
@click.option("--weights", default="imagenet", show_default=True,
              help="'imagenet' (downloaded by Keras), 'none' (random) or PATH to a local weights file (no top).")
@click.option("--alpha", type=float, default=None, help="Width multiplier of MobileNet / MobileNetV2.")
@click.option("--image-size", type=click.IntRange(min=1), default=None, help="Input size (default: the backbone's).")
@click.option("--dense", default="256", show_default=True, help="Units of the hidden head layers, e.g. 512,256 ('none': linear head).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.3, show_default=True)
@click.option("--activation", type=click.Choice(["relu", "leaky_relu", "gelu", "elu", "swish"]), default="relu", show_default=True)
@click.option("--augment", type=click.Choice(["none", "default", "strong"]), default="default", show_default=True,
              help="Augmentation policy: default = flips/rotation/zoom/contrast.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="Maximum epochs of the frozen stage.")
@click.option("--patience", type=click.IntRange(min=0), default=5, show_default=True,
              help="Early stopping on val_loss (best weights restored); 0 disables it.")
@click.option("--fine-tune", type=click.IntRange(min=0), default=0, show_default=True,
              help="Unfreeze the last N backbone layers for a second stage (BatchNorm stays frozen).")
@click.option("--fine-tune-epochs", type=click.IntRange(min=0), default=10, show_default=True)
@click.option("--fine-tune-lr", type=click.FloatRange(0, min_open=True), default=None, help="Default: --lr / 10.")
@click.option("--tta", type=click.Choice(["none", "flip"]), default="none", show_default=True,
              help="Test-time augmentation saved in the model: 'flip' averages each image with its mirror image.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the split, initialisation, shuffling and augmentation.")
@click.option("--strict", is_flag=True, help="Fail on unusable image files instead of skipping them.")
@click.option("--no-cache", is_flag=True, help="Decode images every epoch instead of caching them in memory.")
@click.option("--cache-features", is_flag=True, help="Run the frozen backbone once per image and train the head on cached features.")
@click.option("--cache-views", type=click.IntRange(min=1), default=1, show_default=True,
              help="Augmented views per image cached with --cache-features.")
@click.option("--mixed-precision", is_flag=True, help="Compute in float16 (mixed_float16) where supported.")
@click.option("--jit-compile", is_flag=True, help="Compile train steps with XLA.")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), default="default", show_default=True,
              help="tf.distribute strategy (multiworker reads TF_CONFIG).")
def fit(**options) -> None:
    """Train a scene classifier: frozen backbone + dense head, then optional fine-tuning.

    \b
    Example:
      kerascenes fit --backbone MobileNet --alpha 0.25 --weights mobilenet_2_5_224_tf_no_top.h5 \\
                     --data 15scene/train --val-data 15scene/val --epochs 30

    Writes logs/<name>/ (config, model.keras, curves, confusion matrix, predictions,
    TensorBoard, summary) and a row of logs/overall_results.xlsx.
    """
    from kerascenes.classify.config import FitConfig
    from kerascenes.classify.model import parse_dense
    from kerascenes.classify.train import fit_classifier

    options["dense"] = parse_dense(options["dense"])
    options["cache"] = not options.pop("no_cache")
    config = FitConfig(**options)
    result = fit_classifier(config)
    m = result.summary["metrics"]
    click.echo(f"Run {result.run.path}: val accuracy {m['val_accuracy']:.4f}, train accuracy {m['train_accuracy']:.4f}, "
               f"{result.summary['wall_time_s']:.0f} s")
