"""`kerascenes gan ... --framework torch`, sample/evaluate/compare on torch runs, and a missing torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kerascenes.cli.main import cli
from kerascenes.workbook import read_workbook
from conftest import write_tiny_digits

pytestmark = [pytest.mark.filterwarnings("ignore:Matrix is singular")]


def _tiny_digits(path, n=128):
    return write_tiny_digits(path, n)


def _invoke(args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result, result.output


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("torch_cli")
    data = _tiny_digits(root / "tiny.npz")
    logdir = root / "logs"
    common = ["--dataset", "mnist", "--data", data, "--framework", "torch", "--batch-size", "32",
              "--eval-samples", "100", "--name", "tiny-torch", "--logdir", logdir, "--quiet"]
    result, output = _invoke(["gan", "train", "--epochs", "1", *common])
    assert result.exit_code == 0, output
    result, output = _invoke(["gan", "train", "--epochs", "2", "--resume", *common])
    assert result.exit_code == 0, output
    return logdir / "tiny-torch", data, logdir, output


def test_train_and_resume_through_the_cli(torch_run):
    run_dir, _, logdir, output = torch_run
    assert "FD" in output and str(run_dir) in output
    config = json.loads((run_dir / "config.json").read_text())["options"]
    assert config["framework"] == "torch" and config["epochs"] == 2
    assert (run_dir / "samples/epoch_002.png").is_file() and (run_dir / "generator.pt").is_file()
    rows = read_workbook(logdir / "overall_results.xlsx")["gan"]
    assert [row["framework"] for row in rows if row["run"] == "tiny-torch"] == ["torch"]


def test_sample_and_evaluate_work_on_torch_runs(torch_run, tmp_path):
    run_dir = torch_run[0]
    result, output = _invoke(["gan", "sample", run_dir, "--n", "10", "--out", tmp_path / "s.npy", "--seed", "3"])
    assert result.exit_code == 0, output
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (10, 28, 28) and samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    result, output = _invoke(["gan", "sample", run_dir, "--n", "16", "--out", tmp_path / "s.png"])
    assert result.exit_code == 0 and (tmp_path / "s.png").stat().st_size > 0, output
    result, output = _invoke(["gan", "evaluate", run_dir, "--n", "100", "--json"])
    assert result.exit_code == 0, output
    scores = json.loads(output)
    assert scores["framework"] == "torch" and scores["n_samples"] == 100
    assert np.isfinite(scores["fd"]) and np.isfinite(scores["kid"]) and 0 <= scores["confident_share"] <= 1


def test_compare_puts_a_tf_and_a_torch_run_side_by_side(torch_run, tmp_path):
    from kerascenes.gan import GanConfig, train_gan

    run_dir, data, logdir, _ = torch_run
    tf_run = train_gan(GanConfig(data=str(data), epochs=1, batch_size=32, logdir=str(logdir), name="tiny-tf",
                                 eval_samples=100), verbose=0).run
    out = tmp_path / "cmp"
    result, output = _invoke(["gan", "compare", tf_run.path, run_dir, "--out", out, "--n", "16"])
    assert result.exit_code == 0, output
    assert "| tiny-tf | tf | cpu |" in output and "| tiny-torch | torch | cpu |" in output
    for name in ("comparison.md", "comparison.csv", "comparison.json", "grids.png"):
        assert (out / name).is_file(), name
    rows = json.loads((out / "comparison.json").read_text())
    assert [r["framework"] for r in rows] == ["tf", "torch"]
    assert all(r["images_per_second"] > 0 and r["seconds_per_epoch"] > 0 and np.isfinite(r["fd"]) for r in rows)
    from PIL import Image

    width, height = Image.open(out / "grids.png").size
    assert width > 1.5 * height  # two grids next to each other


def test_compare_rejects_a_folder_that_is_not_a_run(tmp_path):
    result, output = _invoke(["gan", "compare", tmp_path])
    assert result.exit_code == 2 and "not a kerascenes run folder" in output


def _without_torch(monkeypatch):
    """Make `import torch` fail as if it were not installed, and forget kerascenes.torch_gan."""
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in [m for m in sys.modules if m.startswith("kerascenes.torch_gan")]:
        monkeypatch.delitem(sys.modules, name)


def test_missing_torch_is_one_sentence_naming_the_extra(monkeypatch, tmp_path):
    _without_torch(monkeypatch)
    from kerascenes.errors import KerascenesError

    with pytest.raises(ImportError, match=r"pip install kerascenes\[torch\]") as info:
        import kerascenes.torch_gan.train  # noqa: F401
    assert isinstance(info.value, KerascenesError)
    result, output = _invoke(["gan", "train", "--framework", "torch", "--data", _tiny_digits(tmp_path / "d.npz"),
                              "--logdir", tmp_path / "logs", "--epochs", "1"])
    assert result.exit_code == 2
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "pip install kerascenes[torch]" in lines[0]
    assert "Traceback" not in output
    assert not (tmp_path / "logs").exists()  # failed before creating a run folder


def test_sampling_a_torch_run_without_torch_names_the_extra(torch_run, monkeypatch, tmp_path):
    _without_torch(monkeypatch)
    result, output = _invoke(["gan", "sample", torch_run[0], "--out", tmp_path / "x.png"])
    assert result.exit_code == 2 and "pip install kerascenes[torch]" in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1


def test_help_never_imports_torch():
    code = ("import sys; from click.testing import CliRunner; from kerascenes.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['gan', 'compare', '--help']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(cli, ['gan', 'train', '--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('torch', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
