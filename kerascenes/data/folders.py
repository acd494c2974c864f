"""Class-per-folder image trees: scan, validate, split.

A dataset folder holds one sub-folder per class (``DIR/<class>/<image>``). Every file is
checked before training: unreadable, zero-byte, truncated and non-image files are
skipped with one warning that lists them (or, with ``strict=True``, refused), so nothing
fails half-way through an epoch.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from kerascenes.data.images import IMAGE_EXTENSIONS, check_image, collect_warnings
from kerascenes.errors import KerascenesError, printable

log = logging.getLogger("kerascenes")


@dataclass
class ImageSet:
    """File paths with integer labels, and the class names the labels index."""

    paths: list[str]
    labels: np.ndarray
    class_names: list[str]
    root: Path | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self) -> dict[str, int]:
        """Number of images in each class, in class order."""
        counts = np.bincount(self.labels, minlength=len(self.class_names)) if len(self.labels) else np.zeros(len(self.class_names), int)
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def subset(self, index: Sequence[int]) -> "ImageSet":
        index = np.asarray(index, dtype=int)
        return ImageSet([self.paths[i] for i in index], self.labels[index], list(self.class_names), self.root)


def describe_files(items: Sequence[tuple[str, str]], limit: int = 10) -> str:
    """``  path: reason`` lines for a warning (at most ``limit``, then how many more)."""
    lines = [f"  {path}: {reason}" for path, reason in items[:limit]]
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit} more")
    return "\n".join(lines)


def scan_image_folder(root: str | os.PathLike, option: str = "--data") -> ImageSet:
    """List the files of a class-per-folder tree without opening them.

    Args:
        root: the dataset folder.
        option: how the folder was given (used in error messages).

    Returns:
        An :class:`ImageSet`; files with non-image extensions are in ``skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise KerascenesError(f"{option} {root} does not exist; pass a folder with one sub-folder of images per class.")
    if not root.is_dir():
        raise KerascenesError(f"{option} {root} is a file; pass a folder with one sub-folder of images per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        loose = [p for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS]
        hint = " (it holds images directly: move them into one sub-folder per class)" if loose else ""
        raise KerascenesError(f"{option} {root} has no class sub-folders{hint}; expected {root}/<class>/<image>.")
    for class_dir in class_dirs:
        _check_class_folder(class_dir, option)
    paths, labels, skipped, empty = [], [], [], []
    for label, class_dir in enumerate(class_dirs):
        found = 0
        for path in sorted(class_dir.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(class_dir).parts):
                continue
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append((str(path), "not an image (extension)"))
                continue
            paths.append(str(path))
            labels.append(label)
            found += 1
        if not found:
            empty.append(class_dir.name)
    if empty:
        raise KerascenesError(
            f"{option} {root} has empty class folder(s) {', '.join(empty)}; add images to them or remove them."
        )
    return ImageSet(paths, np.asarray(labels, dtype=np.int64), [d.name for d in class_dirs], root, skipped)




def _check_class_folder(class_dir: Path, option: str) -> None:
    """Refuse a class folder whose name is not UTF-8 (class names go into JSON, CSV, exports) or
    whose files cannot be listed (it would look empty)."""
    try:
        class_dir.name.encode("utf-8")
    except UnicodeEncodeError:
        raise KerascenesError(f"{option} class folder {printable(str(class_dir))} has a name that is not valid "
                              "UTF-8 (class names are stored as text); rename it, e.g. with `convmv -f latin1 -t utf8 "
                              "-r --notest`.") from None
    if not os.access(class_dir, os.R_OK | os.X_OK):
        raise KerascenesError(f"{option} class folder {class_dir} cannot be read; make it readable "
                              "(chmod u+rx) or remove it.")


def validate_images(images: ImageSet, strict: bool = False, workers: int = 8, option: str = "--data") -> ImageSet:
    """Decode every file once and drop the ones that can't be used.

    Args:
        images: the scanned set.
        strict: refuse the data set (raise) instead of skipping bad files.
        workers: decoding threads (Pillow releases the GIL while decoding).
        option: how the folder was given (used in messages).

    Returns:
        A new :class:`ImageSet` of the good files; bad ones are listed in ``skipped`` and
        reported in one warning.
    """
    with collect_warnings() as noted, ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(check_image, images.paths))
    keep = [i for i, p in enumerate(problems) if p is None]
    bad = images.skipped + [(images.paths[i], p) for i, p in enumerate(problems) if p is not None]
    if bad and strict:
        raise KerascenesError(
            f"{option} {images.root} has {len(bad)} unusable file(s) (first: {bad[0][0]}: {bad[0][1]}); "
            "fix or remove them, or drop --strict to skip them."
        )
    result = images.subset(keep)
    result.skipped = bad
    if bad:
        log.warning("Skipping %d unusable file(s) in %s:\n%s", len(bad), images.root, describe_files(bad))
    decoded_with_warnings = [(path, "; ".join(dict.fromkeys(found))) for path, found in noted.items()
                             if path in set(result.paths)]
    if decoded_with_warnings:
        log.warning("%d file(s) in %s decoded with warnings (used anyway):\n%s", len(decoded_with_warnings),
                    images.root, describe_files(decoded_with_warnings))
    empty = [name for name, n in result.counts().items() if n == 0]
    if empty:
        raise KerascenesError(
            f"{option} {images.root}: class folder(s) {', '.join(empty)} have no readable images; "
            "add valid images or remove the folder(s)."
        )
    return result


def load_image_folder(root: str | os.PathLike, strict: bool = False, validate: bool = True,
                      option: str = "--data") -> ImageSet:
    """Scan and (by default) validate a class-per-folder tree."""
    images = scan_image_folder(root, option=option)
    return validate_images(images, strict=strict, option=option) if validate else images


def require_classes(num_classes: int, option: str = "--data") -> None:
    """Refuse training data with fewer than two classes (nothing to tell apart)."""
    if num_classes < 2:
        raise KerascenesError(f"A classifier needs at least 2 classes, got {num_classes}; add class folders to "
                              f"{option}.")


def check_same_classes(train: ImageSet, val: ImageSet) -> None:
    """Raise if the validation classes differ from the training classes."""
    if list(train.class_names) == list(val.class_names):
        return
    missing = sorted(set(train.class_names) - set(val.class_names))
    extra = sorted(set(val.class_names) - set(train.class_names))
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unknown {', '.join(extra)}")
    raise KerascenesError(
        f"Class folders of {val.root} differ from {train.root} ({'; '.join(parts)}); "
        "both folders need the same class sub-folder names."
    )


def align_classes(images: ImageSet, class_names: Sequence[str], option: str = "--data") -> ImageSet:
    """Re-index ``images`` to a model's class order (its classes must be known to the model)."""
    unknown = sorted(set(images.class_names) - set(class_names))
    if unknown:
        raise KerascenesError(
            f"{option} {images.root} has class folder(s) {', '.join(unknown)} the model was not trained on; "
            f"expected only {', '.join(class_names)}."
        )
    mapping = np.asarray([list(class_names).index(c) for c in images.class_names], dtype=np.int64)
    return ImageSet(list(images.paths), mapping[images.labels] if len(images.labels) else images.labels,
                    list(class_names), images.root, list(images.skipped))


def stratified_split(images: ImageSet, val_fraction: float, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Split into train and validation sets, keeping class proportions, reproducibly.

    Args:
        images: the whole set.
        val_fraction: share of each class held out, in (0, 1).
        seed: random seed.
    """
    if not 0.0 < val_fraction < 1.0:
        raise KerascenesError(f"--val-split must be between 0 and 1 (exclusive), got {val_fraction}.")
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for label in range(len(images.class_names)):
        idx = np.flatnonzero(images.labels == label)
        rng.shuffle(idx)
        n_val = int(round(len(idx) * val_fraction))
        if len(idx) >= 2:
            n_val = min(max(n_val, 1), len(idx) - 1)
        else:
            n_val = 0
        val_idx.extend(idx[:n_val])
        train_idx.extend(idx[n_val:])
    if not val_idx:
        raise KerascenesError(
            f"--val-split {val_fraction} leaves no validation images in {images.root}; use a larger split or --val-data."
        )
    train = images.subset(sorted(train_idx))
    val = images.subset(sorted(val_idx))
    return train, val
