"""Export a trained ViT run as a KerasHub preset (``kerascenes export RUN --preset DIR``).

The preset holds the complete ``ViTImageClassifier``: backbone, trained head and the image
converter, plus ``kerascenes.json`` with the class names. KerasHub loads it with
``keras_hub.models.ImageClassifier.from_preset(DIR)``; kerascenes fine-tunes from it with
``kerascenes fit --backbone DIR``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, read_json, write_json

log = logging.getLogger("kerascenes")

CLASS_FILE = "kerascenes.json"


def export_preset(run_dir: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Any]:
    """Write the classifier of a ViT run as a KerasHub preset folder.

    Args:
        run_dir: a finished run folder whose backbone is a KerasHub ViT.
        out_dir: the preset folder to create (must not exist, or be empty).

    Returns:
        ``{"preset": path, "files": [...], "class_names": [...], "run": name}``.

    Raises:
        KerascenesError: for runs of other families, unfinished runs or a non-empty ``out_dir``.
    """
    run = RunFolder.open(run_dir, "classifier", action="export")
    config = run.read_config()
    if config.get("family") != "keras_hub":
        raise KerascenesError(
            f"Run {run.name} uses {config.get('backbone')} ({config.get('family')}); only ViT (KerasHub) runs export "
            "as KerasHub presets, its model.keras is the portable file."
        )
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise KerascenesError(f"--preset {out} already exists and is not an empty folder; pick a new folder.")
    from kerascenes.classify.evaluate import load_run_model

    model = load_run_model(run)
    out.mkdir(parents=True, exist_ok=True)
    model.save_to_preset(str(out))
    info = {"class_names": config["class_names"], "run": run.name, "backbone": config.get("backbone"),
            "image_size": config.get("image_size")}
    summary = run.path / "summary.json"
    if summary.is_file():
        info["metrics"] = read_json(summary).get("metrics", {})
    write_json(out / CLASS_FILE, info)
    log.info("Wrote the KerasHub preset of %s to %s", run.name, out)
    return {"preset": str(out), "files": sorted(p.name for p in out.iterdir()), "class_names": config["class_names"],
            "run": run.name}


def read_class_names(preset_dir: str | os.PathLike) -> list[str] | None:
    """The class names stored with an exported preset (``None`` for other presets)."""
    path = Path(preset_dir) / CLASS_FILE
    return list(read_json(path)["class_names"]) if path.is_file() else None
