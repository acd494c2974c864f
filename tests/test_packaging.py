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
