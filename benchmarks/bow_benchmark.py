"""Bag-of-words acceptance benchmark on 15-Scene: kerascenes recipes vs. the study's recipe.

Runs each recipe as the user would, through the CLI in fresh processes, with a cold
descriptor cache (a new temporary cache folder per recipe): ``kerascenes bow fit`` on
``DATA/train`` then ``kerascenes bow evaluate`` on ``DATA/val``, and reports validation
accuracy, wall time of fit + evaluate, and the ratios to the study's recipe (SIFT
keypoints, 500 words, plain histograms, linear SVM with C chosen by 3-fold CV).

    flock /tmp/kerascenes-bench.lock python benchmarks/bow_benchmark.py --data ../shared/data/15scene
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_common import host  # noqa: E402

RECIPES = {
    "default": ("kerascenes default (dense RootSIFT 16/24/32, Fisher vectors 64 x PCA 64, pyramid L=1, linear SVM)", []),
    "plain-sift": ("the default on plain SIFT (no RootSIFT): the previous default", ["--no-root-sift"]),
    "best": ("kerascenes best (as default with 128 Gaussians and (x, y) appended)", ["--vocab", "128", "--spatial-coords"]),
    "lazebnik": ("Lazebnik-style histograms (dense SIFT 16/24/32, 400 words, pyramid L=2, intersection SVM)",
                 ["--encoding", "histogram", "--no-root-sift"]),
    "study": ("study (SIFT keypoints, 500 words, no pyramid, linear SVM, C by CV)",
              ["--detector", "sift", "--vocab", "500", "--pyramid", "0", "--encoding", "histogram", "--classifier", "svm-linear",
               "--C", "cv", "--no-root-sift"]),
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kerascenes(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    cpu = _child_cpu()
    proc = subprocess.run([sys.executable, "-m", "kerascenes.cli.main", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    CPU_SECONDS.append(_child_cpu() - cpu)
    if proc.returncode != 0:
        raise SystemExit(f"kerascenes {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return wall, proc.stdout


CPU_SECONDS: list[float] = []  # CPU time (user + sys) of each finished command


def run_recipe(key: str, data: Path, logdir: Path, jobs: int) -> dict:
    label, extra = RECIPES[key]
    with tempfile.TemporaryDirectory(prefix="bow-cache-") as cache:
        name = f"{key}-{time.strftime('%Y%m%d-%H%M%S')}"  # a new folder: never evaluate an older run
        if (logdir / name).exists():
            raise SystemExit(f"{logdir / name} already exists; pass another --logdir.")
        fit_s, _ = kerascenes("bow", "fit", "--data", str(data / "train"), "--logdir", str(logdir), "--name", name,
                              "--cache-dir", cache, "--n-jobs", str(jobs), "--quiet", *extra)
        run = logdir / name
        eval_s, out = kerascenes("bow", "evaluate", str(run), "--data", str(data / "val"), "--json",
                                 "--n-jobs", str(jobs))
    cpu_s = CPU_SECONDS[-1] + CPU_SECONDS[-2]
    result = json.loads(out)
    summary = json.loads((run / "summary.json").read_text())
    timings = json.loads((run / "timings.json").read_text())
    return {"key": key, "recipe": label, "accuracy": result["accuracy"], "fit_s": fit_s, "eval_s": eval_s,
            "total_s": fit_s + eval_s, "cpu_s": cpu_s, "train_accuracy": summary["metrics"]["train_accuracy"],
            "C": summary["hparams"].get("C"), "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="folder with train/ and val/ class folders")
    parser.add_argument("--logdir", type=Path, default=None, help="where the runs go [default: a temporary folder]")
    parser.add_argument("--recipes", nargs="+", default=["default", "study", "best", "lazebnik"], choices=list(RECIPES))
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args()
    logdir = args.logdir or Path(tempfile.mkdtemp(prefix="bow-bench-"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = []
    for key in args.recipes:  # one line per finished recipe, in case the run is cut short
        rows.append(run_recipe(key, args.data, logdir, args.n_jobs))
        r = rows[-1]
        print(f"[{time.strftime('%H:%M:%S')}] {key}: accuracy {r['accuracy']:.4f}, fit {r['fit_s']:.1f} s, "
              f"evaluate {r['eval_s']:.1f} s, CPU {r['cpu_s']:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    base = next((r for r in rows if r["key"] == "study"), None)
    print(f"\nBag of words on {args.data} (train -> val), {os.cpu_count()} cores, cold descriptor cache\n")
    print(f"machine: {host()}; load average before: {load_before}\n")
    print("| recipe | val accuracy | fit s | evaluate s | fit + evaluate s | CPU s | accuracy vs study | speed vs study |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        acc_ratio = f"{r['accuracy'] / base['accuracy']:.2f}x" if base else "-"
        speed = f"{base['total_s'] / r['total_s']:.2f}x" if base else "-"
        print(f"| {r['recipe']} | {r['accuracy']:.4f} | {r['fit_s']:.1f} | {r['eval_s']:.1f} | {r['total_s']:.1f} "
              f"| {r['cpu_s']:.0f} | {acc_ratio} | {speed} |")
    print("\nStage timings of fit (s):")
    for r in rows:
        print(f"  {r['key']}: " + ", ".join(f"{k}={v}" for k, v in r["timings"].items()) + f"; C={r['C']}")
    print(f"\nRuns: {logdir}")


if __name__ == "__main__":
    main()
