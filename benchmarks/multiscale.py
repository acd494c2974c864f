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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import add_run_arguments, compare_fits  # noqa: E402

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
    compare_fits(args, logdir, VARIANTS, "input sizes", "one scale")

if __name__ == "__main__":
    main()
