"""Packaging: every sub-package is installed, and importing kerascenes stays light."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "kerascenes").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
    assert "kerascenes.cli" in listed and config["package-dir"]["kerascenes.cli"] == "cli"


def test_import_does_not_load_heavy_frameworks():
    code = ("import sys, time; t = time.perf_counter(); import kerascenes, kerascenes.cli.main; "
            "dt = time.perf_counter() - t; heavy = [m for m in ('tensorflow', 'keras', 'cv2', 'torch') if m in sys.modules];"
            "print(heavy, dt)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert out[0] == "[]"


def test_logs_folder_is_versioned_empty():
    assert (ROOT / "logs" / ".gitkeep").exists()


def test_wheel_ships_the_library_the_cli_and_the_domain_classifiers(tmp_path):
    """Build a wheel from a copy of the sources (PEP 517, no network) and read what it ships."""
    import shutil
    import zipfile

    source = tmp_path / "src"
    source.mkdir()
    for name in ("kerascenes", "cli"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    out.mkdir()
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = out / done.stdout.split()[-1]
    assert wheel.name.startswith("kerascenes-") and wheel.name.endswith("-py3-none-any.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    expected = {f"kerascenes/{p.relative_to(ROOT / 'kerascenes').as_posix()}" for p in (ROOT / "kerascenes").rglob("*")
                if p.is_file() and p.suffix in {".py", ".keras", ".npz"} and "__pycache__" not in p.parts}
    expected |= {f"kerascenes/cli/{p.name}" for p in (ROOT / "cli").glob("*.py")}
    assert expected - names == set(), "missing from the wheel"
    for asset in ("mnist_classifier.keras", "fashion_mnist_classifier.keras", "mnist_reference.npz",
                  "fashion_mnist_reference.npz"):
        assert f"kerascenes/gan/assets/{asset}" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "notebooks/", "logs/", "cli/")) for n in names)

    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "kerascenes = kerascenes.cli.main:cli" in zipfile.ZipFile(wheel).read(info).decode()
    metadata = zipfile.ZipFile(wheel).read(info.replace("entry_points.txt", "METADATA")).decode()
    for requirement in ("tensorflow", "keras-hub", "opencv-contrib-python-headless", "click", "openpyxl"):
        assert f"Requires-Dist: {requirement}" in metadata
    assert 'Requires-Dist: torch<3,>=2.1; extra == "torch"' in metadata
