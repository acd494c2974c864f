"""``kerascenes export``: a classifier run as a SavedModel, TFLite or ONNX file, or a ViT run as a KerasHub preset."""

from __future__ import annotations

import click

from kerascenes.cli.options import echo_json, json_option, quiet_option
from kerascenes.errors import KerascenesError
from kerascenes.export import EXPORT_FORMATS


@click.command("export")
@click.argument("run_dir", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Write the run's model in this format to --out (any classifier run, CNN or ViT).")
@click.option("--out", type=click.Path(), default=None,
              help="With --format: the file (tflite, onnx) or folder (savedmodel) to create; never overwritten.")
@click.option("--preset", "preset_dir", type=click.Path(), default=None,
              help="Instead of --format: the folder to write a ViT run's KerasHub preset to (new or empty).")
@json_option("Print one JSON object (run, format, out, image_size, class_names, input, output, max_abs_diff, ...).")
@quiet_option
def export(run_dir: str, fmt: str | None, out: str | None, preset_dir: str | None, as_json: bool) -> None:
    """Export the model of RUN_DIR for deployment (--format F --out PATH), or a ViT
    run as a KerasHub preset (--preset DIR).

    \b
    A --format export takes and returns what model.keras does (preprocessing and
    --tta included); it is run once in its own runtime and must match model.keras
    (max abs diff <= 1e-4), otherwise nothing is written.
      input  "image":         float32 (batch, size, size, 3), RGB in [0, 255];
                              size is the run's --image-size
      output "probabilities": float32 (batch, classes), in the run's class order
    savedmodel: a folder, signature "serving_default"; class names in
                assets.extra/kerascenes.json
    tflite:     a float32 .tflite file, signature "serving_default"
    onnx:       a .onnx file; class names in its metadata "kerascenes";
                needs `pip install kerascenes[export]`

    \b
    Examples:
      kerascenes export logs/<run> --format tflite --out scenes.tflite
      kerascenes export logs/<run> --format savedmodel --out scenes_savedmodel
      kerascenes export logs/<vit-run> --preset presets/scenes-vit
    Load a preset with keras_hub.models.ImageClassifier.from_preset("presets/scenes-vit"),
    or fine-tune from it with `kerascenes fit --backbone presets/scenes-vit ...`.
    """
    check_choice(fmt, out, preset_dir)
    if preset_dir is not None:
        from kerascenes.vit.export import export_preset

        result = export_preset(run_dir, preset_dir)
        if as_json:
            echo_json(result)
            return
        click.echo(f"Wrote KerasHub preset {result['preset']} ({', '.join(result['files'])}) "
                   f"for {len(result['class_names'])} classes of run {result['run']}")
        return
    from kerascenes.export import export_run

    result = export_run(run_dir, fmt, out)
    if as_json:
        echo_json(result)
        return
    click.echo(f"Wrote {result['format']} export {result['out']} ({result['bytes'] / 1e6:.1f} MB) of run "
               f"{result['run']} in {result['wall_time_s']:.1f} s; it matches model.keras to "
               f"{result['max_abs_diff']:.1g}.\n  input  {result['input']}\n  output {result['output']}: "
               f"{', '.join(result['class_names'])}")


def check_choice(fmt: str | None, out: str | None, preset_dir: str | None) -> None:
    """Exactly one of --preset and --format; --out goes with --format only."""
    if (fmt is None) == (preset_dir is None):
        raise KerascenesError("Pass exactly one of --format FORMAT --out PATH (SavedModel, TFLite, ONNX) and "
                              "--preset DIR (KerasHub preset of a ViT run).")
    if fmt is not None and out is None:
        raise KerascenesError(f"--format {fmt} needs --out PATH, the file or folder to create.")
    if preset_dir is not None and out is not None:
        raise KerascenesError("--out goes with --format; a preset is written to the --preset folder itself.")
