"""Acceptance benchmark of ``kerascenes fit`` on 15-Scene with MobileNet alpha 0.25.

Trains on DATA/train, validates on DATA/val with the local ImageNet weights file, timing
the whole ``kerascenes fit`` command (start-up, data validation, training, evaluation),
then checks the saved model with ``kerascenes evaluate --json``. As a baseline measured in
the same run it fits scikit-learn logistic regression on the same frozen features
(the simplest strong baseline), and prints a markdown table.

    python benchmarks/fit_mobilenet.py --data ../shared/data/15scene \
        --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


# No option beyond the backbone, its weights and the data: the defaults are the fast path (288 px for
# this 224 px backbone, frozen features cached once, mirror-image averaging). The README recipe of
# earlier versions (--dense none --lr 0.002 --epochs 80 on top) is within noise of it.
RECIPE: list[str] = []


def run_fit(args, logdir: Path, extra: list[str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "kerascenes.cli.main", "fit", "--backbone", "MobileNet", "--alpha", "0.25",
           "--weights", args.weights, "--data", f"{args.data}/train", "--val-data", f"{args.data}/val",
           "--logdir", str(logdir), "--name", "bench", *extra]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    summary = json.loads((logdir / "bench" / "summary.json").read_text())
    return wall, summary


def baseline_logreg(args) -> tuple[float, float]:
    """Frozen MobileNet features (224 px) + logistic regression (C=0.1), same data and weights."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from kerascenes.backbones import build_backbone
    from kerascenes.classify.layers import ImagePreprocessing
    from kerascenes.data.folders import load_image_folder
    from kerascenes.data.pipeline import imageset_dataset

    t0 = time.perf_counter()
    backbone = build_backbone("MobileNet", args.weights, 224, 0.25)
    prep = ImagePreprocessing("tf")

    def features(folder):
        images = load_image_folder(folder)
        ds = imageset_dataset(images, 224, 64, cache=False).map(lambda x, y: prep(x))
        return backbone.predict(ds, verbose=0), images.labels

    xtr, ytr = features(f"{args.data}/train")
    xva, yva = features(f"{args.data}/val")
    clf = LogisticRegression(C=0.1, max_iter=2000).fit(xtr, ytr)
    return time.perf_counter() - t0, float(np.mean(clf.predict(xva) == yva))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with train/ and val/ class folders")
    parser.add_argument("--weights", required=True, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--logdir", default=None, help="where the run folder goes (default: a temp folder)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("fit_args", nargs="*", help="more kerascenes fit options after -- (default: none)")
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-bench-"))
    wall, summary = run_fit(args, logdir, args.fit_args or RECIPE)
    out = subprocess.run([sys.executable, "-m", "kerascenes.cli.main", "evaluate", str(logdir / "bench"), "--data",
                          f"{args.data}/val", "--json"], check=True, capture_output=True, text=True).stdout
    evaluation = json.loads(out)
    m = summary["metrics"]
    print(f"\nMachine: {machine()}")
    print("| method | val accuracy | train accuracy | wall time |")
    print("|---|---|---|---|")
    print(f"| kerascenes fit (MobileNet a=0.25, {m['epochs_run']} epochs) | {m['val_accuracy']:.3f} | "
          f"{m['train_accuracy']:.3f} | {wall:.0f} s |")
    print(f"| kerascenes evaluate of the saved model | {evaluation['accuracy']:.3f} | | |")
    if not args.skip_baseline:
        t_base, acc_base = baseline_logreg(args)
        print(f"| baseline: frozen features + logistic regression | {acc_base:.3f} | | {t_base:.0f} s |")
        print(f"\nAccuracy gain over baseline: {m['val_accuracy'] - acc_base:+.3f}")
    print(f"Target (bare default): val accuracy >= 0.885 in <= 240 s -> "
          f"{'MET' if m['val_accuracy'] >= 0.885 and wall <= 240 else 'NOT MET'}")


if __name__ == "__main__":
    main()
