"""``FitConfig``: every option of a classifier run (``kerascenes fit``), grouped by concern."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from kerascenes.classify.model import ACTIVATIONS, POOLINGS, SCALE_FUSIONS, TTA_POLICIES, parse_dense
from kerascenes.classify.schedules import SCHEDULES
from kerascenes.config import DEFAULT_SEED, TaskConfig, option
from kerascenes.data.augment import POLICIES as AUGMENT_POLICIES
from kerascenes.errors import KerascenesError

FEATURE_STORES = ("auto", "memory", "disk")
STRATEGIES = ("default", "mirrored", "multiworker")
CLASS_WEIGHTS = ("none", "balanced")
#: Upper bounds of the sizes (beyond them a run only runs out of memory)
MAX_BATCH = 65536
MAX_IMAGE_SIZE = 2048
MAX_UNITS = 65536


def parse_image_size(text: str | int | Sequence[int] | None) -> int | tuple[int, ...] | None:
    """``"288"`` -> ``288``; ``"224,288,352"`` -> ``(224, 288, 352)`` (several scales, smallest first)."""
    if text is None or isinstance(text, bool):
        return text
    if isinstance(text, int):
        return text
    if isinstance(text, str):
        parts = [part for part in text.replace(" ", "").split(",") if part]
        try:
            sizes = [int(part) for part in parts]
        except ValueError:
            raise KerascenesError(f"--image-size {text!r} is not a size or a comma-separated list of sizes; use e.g. "
                                  "--image-size 288 or --image-size 224,288,352.") from None
    else:
        sizes = [int(v) for v in text]
    if not sizes:
        raise KerascenesError("--image-size is empty; give a size such as 288 or sizes such as 224,288,352.")
    if len(set(sizes)) != len(sizes):
        raise KerascenesError(f"--image-size {','.join(map(str, sizes))} repeats a size; give each scale once.")
    return sizes[0] if len(sizes) == 1 else tuple(sorted(sizes))


def input_size_of(image_size: int | Sequence[int]) -> int:
    """The model's input size for a stored ``image_size``: the size itself, or the largest of several scales."""
    return max(int(s) for s in image_size) if isinstance(image_size, (list, tuple)) else int(image_size)


@dataclass
class FitConfig(TaskConfig):
    """Options of ``kerascenes fit`` and :func:`kerascenes.classify.fit_classifier`.

    Each field is the command-line option of the same name (``fine_tune_lr`` ->
    ``--fine-tune-lr``). ``None`` means the backbone's default; :meth:`resolve` fills those in,
    and the run's ``config.json`` stores the resolved options (``--config`` replays them).
    """

    KIND = "classifier"
    COMMAND = "kerascenes fit"

    # data
    data: str | None = option(None, "Training images: DIR/<class>/<image> (required).")
    val_data: str | None = option(None, "Validation images with the same class folders.")
    val_split: float = option(0.2, "Stratified, seeded share of --data used for validation when --val-data is not given.")
    strict: bool = option(False, "Fail on unusable image files instead of skipping them.")
    augment: str = option("default", "Augmentation policy: default = flips/rotation/zoom/contrast.",
                          choices=tuple(AUGMENT_POLICIES))
    mixup: float = option(0.0, "MixUp alpha (keras.layers.MixUp; 0: off): blend pairs of training images and their "
                               "labels. Mixing needs images, so the frozen stage then trains on images, not on "
                               "cached features (slower).")
    cutmix: float = option(0.0, "CutMix alpha in [0, 1] (keras.layers.CutMix; 0: off): paste a patch of another "
                                "training image, labels mixed by area. Like --mixup, the frozen stage then trains on "
                                "images.")
    cache_images: bool = option(True, "Keep decoded images in memory between epochs (--no-cache-images: decode every epoch).",
                                aliases=("--no-cache",))
    # model
    backbone: str | None = option(None, "Backbone name (see `kerascenes backbones`) or a KerasHub preset folder (required).")
    stem: str | None = option(None, "The CNN of --backbone vit_hybrid whose feature map becomes the tokens (e.g. MobileNet).")
    weights: str = option("imagenet", "'imagenet' (downloaded by Keras), 'none' (random) or PATH to a local weights file (no top).")
    alpha: float | None = option(None, "Width multiplier of MobileNet / MobileNetV2.", default_text="the network's, 1.0")
    image_size: int | tuple[int, ...] | None = option(
        None, "Square input size, or several sizes (224,288,352) whose frozen-backbone features are fused "
              "(--scale-fusion): the model takes the largest and resizes it for the others (keras.applications CNNs).",
        parse=parse_image_size, default_text="the backbone's fit size: 1.25x its pretrained size for CNNs")
    scale_fusion: str = option("concat", "How the pooled features of several --image-size scales are fused: "
                                         "concat joins them, mean averages them.", choices=SCALE_FUSIONS)
    pooling: str | None = option(None, "How the backbone's last feature map becomes features: avg pools it globally, "
                                       "pyramid adds the mean of each quarter of the map (spatial pyramid 1 + 2x2, "
                                       "5x the features: where things are in the scene; keras.applications CNNs).",
                                 choices=POOLINGS, default_text="pyramid for keras.applications CNNs at one input "
                                                                "size, avg otherwise")
    dense: tuple[int, ...] = option((256,), "Units of the hidden head layers, e.g. 512,256 ('none': a linear head).",
                                    parse=parse_dense)
    dropout: float = option(0.3, "Dropout before each head layer, in [0, 1).")
    activation: str = option("relu", "Activation of the hidden head layers.", choices=ACTIVATIONS)
    # optimisation
    lr: float = option(1e-3, "Adam learning rate.")
    schedule: str = option("plateau", "Learning rate of each stage: plateau halves it when val_loss stalls, cosine "
                                      "decays it to 1/100 over the stage's epochs, constant keeps it.",
                           choices=SCHEDULES)
    warmup_epochs: int = option(0, "Epochs of linear warm-up at the start of each stage, from 1/10 of the stage's "
                                   "learning rate to all of it.")
    label_smoothing: float = option(0.0, "Label smoothing of the cross-entropy, in [0, 1): the target is "
                                         "(1 - S) x one-hot + S / classes.")
    class_weight: str = option("none", "Weight the loss per class: balanced = images / (classes x images of the "
                                       "class), in both stages.", choices=CLASS_WEIGHTS)
    batch_size: int = option(32, "Images per batch (per replica with --strategy).")
    epochs: int = option(30, "Maximum epochs of the frozen stage.")
    patience: int = option(5, "Early stopping on val_loss (best weights restored); 0 disables it.")
    fine_tune: int = option(0, "Unfreeze the last N backbone layers for a second stage (BatchNorm stays frozen; "
                               "a ViT's layers are its transformer blocks).")
    fine_tune_epochs: int = option(10, "Maximum epochs of the fine-tuning stage.")
    fine_tune_lr: float | None = option(None, "Learning rate of the fine-tuning stage.", default_text="--lr / 10")
    seed: int = option(DEFAULT_SEED, "Seed of the split, initialisation, shuffling and augmentation.")
    teacher: str | None = option(None, "A trained classifier run whose probabilities on the augmented images the model "
                                       "also learns (distillation); trains on images.")
    tta: str | None = option(None, "Test-time augmentation saved in the model: 'flip' averages each image with its mirror.",
                             choices=TTA_POLICIES, default_text="flip where the backbone supports it")
    # speed and scale
    cache_features: bool | None = option(None, "Run the frozen backbone once per image and train the head on cached "
                                               "features (--no-cache-features: every image through the backbone every "
                                               "epoch).",
                                         default_text="on while the backbone is frozen, off with --mixup/--cutmix")
    cache_views: int = option(1, "Views per image cached with --cache-features (1: the image itself; with a "
                              "policy that flips, its mirror image is cached too).")
    feature_store: str = option("auto", "Where --cache-features keeps the features (auto: memory up to 2 GB).",
                                choices=FEATURE_STORES)
    mixed_precision: bool = option(False, "Compute in float16 (mixed_float16) where supported.")
    jit_compile: bool = option(False, "Compile train steps with XLA.")
    strategy: str = option("default", "tf.distribute strategy (multiworker reads TF_CONFIG).", choices=STRATEGIES)
    # outputs
    name: str | None = option(None, "Run name (default: <backbone>-<date>-<time>); a taken name gets a suffix.")
    logdir: str = option("logs", "Folder of all runs (and of the results workbook).")

    def __post_init__(self) -> None:
        if isinstance(self.image_size, (list, tuple)):  # a list from config.json, or a tuple from Python
            self.image_size = parse_image_size(self.image_size)
        super().__post_init__()

    @property
    def scales(self) -> tuple[int, ...]:
        """The input sizes whose features the model fuses (one size: a plain single-scale model)."""
        if self.image_size is None:
            return ()
        return tuple(self.image_size) if isinstance(self.image_size, tuple) else (int(self.image_size),)

    def _sizes_text(self) -> str:
        return ",".join(map(str, self.scales))

    @property
    def input_size(self) -> int:
        """The size of the images the model takes (the largest scale)."""
        return input_size_of(self.image_size)

    def validate(self) -> "FitConfig":
        """Check every value before any work starts (one clear sentence per problem)."""
        super().validate()
        checks = [
            (self.data is not None, "--data is required: a folder with one sub-folder of images per class."),
            (self.backbone is not None, "--backbone is required; run `kerascenes backbones` for the list."),
            (0.0 < self.val_split < 1.0, f"--val-split must be between 0 and 1, both excluded (e.g. 0.2), got {self.val_split}."),
            (self.lr > 0, f"--lr must be positive, got {self.lr}."),
            (1 <= self.batch_size <= MAX_BATCH, f"--batch-size must be between 1 and {MAX_BATCH}, got {self.batch_size}."),
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}."),
            (self.patience >= 0, f"--patience must be 0 or more, got {self.patience}."),
            (self.fine_tune >= 0, f"--fine-tune must be 0 or more layers, got {self.fine_tune}."),
            (self.fine_tune_epochs >= 0, f"--fine-tune-epochs must be 0 or more, got {self.fine_tune_epochs}."),
            (self.fine_tune_lr is None or self.fine_tune_lr > 0, f"--fine-tune-lr must be positive, got {self.fine_tune_lr}."),
            (0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}."),
            (self.alpha is None or self.alpha > 0, f"--alpha must be positive, got {self.alpha}."),
            (self.image_size is None or 1 <= min(self.scales) <= max(self.scales) <= MAX_IMAGE_SIZE,
             f"--image-size must be between 1 and {MAX_IMAGE_SIZE} pixels, got {self._sizes_text()}."),
            (all(1 <= u <= MAX_UNITS for u in self.dense), f"--dense {','.join(map(str, self.dense))} has a layer "
             f"outside 1 to {MAX_UNITS} units; use positive integers such as 512,256."),
            (self.cache_views >= 1, f"--cache-views must be at least 1, got {self.cache_views}."),
            *self._training_checks(),
        ]
        for ok, message in checks:
            if not ok:
                raise KerascenesError(message)
        return self

    def _training_checks(self) -> list[tuple[bool, str]]:
        stages = [("--epochs", self.epochs)] + ([("--fine-tune-epochs", self.fine_tune_epochs)]
                                                if self.fine_tune and self.fine_tune_epochs else [])
        mixer = "--mixup" if self.mixup else "--cutmix"
        return [
            (0.0 <= self.label_smoothing < 1.0, f"--label-smoothing must be in [0, 1), got {self.label_smoothing}."),
            (self.mixup >= 0, f"--mixup must be 0 (off) or a positive alpha such as 0.2, got {self.mixup}."),
            (0.0 <= self.cutmix <= 1.0, f"--cutmix must be in [0, 1] (Keras' CutMix takes alpha up to 1), got "
                                        f"{self.cutmix}."),
            (not (self.mixup and self.cutmix), "--mixup and --cutmix cannot be combined in one run; keep one of them."),
            (not (self.mixes_images and self.cache_features), f"{mixer} mixes images, but --cache-features trains "
             "the frozen stage on cached features without images; pass --no-cache-features (or leave it out) to "
             "train that stage on mixed images."),
            (self.warmup_epochs >= 0, f"--warmup-epochs must be 0 or more, got {self.warmup_epochs}."),
            *[(self.warmup_epochs < n, f"--warmup-epochs {self.warmup_epochs} leaves no epoch after the warm-up of "
               f"{flag} {n}; use fewer warm-up epochs than {flag}.") for flag, n in stages],
        ]

    @property
    def mixes_images(self) -> bool:
        """Whether ``--mixup`` or ``--cutmix`` mixes the training images (and their labels)."""
        return bool(self.mixup or self.cutmix)

    def resolve(self) -> "FitConfig":
        """Fill the backbone's defaults (name, input size, weights, fine-tuning rate) and check them.

        The backbone family refuses options it does not support here, before any image is read.
        """
        from kerascenes.backbones import get_backbone, get_family, resolve_image_size, resolve_weights

        from kerascenes.runs import check_output_dir

        self.validate()
        check_output_dir(self.logdir, "--logdir")
        spec = get_backbone(self.backbone)
        family = get_family(spec)
        weights = resolve_weights(self.weights, spec)
        defaults = family.defaults(spec, self, weights)
        if len(self.scales) > 1 and not family.supports_multiscale:
            raise KerascenesError(f"--image-size {','.join(map(str, self.scales))} (several scales) is available for "
                                  f"keras.applications CNNs, not {spec.name}; give one size.")
        sizes = tuple(resolve_image_size(spec, s) for s in self.scales) or (
            resolve_image_size(spec, defaults["image_size"]),)
        resolved = self.replace(
            backbone=spec.name, weights=weights, image_size=sizes[0] if len(sizes) == 1 else sizes,
            fine_tune_lr=self.lr / 10.0 if self.fine_tune_lr is None else self.fine_tune_lr,
            tta=defaults["tta"] if self.tta is None else self.tta,
            pooling=defaults["pooling"] if self.pooling is None else self.pooling,
            # the frozen stage takes the fast path on its own: the backbone once per image, the head on features
            # (mixing needs images, and a teacher sees augmented images, so those runs stay on images)
            cache_features=(defaults["cache_features"] and not self.mixes_images and not self.teacher)
            if self.cache_features is None
            else self.cache_features,
        )
        if resolved.teacher:
            check_teacher(resolved)
        family.check(spec, resolved)
        return resolved

    @property
    def applied_augment(self) -> str:
        """The augmentation the images really get: with one cached view, the mirror images or none."""
        from kerascenes.data.augment import flips

        if self.cache_features and self.cache_views == 1 and not self.fine_tune:
            return "mirror" if flips(self.augment) else "none"
        return self.augment

    def hparams(self) -> dict[str, Any]:
        """Flat hyperparameters for the workbook and TensorBoard's HParams (what the run did)."""
        out = super().hparams()
        out.update(
            dense=out["dense"] or "none",
            augment=self.applied_augment,
            fine_tune_epochs=self.fine_tune_epochs if self.fine_tune else 0,
            fine_tune_lr=self.fine_tune_lr if self.fine_tune else None,
            cache_views=self.cache_views if self.cache_features else None,
            scale_fusion=self.scale_fusion if len(self.scales) > 1 else None,
            val_data=self.val_data or f"split {self.val_split}",
        )
        for key in ("name", "logdir", "val_split", "strict"):
            out.pop(key)
        return out


def check_teacher(config: FitConfig) -> None:
    """A teacher must be a finished classifier run of the same classes' folder tree, used on images."""
    from kerascenes.runs import RunFolder

    teacher = RunFolder.open(config.teacher, "classifier", action="predict")
    if teacher.status != "completed":
        raise KerascenesError(f"--teacher {config.teacher} has not completed; finish it or pick another run.")
    if config.cache_features:
        raise KerascenesError("--teacher needs the augmented images of every batch, but --cache-features trains on "
                              "cached features; drop --cache-features.")
