"""Shared pieces of the speed benchmarks: the machine description and the data folders."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host() -> str:
    """One line without importing TensorFlow: CPU, cores, Python and the load average."""
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"{cpu_model()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, load average {load}"


def machine() -> str:
    """One line: CPU, cores, GPUs, TensorFlow/Keras versions and the load average (others' work skews timings)."""
    import keras
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{cpu_model()}, {os.cpu_count()} CPU cores, GPU: {', '.join(gpus) or 'none'}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}, "
            f"load average {load}")


def split_folders(data: Path) -> tuple[str, str | None]:
    """``DIR`` with ``train/`` and ``val/`` (or ``test/``) sub-folders, or one class-per-folder tree."""
    data = Path(data)
    for val_name in ("val", "test"):
        if (data / "train").is_dir() and (data / val_name).is_dir():
            return str(data / "train"), str(data / val_name)
    return str(data), None


def add_run_arguments(parser, weights_help: str = "MobileNet alpha 0.25 *_no_top ImageNet weights file") -> None:
    """The options every 15-Scene fit benchmark takes: --data, --weights, --seed, --logdir."""
    parser.add_argument("--data", required=True, help="folder with train/ and val/ class folders")
    parser.add_argument("--weights", required=True, help=weights_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logdir", default=None, help="where the run folders go (default: a temp folder)")


def timed_fit(data: str | Path, logdir: Path, name: str, options: list[str]) -> tuple[float, dict]:
    """Run ``kerascenes fit`` on DATA/train and DATA/val in a fresh process: ``(wall seconds, summary.json)``."""
    import json
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "kerascenes.cli.main", "fit", "--data", f"{data}/train", "--val-data", f"{data}/val",
           "--logdir", str(logdir), "--name", name, *options]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    return wall, json.loads((Path(logdir) / name / "summary.json").read_text())


def compare_fits(args, logdir: Path, variants, column: str, baseline: str) -> list[tuple]:
    """Time one ``kerascenes fit`` of MobileNet alpha 0.25 per ``(label, name, options)`` variant, the first being
    the baseline; print a markdown table, the differences to the baseline and one JSON line."""
    import json

    rows = []
    for label, name, extra in variants:
        wall, summary = timed_fit(args.data, logdir, name, ["--backbone", "MobileNet", "--alpha", "0.25", "--weights",
                                                            args.weights, "--seed", str(args.seed), *extra])
        m = summary["metrics"]
        rows.append((label, name, m["val_accuracy"], m.get("val_accuracy_no_tta"), m.get("feature_cache_s"), wall))
    print()
    print(f"15-Scene (train {summary['metrics']['n_train']} / val {summary['metrics']['n_val']}), {host()}")
    print()
    print(f"| {column} | val accuracy | without TTA | feature caching | wall time of `kerascenes fit` |")
    print("|---|---|---|---|---|")
    for label, _, acc, no_tta, cache_s, wall in rows:
        no_tta = "" if no_tta is None else f"{no_tta:.4f}"
        print(f"| {label} | {acc:.4f} | {no_tta} | {cache_s} s | {wall:.0f} s |")
    base = rows[0][2]
    print("\n" + "; ".join(f"{label} - {baseline}: {acc - base:+.4f}" for label, _, acc, *_ in rows[1:]))
    print(json.dumps({name: {"val_accuracy": acc, "wall_s": round(wall, 1)} for _, name, acc, _, _, wall in rows}
                     | {"logdir": str(logdir)}))
    return rows
