"""benchmarks/bench_sparse_vs_sklearn.py: its corpus is what it says, its candidates minimize the
same objective, and the quick run prints every row with numbers that parse. No timing is
asserted: timings belong to the machine."""

from __future__ import annotations

import http.client
import inspect
import json.decoder
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import slopelab

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_sparse_vs_sklearn import (  # noqa: E402
    MIN_WORDS,
    QUICK,
    _docstrings,
    candidates,
    docstring_corpus,
    fit,
)

PACKAGES = ("json", "http")


def test_corpus_is_deterministic_labelled_by_package_and_leaves_tests_out():
    texts, y, names = docstring_corpus(PACKAGES)
    again, y_again, _ = docstring_corpus(PACKAGES)
    assert texts == again and np.array_equal(y, y_again)
    assert names == list(PACKAGES)
    assert set(np.unique(y)) == {0, 1}
    assert all(len(text.split()) >= MIN_WORDS for text in texts)


def test_corpus_leaves_test_folders_out():
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = set(docstring_corpus(("unittest",))[0])
    from_tests = {text for path in (stdlib / "unittest" / "test").rglob("*.py")
                  for text in _docstrings(path)}  # fmt: skip
    from_library = {text for path in (stdlib / "unittest").glob("*.py")
                    for text in _docstrings(path)}  # fmt: skip
    assert texts and from_tests - from_library
    assert not texts & (from_tests - from_library)


@pytest.mark.parametrize(
    ("documented", "package"),
    [(http.client.HTTPConnection.request, "http"), (json.decoder.JSONDecoder, "json")],
)
def test_a_docstring_is_in_the_corpus_labelled_by_its_package(documented, package):
    texts, y, _ = docstring_corpus(PACKAGES)
    assert PACKAGES[y[texts.index(inspect.getdoc(documented))]] == package


@pytest.mark.parametrize("name", ["slopelab svm-ova, batch 1", "slopelab svm-ova, batch 200"])
def test_slopelab_candidates_minimize_sgdclassifier_objective(name):
    """The objective of every candidate at the same weights: slopelab's loss with its reg
    equals the sum over classes of SGDClassifier's binary hinge objectives at its alpha."""
    texts, y, _ = docstring_corpus(PACKAGES)
    X = TfidfVectorizer().fit_transform(texts)
    builds = candidates(QUICK)
    reference = fit(next(iter(builds["SGDClassifier(hinge), per example"].values())), X, y)
    W = np.column_stack([-reference.coef_[0], reference.coef_[0]])  # binary: one hyperplane
    b = np.array([-reference.intercept_[0], reference.intercept_[0]])
    alpha = reference.alpha
    t = np.where(y == 1, 1.0, -1.0)
    margin = t * (X @ reference.coef_[0] + reference.intercept_[0])
    penalty = alpha / 2 * reference.coef_[0] @ reference.coef_[0]
    one_problem = np.mean(np.maximum(0.0, 1.0 - margin)) + penalty
    model = next(iter(builds[name].values()))()
    assert model.loss == "svm-ova" and model.reg == alpha / 2 and model.epochs == QUICK.epochs
    loss, _ = slopelab.get_loss("svm-ova")({"W": W, "b": b}, X, y, reg=model.reg)
    # two classes, one hyperplane: the one-vs-all sum counts the same binary problem twice
    assert loss == pytest.approx(2 * one_problem, rel=1e-9)


def test_constant_rate_candidates_share_rate_and_epochs():
    builds = candidates(QUICK)
    reference = [build() for build in builds["SGDClassifier(hinge), per example"].values()]
    per_example = [build() for build in builds["slopelab svm-ova, batch 1"].values()]
    for sgd, ours in zip(reference, per_example, strict=True):
        assert (sgd.loss, sgd.learning_rate, sgd.tol) == ("hinge", "constant", None)
        assert ours.learning_rate == sgd.eta0 and ours.batch_size == 1
        assert ours.reg == sgd.alpha / 2 and ours.epochs == sgd.max_iter


def test_quick_run_prints_every_candidate_with_accuracies_and_memory():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_sparse_vs_sklearn.py"), "--quick",
         "--threads", "1"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    rows = re.findall(
        r"^\| (.+?) \| (alpha .+?) \| ([0-9.]+) s \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) MB \|$",
        result.stdout,
        flags=re.MULTILINE,
    )
    assert [row[0] for row in rows] == list(candidates(QUICK))
    for _, _, seconds, validation, test, peak in rows:
        assert float(seconds) > 0 and float(peak) > 0
        assert 0 <= float(validation) <= 1 and 0 <= float(test) <= 1
    sizes = re.search(r"X train: ([0-9,]+) bytes in CSR, ([0-9,]+) dense", result.stdout)
    csr, dense = (int(size.replace(",", "")) for size in sizes.groups())
    assert csr < dense
