"""Measure --mixed-precision and --jit-compile before recommending them.

    flock /tmp/kerascenes-bench.lock python benchmarks/precision_and_xla.py \\
        --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5

For float32, mixed_float16 and float32 + XLA (``jit_compile=True``), each in a fresh process:

- frozen-stage training steps on images (images/s): what a naive fit spends its time on;
- fine-tuning steps (last 20 backbone layers trainable, images/s);
- head training on cached features (seconds per epoch of 1500 feature vectors).

Synthetic inputs: the speed does not depend on the pixel values.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from speed_common import machine  # noqa: E402

SETTINGS = {"float32": (False, False), "mixed_float16": (True, False), "float32 + XLA": (False, True)}

WORKER = """
import json, time
import numpy as np, keras
from kerascenes.backbones import build_backbone
from kerascenes.classify.cached import split_classifier
from kerascenes.classify.distribute import precision_policy
from kerascenes.classify.model import HeadConfig, build_classifier, find_backbone, unfreeze_last

mixed, jit, weights, size, batch, steps = {mixed}, {jit}, {weights!r}, {size}, {batch}, {steps}
out = {{}}
with precision_policy(mixed):
    model = build_classifier(build_backbone("MobileNet", weights, size, 0.25), 15, HeadConfig(), "tf", size)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    y = rng.integers(0, 15, batch)

    def rate(m):
        m.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=jit)
        for _ in range(2):
            m.train_on_batch(x, y)
        t0 = time.perf_counter()
        for _ in range(steps):
            m.train_on_batch(x, y)
        return steps * batch / (time.perf_counter() - t0)

    out["frozen_img_s"] = rate(model)
    _, head = split_classifier(model)
    feats = rng.normal(size=(1500, 256)).astype("float32")
    labels = rng.integers(0, 15, 1500)
    head.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=jit)
    head.fit(feats, labels, batch_size=32, epochs=1, verbose=0)
    t0 = time.perf_counter()
    head.fit(feats, labels, batch_size=32, epochs=3, verbose=0)
    out["head_s_per_epoch"] = (time.perf_counter() - t0) / 3
    unfreeze_last(find_backbone(model), 20)
    out["fine_tune_img_s"] = rate(model)
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="MobileNet alpha 0.25 weights file (speed only)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print("machine:", machine(), flush=True)
    results = {}
    for label, (mixed, jit) in SETTINGS.items():
        code = WORKER.format(mixed=mixed, jit=jit, weights=args.weights, size=args.image_size, batch=args.batch_size,
                             steps=args.steps)
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{label}: failed\n{done.stderr[-2000:]}")
            results[label] = None
            continue
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        print(label, json.dumps(results[label]), flush=True)
    base = results.get("float32")
    print(f"\n== precision and XLA, MobileNet alpha 0.25 at {args.image_size} px, batch {args.batch_size} ==")
    print(f"machine: {machine()}")
    print(f"{'setting':16s} {'frozen stage':>14s} {'fine-tuning':>14s} {'head on features':>18s}")
    for label, r in results.items():
        if r is None:
            print(f"{label:16s} failed")
            continue
        rel = ""
        if base:
            rel = (f"  ({r['frozen_img_s'] / base['frozen_img_s']:.2f}x / {r['fine_tune_img_s'] / base['fine_tune_img_s']:.2f}x"
                   f" / {base['head_s_per_epoch'] / r['head_s_per_epoch']:.2f}x of float32)")
        print(f"{label:16s} {r['frozen_img_s']:8.1f} img/s {r['fine_tune_img_s']:8.1f} img/s "
              f"{r['head_s_per_epoch']:12.3f} s/epoch{rel}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
