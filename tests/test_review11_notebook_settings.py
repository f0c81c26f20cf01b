"""The notebooks' settings do what their text says (review of issue 11).

The text said "CIFAR-10 when you set CIFAR10_FOLDER", but the code reads it only with
``DATASET = "cifar10"``: a folder set alone was silently ignored and the digits used.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "docs" / "notebooks").glob("*.ipynb"))


def lecture_dataset(notebook: Path, loaded: list):
    """The notebook's own ``lecture_dataset``, with the loaders replaced by recorders."""
    cells = nbformat.read(notebook, as_version=4).cells
    source = next(cell.source for cell in cells if "def lecture_dataset" in cell.source)
    tree = ast.parse(source)
    wanted = [  # the function and the constants it reads, not the cell's calls
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        or (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]).isupper())
    ]
    namespace = {
        "find_dataset": lambda name: "found",
        "load_dataset": lambda name, **options: loaded.append((name, options)),
    }
    exec(compile(ast.Module(wanted, type_ignores=[]), str(notebook), "exec"), namespace)
    return namespace["lecture_dataset"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_cifar_folder_without_dataset_cifar10_is_named_not_ignored(notebook, capsys):
    loaded: list = []
    lecture_dataset(notebook, loaded)("digits", "/data/cifar-10-batches-py", 0)
    note = capsys.readouterr().out
    assert "CIFAR10_FOLDER is set but DATASET is 'digits', so it is not used" in note
    assert 'DATASET = "cifar10"' in note
    assert loaded == [("digits", {"data_dir": None, "num_train": None, "seed": 0})]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_cifar_folder_is_used_with_dataset_cifar10(notebook, capsys):
    loaded: list = []
    lecture_dataset(notebook, loaded)("cifar10", "/data/cifar-10-batches-py", 0)
    assert capsys.readouterr().out == ""
    assert loaded[0][0] == "cifar10"
    assert loaded[0][1]["data_dir"] == "/data/cifar-10-batches-py"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_text_says_both_settings_are_needed_for_cifar10(notebook):
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    assert "CIFAR-10 when you set `CIFAR10_FOLDER`." not in text
    assert 'set `DATASET = "cifar10"` and `CIFAR10_FOLDER`' in text
