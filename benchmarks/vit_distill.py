"""Acceptance benchmark: a from-scratch ``vit_tiny`` with and without ``--teacher`` on 15-Scene.

Three ``kerascenes fit`` commands on DATA/train, validated on DATA/val:

1. the teacher, unless ``--teacher RUN`` names an existing one: the default MobileNet alpha 0.25 run
   on the local ImageNet weights file (cached features, 288 px, flip TTA);
2. the baseline measured in the same run: ``vit_tiny`` from random weights, ``--epochs N``;
3. the same command plus ``--teacher`` (DeiT soft distillation: half the loss is the KL divergence
   to the teacher's probabilities of the same augmented images).

Both students get the same options, data, seed and number of epochs (early stopping off, so the
budget is the same); each whole command is timed. Prints a markdown table and one JSON line.

    python benchmarks/vit_distill.py --data ../shared/data/15scene \
        --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import add_run_arguments, host, timed_fit  # noqa: E402


def run_fit(args, logdir: Path, name: str, extra: list[str]) -> tuple[float, dict]:
    return timed_fit(args.data, logdir, name, ["--seed", str(args.seed), *extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, "MobileNet alpha 0.25 *_no_top weights file (the teacher)")
    parser.add_argument("--teacher", default=None, help="an existing teacher run (default: train one)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--lr", type=float, default=5e-4)
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-distill-bench-"))
    teacher = args.teacher
    teacher_row = None
    if teacher is None:
        wall, summary = run_fit(args, logdir, "teacher", ["--backbone", "MobileNet", "--alpha", "0.25",
                                                          "--weights", args.weights])
        teacher = str(logdir / "teacher")
        teacher_row = ("teacher: MobileNet a=0.25, default `fit`", summary["metrics"]["val_accuracy"], wall)
    student = ["--backbone", "vit_tiny", "--weights", "none", "--image-size", str(args.image_size),
               "--epochs", str(args.epochs), "--patience", str(args.epochs), "--lr", str(args.lr),
               "--dense", "none", "--dropout", "0.1"]
    alone_wall, alone = run_fit(args, logdir, "vit_tiny", student)
    taught_wall, taught = run_fit(args, logdir, "vit_tiny_teacher", [*student, "--teacher", teacher])
    rows = [teacher_row] if teacher_row else []
    rows += [(f"vit_tiny from scratch, {args.epochs} epochs", alone["metrics"]["val_accuracy"], alone_wall),
             (f"the same with --teacher, {args.epochs} epochs", taught["metrics"]["val_accuracy"], taught_wall)]
    print()
    print(f"15-Scene (train {alone['metrics']['n_train']} / val {alone['metrics']['n_val']}), {args.image_size} px, "
          f"{host()}")
    print()
    print("| model | val accuracy | wall time of `kerascenes fit` |")
    print("|---|---|---|")
    for label, acc, wall in rows:
        print(f"| {label} | {acc:.4f} | {wall:.0f} s |")
    gain = taught["metrics"]["val_accuracy"] - alone["metrics"]["val_accuracy"]
    print(f"\n--teacher - from scratch: {gain * 100:+.1f} points")
    print(json.dumps({"alone_val_accuracy": alone["metrics"]["val_accuracy"], "alone_wall_s": round(alone_wall, 1),
                      "teacher_val_accuracy": taught["metrics"]["val_accuracy"],
                      "teacher_wall_s": round(taught_wall, 1), "logdir": str(logdir)}))


if __name__ == "__main__":
    main()
