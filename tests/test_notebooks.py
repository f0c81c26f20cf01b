"""The lecture notebooks in docs/notebooks: stored without outputs, and each one runs top to
bottom, on its default data, within its time budget. An error in any cell fails the test.

They run in a fresh "python3" kernel, so they see the installed slopelab (or PYTHONPATH), as a
user's Jupyter would.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent.parent / "docs" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
LECTURE = [
    "01-loss-landscape.ipynb",
    "02-following-the-slope.ipynb",
    "03-gradient-descent-and-sgd.ipynb",
    "04-update-rules-and-schedules.ipynb",
    "05-your-own-data.ipynb",
]
# The README promises "well under a minute" each; the kernel's start and its imports (matplotlib,
# scikit-learn) count too, and they dominate on a loaded machine.
BUDGET_SECONDS = 60.0


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_lecture_is_five_notebooks_in_order() -> None:
    assert [path.name for path in NOTEBOOKS] == LECTURE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_stored_without_outputs_for_the_python3_kernel(path: Path) -> None:
    notebook = read(path)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, f"{path.name} has no code"
    for cell in code_cells:
        assert cell.outputs == [], f"{path.name}, cell {cell.id}: outputs are stored"
        assert cell.execution_count is None, f"{path.name}, cell {cell.id}: execution count"
        assert "execution" not in cell.metadata, f"{path.name}, cell {cell.id}: timing stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_starts_with_the_settings_cell(path: Path) -> None:
    first_code = next(cell for cell in read(path).cells if cell.cell_type == "code")
    assert first_code.source.startswith("# ---- Settings: the only cell you need to edit")
    assert 'DATASET = "digits"' in first_code.source
    assert "CIFAR10_FOLDER = None" in first_code.source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom_within_its_budget(path: Path, monkeypatch) -> None:
    # The kernel inherits the environment: MPLBACKEND=Agg would replace Jupyter's inline backend,
    # and plt.show() would then draw nothing, silently (checked below: every notebook plots).
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = read(path)
    client = NotebookClient(
        notebook,
        timeout=int(BUDGET_SECONDS),  # per cell; the total is checked below
        kernel_name="python3",
        resources={"metadata": {"path": str(FOLDER)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell when any cell fails
    seconds = time.perf_counter() - started
    assert seconds < BUDGET_SECONDS, f"{path.name} took {seconds:.1f} s"
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    for output in outputs:
        # a warning, or any text on stderr, would show in the rendered docs
        assert output.get("name") != "stderr", f"{path.name}: {output['text']}"
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert figures, f"{path.name} drew no figure"
