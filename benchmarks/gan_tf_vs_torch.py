"""Training speed of the same DCGAN in TensorFlow and in PyTorch: images/s of each and their ratio.

Both sides train the same architecture spec, from the same initial weights (the Keras
weights are copied into the torch twin), on the same images with the same batch size,
using each framework's normal training path: ``keras.Model.fit`` (a ``tf.function`` graph
step, no XLA, as ``kerascenes gan train --framework tf`` runs it) and the eager
``TorchDCGAN.train_step`` loop of ``--framework torch``. Each side runs in its own fresh
process so that neither framework's thread pools disturb the other; after ``--warmup``
steps, ``--steps`` steps are timed (wall clock and process CPU time).

    flock /tmp/kerascenes-bench.lock python benchmarks/gan_tf_vs_torch.py \
        --data ../shared/data/mnist.npz --arch tutorial --batch-size 256

Uses the GPU when one is visible to each framework (``--device`` for torch). On a CPU
shared with other work, OpenMP threads that spin while they wait for each other lose
much of their time; ``kerascenes.torch_gan`` therefore defaults ``OMP_WAIT_POLICY`` to
``PASSIVE`` (export ``OMP_WAIT_POLICY=ACTIVE`` to measure spinning waits), and
``--omp-passive`` sets it for both processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load_images(path: str, n: int):
    """The first ``n`` training images of a Keras-style .npz, float32 (n, 28, 28, 1) in [-1, 1]."""
    import numpy as np

    from kerascenes.data.digits import load_path

    images, _ = load_path(path, "train")
    return (images[:n].astype(np.float32)[..., None] - 127.5) / 127.5


def initial_weights(arch: str, seed: int):
    """Keras-ordered weights of freshly initialised generator and discriminator (built with Keras)."""
    from kerascenes.gan.models import build_discriminator, build_generator

    g, d = build_generator(arch, seed), build_discriminator(arch, seed)
    return [layer.get_weights() for layer in g.layers], [layer.get_weights() for layer in d.layers]


def bench_tf(args) -> dict:
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    from kerascenes.gan.dcgan import DCGAN

    keras.utils.set_random_seed(args.seed)
    x = load_images(args.data, args.batch_size * (args.warmup + args.steps))
    model = DCGAN(args.arch, seed=args.seed)
    model.compile()
    marks: dict[int, tuple[float, float]] = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch in (args.warmup - 1, args.warmup + args.steps - 1):
                marks[batch] = (time.perf_counter(), time.process_time())

    data = tf.data.Dataset.from_tensor_slices(x).batch(args.batch_size, drop_remainder=True).prefetch(2)
    model.fit(data, epochs=1, steps_per_epoch=args.warmup + args.steps, callbacks=[Clock()], verbose=0)
    (w0, c0), (w1, c1) = marks[args.warmup - 1], marks[args.warmup + args.steps - 1]
    return {"framework": "tf", "version": tf.__version__, "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
            "wall_s": w1 - w0, "cpu_s": c1 - c0, "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()}


def bench_torch(args) -> dict:
    from kerascenes.torch_gan.convert import load_keras_weights  # first: sets kerascenes' OpenMP default
    from kerascenes.torch_gan.dcgan import TorchDCGAN

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    g_weights, d_weights = initial_weights(args.arch, args.seed)  # Keras builds them; torch copies them
    torch.manual_seed(args.seed)
    gan = TorchDCGAN(args.arch, seed=args.seed, device=device)
    load_keras_weights(gan.generator, g_weights)
    load_keras_weights(gan.discriminator, d_weights)
    x = torch.from_numpy(load_images(args.data, args.batch_size * (args.warmup + args.steps))).permute(0, 3, 1, 2)
    x = x.contiguous().to(device)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    marks = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            sync()
            marks.append((time.perf_counter(), time.process_time()))
        gan.train_step(x[step * args.batch_size:(step + 1) * args.batch_size])
    sync()
    marks.append((time.perf_counter(), time.process_time()))
    (w0, c0), (w1, c1) = marks
    return {"framework": "torch", "version": torch.__version__, "device": device.upper(), "wall_s": w1 - w0,
            "cpu_s": c1 - c0, "threads": torch.get_num_threads()}


def run_side(framework: str, args) -> dict:
    """Run one framework's benchmark in a fresh process; returns its timings."""
    cmd = [sys.executable, __file__, "--only", framework, "--data", args.data, "--arch", args.arch,
           "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--seed", str(args.seed), "--threads", str(args.threads)] + (["--device", args.device] if args.device else [])
    env = dict(os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if args.omp_passive else {}))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="../shared/data/mnist.npz", help="Keras-style mnist .npz")
    parser.add_argument("--arch", default="tutorial", help="architecture name (tutorial, relu32, cpu)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (graph tracing, allocator)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--threads", type=int, default=0, help="threads of each framework (0: its default)")
    parser.add_argument("--omp-passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE for both processes")
    parser.add_argument("--only", choices=("tf", "torch"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.only:
        result = (bench_tf if args.only == "tf" else bench_torch)(args)
        print(json.dumps(result))
        return
    rows = []
    for framework in ("tf", "torch"):
        r = run_side(framework, args)
        r["images_per_second"] = args.steps * args.batch_size / r["wall_s"]
        r["cpu_s_per_step"] = r["cpu_s"] / args.steps
        r["wall_s_per_step"] = r["wall_s"] / args.steps
        rows.append(r)
    tf_row, torch_row = rows
    print(f"DCGAN '{args.arch}', batch {args.batch_size}, {args.steps} timed steps after {args.warmup} warm-up; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
          f"threads {args.threads or 'default'}{', OMP_WAIT_POLICY=PASSIVE' if args.omp_passive else ''}")
    print("| framework | device | images/s | wall s/step | CPU s/step |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['framework']} {r['version']} | {r['device']} | {r['images_per_second']:.0f} | "
              f"{r['wall_s_per_step']:.3f} | {r['cpu_s_per_step']:.3f} |")
    ratio = torch_row["images_per_second"] / tf_row["images_per_second"]
    print(f"torch / tf images/s ratio: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "results": rows, "torch_over_tf": ratio}, fh, indent=2)


if __name__ == "__main__":
    main()
