"""Where and how classifier training runs: ``tf.distribute`` strategies, mixed precision.

``--strategy``:

- ``default``: one device (the first GPU, or the CPU).
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over every local GPU (or, without a GPU,
  over the logical CPU devices, see :func:`configure_cpu_devices`).
- ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy``; every worker runs the same
  command with a ``TF_CONFIG`` environment variable describing the cluster and its own task,
  as TensorFlow documents (see ``docs/distributed.md``).

``--batch-size`` is per replica: the global batch is ``batch_size x replicas``.

``--mixed-precision`` sets the Keras policy ``mixed_float16`` (float16 compute, float32
variables; the softmax output stays float32) for the run and restores the previous policy
afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from kerascenes.errors import KerascenesError

log = logging.getLogger("kerascenes")

STRATEGIES = ("default", "mirrored", "multiworker")
MIXED_POLICY = "mixed_float16"


def check_strategy(name: str) -> str:
    """Validate a ``--strategy`` name."""
    if name not in STRATEGIES:
        raise KerascenesError(f"Unknown --strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    return name


def read_tf_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Parse and check ``TF_CONFIG`` for ``--strategy multiworker``.

    Returns:
        The parsed ``TF_CONFIG``: ``{"cluster": {"worker": [...]}, "task": {"type": ..., "index": ...}}``.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not text.strip():
        raise KerascenesError(f"--strategy multiworker needs the TF_CONFIG environment variable on every worker; set it, {example}.")
    try:
        tf_config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KerascenesError(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos}); {example}.") from None
    cluster = tf_config.get("cluster") if isinstance(tf_config, dict) else None
    task = tf_config.get("task") if isinstance(tf_config, dict) else None
    if not isinstance(cluster, dict) or not cluster.get("worker") or not isinstance(cluster["worker"], list):
        raise KerascenesError(f"TF_CONFIG has no cluster.worker list of host:port addresses; {example}.")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise KerascenesError(f"TF_CONFIG has no task with a type and an index; {example}.")
    members = cluster.get(task["type"])
    if not isinstance(members, list) or not isinstance(task["index"], int) or not 0 <= task["index"] < len(members):
        raise KerascenesError(
            f"TF_CONFIG task {task['type']} {task['index']} is not in its cluster "
            f"({len(members) if isinstance(members, list) else 0} {task['type']} address(es)); fix task.index.")
    return tf_config


def is_chief(tf_config: dict[str, Any] | None) -> bool:
    """The chief writes the results: task ``chief``, or worker 0 in a cluster without a chief."""
    if not tf_config:
        return True
    task = tf_config["task"]
    if "chief" in tf_config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def configure_cpu_devices(n: int) -> int:
    """Split the physical CPU into ``n`` logical devices (for MirroredStrategy without GPUs).

    Must run before TensorFlow initialises its devices (before any tensor is created).

    Returns:
        The number of logical CPU devices.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * int(n))
    except RuntimeError as exc:
        raise KerascenesError(f"Cannot split the CPU into {n} devices after TensorFlow has started ({exc}); "
                              "configure the devices first thing in the program.") from exc
    return len(tf.config.list_logical_devices("CPU"))


def make_strategy(name: str):
    """The ``tf.distribute`` strategy for ``--strategy name``."""
    import tensorflow as tf

    check_strategy(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    read_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


@dataclass
class Runtime:
    """The resolved execution settings of a run (written to its config)."""

    strategy: str = "default"
    replicas: int = 1
    devices: list[str] = field(default_factory=list)
    precision: str = "float32"
    chief: bool = True

    def global_batch(self, batch_size: int) -> int:
        """Global batch for a per-replica ``batch_size``."""
        return int(batch_size) * self.replicas

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "replicas": self.replicas, "devices": list(self.devices),
                "precision": self.precision, "chief": self.chief}


def has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


@contextlib.contextmanager
def precision_policy(mixed: bool) -> Iterator[str]:
    """Set the Keras dtype policy for a block (``mixed_float16`` or ``float32``), then restore it."""
    import keras

    previous = keras.config.dtype_policy().name
    name = MIXED_POLICY if mixed else "float32"
    if mixed and not has_gpu():
        log.warning("--mixed-precision on a machine without a GPU: float16 arithmetic is emulated on CPUs "
                    "and usually slower than float32 (see benchmarks/precision_and_xla.py).")
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def training_scope(strategy: str = "default", mixed_precision: bool = False) -> Iterator[Runtime]:
    """Run a block under a distribution strategy and dtype policy.

    Models, optimizers and ``compile`` calls made inside the block are placed by the
    strategy; use :meth:`Runtime.global_batch` for the batch size of the input pipelines.

    Args:
        strategy: ``default``, ``mirrored`` or ``multiworker``.
        mixed_precision: use the ``mixed_float16`` policy.

    Yields:
        The :class:`Runtime` in effect.
    """
    check_strategy(strategy)
    tf_config = read_tf_config() if strategy == "multiworker" else None
    with precision_policy(mixed_precision) as policy:
        tf_strategy = make_strategy(strategy)
        devices = [] if strategy == "default" else list(tf_strategy.extended.worker_devices)
        runtime = Runtime(strategy, int(tf_strategy.num_replicas_in_sync), devices, policy, is_chief(tf_config))
        if strategy != "default":
            log.info("Strategy %s: %d replica(s) on %s", strategy, runtime.replicas, ", ".join(devices) or "?")
        patch = _multiworker_build_patch() if strategy == "multiworker" else contextlib.nullcontext()
        with tf_strategy.scope(), patch:
            yield runtime


@contextlib.contextmanager
def _multiworker_build_patch() -> Iterator[None]:
    """Make Keras 3 ``fit`` work under ``MultiWorkerMirroredStrategy`` across several workers.

    Two spots of Keras 3.x's TensorFlow trainer fail there (keras-team/keras#20585):

    - before ``fit`` it builds the model from a first batch that holds per-replica values
      it cannot convert; shapes and dtypes are all the build needs, and the undistributed
      dataset's ``element_spec`` has them;
    - it averages the scalar logs (loss, metrics) across workers along axis 0, which
      scalars do not have; they are averaged with ``axis=None`` instead.
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    original = TensorFlowTrainer._maybe_symbolic_build
    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        import tensorflow as tf

        if reduction not in ("auto", "mean") or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return original_reduce(values, strategy, reduction)

        def _reduce(v):
            local = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce("MEAN", v, axis=None)
            return original_reduce(v, strategy, reduction)

        return tf.nest.map_structure(_reduce, values)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return None
        if data_batch is None and iterator is not None:
            data_batch = iterator.data_adapter.get_tf_dataset().element_spec
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        TensorFlowTrainer._maybe_symbolic_build = original
        tf_trainer.reduce_per_replica = original_reduce
