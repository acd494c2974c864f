"""Images/s the tf.data pipeline delivers vs images/s the model consumes, for a few backbones.

    flock /tmp/kerascenes-bench.lock python benchmarks/pipeline_throughput.py \\
        --data ../shared/data/15scene --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5

For each backbone (at its input size):

- pipeline, first epoch: decoding every file (parallel map) + augmentation + batching;
- pipeline, later epochs: decoded images come from the cache, augmentation still runs;
- model: frozen-stage training steps (forward through the backbone, backward through the
  head) on in-memory batches, i.e. the rate the pipeline has to keep up with.

The pipeline must never be the bottleneck: both pipeline rates >= 2x the model's rate.
Weights do not change the speed, so only the first backbone uses ``--weights``.
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

TARGET_RATIO = 2.0


def pipeline_rate(images, size: int, batch_size: int, augment: str, epochs: int = 2) -> list[float]:
    """Images/s of each epoch of the training pipeline (the first one fills the decode cache)."""
    from kerascenes.data.pipeline import imageset_dataset

    ds = imageset_dataset(images, size, batch_size, training=True, augment=augment, seed=0, cache=True)
    rates = []
    for _ in range(epochs):
        t0, n = time.perf_counter(), 0
        for x, _ in ds:
            n += int(x.shape[0])
        rates.append(n / (time.perf_counter() - t0))
    return rates


def model_rate(name: str, alpha: float | None, weights: str | None, size: int, batch_size: int, n_classes: int,
               steps: int) -> float:
    """Images/s of frozen-stage training steps on in-memory batches."""
    import keras
    import numpy as np

    from kerascenes.backbones import build_backbone, get_backbone
    from kerascenes.classify.model import HeadConfig, build_classifier

    spec = get_backbone(name)
    model = build_classifier(build_backbone(name, weights, size, alpha), n_classes, HeadConfig(), spec.preprocessing,
                             size)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch_size, size, size, 3)).astype("float32")
    y = rng.integers(0, n_classes, batch_size)
    for _ in range(2):  # tracing
        model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--weights", default=None, help="weights file of the first backbone (speed only)")
    parser.add_argument("--backbones", default="MobileNet:0.25,MobileNetV2,ResNet50",
                        help="comma-separated NAME[:ALPHA]")
    parser.add_argument("--n-images", type=int, default=480, help="training images the pipeline reads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--augment", default="none,default", help="comma-separated augmentation policies")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per model")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import numpy as np

    from kerascenes.backbones import get_backbone
    from kerascenes.data.folders import load_image_folder

    print("machine:", machine(), flush=True)
    train_dir, _ = split_folders(args.data)
    images = load_image_folder(train_dir)
    pick = np.random.default_rng(0).permutation(len(images))[: args.n_images]
    images = images.subset(np.sort(pick))
    rows = []
    policies = args.augment.split(",")
    measured: dict[tuple[int, str], list[float]] = {}
    for i, item in enumerate(args.backbones.split(",")):
        name, _, alpha = item.partition(":")
        spec = get_backbone(name)
        size = spec.default_size
        rate = model_rate(spec.name, float(alpha) if alpha else None, args.weights if i == 0 else None, size,
                          args.batch_size, len(images.class_names), args.steps)
        for policy in policies:
            if (size, policy) not in measured:  # the pipeline depends on the input size only
                measured[size, policy] = pipeline_rate(images, size, args.batch_size, policy)
            cold, warm = measured[size, policy]
            row = {"backbone": f"{spec.name}{f' alpha {alpha}' if alpha else ''}", "size": size, "augment": policy,
                   "pipeline_first_epoch_img_s": round(cold, 1), "pipeline_cached_img_s": round(warm, 1),
                   "model_img_s": round(rate, 1), "ratio_first_epoch": round(cold / rate, 2),
                   "ratio_cached": round(warm / rate, 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n== tf.data pipeline vs model ({len(images)} images, batch {args.batch_size}) ==")
    print(f"machine: {machine()}")
    print(f"{'backbone':22s} {'px':>4s} {'augment':>8s} {'pipeline 1st epoch':>19s} {'pipeline cached':>16s} "
          f"{'model (train)':>14s} {'ratios':>12s}")
    ok = True
    for r in rows:
        good = min(r["ratio_first_epoch"], r["ratio_cached"]) >= TARGET_RATIO
        ok &= good
        print(f"{r['backbone']:22s} {r['size']:4d} {r['augment']:>8s} {r['pipeline_first_epoch_img_s']:13.1f} img/s "
              f"{r['pipeline_cached_img_s']:10.1f} img/s {r['model_img_s']:8.1f} img/s "
              f"{r['ratio_first_epoch']:5.1f}x/{r['ratio_cached']:.1f}x {'PASS' if good else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
