"""Benchmark the core: loss + gradient speed, and training against scikit-learn and PyTorch.

Not a test: it prints figures and ratios measured side by side in one run, in one table headed
by the machine (``timing.py``). Repeats of the candidate and its baselines are interleaved
(every candidate once per round, in a fresh order each round) because timings on shared
machines drift; the median is reported.
``bench_speed.py`` prints these sections too, as its section d.

    python benchmarks/bench_core.py             # everything (Fashion-MNIST if installed)
    python benchmarks/bench_core.py --quick     # small sizes, a few seconds

Sections:

1. vectorized losses vs their naive twins (``slopelab.reference``), the CS231n point: scalar
   loops; the assignment's loops over examples and classes with numpy rows; and the notes'
   half-vectorized loop over examples (numpy per example);
2. vectorized loss + gradient vs the floor set by the hardware: the two matrix products
   ``X @ W`` and ``X.T @ dS`` that any implementation must do (ratio close to 1 is the goal);
3. training softmax for the same epochs, batch size and penalty: slopelab's
   ``LinearClassifier`` vs a plain PyTorch loop with the same learning rate (slopelab's
   ``"auto"``, resolved once on the full training set and passed to both as a number),
   ``SGDClassifier(loss="log_loss")`` (per-example updates, one-vs-all, ``alpha = 2 reg``) and
   ``LogisticRegression`` (lbfgs on the same objective, ``C = 1 / (2 reg N)``, run until it
   converges), with test accuracy.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from baselines import LogisticRun, matched_c, run_logistic, sgd_classifier, torch_available
from baselines import torch_softmax_trainer as torch_trainer
from bench_data import Splits, digits, named_dataset
from timing import (
    SPEED,
    TRAINING,
    Row,
    add_threads_option,
    blas_threads,
    heading,
    interleaved,
    limit_all_threads,
    machine_lines,
    render_table,
    seconds_text,
    threads,
)

from slopelab.data import DataError, find_dataset
from slopelab.losses import get_loss
from slopelab.reference import REFERENCE_FORMS

REG = 1e-4
TRAINING_EPOCHS, TRAINING_BATCH = 5, 200
LOGISTIC_MAX_ITER = 1000
NAIVE_REPEATS = 3


def random_problem(num_examples: int, num_features: int, num_classes: int, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, num_features)).astype(dtype)
    y = rng.integers(0, num_classes, num_examples)
    params = {
        "W": (1e-2 * rng.standard_normal((num_features, num_classes))).astype(dtype),
        "b": np.zeros(num_classes, dtype),
    }
    return params, X, y


def naive_rows(quick: bool) -> list[Row]:
    """Section 1: each naive form's time over the vectorized loss's, on the same problem."""
    row_shape = (50, 300, 10) if quick else (500, 3072, 10)  # the assignment's dev set
    scalar_shape = (20, 30, 10) if quick else (200, 100, 10)  # scalar loops: N*D*C multiplies
    rows = [
        heading(
            f"d1. loss + gradient, vectorized vs its naive twins (float64); medians of "
            f"{NAIVE_REPEATS}; ratio = time / vectorized time"
        )
    ]
    for name in ("svm", "softmax"):
        for shape, forms in (
            (row_shape, list(REFERENCE_FORMS)[1:]),
            (scalar_shape, ["scalar loops"]),
        ):
            params, X, y = random_problem(*shape, np.float64)
            loss_fn = get_loss(name)
            candidates = {"vectorized": lambda f=loss_fn, p=params, X=X, y=y: f.parts(p, X, y, REG)}
            for form in forms:
                twin = REFERENCE_FORMS[form][name]
                candidates[form] = lambda t=twin, p=params, X=X, y=y: t(p, X, y, REG)
            times = interleaved(candidates, repeats=NAIVE_REPEATS)
            where = f"{name}, N={shape[0]} D={shape[1]} C={shape[2]}"
            for form, seconds in times.items():
                rows.append(
                    Row(
                        f"{where}: {form}",
                        seconds_text(seconds),
                        seconds / times["vectorized"],
                        depends=SPEED,
                    )
                )
    return rows


def floor_rows(quick: bool) -> list[Row]:
    """Section 2: loss + gradient against the two matrix products it cannot avoid."""
    cases = (
        [(2000, 3072, 10, np.float32)]
        if quick
        else [
            (256, 3072, 10, np.float32),  # one batch of the CIFAR-10 epoch
            (10000, 3072, 10, np.float32),
            (10000, 3072, 10, np.float64),
            (60000, 784, 10, np.float32),
        ]
    )
    repeats = 5 if quick else 9
    rows = [
        heading(
            "d2. loss + gradient vs the floor, the products X @ W and X.T @ dS it cannot avoid; "
            f"medians of {repeats}; ratio = time / floor"
        )
    ]
    for *shape, dtype in cases:
        params, X, y = random_problem(*shape, dtype)
        dscores = np.ones((shape[0], shape[2]), dtype)
        W = params["W"]
        candidates = {"floor": lambda X=X, W=W, dscores=dscores: (X @ W, X.T @ dscores)}
        for name in ("svm", "softmax"):
            loss_fn = get_loss(name)
            candidates[name] = lambda f=loss_fn, p=params, X=X, y=y: f.parts(p, X, y, REG)
        times = interleaved(candidates, repeats=repeats)
        where = f"N={shape[0]} D={shape[1]} C={shape[2]} {np.dtype(dtype).name}"
        gflops = 4 * np.prod(shape) / times["floor"] / 1e9
        for name, seconds in times.items():
            what = f"floor ({gflops:.1f} GFLOP/s)" if name == "floor" else f"{name} loss + gradient"
            rows.append(
                Row(
                    f"{where}: {what}",
                    seconds_text(seconds),
                    seconds / times["floor"],
                    depends=SPEED,
                )
            )
    return rows


def training_splits(quick: bool) -> Splits:
    if quick:
        return digits()
    try:
        if find_dataset("fashion-mnist"):
            return named_dataset("fashion-mnist")
    except DataError:
        pass
    print("Fashion-MNIST not found; section d3 trains on digits", file=sys.stderr)
    return digits()


def training_rows(data: Splits, quick: bool, logistic: LogisticRun | None = None) -> list[Row]:
    """Section 3: softmax for the same epochs and batch size, against the baselines.

    LogisticRegression runs once, after the interleaved repeats (to convergence it takes
    minutes on Fashion-MNIST, and it is far from the others); ``logistic``, when given, is
    that same fit already made by another section on the same data.
    """
    from slopelab import LinearClassifier

    epochs, batch, reg = TRAINING_EPOCHS, TRAINING_BATCH, REG
    X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    rate_probe = LinearClassifier(epochs=1, batch_size=batch, reg=reg, random_state=0)
    learning_rate = float(rate_probe.fit(X_train, y_train).learning_rate_)
    outcomes: dict[str, str] = {}

    def slopelab_run(key: str = "slopelab"):
        model = LinearClassifier(
            learning_rate=learning_rate, epochs=epochs, batch_size=batch, reg=reg, random_state=0
        ).fit(X_train, y_train)
        outcomes[key] = f"test accuracy {model.score(X_test, y_test):.3f}"

    def sgd_run():
        model = sgd_classifier("log_loss", reg, max_iter=epochs, tol=None)
        model.fit(data.X_train64, y_train)
        outcomes["sgd"] = f"test accuracy {model.score(data.X_test64, y_test):.3f}"

    candidates = {"slopelab": slopelab_run}
    if torch_available():
        import torch

        torch_run = torch_trainer(
            X_train, y_train, X_test, epochs=epochs, batch_size=batch,
            learning_rate=learning_rate, reg=reg,
        )  # fmt: skip

        def pytorch_run():
            outcomes["pytorch"] = f"test accuracy {np.mean(torch_run() == y_test):.3f}"

        def pytorch_one_thread():
            default = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                predictions = torch_run()
            finally:
                torch.set_num_threads(default)
            outcomes["pytorch 1"] = f"test accuracy {np.mean(predictions == y_test):.3f}"

        candidates |= {"pytorch": pytorch_run, "pytorch 1": pytorch_one_thread}

    def slopelab_one_thread():
        with threads(1):
            slopelab_run("slopelab 1")

    candidates |= {"slopelab 1": slopelab_one_thread, "sgd": sgd_run}
    repeats = 1 if quick else 3
    times = interleaved(candidates, repeats=repeats)
    reused = logistic is not None and logistic.same_as(data.name, reg, LOGISTIC_MAX_ITER)
    if not reused:
        logistic = run_logistic(data, reg, LOGISTIC_MAX_ITER)
    times["logistic"] = logistic.seconds
    outcomes["logistic"] = f"test accuracy {logistic.accuracy:.3f}, {logistic.fit.describe()}"
    torch_threads = torch.get_num_threads() if "pytorch" in candidates else 0
    labels = {
        "slopelab": f"slopelab LinearClassifier, as run: {plural(blas_threads(), 'BLAS thread')}",
        "slopelab 1": "slopelab LinearClassifier, 1 BLAS thread",
        "pytorch": f"PyTorch loop, as run: {plural(torch_threads, 'thread')}",
        "pytorch 1": "PyTorch loop, 1 thread",
        "sgd": f"SGDClassifier(log_loss, alpha={2 * reg:g}, max_iter={epochs}, n_jobs=2)",
        "logistic": (
            f"LogisticRegression(lbfgs, C=1/(2 reg N)={matched_c(reg, len(y_train)):.3g}), "
            "to convergence, one run" + (" (section b's)" if reused else "")
        ),
    }
    rows = [
        heading(
            f"d3. training softmax on {data.description}: {epochs} epochs, batch {batch}, "
            f"reg {reg:g}, learning rate {learning_rate:.4g} (slopelab's auto on the full "
            f"training set, given to slopelab and PyTorch alike); medians of {repeats}; "
            "ratio = time / slopelab's"
        )
    ]
    for key, seconds in times.items():
        text = f"{seconds_text(seconds)}, {outcomes[key]}"
        rows.append(Row(labels[key], text, seconds / times["slopelab"], depends=TRAINING))
    if "pytorch" not in times:
        rows.append(Row("PyTorch loop: skipped, torch is not installed"))
    return rows


def core_rows(
    quick: bool, data: Splits | None = None, logistic: LogisticRun | None = None
) -> list[Row]:
    """All three sections, in order (progress on stderr)."""
    data = data if data is not None else training_splits(quick)
    say("d1. naive vs vectorized losses ...")
    rows = naive_rows(quick)
    say("d2. loss + gradient vs floor ...")
    rows += floor_rows(quick)
    say(f"d3. training on {data.description} ...")
    return rows + training_rows(data, quick, logistic)


def plural(count: int | None, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    add_threads_option(parser)
    args = parser.parse_args()
    with limit_all_threads(args.threads):
        rows = core_rows(args.quick)
        header = machine_lines(args.threads)
    print("\n".join(f"- {line}" for line in header))
    print()
    print(render_table(rows))


if __name__ == "__main__":
    main()
