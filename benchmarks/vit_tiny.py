"""Acceptance benchmark: ``vit_tiny`` trained from scratch on 15-Scene with ``kerascenes fit``.

No pretraining: the 2.9M-parameter ViT (patch 16, 6 blocks, 3 heads, width 192) starts from
random weights and sees only DATA/train (1500 images, 160 px by default); DATA/val is the validation set. The
whole ``kerascenes fit`` command is timed (start-up, data validation, training, evaluation);
seconds per epoch come from the wall times of the TensorBoard epoch events (training plus
validation of that epoch). The CPU time of the command and the load average are printed too:
on a shared machine the wall times only mean something next to them. Prints a markdown table.

    flock /tmp/kerascenes-bench.lock python benchmarks/vit_tiny.py --data ../shared/data/15scene
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def epoch_wall_times(train_dir: Path) -> list[float]:
    """Seconds of each epoch, from the wall times of the ``epoch_loss`` events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(train_dir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    tag = "epoch_loss"
    events = acc.Tensors(tag) if tag in acc.Tags().get("tensors", []) else acc.Scalars(tag)
    return [float(w) for w in (e.wall_time for e in sorted(events, key=lambda e: e.step))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with train/ and val/ class folders")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--image-size", type=int, default=160, help="multiple of 16; 160 px = 100 patches")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--logdir", default=None, help="where the run folder goes (default: a temp folder)")
    args = parser.parse_args()
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="kerascenes-vit-bench-"))
    cmd = [sys.executable, "-m", "kerascenes.cli.main", "fit", "--backbone", "vit_tiny", "--weights", "none",
           "--data", f"{args.data}/train", "--val-data", f"{args.data}/val", "--image-size", str(args.image_size),
           "--epochs", str(args.epochs), "--lr", str(args.lr), "--batch-size", str(args.batch_size),
           "--dense", "none", "--dropout", "0.1", "--augment", "default", "--logdir", str(logdir), "--name", "vit_tiny"]
    print("$", " ".join(cmd), flush=True)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime  # CPU seconds of the fit command (all its threads)
    run = logdir / "vit_tiny"
    summary = json.loads((run / "summary.json").read_text())
    m = summary["metrics"]
    marks = epoch_wall_times(run / "tensorboard" / "train")
    # epoch 1 also decodes and caches the images and traces the graph: not in the median
    steady = [b - a for a, b in zip(marks, marks[1:])]
    per_epoch = statistics.median(steady) if steady else float("nan")
    rows = [
        ("model", "vit_tiny from scratch, no pretraining (patch 16, 6 blocks, 3 heads, width 192)"),
        ("parameters", f"{m['params']:,}"),
        ("image size", f"{args.image_size} px"),
        ("epochs run (best)", f"{m['epochs_run']} ({m['best_epoch']})"),
        ("val accuracy", f"{m['val_accuracy']:.4f}"),
        ("val macro F1", f"{m['val_macro_f1']:.4f}"),
        ("train accuracy", f"{m['train_accuracy']:.4f}"),
        ("s / epoch (train + val, median after epoch 1)", f"{per_epoch:.1f}"),
        ("training time", f"{m['train_time_s']:.0f} s"),
        ("wall time of `kerascenes fit`", f"{wall:.0f} s"),
        ("CPU time of `kerascenes fit`", f"{cpu:.0f} s"),
        ("load average (1 min) before / after", f"{load_before:.1f} / {load_after:.1f}"),
        ("machine", machine()),
    ]
    print()
    print(f"| vit_tiny on 15-Scene (train {m['n_train']} / val {m['n_val']}) | |")
    print("|---|---|")
    for key, value in rows:
        print(f"| {key} | {value} |")
    print(json.dumps({"val_accuracy": m["val_accuracy"], "seconds_per_epoch": round(per_epoch, 1),
                      "epoch_seconds": [round(s, 1) for s in steady], "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                      "run": str(run)}))


if __name__ == "__main__":
    main()
