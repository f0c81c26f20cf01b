"""Text classification, sparse: slopelab's one-vs-all SVM against SGDClassifier(hinge), same
objective, same per-example updates, same epochs.

The corpus needs no download: every docstring of at least ``MIN_WORDS`` words (module, class,
function) in the ``.py`` files of a fixed list of standard-library packages, read with ``ast``
(nothing imported), labelled by its package; test folders are left out. Files and nodes are
walked in sorted order, so on a given Python version the corpus is the same on every machine
(the header prints the Python version and the counts). Split 60/20/20, stratified, seed 0;
``TfidfVectorizer(sublinear_tf=True, min_df=2)`` fitted on the training part; rows unit-norm.

The objective, the same on both sides: the mean over examples of the one-vs-all hinges
``sum_j max(0, 1 - t_ij s_j)`` plus a penalty on W. SGDClassifier's is ``alpha/2 ||w_j||^2``
per binary problem, slopelab's ``reg * sum(W**2)``, so ``reg = alpha / 2``; neither penalizes
the intercept. The updates: SGDClassifier updates after every example
(``learning_rate="constant"``, ``eta0``); slopelab runs the same constant rate at
``batch_size=1`` (the same steps) and at its default ``batch_size=200`` (its usual mode, not the
same steps). Where they still differ: each shuffles with its own generator; SGDClassifier scales
the intercept's updates by 0.01 on sparse data (its ``intercept_decay``) and keeps W as a
scalar times a vector (a lazy penalty), while slopelab updates all of the dense W every step.
``log_loss`` against slopelab's ``softmax`` would not be the same objective (C one-vs-all
logistic problems against one multinomial one), so it is not compared here.

``alpha`` and the constant rate are chosen on the validation part for each candidate (the
batch-200 candidate keeps slopelab's default ``learning_rate="auto"``, which scales the rate to
the data, since the per-example rate is far too small for the mean gradient of 200 examples);
the test accuracy of the chosen model only is reported. In 5 epochs (65 steps) that candidate
is far from converged, so a last row gives it slopelab's default of 50 epochs. Seconds per epoch
are medians of interleaved repeats of whole fits divided by the epochs. Peak memory is
tracemalloc's peak of one fit (Python and numpy allocations, not the interpreter), beside the
bytes of X in CSR and of X dense.

    python benchmarks/bench_sparse_vs_sklearn.py           # about 3 minutes here
    python benchmarks/bench_sparse_vs_sklearn.py --quick   # a smoke run: 3 packages, 1 epoch
"""

from __future__ import annotations

import argparse
import ast
import sysconfig
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from timing import add_threads_option, interleaved, limit_all_threads, machine_lines

from slopelab import LinearClassifier

MIN_WORDS = 5
PACKAGES = (
    "asyncio", "collections", "distutils", "email", "encodings", "http", "idlelib", "importlib",
    "lib2to3", "logging", "multiprocessing", "tkinter", "unittest", "urllib", "wsgiref", "xml",
    "xmlrpc",
)  # fmt: skip
QUICK_PACKAGES = ("json", "http", "logging")


@dataclass(frozen=True)
class Settings:
    packages: tuple[str, ...]
    epochs: int
    alphas: tuple[float, ...]
    rates: tuple[float, ...]
    repeats: int
    default_epochs: int = 50


FULL = Settings(PACKAGES, epochs=5, alphas=(1e-5, 1e-4, 1e-3), rates=(0.05, 0.5), repeats=3)
QUICK = Settings(
    QUICK_PACKAGES, epochs=1, alphas=(1e-4,), rates=(0.5,), repeats=1, default_epochs=2
)


def docstring_corpus(packages: tuple[str, ...]) -> tuple[list[str], np.ndarray, list[str]]:
    """Docstrings of ``MIN_WORDS`` words or more in each standard-library package (tests left
    out), in sorted file order; returns texts, labels (indices into ``packages``) and names."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    labels: list[int] = []
    for label, package in enumerate(packages):
        for path in sorted((stdlib / package).rglob("*.py")):
            if {"test", "tests"} & set(path.relative_to(stdlib).parts):
                continue
            for text in _docstrings(path):
                texts.append(text)
                labels.append(label)
    return texts, np.asarray(labels), list(packages)


def _docstrings(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):  # lib2to3's Python 2 test data, if any
        return []
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = [ast.get_docstring(node) for node in ast.walk(tree) if isinstance(node, kinds)]
    return [text for text in found if text and len(text.split()) >= MIN_WORDS]


@dataclass(frozen=True)
class TextSplits:
    X_train: object
    y_train: np.ndarray
    X_val: object
    y_val: np.ndarray
    X_test: object
    y_test: np.ndarray


def vectorized_splits(texts: list[str], y: np.ndarray) -> TextSplits:
    """60/20/20 stratified (seed 0), tf-idf fitted on the training part, float64 CSR."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import train_test_split

    rest, test, y_rest, y_test = train_test_split(
        texts, y, test_size=0.2, stratify=y, random_state=0
    )
    train, val, y_train, y_val = train_test_split(
        rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    X_train = vectorizer.fit_transform(train)
    return TextSplits(
        X_train, y_train, vectorizer.transform(val), y_val, vectorizer.transform(test), y_test
    )


Build = Callable[[], object]


def candidates(settings: Settings) -> dict[str, dict[str, Build]]:
    """Each candidate's settings to choose from, by label: the same objective, as the module
    says; the batch-200 candidate uses slopelab's default rate, "auto" (its usual mode)."""
    from sklearn.linear_model import SGDClassifier

    grid = [(alpha, rate) for alpha in settings.alphas for rate in settings.rates]

    def sgdclassifier(alpha: float, rate: float) -> Build:
        return lambda: SGDClassifier(
            loss="hinge", alpha=alpha, learning_rate="constant", eta0=rate,
            max_iter=settings.epochs, tol=None, random_state=0,
        )  # fmt: skip

    def slopelab(alpha: float, rate: float | str, batch_size: int, epochs: int) -> Build:
        return lambda: LinearClassifier(
            loss="svm-ova", optimizer="sgd", learning_rate=rate, reg=alpha / 2,
            batch_size=batch_size, epochs=epochs, random_state=0,
        )  # fmt: skip

    return {
        "SGDClassifier(hinge), per example": {
            f"alpha {alpha:g}, rate {rate:g}": sgdclassifier(alpha, rate) for alpha, rate in grid
        },
        "slopelab svm-ova, batch 1": {
            f"alpha {alpha:g}, rate {rate:g}": slopelab(alpha, rate, 1, settings.epochs)
            for alpha, rate in grid
        },
        "slopelab svm-ova, batch 200": {
            f"alpha {alpha:g}, rate auto": slopelab(alpha, "auto", 200, settings.epochs)
            for alpha in settings.alphas
        },
        f"slopelab svm-ova, batch 200, {settings.default_epochs} epochs": {
            f"alpha {alpha:g}, rate auto": slopelab(alpha, "auto", 200, settings.default_epochs)
            for alpha in settings.alphas
        },
    }


def epochs_of(model) -> int:
    return model.epochs if isinstance(model, LinearClassifier) else model.max_iter


def fit(build: Build, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget here
        return build().fit(X, y)


@dataclass(frozen=True)
class Choice:
    label: str
    build: Build
    validation: float
    test: float


def choose(builds: dict[str, Build], data: TextSplits) -> Choice:
    """The settings with the best validation accuracy (the first listed on ties); the test
    accuracy of that one model only."""
    best = None
    for label, build in builds.items():
        model = fit(build, data.X_train, data.y_train)
        validation = model.score(data.X_val, data.y_val)
        if best is None or validation > best[2]:
            best = (label, build, validation, model)
    label, build, validation, model = best
    return Choice(label, build, validation, model.score(data.X_test, data.y_test))


def peak_bytes(build: Build, data: TextSplits) -> int:
    """tracemalloc's peak over one fit (allocations made during the fit only)."""
    tracemalloc.start()
    try:
        fit(build, data.X_train, data.y_train)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def csr_bytes(X) -> int:
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 small packages, 1 epoch")
    add_threads_option(parser)
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    with limit_all_threads(args.threads):
        run(settings, args.threads)


def run(settings: Settings, threads: int | None) -> None:
    started = time.perf_counter()
    texts, y, names = docstring_corpus(settings.packages)
    data = vectorized_splits(texts, y)
    corpus_seconds = time.perf_counter() - started
    N, D = data.X_train.shape
    print("\n".join(machine_lines(threads)))
    print(
        f"\ncorpus: {len(texts):,} docstrings of {len(names)} standard-library packages "
        f"(built and vectorized in {corpus_seconds:.1f} s); train {N:,} / validation "
        f"{data.X_val.shape[0]:,} / test {data.X_test.shape[0]:,}; D={D:,} tf-idf features, "
        f"{data.X_train.nnz / N:.1f} nonzeros per row\n"
        f"X train: {csr_bytes(data.X_train):,} bytes in CSR, {N * D * 8:,} dense float64; "
        f"W: {D * len(names) * 8:,} bytes\n"
        f"{settings.epochs} epochs; chosen on validation: alpha from "
        f"{', '.join(f'{a:g}' for a in settings.alphas)} (reg = alpha / 2), constant rate from "
        f"{', '.join(f'{r:g}' for r in settings.rates)}; {settings.repeats} interleaved "
        f"repeats\n"
    )
    chosen = {name: choose(builds, data) for name, builds in candidates(settings).items()}
    fits = {
        name: (lambda build=choice.build: fit(build, data.X_train, data.y_train))
        for name, choice in chosen.items()
    }
    seconds = interleaved(fits, settings.repeats)
    print("| candidate | chosen | seconds per epoch | validation accuracy | test accuracy "
          "| peak traced memory of one fit |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, choice in chosen.items():
        peak = peak_bytes(choice.build, data)
        print(
            f"| {name} | {choice.label} | {seconds[name] / epochs_of(choice.build()):.3f} s | "
            f"{choice.validation:.3f} | {choice.test:.3f} | {peak / 1e6:.2f} MB |"
        )


if __name__ == "__main__":
    main()
