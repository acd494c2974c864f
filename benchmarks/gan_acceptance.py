"""Acceptance check of the default DCGAN: `kerascenes gan train` with its defaults, then the scores.

Run it alone on the machine (timings!):

    flock /tmp/kerascenes-bench.lock python benchmarks/gan_acceptance.py --data ../shared/data/mnist.npz
    flock /tmp/kerascenes-bench.lock python benchmarks/gan_acceptance.py --data ../shared/data/fashion_mnist.npz

Pass criteria (issue "TensorFlow DCGAN on MNIST and Fashion-MNIST"):
- wall time of the whole `kerascenes gan train` command <= --budget-min (15) minutes;
- confident share (classifier probability >= 0.8) >= 0.90 on MNIST; on Fashion-MNIST, whose real
  test images reach only ~0.80 on the shipped classifier, >= 0.90 x the real share;
- Frechet distance on the shipped classifier's features <= 20 x the real-vs-real distance.

Prints one table and writes ``acceptance.json`` into the run folder; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import host  # noqa: E402

FD_FACTOR = 20.0
CONFIDENT = {"mnist": ("absolute", 0.90), "fashion_mnist": ("relative", 0.90)}


def main() -> int:
    parser = argparse.ArgumentParser(description="Default DCGAN acceptance run.")
    parser.add_argument("--data", type=Path, required=True, help="mnist.npz or fashion_mnist.npz (or an idx folder)")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default=None,
                        help="default: guessed from the --data name")
    parser.add_argument("--logdir", type=Path, default=Path("logs/benchmarks"))
    parser.add_argument("--budget-min", type=float, default=15.0)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="extra `gan train` options (the acceptance uses none)")
    args = parser.parse_args()
    dataset = args.dataset or ("fashion_mnist" if "fashion" in args.data.name.lower() else "mnist")
    name = f"acceptance-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [sys.executable, "-m", "kerascenes.cli.main", "gan", "train", "--dataset", dataset,
               "--data", str(args.data), "--logdir", str(args.logdir), "--name", name, "--quiet", *args.extra]
    print("$", " ".join(command), flush=True)
    start, cpu_start = time.perf_counter(), os.times()
    result = subprocess.run(command)
    wall = time.perf_counter() - start
    cpu = (lambda t: t.children_user + t.children_system)(os.times()) - (cpu_start.children_user + cpu_start.children_system)
    if result.returncode != 0:
        print(f"gan train failed with status {result.returncode}")
        return 1
    run = args.logdir / name
    summary = json.loads((run / "summary.json").read_text())
    scores = json.loads((run / "evaluation.json").read_text())
    mode, threshold = CONFIDENT[dataset]
    needed = threshold if mode == "absolute" else threshold * scores["real_confident_share"]
    checks = {
        "wall_time": (wall <= args.budget_min * 60, f"{wall / 60:.1f} min <= {args.budget_min:.0f} min"),
        "confident_share": (scores["confident_share"] >= needed,
                            f"{scores['confident_share']:.3f} >= {needed:.3f} (real {scores['real_confident_share']:.3f})"),
        "fd": (scores["fd"] <= FD_FACTOR * scores["real_fd"],
               f"{scores['fd']:.3f} <= {FD_FACTOR:.0f} x {scores['real_fd']:.3f} = {FD_FACTOR * scores['real_fd']:.3f}"
               f" (ratio {scores['fd_ratio']:.1f}x)"),
    }
    m = summary["metrics"]
    report = {
        "dataset": dataset, "run": str(run), "command": " ".join(command), "wall_time_s": round(wall, 1),
        "cpu_time_s": round(cpu, 1), "epochs": summary["metrics"].get("epochs_done"),
        "epochs_planned": summary["hparams"]["epochs"],
        "batch_size": summary["hparams"]["batch_size"], "images_per_second": m["images_per_second"],
        "seconds_per_epoch": m["seconds_per_epoch"], "fd": scores["fd"], "real_fd": scores["real_fd"],
        "fd_ratio": scores["fd_ratio"], "kid": scores["kid"], "real_kid": scores["real_kid"],
        "confident_share": scores["confident_share"], "real_confident_share": scores["real_confident_share"],
        "classes_covered": scores["classes_covered"], "class_histogram": scores["class_histogram"],
        "grid": str(run / summary["grid"]), "checks": {k: {"pass": bool(ok), "detail": d} for k, (ok, d) in checks.items()},
    }
    (run / "acceptance.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{dataset}: {report['epochs']} of {report['epochs_planned']} epochs, batch {report['batch_size']}, "
          f"{report['images_per_second']:.0f} images/s, {report['seconds_per_epoch']:.0f} s/epoch, "
          f"CPU {cpu:.0f} s, wall {wall:.0f} s")
    for key, (ok, detail) in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {key:16s} {detail}")
    print(f"  KID {scores['kid']:.4f} (real {scores['real_kid']:.4f}), classes covered {scores['classes_covered']}/10")
    print(f"  grid: {report['grid']}")
    print(f"  machine: {host()}")
    return 0 if all(ok for ok, _ in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
