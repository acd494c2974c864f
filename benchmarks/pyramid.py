"""Benchmark: spatial pyramid pooling (``--pooling pyramid``) against global average pooling, on 15-Scene.

Four ``kerascenes fit`` commands on DATA/train, validated on DATA/val, with MobileNet alpha 0.25 on
the local ImageNet weights file and every other option at its default (cached features, flip TTA):

1. the baseline measured in the same run: ``--pooling avg``, one scale (288 px);
2. ``--pooling pyramid``: the mean of the last feature map and of each of its quarters (5x the features);
3. and 4. the same two at three scales (``--image-size 224,288,352``, features concatenated).

Each whole command is timed. Prints a markdown table and one JSON line.

    python benchmarks/pyramid.py --data ../shared/data/15scene \\
        --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import add_run_arguments, compare_fits  # noqa: E402

SCALES = ["--image-size", "224,288,352"]
VARIANTS = (
    ("avg, 288 px", "avg", ["--pooling", "avg"]),
    ("pyramid 1+2x2, 288 px", "pyramid", ["--pooling", "pyramid"]),
    ("avg, 224,288,352", "avg_multiscale", ["--pooling", "avg", *SCALES]),
    ("pyramid 1+2x2, 224,288,352", "pyramid_multiscale", ["--pooling", "pyramid", *SCALES]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser)
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-pyramid-bench-"))
    compare_fits(args, logdir, VARIANTS, "pooling, input sizes", "avg, 288 px")


if __name__ == "__main__":
    main()
