"""Benchmark: multi-scale CNN features (``--image-size 224,288,352``) against one scale, on 15-Scene.

Three ``kerascenes fit`` commands on DATA/train, validated on DATA/val, with MobileNet alpha 0.25 on
the local ImageNet weights file and every other option at its default (cached features, flip TTA):

1. the baseline measured in the same run: one scale, the default 288 px;
2. ``--image-size 224,288,352 --scale-fusion concat``: the pooled features of the three scales side by side;
3. ``--image-size 224,288,352 --scale-fusion mean``: the same features averaged.

Each whole command is timed (start-up, data validation, feature caching, training, final scoring).
Prints a markdown table and one JSON line.

    python benchmarks/multiscale.py --data ../shared/data/15scene \
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

VARIANTS = (
    ("one scale, 288 px (the default)", "single", []),
    ("224,288,352, concat", "concat", ["--image-size", "224,288,352", "--scale-fusion", "concat"]),
    ("224,288,352, mean", "mean", ["--image-size", "224,288,352", "--scale-fusion", "mean"]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-multiscale-bench-"))
    rows = []
    for label, name, extra in VARIANTS:
        wall, summary = timed_fit(args.data, logdir, name, ["--backbone", "MobileNet", "--alpha", "0.25", "--weights",
                                                            args.weights, "--seed", str(args.seed), *extra])
        m = summary["metrics"]
        rows.append((label, name, m["val_accuracy"], m.get("val_accuracy_no_tta"), m.get("feature_cache_s"), wall))
    print()
    print(f"15-Scene (train {summary['metrics']['n_train']} / val {summary['metrics']['n_val']}), {host()}")
    print()
    print("| input sizes | val accuracy | without TTA | feature caching | wall time of `kerascenes fit` |")
    print("|---|---|---|---|---|")
    for label, _, acc, no_tta, cache_s, wall in rows:
        no_tta = "" if no_tta is None else f"{no_tta:.4f}"
        print(f"| {label} | {acc:.4f} | {no_tta} | {cache_s} s | {wall:.0f} s |")
    base = rows[0][2]
    print("\n" + "; ".join(f"{label} - one scale: {acc - base:+.4f}" for label, _, acc, *_ in rows[1:]))
    print(json.dumps({name: {"val_accuracy": acc, "wall_s": round(wall, 1)} for _, name, acc, _, _, wall in rows}
                     | {"logdir": str(logdir)}))


if __name__ == "__main__":
    main()
