"""Knowledge distillation from a trained run (DeiT, Touvron et al. 2021): ``kerascenes fit --teacher RUN``.

A student (typically a ViT trained from scratch, which has no prior about images and learns
little from 1,500 pictures) is trained on every augmented batch against both the labels and
the teacher's class probabilities for the same augmented images:

    loss = (1 - a) * CE(label, student) + a * T^2 * KL(teacher^(1/T) || student^(1/T))

with the soft targets sharpened or softened at temperature ``T`` (Hinton et al. 2015). The
teacher is any classifier or ensemble run; it runs in inference mode at its own input size.
Only the student is saved.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kerascenes.classify.config import input_size_of

#: Weight of the teacher's soft targets and their temperature (DeiT's soft distillation uses 0.5 and 1-3).
ALPHA = 0.5
TEMPERATURE = 2.0


def load_teacher(run_dir: str):
    """The teacher's image -> probabilities model and its input size (classifier runs)."""
    from kerascenes.classify.evaluate import load_run_model
    from kerascenes.runs import RunFolder

    run = RunFolder.open(run_dir, "classifier", action="predict")
    model = load_run_model(run)
    model.trainable = False
    return model, input_size_of(run.read_config()["image_size"]), list(run.read_config()["class_names"])


def _tempered(p, temperature: float):
    logits = keras.ops.log(keras.ops.clip(p, 1e-7, 1.0)) / temperature
    return keras.ops.softmax(logits, axis=-1)


class Distiller(keras.Model):
    """Trains ``student`` on labels and on ``teacher``'s probabilities of the same (augmented) images.

    Args:
        student: the model being trained (images in [0, 255] -> probabilities); a KerasHub task's
            preprocessor is applied here, as its own ``fit`` would.
        teacher: a trained image -> probabilities model (frozen).
        teacher_size: the teacher's input size (images are resized to it).
        alpha, temperature: the soft-target weight and temperature.
    """

    def __init__(self, student, teacher, teacher_size: int, alpha: float = ALPHA, temperature: float = TEMPERATURE,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.student, self.teacher = student, teacher
        self.teacher_size, self.alpha, self.temperature = int(teacher_size), float(alpha), float(temperature)
        converter = getattr(getattr(student, "preprocessor", None), "image_converter", None)
        self.prepare = converter if converter is not None else (lambda x: x)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]

    def call(self, images, training=False):
        return self.student(self.prepare(images), training=training)

    def _distill_losses(self, images, labels, training: bool):
        import tensorflow as tf

        soft = self.teacher(tf.image.resize(images, (self.teacher_size, self.teacher_size)), training=False)
        predicted = self(images, training=training)
        hard = keras.losses.sparse_categorical_crossentropy(labels, predicted)
        kl = keras.losses.kl_divergence(_tempered(soft, self.temperature), _tempered(predicted, self.temperature))
        loss = (1.0 - self.alpha) * hard + self.alpha * self.temperature ** 2 * kl
        return keras.ops.mean(loss), predicted

    def train_step(self, data):
        import tensorflow as tf

        images, labels = data[0], data[1]
        with tf.GradientTape() as tape:
            loss, predicted = self._distill_losses(images, labels, training=True)
        variables = self.student.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._track(loss, labels, predicted)

    def test_step(self, data):
        images, labels = data[0], data[1]
        predicted = self(images, training=False)
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(labels, predicted))
        return self._track(loss, labels, predicted)

    def _track(self, loss, labels, predicted):
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(labels, predicted)
        return {m.name: m.result() for m in self.metrics}


def teacher_agreement(student_proba: np.ndarray, teacher_proba: np.ndarray) -> float:
    """Share of images on which student and teacher pick the same class."""
    return float((np.asarray(student_proba).argmax(1) == np.asarray(teacher_proba).argmax(1)).mean())
