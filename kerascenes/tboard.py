"""TensorBoard event files for every kind of run: scalars, images, hyperparameters and run status.

The events are written with TensorBoard's own writer and protocol buffers, without
TensorFlow, so a bag-of-words or PyTorch GAN run logs to TensorBoard exactly like a Keras
run without paying for a TensorFlow import. (Keras' own ``TensorBoard`` callback still
writes the per-epoch curves of classifier runs.)
"""

from __future__ import annotations

import io
import os
import socket
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

#: ``summary.json`` status -> the session status shown by TensorBoard's HParams dashboard.
_SESSION_STATUS = {"completed": "STATUS_SUCCESS", "interrupted": "STATUS_FAILURE", "failed": "STATUS_FAILURE",
                   "running": "STATUS_RUNNING"}


class EventWriter:
    """A small, synchronous TensorBoard event-file writer for one folder (use as a context manager).

    TensorBoard's own ``EventFileWriter`` creates its folder through ``tf.io.gfile``, which
    imports TensorFlow when it is installed; this one writes the same records with plain files.
    """

    _count = 0

    def __init__(self, logdir: str | os.PathLike):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        folder = Path(logdir)
        folder.mkdir(parents=True, exist_ok=True)
        EventWriter._count += 1
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{EventWriter._count}"
        self._records = RecordWriter(open(folder / name, "wb"))
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        self._records.write(event.SerializeToString())

    def add(self, summary, step: int = 0) -> None:
        """Write one ``Summary`` protocol buffer at ``step``."""
        from tensorboard.compat.proto import event_pb2

        self._write(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def scalar(self, tag: str, value: float, step: int = 0) -> None:
        from tensorboard.compat.proto import summary_pb2

        self.add(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))]), step)

    def image(self, tag: str, png: bytes, step: int = 0) -> None:
        from PIL import Image
        from tensorboard.compat.proto import summary_pb2

        width, height = Image.open(io.BytesIO(png)).size
        image = summary_pb2.Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
        self.add(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)]), step)

    def text(self, tag: str, text: str, step: int = 0) -> None:
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

        metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING,
                                        string_val=[text.encode("utf-8", "backslashreplace")],
                                        tensor_shape=tensor_shape_pb2.TensorShapeProto())
        self.add(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]), step)

    def hparams_session(self, hparams: Mapping[str, Any], status: str, start_time: float | None = None) -> None:
        """The run's hyperparameters (session start) and its final status (session end)."""
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

        start = plugin_data_pb2.SessionStartInfo(start_time_secs=start_time or time.time())
        for name, value in hparams.items():
            if value is None:
                continue
            if isinstance(value, bool):
                start.hparams[name].bool_value = value
            elif isinstance(value, (int, float)):
                start.hparams[name].number_value = float(value)
            else:
                start.hparams[name].string_value = str(value)
        end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(_SESSION_STATUS.get(status, "STATUS_UNKNOWN")),
                                             end_time_secs=time.time())
        for tag, data in ((metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=start)),
                          (metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))):
            value = summary_pb2.Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                                              tensor=metadata.NULL_TENSOR)
            self.add(summary_pb2.Summary(value=[value]))

    def close(self) -> None:
        self._records.close()

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: the tag of the run's text summary (TensorBoard's Text dashboard)
SUMMARY_TEXT_TAG = "run_summary"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """A run's summary as Markdown: one headline line, then its metrics and hyperparameters as tables."""
    head = (f"**{summary.get('run', '?')}** ({summary.get('kind', '?')}): {summary.get('status', '?')} "
            f"in {summary.get('wall_time_s', '?')} s, started {summary.get('started', '?')}")
    parts = [head]
    for title, values in (("Metrics", summary.get("metrics") or {}), ("Hyperparameters", summary.get("hparams") or {})):
        rows = [f"| {_cell(k)} | {_cell(v)} |" for k, v in values.items() if v is not None]
        if rows:
            parts.append("\n".join([f"| {title.lower()} | value |", "|---|---|", *rows]))
    return "\n\n".join(parts)


def log_hparams(logdir: str | os.PathLike, hparams: Mapping[str, Any], metrics: Mapping[str, Any],
                status: str = "completed", start_time: float | None = None, text: str | None = None) -> None:
    """Write a run's hyperparameters, final metrics and status for TensorBoard's HParams dashboard
    (and ``text``, a Markdown summary, for the Text dashboard)."""
    with EventWriter(logdir) as writer:
        writer.hparams_session(hparams, status, start_time)
        for name, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.scalar(name, value)
        if text:
            writer.text(SUMMARY_TEXT_TAG, text)


def _png(image: bytes | np.ndarray) -> bytes:
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    from PIL import Image

    array = np.asarray(image, dtype=np.float32)
    array = np.clip(array * 255.0 if array.max(initial=0.0) <= 1.0 else array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def log_image(logdir: str | os.PathLike, tag: str, png_or_array: bytes | np.ndarray, step: int = 0) -> None:
    """Write one image (PNG bytes or an ``(h, w[, c])`` array in [0, 1]) to TensorBoard."""
    with EventWriter(logdir) as writer:
        writer.image(tag, _png(png_or_array), step)


def log_confusion_matrix(logdir: str | os.PathLike, matrix: np.ndarray, class_names: Sequence[str],
                         step: int = 0, tag: str = "confusion_matrix") -> None:
    """Draw a confusion matrix and write it to TensorBoard as an image."""
    from kerascenes.plots import confusion_matrix_figure, figure_to_png_bytes

    log_image(logdir, tag, figure_to_png_bytes(confusion_matrix_figure(matrix, class_names)), step)


def log_scalars(logdir: str | os.PathLike, scalars: Mapping[str, float], step: int = 0) -> None:
    """Write a few scalars at one step."""
    with EventWriter(logdir) as writer:
        for name, value in scalars.items():
            writer.scalar(name, value, step)
