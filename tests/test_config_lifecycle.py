"""One config and one run life cycle for every task: ``--config`` replays, kinds, result shapes, names.

Each task trains one tiny real run; its replay goes through the real command line (parsing,
``--config``, resolution) into a recording stand-in for the trainer, so the replayed config
is compared with what the original run wrote without training twice.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import UserError, cli
from kerascenes.runs import RunFolder

FIT = ["--backbone", "MobileNet", "--alpha", "0.25", "--weights", "none", "--image-size", "32", "--epochs", "1",
       "--batch-size", "8", "--dense", "16,8", "--patience", "1", "--no-cache-images", "--augment", "none"]
BOW = ["--encoding", "histogram", "--vocab", "8", "--patch-sizes", "16", "--vocab-samples", "2000", "--n-jobs", "1",
       "--soft"]
GAN = ["--epochs", "1", "--batch-size", "32", "--latent-dim", "24", "--eval-samples", "100", "--max-minutes", "0"]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result, result.output


def options(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())["options"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One real run of each kind in one log folder: classifier, bag of words, GAN."""
    from conftest import write_image_folder, write_tiny_digits

    root = tmp_path_factory.mktemp("lifecycle")
    train = write_image_folder(root / "train", per_class=6, seed=0)
    val = write_image_folder(root / "val", per_class=3, seed=1)
    digits = write_tiny_digits(root / "digits.npz", 96)
    logdir = root / "logs"
    for args in (["fit", *FIT, "--data", train, "--val-data", val, "--name", "cnn"],
                 ["bow", "fit", *BOW, "--data", train, "--val-data", val, "--name", "bow"],
                 ["gan", "train", *GAN, "--data", digits, "--name", "gan"]):
        result, output = invoke(*args, "--logdir", logdir, "--quiet")
        assert result.exit_code == 0, output
    return {"train": train, "val": val, "digits": digits, "logdir": logdir,
            "cnn": logdir / "cnn", "bow": logdir / "bow", "gan": logdir / "gan"}


def _record(monkeypatch, module: str, name: str) -> list:
    """Replace a trainer with one that records the resolved config it was given."""
    import importlib

    seen = []

    def recorder(config, *args, **kwargs):
        seen.append(config.resolve())
        raise click.exceptions.Exit(0)

    monkeypatch.setattr(importlib.import_module(module), name, recorder)
    return seen


REPLAYS = [("cnn", ["fit"], "kerascenes.classify.train", "fit_classifier"),
           ("bow", ["bow", "fit"], "kerascenes.bow.runner", "fit_bow"),
           ("gan", ["gan", "train"], "kerascenes.gan.session", "train_gan")]


@pytest.mark.parametrize("kind, command, module, trainer", REPLAYS, ids=[r[0] for r in REPLAYS])
def test_config_replay_reproduces_the_resolved_options(runs, monkeypatch, kind, command, module, trainer):
    seen = _record(monkeypatch, module, trainer)
    result, output = invoke(*command, "--config", runs[kind] / "config.json")
    assert result.exit_code == 0, output
    assert seen[0].to_dict() == options(runs[kind])
    # an option next to --config overrides it, everything else stays
    result, output = invoke(*command, "--config", runs[kind] / "config.json", "--seed", "5")
    assert result.exit_code == 0, output
    assert seen[1].to_dict() == options(runs[kind]) | {"seed": 5}


def test_replayed_values_keep_their_types(runs):
    cnn, bow, gan = options(runs["cnn"]), options(runs["bow"]), options(runs["gan"])
    assert cnn["weights"] == "none" and cnn["cache_images"] is False and cnn["dense"] == [16, 8]
    assert cnn["image_size"] == 32 and cnn["fine_tune_lr"] == pytest.approx(1e-4)  # resolved: --lr / 10
    assert bow["soft_assignment"] is True and bow["pyramid_levels"] == 2 and bow["classifier"] == "svm-intersection"
    assert bow["max_keypoints"] is None and bow["patch_sizes"] == [16]
    assert gan["codes"] == 20 and gan["lr"] == pytest.approx(4e-4) and gan["max_minutes"] == 0.0


def test_real_replay_of_a_bag_of_words_run_writes_the_same_options(runs):
    result, output = invoke("bow", "fit", "--config", runs["bow"] / "config.json", "--quiet")
    assert result.exit_code == 0, output
    assert options(runs["logdir"] / "bow-2") == options(runs["bow"])


def test_unknown_or_foreign_config_keys_are_errors(runs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"backbone": "MobileNet", "lrr": 0.1}))
    result, output = invoke("fit", "--config", bad)
    assert result.exit_code == 2 and "Unknown key 'lrr'" in output and "did you mean 'lr'" in output
    result, output = invoke("fit", "--config", runs["gan"] / "config.json")
    assert result.exit_code == 2 and "config of a gan run" in output and "kerascenes gan train --config" in output
    bad.write_text(json.dumps({"epochs": "ten"}))
    result, output = invoke("gan", "train", "--config", bad)
    assert result.exit_code == 2 and "--epochs must be an integer" in output
    bad.write_text("{not json")
    result, output = invoke("bow", "fit", "--config", bad)
    assert result.exit_code == 2 and "not readable JSON" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("args, culprit, right", [
    (["evaluate", "{gan}", "--data", "{val}"], "gan", "kerascenes gan evaluate"),
    (["predict", "{gan}", "{image}"], "gan", "kerascenes gan"),
    (["gan", "evaluate", "{cnn}"], "cnn", "kerascenes evaluate"),
    (["gan", "sample", "{bow}", "--out", "{tmp}/x.png"], "bow", "kerascenes bow"),
    (["bow", "evaluate", "{cnn}", "--data", "{val}"], "cnn", "kerascenes evaluate"),
    (["bow", "predict", "{gan}", "{image}"], "gan", "kerascenes gan"),
    (["export", "{bow}", "--preset", "{tmp}/p"], "bow", "kerascenes bow"),
], ids=["evaluate-gan", "predict-gan", "gan-evaluate-cnn", "gan-sample-bow", "bow-evaluate-cnn", "bow-predict-gan",
        "export-bow"])
def test_a_run_of_another_kind_is_refused_naming_the_right_command(runs, tmp_path, args, culprit, right):
    image = sorted((runs["val"] / "alpha").iterdir())[0]
    values = {**{k: str(v) for k, v in runs.items()}, "image": str(image), "tmp": str(tmp_path)}
    result, output = invoke(*[a.format(**values) for a in args])
    assert result.exit_code == 2, output
    assert f"{runs[culprit]} is a" in output and right in output and "Traceback" not in output


def test_evaluate_and_predict_return_the_same_keys_for_every_kind(runs):
    from kerascenes.inference import EVALUATION_KEYS, PREDICTION_KEYS

    image = sorted((runs["val"] / "beta").iterdir())[0]
    for run in (runs["cnn"], runs["bow"]):
        result, output = invoke("evaluate", run, "--data", runs["val"], "--json")
        assert result.exit_code == 0, output
        report = json.loads(output)
        assert tuple(report) == EVALUATION_KEYS and report["n_images"] == 9
        assert report["kind"] == RunFolder(run).kind and len(report["confusion_matrix"]) == 3
        result, output = invoke("predict", run, image, "--top-k", "2", "--json")
        assert result.exit_code == 0, output
        (prediction,) = json.loads(output)
        assert tuple(prediction) == PREDICTION_KEYS and len(prediction["top"]) == 2
        assert set(prediction["top"][0]) == {"class", "probability"}
        assert prediction["predicted"] == prediction["top"][0]["class"]
    result, output = invoke("bow", "evaluate", runs["bow"], "--data", runs["val"], "--json")
    assert tuple(json.loads(output)) == EVALUATION_KEYS


def test_every_run_ends_with_a_status_and_tensorboard_session(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for kind in ("cnn", "bow", "gan"):
        summary = json.loads((runs[kind] / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["kind"] == RunFolder(runs[kind]).kind
        events = EventAccumulator(str(runs[kind] / "tensorboard" / "hparams"), size_guidance={"tensors": 0})
        events.Reload()
        assert {"_hparams_/session_start_info", "_hparams_/session_end_info", "run_summary"} <= set(events.Tags()["tensors"])
        text = events.Tensors("run_summary")[0].tensor_proto.string_val[0].decode()
        assert text.startswith(f"**{summary['run']}** ({summary['kind']}): completed") and "| metrics | value |" in text
    from kerascenes.workbook import read_workbook

    sheets = read_workbook(runs["logdir"] / "overall_results.xlsx")
    assert all(row["status"] == "completed" for rows in sheets.values() for row in rows)


def test_python_api_and_cli_share_defaults(monkeypatch, tmp_path):
    from kerascenes.bow import BagOfVisualWords, BowConfig, make_pipeline
    from kerascenes.classify import FitConfig
    from kerascenes.gan import GanConfig

    seen = _record(monkeypatch, "kerascenes.bow.runner", "fit_bow")
    result, output = invoke("bow", "fit", "--data", tmp_path)
    assert result.exit_code == 0, output
    assert seen[0] == BowConfig(data=str(tmp_path)).resolve()
    bow = BagOfVisualWords()
    resolved = seen[0]
    assert (bow.encoding, bow._param("vocab_size"), bow._param("pyramid_levels")) == \
        (resolved.encoding, resolved.vocab_size, resolved.pyramid_levels) == ("fisher", 64, 1)
    assert type(make_pipeline().steps[-1][1]).__name__ == "KernelSVC" and resolved.classifier == "svm-linear"
    seen = _record(monkeypatch, "kerascenes.classify.train", "fit_classifier")
    result, output = invoke("fit", "--data", tmp_path, "--backbone", "MobileNetV2")
    assert result.exit_code == 0, output
    assert seen[0] == FitConfig(data=str(tmp_path), backbone="MobileNetV2").resolve()
    seen = _record(monkeypatch, "kerascenes.gan.session", "train_gan")
    result, output = invoke("gan", "train")
    assert result.exit_code == 0, output
    assert seen[0] == GanConfig().resolve()
    assert FitConfig.__dataclass_fields__["seed"].default == BowConfig.__dataclass_fields__["seed"].default \
        == GanConfig.__dataclass_fields__["seed"].default


def test_old_spellings_still_work_with_a_notice(runs, monkeypatch):
    seen = _record(monkeypatch, "kerascenes.classify.train", "fit_classifier")
    result, output = invoke("fit", "--data", runs["train"], "--backbone", "MobileNetV2", "--no-cache")
    assert result.exit_code == 0 and "--no-cache is deprecated; use --no-cache-images" in output
    assert seen[0].cache_images is False
    seen = _record(monkeypatch, "kerascenes.bow.runner", "fit_bow")
    result, output = invoke("bow", "fit", "--data", runs["train"], "--jobs", "2", "--no-cache")
    assert result.exit_code == 0 and "--jobs is deprecated; use --n-jobs" in output
    assert seen[0].n_jobs == 2 and seen[0].cache_descriptors is False and seen[0].cache_dir is None
    image = sorted((runs["val"] / "gamma").iterdir())[0]
    result, output = invoke("bow", "predict", runs["bow"], image, "--top", "1", "--json")
    assert result.exit_code == 0 and "--top is deprecated; use --top-k" in output


def test_user_errors_are_click_exceptions_with_exit_code_2(tmp_path):
    with pytest.raises(UserError) as info:
        cli.main(["evaluate", str(tmp_path / "missing"), "--data", str(tmp_path)], standalone_mode=False)
    assert isinstance(info.value, click.ClickException) and info.value.exit_code == 2
    assert "does not exist" in info.value.message


def test_unsupported_options_are_refused_before_any_image_is_read(tmp_path):
    for extra, message in ((["--tta", "flip"], "--tta is not available for vit_tiny"),
                           (["--cache-features"], "--cache-features needs pretrained weights"),
                           (["--alpha", "0.5"], "--alpha applies only to MobileNet"),
                           (["--image-size", "100"], "not a multiple of the patch size")):
        result, output = invoke("fit", "--backbone", "vit_tiny", "--data", tmp_path / "no-such-folder", *extra)
        assert result.exit_code == 2 and message in output, output


def test_the_registry_holds_every_name_without_importing_a_family():
    code = ("import sys, kerascenes.backbones as b; "
            "print(len(b.BACKBONES), 'vit_tiny' in b.BACKBONES, 'vit_base_patch16_224_imagenet' in b.BACKBONES, "
            "sorted(m for m in sys.modules if m in ('kerascenes.vit.family', 'kerascenes.vit.model', "
            "'kerascenes.classify.family', 'tensorflow', 'keras', 'keras_hub')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 3)
    assert out[1:] == ["True", "True", "[]\n"] and int(out[0]) == 13 + 11 + 2 + 1


def _module_imports(path: Path, package_root: Path) -> tuple[str, set[str]]:
    """The module's name and the kerascenes modules it imports.

    Imports inside functions count too (a lazy import that closes a circle is still a circle),
    except in a package's ``__init__`` (its lazy ``__getattr__`` runs only for its own names);
    ``if TYPE_CHECKING:`` blocks do not count.
    """
    parts = path.relative_to(package_root).with_suffix("").parts
    name = ".".join(("kerascenes", *parts) if package_root.name == "kerascenes" else ("kerascenes", "cli", *parts))
    is_package = name.endswith(".__init__")
    name = name.removesuffix(".__init__")
    tree = ast.parse(path.read_text())
    nodes = list(tree.body) if is_package else list(ast.walk(tree))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
               for n in ast.walk(node)}
    found = set()
    for node in nodes:
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kerascenes")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kerascenes"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return name, found


def test_no_import_cycles_in_the_package():
    root = Path(__file__).parent.parent
    graph = {}
    for package_root in (root / "kerascenes", root / "cli"):
        for path in package_root.rglob("*.py"):
            name, imports = _module_imports(path, package_root)
            graph[name] = imports
    graph = {name: {m for m in imports if m in graph and m != name} for name, imports in graph.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert "kerascenes.vit.presets" in graph["kerascenes.backbones"]
    assert not {m for m in graph["kerascenes.backbones"] if "family" in m or m.endswith("model")}
