"""What a Frechet distance on the shipped domain classifiers means: FD of real images, lightly altered.

The GAN scores (``kerascenes gan evaluate``) compare generated images with the training set on the
features of a small classifier, and give the real-vs-real figure (the test images against the
training set) for scale. This script puts the real test images through small alterations that a
person would barely notice (a one-pixel shift, a slight blur, faint noise, 10% less contrast) and
prints the FD and confident share of each, next to its ratio to real-vs-real. It tells how strict
a target such as "FD within 20x of real-vs-real" is on each dataset.

    python benchmarks/fd_calibration.py --data-dir ../shared/data

Needs ``mnist.npz`` / ``fashion_mnist.npz`` (Keras layout) in --data-dir; writes a JSON next to the
acceptance runs. Deterministic (seed 0); takes about a minute per dataset on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import host  # noqa: E402


def alterations(rng: np.random.Generator) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Small changes to images ``(n, 28, 28)`` in [0, 1], each keeping them in [0, 1]."""
    from scipy.ndimage import gaussian_filter

    def noise(std: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: np.clip(x + rng.normal(0.0, std, x.shape), 0.0, 1.0).astype(np.float32)

    def blur(sigma: float) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: gaussian_filter(x, (0, sigma, sigma))

    return {
        "shifted 1 pixel right": lambda x: np.roll(x, 1, axis=2),
        "blurred, sigma 0.5 pixel": blur(0.5),
        "blurred, sigma 1 pixel": blur(1.0),
        "Gaussian noise, std 0.05": noise(0.05),
        "Gaussian noise, std 0.1": noise(0.1),
        "contrast x 0.9": lambda x: x * 0.9,
        "quantised to 8 grey levels": lambda x: np.round(x * 7) / 7,
    }


def calibrate(dataset: str, data_dir: Path, seed: int = 0) -> list[dict[str, float | str]]:
    """Rows ``{"images", "fd", "ratio", "confident_share"}``: the test set, a training sample, then each alteration."""
    from kerascenes.data.digits import load_digits, to_unit_float
    from kerascenes.gan.metrics import score_samples

    x_train = to_unit_float(load_digits(dataset, data_dir / f"{dataset}.npz", "train")[0])
    x_test = to_unit_float(load_digits(dataset, data_dir / f"{dataset}.npz", "test")[0])
    rng = np.random.default_rng(seed)

    def row(label: str, images: np.ndarray) -> dict[str, float | str]:
        scores = score_samples(images, dataset, with_kid=False)  # the scores `kerascenes gan evaluate` gives
        return {"images": label, "fd": scores["fd"], "ratio": scores["fd_ratio"], "confident_share": scores["confident_share"]}

    rows = [row(f"real test images ({len(x_test):,}; real-vs-real)", x_test),
            row("real training images (10,000 of them)", x_train[rng.choice(len(x_train), 10000, replace=False)])]
    for label, change in alterations(rng).items():
        rows.append(row(f"test images {label}", change(x_test)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="FD of lightly altered real images on the shipped domain classifiers.")
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with mnist.npz and fashion_mnist.npz")
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"], choices=["mnist", "fashion_mnist"])
    parser.add_argument("--out", type=Path, default=Path("logs/benchmarks"))
    args = parser.parse_args()
    print(host(), flush=True)
    results = {}
    for dataset in args.datasets:
        start = time.perf_counter()
        rows = calibrate(dataset, args.data_dir)
        results[dataset] = rows
        print(f"\n{dataset} (FD against the training set's features; {time.perf_counter() - start:.0f} s)")
        print(f"{'images':58s} {'FD':>8s} {'x real-vs-real':>15s} {'confident share':>16s}")
        for r in rows:
            print(f"{r['images']:58s} {r['fd']:8.3f} {r['ratio']:14.1f}x {r['confident_share']:16.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"fd-calibration-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"host": host(), "results": results}, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
