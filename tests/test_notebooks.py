"""The notebooks: committed clean, parameterised by one tagged cell, and run top to bottom on their synthetic data.

Each notebook takes its data location, weights and sizes from one code cell tagged ``parameters``
(papermill style) whose values can come from ``KERASCENES_*`` environment variables; with none set
it writes small synthetic data into a temporary folder. Here every notebook runs (nbclient) with
those variables cleared, in a temporary working directory.
"""

from __future__ import annotations

import ast
import json
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK_DIR = Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
EXPECTED = ("00_explore_data", "01_quickstart", "02_bag_of_words", "03_transfer_learning", "04_vision_transformer",
            "05_dcgan_tf_vs_torch")
QUICKSTART = "01_quickstart"
QUICKSTART_MIN_ACCURACY = 0.8  # three synthetic classes: chance is 0.333
# appended to the quick start before it runs, to read back what its last cell asserted
PROBE = ("import json\nprint('PROBE ' + json.dumps({'accuracy': report['accuracy'], 'classes': len(report['class_names']), "
         "'min_accuracy': MIN_ACCURACY}))")
PRIVATE_NAME = re.compile(r"\bkerascenes(?:\.\w+)*\._\w|\bfrom kerascenes[\w.]* import [^\n#]*(?<![\w.])_\w")
ENV_VARIABLE = re.compile(r"KERASCENES_[A-Z_]+")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _code(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _parameters_cells(notebook) -> list:
    return [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]


def test_the_numbered_notebooks_are_all_there():
    assert tuple(IDS) == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    for i, cell in enumerate(_code(notebook)):
        assert cell.outputs == [], f"{path.name}: code cell {i} has outputs; strip them before committing"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count; strip it"
        assert "execution" not in cell.metadata, f"{path.name}: code cell {i} keeps execution timings; strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_one_tagged_parameters_cell_read_from_documented_variables(path):
    notebook = _read(path)
    tagged = _parameters_cells(notebook)
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    cell = tagged[0]
    assert cell.cell_type == "code" and cell is _code(notebook)[0], "the parameters cell must be the first code cell"
    assignments = [node for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)]
    assert assignments, "the parameters cell assigns no parameters"
    for node in assignments:  # every parameter has an environment variable
        assert "os.environ" in ast.unparse(node.value), f"{ast.unparse(node)} does not read an environment variable"
    variables = set(ENV_VARIABLE.findall(cell.source))
    intro = notebook.cells[0]
    assert intro.cell_type == "markdown"
    missing = sorted(v for v in variables if v not in intro.source)
    assert not missing, f"{path.name}: the first markdown cell does not document {', '.join(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_only_the_public_api(path):
    for cell in _code(_read(path)):
        found = PRIVATE_NAME.search(cell.source)
        assert not found, f"{path.name} uses a private name of kerascenes: {found.group(0)!r}"


def test_quickstart_asserts_that_it_learned():
    cells = _code(_read(NOTEBOOK_DIR / f"{QUICKSTART}.ipynb"))
    assert "assert report['accuracy'] >= MIN_ACCURACY" in cells[-1].source
    assert re.search(r"KERASCENES_MIN_ACCURACY', ([0-9.]+)\)", cells[0].source).group(1) == str(QUICKSTART_MIN_ACCURACY)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import os

    for name in [n for n in os.environ if n.startswith("KERASCENES_")]:
        monkeypatch.delenv(name)  # the synthetic defaults
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary folders go where pytest cleans up
    notebook = _read(path)
    if path.stem == QUICKSTART:
        notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - start:.0f} s")
    errors = [o for c in _code(notebook) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    if path.stem == QUICKSTART:
        text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
        probe = json.loads(text.split("PROBE ", 1)[1])
        assert probe["min_accuracy"] >= QUICKSTART_MIN_ACCURACY
        assert probe["accuracy"] >= QUICKSTART_MIN_ACCURACY > 2.0 / probe["classes"], probe
