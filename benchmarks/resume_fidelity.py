"""How close is a resumed ``kerascenes fit`` to an uninterrupted one, and what does the checkpoint cost?

Runs the same ``kerascenes fit`` command three times on real data, in fresh processes:

1. straight through (the baseline);
2. killed with SIGKILL once its checkpoint holds ``--kill-after`` epochs, then resumed with
   the same command plus ``--resume``;
3. straight through again, to show the run-to-run noise of an uninterrupted run.

It prints the per-epoch validation loss of each, the largest difference from the baseline,
the final validation accuracies, and the checkpoint's cost: the seconds per epoch spent in
``EpochCheckpoint`` (timed in-process on the same model) against the epoch time.

    python benchmarks/resume_fidelity.py --data ../shared/data/15scene \\
        --weights ../shared/weights/mobilenet_2_5_224_tf_no_top.h5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}


def machine() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, load {load}"


def fit_command(args, logdir: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "kerascenes.cli.main", "fit", "--backbone", "MobileNet", "--alpha", "0.25",
            "--weights", args.weights, "--data", f"{args.data}/train", "--val-data", f"{args.data}/val",
            "--logdir", str(logdir), "--name", name, "-q", *args.fit_args]


def history(run: Path) -> list[dict[str, float]]:
    lines = (run / "history.csv").read_text().splitlines()
    keys = lines[0].split(",")
    return [dict(zip(keys, map(float, line.split(",")))) for line in lines[1:]]


def straight(args, logdir: Path, name: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    subprocess.run(fit_command(args, logdir, name), env=ENV, check=True)
    return time.perf_counter() - t0, json.loads((logdir / name / "summary.json").read_text())


def killed_and_resumed(args, logdir: Path, name: str) -> tuple[float, dict, int]:
    command = fit_command(args, logdir, name)
    state = logdir / name / "checkpoint" / "state.json"
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, env=ENV)
    done = 0
    while proc.poll() is None:
        try:
            done = json.loads(state.read_text()).get("epochs_done", 0)
        except (OSError, ValueError):
            pass
        if done >= args.kill_after:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.2)
    subprocess.run([*command, "--resume"], env=ENV, check=True)
    return time.perf_counter() - t0, json.loads((logdir / name / "summary.json").read_text()), done


def checkpoint_cost(args) -> tuple[float, float]:
    """Seconds per epoch of EpochCheckpoint vs a whole epoch, on the same model (in this process)."""
    import keras
    import numpy as np

    from kerascenes.backbones import build_backbone
    from kerascenes.classify.callbacks import BestWeightsEarlyStopping
    from kerascenes.classify.checkpoint import Checkpoint, EpochCheckpoint
    from kerascenes.classify.model import HeadConfig, build_classifier
    from kerascenes.runs import RunFolder

    model = build_classifier(build_backbone("MobileNet", args.weights, 224, 0.25), 15, HeadConfig(), "tf", 224)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (64, 224, 224, 3)).astype("float32")
    y = np.zeros(64, "int64")
    with tempfile.TemporaryDirectory() as folder:
        run = RunFolder.create(folder, "cost", "classifier", {})
        early = BestWeightsEarlyStopping(monitor="loss", patience=10)
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss")
        cb = EpochCheckpoint(Checkpoint(run), model, "frozen", early, plateau, [])
        t0 = time.perf_counter()
        model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[early, plateau])
        epoch = (time.perf_counter() - t0) / 3
        cb.set_model(model)
        t0 = time.perf_counter()
        for e in range(5):
            cb.on_epoch_end(e, {"loss": 1.0})
        return (time.perf_counter() - t0) / 5, epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with train/ and val/ class folders")
    parser.add_argument("--weights", required=True, help="mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--kill-after", type=int, default=10, help="epochs completed before the SIGKILL")
    parser.add_argument("--logdir", type=Path, default=None)
    parser.add_argument("fit_args", nargs="*", help="kerascenes fit options after -- (default: the README recipe)")
    args = parser.parse_args()
    args.fit_args = args.fit_args or ["--image-size", "288", "--cache-features", "--dense", "none", "--tta", "flip",
                                      "--lr", "0.002", "--epochs", "80"]
    logdir = args.logdir or Path(tempfile.mkdtemp(prefix="resume-fidelity-"))
    print("machine:", machine(), flush=True)
    base_s, base = straight(args, logdir, "straight")
    resumed_s, resumed, killed_at = killed_and_resumed(args, logdir, "resumed")
    again_s, again = straight(args, logdir, "straight-again")
    h = {name: history(logdir / name) for name in ("straight", "resumed", "straight-again")}
    n = min(len(v) for v in h.values())
    diff = {name: max(abs(h[name][i]["val_loss"] - h["straight"][i]["val_loss"]) for i in range(n))
            for name in ("resumed", "straight-again")}
    first = {name: next((i + 1 for i in range(n) if abs(h[name][i]["val_loss"] - h["straight"][i]["val_loss"]) > 1e-6),
                        None) for name in ("resumed", "straight-again")}
    cost, epoch = checkpoint_cost(args)
    print(f"\nkilled after {killed_at} epochs; {len(h['straight'])} / {len(h['resumed'])} / "
          f"{len(h['straight-again'])} epochs run")
    print("| run | val accuracy | epochs | max |val_loss - straight| | first differing epoch | wall s |")
    print("|---|---|---|---|---|---|")
    for name, summary, seconds in (("straight", base, base_s), ("resumed", resumed, resumed_s),
                                   ("straight-again", again, again_s)):
        m = summary["metrics"]
        print(f"| {name} | {m['val_accuracy']:.4f} | {m['epochs_run']} | {diff.get(name, 0.0):.2e} | "
              f"{first.get(name) or '-'} | {seconds:.0f} |")
    print(f"\ncheckpoint cost: {cost * 1000:.0f} ms per epoch (MobileNet a=0.25, 224 px: {epoch:.2f} s per "
          f"epoch of 64 images on images, {cost / epoch:.1%} of it)")


if __name__ == "__main__":
    main()
