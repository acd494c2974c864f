"""Acceptance benchmark: the hybrid ViT (``--backbone vit_hybrid``) on 15-Scene, against its own stem.

Two ``kerascenes fit`` commands on DATA/train, validated on DATA/val, with the same stem
(MobileNet alpha 0.25, the local ImageNet weights file) and every other option at its default
(cached stem features, 1.25x the stem's input size, flip TTA):

1. ``--backbone vit_hybrid --stem MobileNet``: the stem's last feature map as tokens, a class token,
   position embeddings and KerasHub transformer encoder blocks, then the head;
2. the baseline measured in the same run: ``--backbone MobileNet --dense none``, the same stem with
   a linear head on its pooled features.

Each whole command is timed (start-up, data validation, feature caching, training, final
scoring). Prints a markdown table and one JSON line.

    python benchmarks/vit_hybrid.py --data ../shared/data/15scene \
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
    return timed_fit(args.data, logdir, name, ["--alpha", "0.25", "--weights", args.weights, "--seed", str(args.seed),
                                               *extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    parser.add_argument("--extra", default="", help="more options for the hybrid run, e.g. '--epochs 40'")
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-hybrid-bench-"))
    hybrid_wall, hybrid = run_fit(args, logdir, "hybrid",
                                  ["--backbone", "vit_hybrid", "--stem", "MobileNet", *args.extra.split()])
    linear_wall, linear = run_fit(args, logdir, "linear", ["--backbone", "MobileNet", "--dense", "none"])
    rows = []
    for label, wall, summary in (("vit_hybrid, MobileNet a=0.25 stem, 2 transformer blocks", hybrid_wall, hybrid),
                                 ("baseline: the same stem, linear head (--dense none)", linear_wall, linear)):
        m = summary["metrics"]
        rows.append((label, m["val_accuracy"], m.get("val_accuracy_no_tta"), m.get("val_top3_accuracy"),
                     m["params"], m["epochs_run"], wall))
    print()
    print(f"15-Scene (train {hybrid['metrics']['n_train']} / val {hybrid['metrics']['n_val']}), {host()}")
    print()
    print("| model | val accuracy | without TTA | top-3 | parameters | epochs | wall time of `kerascenes fit` |")
    print("|---|---|---|---|---|---|---|")
    for label, acc, no_tta, top3, params, epochs, wall in rows:
        fmt = lambda v: "" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"| {label} | {acc:.4f} | {fmt(no_tta)} | {fmt(top3)} | {params:,} | {epochs} | {wall:.0f} s |")
    print(f"\ntransformer - linear head: {rows[0][1] - rows[1][1]:+.4f}")
    print(json.dumps({"hybrid_val_accuracy": rows[0][1], "hybrid_wall_s": round(hybrid_wall, 1),
                      "linear_val_accuracy": rows[1][1], "linear_wall_s": round(linear_wall, 1),
                      "logdir": str(logdir)}))


if __name__ == "__main__":
    main()
