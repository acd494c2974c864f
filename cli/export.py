"""``kerascenes export``: write a trained ViT run as a KerasHub preset."""

from __future__ import annotations

import click


@click.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--preset", "preset_dir", required=True, type=click.Path(),
              help="Folder to write the KerasHub preset to (new or empty).")
def export(run_dir: str, preset_dir: str) -> None:
    """Export the classifier of a ViT RUN_DIR as a KerasHub preset folder.

    \b
    Example:
      kerascenes export logs/vit_tiny-20261128-101500 --preset presets/scenes-vit
    Load it with keras_hub.models.ImageClassifier.from_preset("presets/scenes-vit"),
    or fine-tune from it with `kerascenes fit --backbone presets/scenes-vit ...`.
    """
    from kerascenes.vit.export import export_preset

    result = export_preset(run_dir, preset_dir)
    click.echo(f"Wrote KerasHub preset {result['preset']} ({', '.join(result['files'])}) "
               f"for {len(result['class_names'])} classes of run {result['run']}")
