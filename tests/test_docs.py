"""The documentation stays true: the CLI reference is generated from click and current, and every
command of the README's CLI tour runs (here on tiny synthetic data).

The tour's commands are the ``$ kerascenes ...`` lines between the ``cli-tour`` markers of the README.
They run as written, with ``$DATA`` a tiny train/val tree and ``$WEIGHTS`` a MobileNet alpha 0.25
weights file of random weights; the slow steps get the small sizes of :data:`TINY` appended
(options given last win), so the whole tour takes seconds.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.cli.reference import reference, walk

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "cli.md"
TOUR = re.compile(r"<!-- cli-tour -->(.*?)<!-- /cli-tour -->", re.S)
TINY = {
    ("fit",): ["--image-size", "64", "--epochs", "3", "--batch-size", "8"],
    ("bow", "fit"): ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--vocab-samples", "2000",
                     "--n-jobs", "1"],
    ("ensemble",): ["--folds", "3"],
}


def tour_commands() -> list[str]:
    match = TOUR.search(README.read_text())
    assert match, "README.md has no <!-- cli-tour --> section"
    return [line[2:].strip() for line in match.group(1).splitlines() if line.startswith("$ kerascenes")]


def test_the_cli_reference_is_generated_from_click_and_current():
    assert REFERENCE.read_text() == reference(), (
        "docs/cli.md is stale; regenerate it with `python -m kerascenes.cli.reference > docs/cli.md`")


def test_every_command_and_option_is_in_the_reference_and_the_readme_points_to_it():
    text = REFERENCE.read_text()
    commands = 0
    for path, command, ctx in walk(cli):
        commands += 1
        assert f"## `{' '.join(path)}`" in text
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and not param.hidden:
                for name in (*param.opts, *param.secondary_opts):
                    assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (path, name)
    assert commands >= 20  # the root, every command and the subcommands of bow, gan, data
    assert "docs/cli.md" in README.read_text()


def test_every_command_of_the_readme_tour_runs(tmp_path, monkeypatch):
    from conftest import write_image_folder

    from kerascenes.backbones import build_backbone

    data = tmp_path / "data"
    classes = ("Coast", "Forest", "Street")  # the tour's `predict` classifies the Coast folder
    write_image_folder(data / "train", classes=classes, per_class=8, seed=0, size=64)
    write_image_folder(data / "val", classes=classes, per_class=4, seed=1, size=64)
    weights = tmp_path / "mobilenet_2_5_no_top.weights.h5"
    build_backbone("MobileNet", "none", 64, 0.25).save_weights(str(weights))
    monkeypatch.chdir(tmp_path)
    env = {"DATA": str(data), "WEIGHTS": str(weights)}
    commands = tour_commands()
    assert len(commands) >= 6
    for line in commands:
        words = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], line))[1:]
        extra = next((v for k, v in TINY.items() if tuple(words[:len(k)]) == k), [])
        result = CliRunner().invoke(cli, ["-q", *words, *extra])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (tmp_path / "logs").is_dir()


def test_every_picture_and_document_the_readme_links_to_exists():
    text = README.read_text()
    targets = re.findall(r'<img src="([^"]+)"', text) + re.findall(r"\]\(((?:docs|notebooks)/[^)#]+)\)", text)
    assert any("tensorboard_" in t for t in targets)  # the dashboards' screenshots
    missing = [t for t in targets if not (ROOT / t).is_file()]
    assert not missing, f"README links to missing files: {missing}"
