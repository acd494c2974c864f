"""``FitConfig``: every option of a classifier run, grouped by concern, saved with the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from kerascenes.errors import KerascenesError


@dataclass
class FitConfig:
    """Options of ``kerascenes fit`` (and :func:`kerascenes.classify.fit_classifier`).

    The resolved config is written to the run folder as ``config.json``; passing it back
    (``FitConfig.from_dict``) reproduces the run.
    """

    # data
    data: str = ""
    val_data: str | None = None
    val_split: float = 0.2
    strict: bool = False
    augment: str = "default"
    cache: bool = True
    # model
    backbone: str = "MobileNetV2"
    weights: str | None = "imagenet"
    alpha: float | None = None
    image_size: int | None = None
    dense: tuple[int, ...] = (256,)
    dropout: float = 0.3
    activation: str = "relu"
    # optimisation
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 30
    patience: int = 5
    fine_tune: int = 0
    fine_tune_epochs: int = 10
    fine_tune_lr: float | None = None
    seed: int = 42
    tta: str = "none"
    # speed and scale
    cache_features: bool = False
    cache_views: int = 1
    mixed_precision: bool = False
    jit_compile: bool = False
    strategy: str = "default"
    # outputs
    name: str | None = None
    logdir: str = "logs"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.dense = tuple(int(u) for u in (self.dense or ()))

    def validate(self) -> "FitConfig":
        """Check the numbers before any work starts (one clear sentence per problem)."""
        checks = [
            (self.lr > 0, f"--lr must be positive, got {self.lr}."),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}."),
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}."),
            (self.patience >= 0, f"--patience must be 0 or more, got {self.patience}."),
            (self.fine_tune >= 0, f"--fine-tune must be 0 or more layers, got {self.fine_tune}."),
            (self.fine_tune_epochs >= 0, f"--fine-tune-epochs must be 0 or more, got {self.fine_tune_epochs}."),
            (self.fine_tune_lr is None or self.fine_tune_lr > 0, f"--fine-tune-lr must be positive, got {self.fine_tune_lr}."),
            (0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}."),
            (self.alpha is None or self.alpha > 0, f"--alpha must be positive, got {self.alpha}."),
            (self.cache_views >= 1, f"--cache-views must be at least 1, got {self.cache_views}."),
        ]
        for ok, message in checks:
            if not ok:
                raise KerascenesError(message)
        if self.tta not in ("none", "flip"):
            raise KerascenesError(f"--tta {self.tta!r} is not supported; choose none or flip.")
        if not self.data:
            raise KerascenesError("--data is required: a folder with one sub-folder of images per class.")
        return self

    @property
    def resolved_fine_tune_lr(self) -> float:
        return self.fine_tune_lr if self.fine_tune_lr is not None else self.lr / 10.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dense"] = list(self.dense)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FitConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def hparams(self) -> dict[str, Any]:
        """Flat hyperparameters for the workbook and TensorBoard's HParams."""
        return {
            "backbone": self.backbone,
            "weights": self.weights or "none",
            "alpha": self.alpha,
            "image_size": self.image_size,
            "dense": ",".join(map(str, self.dense)) or "none",
            "dropout": self.dropout,
            "activation": self.activation,
            "augment": self.augment,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "patience": self.patience,
            "fine_tune": self.fine_tune,
            "fine_tune_epochs": self.fine_tune_epochs if self.fine_tune else 0,
            "fine_tune_lr": self.resolved_fine_tune_lr if self.fine_tune else None,
            "seed": self.seed,
            "tta": self.tta,
            "cache_features": self.cache_features,
            "cache_views": self.cache_views if self.cache_features else None,
            "mixed_precision": self.mixed_precision,
            "jit_compile": self.jit_compile,
            "strategy": self.strategy,
            "data": self.data,
            "val_data": self.val_data or f"split {self.val_split}",
        }
