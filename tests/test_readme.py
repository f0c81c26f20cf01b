"""The README's Python snippets run as written (on digits), so the tour cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tests.helpers import digits_split

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_python_snippets_run():
    X_train, X_test, y_train, y_test = digits_split()
    rng = np.random.default_rng(0)
    namespace = {
        "X": X_train, "y": y_train, "X_val": X_test, "y_val": y_test,
        "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "params": {"W": 1e-3 * rng.standard_normal((64, 10)), "b": np.zeros(10)},
        "f": lambda params: float(np.sum(params["W"] ** 2)),
    }  # fmt: skip
    blocks = python_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["report"].passed
    assert namespace["history"].status == "completed"
