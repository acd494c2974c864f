"""Everything from scratch on 15-Scene: CNN runs, a bag-of-words run and their ensemble, timed as a whole.

Each step is the plain command a user types (fresh processes), so the wall time includes
start-up, data validation, training, the out-of-fold refits and every report:

1. ``kerascenes fit --backbone MobileNet --alpha 0.25 --weights FILE --image-size S`` once per
   size of ``--cnn-sizes`` (default 288, the fit default, and 448: the larger input's finer
   feature map makes different mistakes; ``default`` leaves the option out), with the options
   after ``--``,
2. ``kerascenes bow fit`` (the defaults),
3. ``kerascenes ensemble`` of them all (``--method``, weights learned out of fold on the
   training images only).

It prints each member's validation accuracy, the equal-weight baseline (the mean of the
members' log-probabilities), the learned ensemble, and the total wall time against the
targets (>= 0.93 in <= 10 minutes).

    python benchmarks/ensemble_15scene.py --data ../shared/data/15scene \\
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

ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}


def machine() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, load {load}"


def kerascenes(*args: str) -> float:
    command = [sys.executable, "-m", "kerascenes.cli.main", *args]
    print("$ kerascenes", " ".join(args), flush=True)
    t0 = time.perf_counter()
    subprocess.run(command, env=ENV, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="folder with train/ and val/ class folders")
    parser.add_argument("--weights", required=True, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--method", default="geometric", choices=["geometric", "arithmetic", "stacking"])
    parser.add_argument("--cnn-sizes", default="288,448",
                        help="one CNN member per input size, comma-separated ('default': fit's own)")
    parser.add_argument("--logdir", type=Path, default=None)
    parser.add_argument("fit_args", nargs="*", help="extra kerascenes fit options after --")
    args = parser.parse_args()
    logdir = args.logdir or Path(tempfile.mkdtemp(prefix="ensemble-15scene-"))
    train, val = str(args.data / "train"), str(args.data / "val")
    print("machine:", machine(), flush=True)
    t0 = time.perf_counter()
    sizes = [s.strip() for s in args.cnn_sizes.split(",") if s.strip()]
    times, labels = {}, {}
    for size in sizes:
        name = "cnn" if size == "default" else f"cnn-{size}"
        labels[name] = f"CNN (`kerascenes fit`, MobileNet a=0.25, {'default size' if size == 'default' else size + ' px'})"
        times[name] = kerascenes("fit", "--backbone", "MobileNet", "--alpha", "0.25", "--weights", args.weights,
                                 "--data", train, "--val-data", val, "--logdir", str(logdir), "--name", name, "-q",
                                 *([] if size == "default" else ["--image-size", size]), *args.fit_args)
    labels["bow"] = "bag of words (`kerascenes bow fit`)"
    times["bow"] = kerascenes("bow", "fit", "--data", train, "--val-data", val, "--logdir", str(logdir),
                              "--name", "bow", "--cache-dir", str(logdir / ".bow-cache"), "-q")
    members = list(times)
    times["ensemble"] = kerascenes("ensemble", *(str(logdir / name) for name in members), "--method", args.method,
                                   "--logdir", str(logdir), "--name", "ensemble", "-q")
    total = time.perf_counter() - t0
    m = json.loads((logdir / "ensemble" / "summary.json").read_text())["metrics"]
    weights = json.loads((logdir / "ensemble" / "ensemble.json").read_text())["params"]
    print(f"\nmachine: {machine()}")
    print("| step | val accuracy | wall s |")
    print("|---|---|---|")
    for name in members:
        print(f"| {labels[name]} | {m[f'val_accuracy_{name}']:.4f} | {times[name]:.0f} |")
    print(f"| equal-weight geometric mean of the members (baseline) | {m['val_accuracy_equal_weights']:.4f} | |")
    print(f"| **ensemble** ({args.method}, learned out of fold: {weights.get('weights', 'stacker')}) | "
          f"**{m['val_accuracy']:.4f}** | {times['ensemble']:.0f} |")
    print(f"| everything from scratch | | **{total:.0f}** |")
    met = m["val_accuracy"] >= 0.93 and total <= 600
    print(f"\nTargets: ensemble val accuracy >= 0.93 and <= 600 s from scratch -> {'MET' if met else 'NOT MET'}")
    print(f"Runs: {logdir}")


if __name__ == "__main__":
    main()
