"""The frozen stage trained two ways in one run: on images every epoch (naive) and on cached features.

    flock /tmp/kerascenes-bench.lock python benchmarks/cached_vs_naive.py \\
        --data ../shared/data/15scene --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5

Both ways start from the same initial weights and see the same data in the same order (no
augmentation by default, so the features of an image never change); neither stops early, so
both do the same number of epochs. The naive fit can be cut to ``--naive-epochs N`` to save
time: its 30-epoch time is then extrapolated (first epoch + (epochs - 1) x the mean of the
later ones) and labelled so, and the accuracies are compared after N epochs.

Targets (issue "Speed and scale"): >= 20x faster per epoch after caching, >= 3x faster for
the whole fit including the caching pass, validation accuracy within 1 point.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from speed_common import machine, split_folders  # noqa: E402

TARGET_EPOCH_RATIO = 20.0
TARGET_TOTAL_RATIO = 3.0
TARGET_ACCURACY_POINTS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="DIR with train/ and val/ (or one folder, split 80/20)")
    parser.add_argument("--weights", default="imagenet", help="backbone weights: imagenet, none or a *_no_top.h5 file")
    parser.add_argument("--backbone", default="MobileNet")
    parser.add_argument("--alpha", type=float, default=0.25)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--naive-epochs", type=int, default=None, help="epochs of the naive fit (default: --epochs)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dense", default="256")
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--augment", default="none")
    parser.add_argument("--cache-views", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    import keras

    from kerascenes.backbones import build_backbone, get_backbone, resolve_image_size, resolve_weights
    from kerascenes.classify import FitConfig
    from kerascenes.classify.cached import fit_frozen_on_features
    from kerascenes.classify.model import HeadConfig, build_classifier, parse_dense
    from kerascenes.classify.timing import EpochTimer
    from kerascenes.classify.train import prepare_data
    from kerascenes.data.pipeline import imageset_dataset

    print("machine:", machine(), flush=True)
    train_dir, val_dir = split_folders(args.data)
    naive_epochs = min(args.naive_epochs or args.epochs, args.epochs)
    config = FitConfig(data=train_dir, val_data=val_dir, backbone=args.backbone, weights=args.weights,
                       alpha=args.alpha, image_size=args.image_size, dense=parse_dense(args.dense),
                       dropout=args.dropout, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                       augment=args.augment, cache_views=args.cache_views, seed=args.seed).validate()
    spec = get_backbone(config.backbone)
    size = resolve_image_size(spec, config.image_size)
    data = prepare_data(config)
    print(f"data: {len(data.train)} training / {len(data.val)} validation images, {len(data.class_names)} classes; "
          f"{spec.name} alpha {args.alpha} at {size} px, head dense {args.dense}, batch {args.batch_size}, "
          f"augment {args.augment}, {args.cache_views} cached view(s)", flush=True)

    keras.utils.set_random_seed(config.seed)
    backbone = build_backbone(spec.name, resolve_weights(config.weights), size, config.alpha)
    model = build_classifier(backbone, len(data.class_names), HeadConfig(config.dense, config.dropout, "relu"),
                             spec.preprocessing, size, seed=config.seed)
    initial = [w.numpy() for w in model.weights]

    def compile_(m):
        m.compile(optimizer=keras.optimizers.Adam(config.lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    # -- naive: the frozen backbone runs on every image in every epoch -------------------------
    print(f"\n[naive] {naive_epochs} epoch(s) on images", flush=True)
    compile_(model)
    train_ds = imageset_dataset(data.train, size, config.batch_size, training=True, augment=config.augment,
                                seed=config.seed, cache=True)
    val_ds = imageset_dataset(data.val, size, config.batch_size, cache=True)
    timer = EpochTimer()
    t0 = time.perf_counter()
    naive = model.fit(train_ds, validation_data=val_ds, epochs=naive_epochs, callbacks=[timer], verbose=2,
                      shuffle=False).history
    naive_measured = time.perf_counter() - t0
    naive_epoch_s = timer.seconds

    # -- cached: the backbone runs once per image, the head trains on the features ------------
    print(f"\n[cached] caching pass, then {config.epochs} epochs on features", flush=True)
    for w, value in zip(model.weights, initial):
        w.assign(value)
    keras.utils.set_random_seed(config.seed)
    t0 = time.perf_counter()
    cached = fit_frozen_on_features(model, data, size, config, callbacks=[], verbose=2, compile_head=compile_)
    cached_total = time.perf_counter() - t0
    cached_epoch_s = cached.epoch_seconds

    # -- figures --------------------------------------------------------------------------------
    def steady(seconds):  # the first epoch also traces the graph (and, naive, decodes the images)
        return sum(seconds[1:]) / len(seconds[1:]) if len(seconds) > 1 else seconds[0]

    naive_steady, cached_steady = steady(naive_epoch_s), steady(cached_epoch_s)
    if naive_epochs == config.epochs:
        naive_total, naive_label = naive_measured, "measured"
    else:
        naive_total = naive_epoch_s[0] + (config.epochs - 1) * naive_steady
        naive_label = f"EXTRAPOLATED from {naive_epochs} measured epochs"
    at = naive_epochs - 1
    acc_naive, acc_cached_same = naive["val_accuracy"][at], cached.history["val_accuracy"][at]
    acc_cached_final = cached.history["val_accuracy"][-1]
    figures = {
        "machine": machine(),
        "backbone": spec.name, "alpha": args.alpha, "image_size": size, "augment": args.augment,
        "cache_views": args.cache_views, "n_train": len(data.train), "n_val": len(data.val),
        "epochs": config.epochs, "naive_epochs_measured": naive_epochs,
        "naive_first_epoch_s": round(naive_epoch_s[0], 2), "naive_s_per_epoch": round(naive_steady, 3),
        "cached_first_epoch_s": round(cached_epoch_s[0], 3), "cached_s_per_epoch": round(cached_steady, 4),
        "caching_pass_s": round(cached.cache_seconds, 2), "cache_bytes": cached.cache_bytes,
        "epoch_ratio": round(naive_steady / cached_steady, 1),
        "naive_total_s": round(naive_total, 1), "naive_total_is": naive_label,
        "cached_total_s": round(cached_total, 1),
        "total_ratio": round(naive_total / cached_total, 2),
        "val_accuracy_naive": round(acc_naive, 4), "val_accuracy_cached_same_epoch": round(acc_cached_same, 4),
        "val_accuracy_cached_final": round(acc_cached_final, 4), "accuracy_compared_at_epoch": naive_epochs,
    }
    diff_points = abs(acc_naive - acc_cached_same) * 100
    checks = [
        (figures["epoch_ratio"] >= TARGET_EPOCH_RATIO, f"per-epoch speed-up {figures['epoch_ratio']}x >= {TARGET_EPOCH_RATIO:.0f}x"),
        (figures["total_ratio"] >= TARGET_TOTAL_RATIO,
         f"{config.epochs}-epoch fit speed-up incl. caching {figures['total_ratio']}x >= {TARGET_TOTAL_RATIO:.0f}x"
         + ("" if naive_label == "measured" else " (naive time extrapolated)")),
        (diff_points <= TARGET_ACCURACY_POINTS,
         f"val accuracy after {naive_epochs} epochs: naive {acc_naive:.4f} vs cached {acc_cached_same:.4f} "
         f"({diff_points:.1f} points <= {TARGET_ACCURACY_POINTS:.0f})"),
    ]
    print("\n== cached vs naive frozen-stage training ==")
    print(f"machine:                 {figures['machine']}")
    print(f"naive   s/epoch:         {naive_steady:.2f} (first epoch {naive_epoch_s[0]:.2f}, incl. decoding)")
    print(f"cached  s/epoch:         {cached_steady:.4f} (first epoch {cached_epoch_s[0]:.3f})")
    print(f"caching pass:            {cached.cache_seconds:.1f} s ({cached.cache_bytes / 1e6:.1f} MB of features)")
    print(f"per-epoch ratio:         {figures['epoch_ratio']}x")
    print(f"{config.epochs}-epoch fit, naive:    {naive_total:.1f} s ({naive_label})")
    print(f"{config.epochs}-epoch fit, cached:   {cached_total:.1f} s (caching pass included, measured)")
    print(f"total ratio:             {figures['total_ratio']}x")
    print(f"val accuracy:            naive {acc_naive:.4f} after {naive_epochs} epochs; cached {acc_cached_same:.4f} "
          f"after {naive_epochs}, {acc_cached_final:.4f} after {len(cached.history['val_accuracy'])}")
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        args.json.write_text(json.dumps(figures | {"checks": [[ok, text] for ok, text in checks]}, indent=2))
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
