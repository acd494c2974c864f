"""``GanConfig``: every option of a DCGAN run (``kerascenes gan train``), both frameworks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kerascenes.config import DEFAULT_SEED, TaskConfig, option
from kerascenes.errors import KerascenesError
from kerascenes.gan.architectures import DATASET_CODES, DEFAULT_ARCHITECTURE, Architecture, get_architecture, list_architectures
from kerascenes.gan import layout
from kerascenes.gan.layout import FRAMEWORKS

DATASETS = ("mnist", "fashion_mnist")
#: Upper bounds of the sizes (beyond them a run only runs out of memory)
MAX_BATCH = 65536
MAX_LATENT_DIM = 4096


@dataclass
class GanConfig(TaskConfig):
    """Options of ``kerascenes gan train`` and :func:`kerascenes.gan.train_gan`.

    ``None`` means the architecture's default (``cpu``: batch 32, 15 epochs within a
    13.5-minute budget, a categorical code of 20 values on MNIST and 10 on Fashion-MNIST);
    :meth:`resolve` fills those in, so ``config.json`` records what was trained.
    """

    KIND = "gan"
    COMMAND = "kerascenes gan train"

    dataset: str = option("mnist", "Dataset the GAN learns.", choices=DATASETS)
    data: str | None = option(None, "A .npz (x_train y_train x_test y_test) or a folder of idx .gz files.",
                              default_text="a local copy, else tensorflow-datasets")
    framework: str = option("tf", "TensorFlow or the PyTorch twin.", choices=FRAMEWORKS)
    arch: str = option(DEFAULT_ARCHITECTURE, "Network pair; `cpu` is tuned for quick results on a CPU.",
                       choices=tuple(list_architectures()))
    epochs: int | None = option(None, "Epochs to train.", default_text="the architecture's (cpu: 15)")
    batch_size: int | None = option(None, "Images per step.", default_text="the architecture's (cpu: 32)")
    latent_dim: int | None = option(None, "Noise size.", default_text="the architecture's (cpu: 64)")
    codes: int | None = option(None, "Values of an InfoGAN categorical code taken from the noise (0: plain DCGAN).",
                               default_text="the architecture's (cpu: 20; 10 on fashion_mnist)")
    lr: float | None = option(None, "Adam learning rate of both networks.", default_text="the architecture's (cpu: 4e-4)")
    seed: int = option(DEFAULT_SEED, "Seed of initialisation, noise, shuffling and the evaluation samples.")
    eval_samples: int = option(10000, "Generated images scored at the end.")
    max_minutes: float | None = option(None, "Training-time budget; the running epoch ends early when it is spent (0: none).",
                                       default_text="the architecture's (cpu: 13.5)")
    name: str | None = option(None, "Run name (default: gan-<dataset>-<arch>-<framework>-<time>).")
    logdir: str = option("logs", "Folder of all runs (and of the results workbook).")

    def validate(self) -> "GanConfig":
        super().validate()
        checks = [
            (self.epochs is None or self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}."),
            (self.batch_size is None or 1 <= self.batch_size <= MAX_BATCH,
             f"--batch-size must be between 1 and {MAX_BATCH}, got {self.batch_size}."),
            (self.latent_dim is None or 1 <= self.latent_dim <= MAX_LATENT_DIM,
             f"--latent-dim must be between 1 and {MAX_LATENT_DIM} (DCGANs use 64-128), got {self.latent_dim}."),
            (self.codes is None or self.codes >= 0, f"--codes must be 0 or more, got {self.codes}."),
            (self.lr is None or self.lr > 0, f"--lr must be positive, got {self.lr}."),
            (10 <= self.eval_samples <= layout.MAX_SAMPLES,
             f"--eval-samples must be between 10 and {layout.MAX_SAMPLES:,}, got {self.eval_samples:,}."),
            (self.max_minutes is None or self.max_minutes >= 0, f"--max-minutes must be 0 or more, got {self.max_minutes}."),
        ]
        for ok, message in checks:
            if not ok:
                raise KerascenesError(message)
        return self

    def architecture(self) -> Architecture:
        """The network pair with this config's code size, noise size, learning rate and batch size."""
        arch = get_architecture(self.arch)
        codes = self.codes if self.codes is not None else DATASET_CODES.get((arch.name, self.dataset))
        latent_dim = int(self.latent_dim if self.latent_dim is not None else arch.latent_dim)
        effective = int(codes if codes is not None else arch.codes)
        if effective and not 2 <= effective <= latent_dim:
            given = "" if self.codes is not None else f" (the default of architecture {arch.name} on {self.dataset})"
            raise KerascenesError(f"--codes {effective}{given} does not fit the noise vector of {latent_dim} values "
                                  f"(--latent-dim); use 2 to {latent_dim} codes, 0 for none, or a larger --latent-dim.")
        if self.latent_dim is not None:
            arch = arch.with_codes(0).replace(latent_dim=latent_dim)  # the code is put back just below
        if codes is not None or self.latent_dim is not None:
            arch = arch.with_codes(effective)
        if self.lr is not None:
            arch = arch.with_learning_rate(float(self.lr))
        if self.batch_size is not None:
            arch = arch.replace(batch_size=int(self.batch_size))
        return arch

    def resolve(self) -> "GanConfig":
        """Fill the architecture's defaults (``max_minutes`` 0 means no budget)."""
        from kerascenes.runs import check_output_dir

        self.validate()
        check_output_dir(self.logdir, "--logdir")
        arch = self.architecture()
        return self.replace(epochs=self.epochs or arch.epochs, batch_size=arch.batch_size, latent_dim=arch.latent_dim,
                            codes=arch.codes, lr=arch.g_optimizer.learning_rate,
                            max_minutes=float(arch.max_minutes or 0.0) if self.max_minutes is None else self.max_minutes)

    def hparams(self) -> dict[str, Any]:
        out = super().hparams()
        for key in ("name", "logdir", "data", "eval_samples"):
            out.pop(key)
        return out
