"""The DCGAN model: a ``keras.Model`` that trains its generator against its discriminator."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerascenes.gan import layout
from kerascenes.gan.architectures import DEFAULT_ARCHITECTURE, Architecture, OptimizerSpec, get_architecture
from kerascenes.gan.models import build_discriminator, build_generator


def adam_from_spec(spec: OptimizerSpec) -> keras.optimizers.Adam:
    """A Keras Adam optimizer with the settings of an architecture spec."""
    return keras.optimizers.Adam(learning_rate=spec.learning_rate, beta_1=spec.beta_1, beta_2=spec.beta_2,
                                 epsilon=spec.epsilon)


@keras.saving.register_keras_serializable(package="kerascenes")
class DCGAN(keras.Model):
    """Generator + discriminator trained as a two-player game (one ``train_step`` updates both).

    The discriminator learns to tell real images (label 1) from generated ones (label 0);
    the generator learns to make the discriminator answer 1. Metrics per epoch: ``g_loss``,
    ``d_loss`` (real + fake terms), ``d_acc_real`` and ``d_acc_fake`` (share of real / fake
    images the discriminator classifies correctly; both drift toward 0.5 at equilibrium).

    With a ``categorical_code`` layer (InfoGAN) the discriminator also reads the code back
    from each generated image; the cross-entropy of that guess, ``info_loss`` (also a
    metric), is added with weight ``info_weight`` to both losses, so the generator learns
    to make each code value a visibly different kind of image.

    Args:
        architecture: a registered name (``"cpu"``, ``"tutorial"``, ``"relu32"``), an
            :class:`Architecture` or its dict.
        latent_dim: overrides the architecture's noise size.
        seed: seed of the weight initialisation and of the training noise.
        **kwargs: passed to ``keras.Model`` (e.g. ``name``).

    Example:
        >>> gan = DCGAN("cpu")
        >>> gan.compile()  # Adam settings of the architecture, BCE on logits
        >>> gan.fit(images_in_minus1_1, epochs=1, batch_size=64)
    """

    def __init__(self, architecture: str | dict | Architecture = DEFAULT_ARCHITECTURE,
                 latent_dim: int | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        # Layers
        arch = get_architecture(architecture)
        if latent_dim is not None and latent_dim != arch.latent_dim:
            arch = arch.replace(latent_dim=int(latent_dim))
        self.generator = build_generator(arch, seed)
        self.discriminator = build_discriminator(arch, seed)
        self.generator_ema = None
        if arch.ema_decay > 0:
            self.generator_ema = build_generator(arch, seed)
            self.generator_ema.set_weights(self.generator.get_weights())
            self.generator_ema.trainable = False
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.d_acc_real_tracker = keras.metrics.Mean(name="d_acc_real")
        self.d_acc_fake_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.info_loss_tracker = keras.metrics.Mean(name="info_loss")
        # Config
        self.spec = arch
        self.latent_dim = arch.latent_dim
        self.seed = seed
        self.built = True

    # -- Keras API ----------------------------------------------------------------------
    def call(self, noise, training: bool = False):
        return (self.generator if training else self.sampler)(noise, training=training)

    def compile(self, d_optimizer: keras.optimizers.Optimizer | None = None,
                g_optimizer: keras.optimizers.Optimizer | None = None,
                loss_fn: keras.losses.Loss | None = None, **kwargs: Any) -> None:
        """Set the two optimizers and the loss (defaults: the architecture's Adam, BCE on logits)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or adam_from_spec(self.spec.d_optimizer)
        self.g_optimizer = g_optimizer or adam_from_spec(self.spec.g_optimizer)
        self.loss_fn = loss_fn or keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        trackers = [self.g_loss_tracker, self.d_loss_tracker, self.d_acc_real_tracker, self.d_acc_fake_tracker]
        return trackers + [self.info_loss_tracker] if self.spec.codes else trackers

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch = tf.shape(real)[0]
        noise = keras.random.normal((batch, self.latent_dim), seed=self.noise_seed)
        smooth = 1.0 - self.spec.label_smoothing
        codes = self.spec.codes
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_out = self.discriminator(real, training=True)
            fake_out = self.discriminator(fake, training=True)
            real_logits, fake_logits = real_out[:, :1], fake_out[:, :1]
            d_loss = (self.loss_fn(tf.ones_like(real_logits) * smooth, real_logits)
                      + self.loss_fn(tf.zeros_like(fake_logits), fake_logits))
            g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
            d_total, g_total = d_loss, g_loss
            if codes:
                info_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                    tf.argmax(noise[:, :codes], axis=-1), fake_out[:, 1:], from_logits=True))
                d_total = d_loss + self.spec.info_weight * info_loss
                g_total = g_loss + self.spec.info_weight * info_loss
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_total, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))
        if codes:
            self.info_loss_tracker.update_state(info_loss)
        if self.generator_ema is not None:
            self._update_ema()
        self.g_loss_tracker.update_state(g_loss)
        self.d_loss_tracker.update_state(d_loss)
        self.d_acc_real_tracker.update_state(tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)))
        self.d_acc_fake_tracker.update_state(tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)))
        return {m.name: m.result() for m in self.metrics}

    def _update_ema(self) -> None:
        steps = tf.cast(self.g_optimizer.iterations, tf.float32) - 1.0  # generator steps before this one
        decay = tf.minimum(self.spec.ema_decay, (1.0 + steps) / (10.0 + steps))
        for averaged, current in zip(self.generator_ema.weights, self.generator.weights):
            averaged.assign(decay * averaged + (1.0 - decay) * tf.cast(current, averaged.dtype))

    @property
    def sampler(self) -> keras.Model:
        """The network that makes samples: the weight-averaged generator when ``ema_decay`` > 0."""
        return self.generator if self.generator_ema is None else self.generator_ema

    # -- serialisation ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "architecture": self.spec.to_dict(),
                "latent_dim": self.latent_dim, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "DCGAN":
        return cls(**config)

    def get_compile_config(self) -> dict[str, Any] | None:
        if not getattr(self, "d_optimizer", None):
            return None
        ser = keras.saving.serialize_keras_object
        return {"d_optimizer": ser(self.d_optimizer), "g_optimizer": ser(self.g_optimizer),
                "loss_fn": ser(self.loss_fn)}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        de = keras.saving.deserialize_keras_object
        self.compile(d_optimizer=de(config["d_optimizer"]), g_optimizer=de(config["g_optimizer"]),
                     loss_fn=de(config["loss_fn"]))
        self.build_optimizers()

    def build_optimizers(self) -> None:
        """Create the optimizers' slot variables (needed before their state can be restored)."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    # -- sampling -----------------------------------------------------------------------
    def noise(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` standard-normal latent vectors from a numpy seed (reproducible across runs)."""
        return layout.sample_noise(n, self.latent_dim, seed)

    def generate(self, n: int | None = None, seed: int = 0, noise: np.ndarray | None = None,
                 batch_size: int = 500) -> np.ndarray:
        """Images in [0, 1], shape ``(n, 28, 28)``, from ``noise`` or from ``n`` seeded vectors."""
        noise = self.noise(int(n), seed) if noise is None else np.asarray(noise, dtype=np.float32)
        return layout.generate_images(lambda z: np.asarray(self.sampler(z, training=False))[..., 0], noise, batch_size)
