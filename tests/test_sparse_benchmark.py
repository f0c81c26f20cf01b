"""benchmarks/bench_sparse.py: its data is what it says, and the quick run prints every row with
numbers that add up. No timing is asserted: timings belong to the machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from slopelab.validation import check_features

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_sparse import QUICK, Sizes, text_like  # noqa: E402


def test_text_like_rows_hold_distinct_columns_unit_norm_and_pass_validation():
    sizes = Sizes(rows=300, features=400, nonzeros=12, classes=4)
    X, y = text_like(sizes)
    assert X.shape == (300, 400) and y.shape == (300,)
    np.testing.assert_array_equal(np.diff(X.indptr), 12)
    assert check_features(X) is X  # canonical: sorted, distinct columns in every row
    row_norms = np.sqrt(np.bincount(np.repeat(np.arange(300), 12), weights=X.data**2))
    np.testing.assert_allclose(row_norms, 1.0)
    assert (X.data > 0).all()


def test_quick_run_prints_every_part_and_the_parts_add_up():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_sparse.py"), "--quick", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = dict(re.findall(r"^\| (.+?) \| ([0-9.]+) s", result.stdout, flags=re.MULTILINE))
    parts = {label: float(value) for label, value in rows.items() if label.startswith("- ")}
    assert len(parts) == 9
    total = float(rows["the same steps taken apart, sum of the parts"])
    assert abs(sum(parts.values()) - total) <= 0.0005 * len(parts) + 1e-9  # printed to 1 ms
    for label in ("one epoch of slopelab.train.sgd (median of 1)",
                  "SGDClassifier(log_loss), one epoch, for reference"):  # fmt: skip
        assert float(rows[label]) > 0
    assert f"N={QUICK.rows:,} D={QUICK.features:,}" in result.stdout
