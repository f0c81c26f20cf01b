"""Benchmark the core: loss + gradient speed, and training against scikit-learn and PyTorch.

Not a test: it prints figures and ratios measured side by side in one run, with the BLAS kernel
and thread count beside them. Repeats of the candidate and its baselines are interleaved
(A B C, A B C, ...) because timings on shared machines drift between processes and over time;
the median of the repeats is reported.

    python benchmarks/bench_core.py             # everything (Fashion-MNIST if installed)
    python benchmarks/bench_core.py --quick     # smaller sizes, a few seconds

Sections:
1. vectorized losses vs their naive loop twins (the CS231n assignment's point);
2. vectorized loss + gradient vs the floor set by the hardware: the two matrix products
   ``X @ W`` and ``X.T @ dS`` that any implementation must do (ratio close to 1 is the goal);
3. training a softmax classifier for the same epochs and batch size: slopelab's
   ``LinearClassifier`` vs a plain PyTorch loop (``nn.Linear`` + ``CrossEntropyLoss`` +
   ``torch.optim.SGD``), scikit-learn's ``SGDClassifier(loss="log_loss")`` (per-example
   updates, one-vs-all) and ``LogisticRegression`` (L-BFGS, full batch), with test accuracy.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import describe_blas, interleaved

from slopelab.data import find_dataset, load_dataset
from slopelab.losses import get_loss
from slopelab.reference import NAIVE_LOSSES


def random_problem(num_examples: int, num_features: int, num_classes: int, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, num_features)).astype(dtype)
    y = rng.integers(0, num_classes, num_examples)
    params = {
        "W": (1e-2 * rng.standard_normal((num_features, num_classes))).astype(dtype),
        "b": np.zeros(num_classes, dtype),
    }
    return params, X, y


def section_naive(quick: bool) -> None:
    shape = (50, 30, 10) if quick else (200, 100, 10)
    print(f"\n1. vectorized vs naive loops, N={shape[0]} D={shape[1]} C={shape[2]}, float64")
    params, X, y = random_problem(*shape, np.float64)
    for name in NAIVE_LOSSES:
        loss_fn = get_loss(name)
        times = interleaved(
            {
                "vectorized": lambda loss_fn=loss_fn: loss_fn.parts(params, X, y, 1e-3),
                "naive": lambda name=name: NAIVE_LOSSES[name](params, X, y, 1e-3),
            },
            repeats=3,
        )
        speedup = times["naive"] / times["vectorized"]
        print(
            f"   {name:15s} vectorized {times['vectorized'] * 1e3:8.3f} ms   "
            f"naive {times['naive'] * 1e3:9.1f} ms   speed-up x{speedup:,.0f}"
        )


def section_floor(quick: bool) -> None:
    sizes = [(2000, 3072, 10)] if quick else [(200, 3072, 10), (10000, 3072, 10), (60000, 784, 10)]
    print("\n2. loss + gradient vs the two matrix products it cannot avoid (X@W, X.T@dS)")
    for shape in sizes:
        for dtype in (np.float32, np.float64):
            params, X, y = random_problem(*shape, dtype)
            dscores = np.ones((shape[0], shape[2]), dtype)
            W = params["W"]
            candidates = {"floor": lambda X=X, W=W, dscores=dscores: (X @ W, X.T @ dscores)}
            for name in ("svm", "softmax"):
                loss_fn = get_loss(name)
                candidates[name] = lambda loss_fn=loss_fn, params=params, X=X, y=y: loss_fn.parts(
                    params, X, y, 1e-3
                )
            times = interleaved(candidates, repeats=5 if quick else 9)
            floor = times["floor"]
            flops = 4 * np.prod(shape)
            print(
                f"   N={shape[0]:6d} D={shape[1]} C={shape[2]} {np.dtype(dtype).name}: floor "
                f"{floor * 1e3:7.2f} ms ({flops / floor / 1e9:5.1f} GFLOP/s)"
                + "".join(
                    f"   {name} {times[name] * 1e3:7.2f} ms (x{times[name] / floor:.2f})"
                    for name in ("svm", "softmax")
                )
            )


def training_data(quick: bool):
    from sklearn.preprocessing import StandardScaler

    if find_dataset("fashion-mnist") and not quick:
        name = "Fashion-MNIST (60000 train / 10000 test, D=784)"
        dataset = load_dataset("fashion-mnist", num_val=1)  # all 60,000 minus one for training
        X_train = np.concatenate([dataset.X_train, dataset.X_val])
        y_train = np.concatenate([dataset.y_train, dataset.y_val])
        X_test, y_test = dataset.X_test, dataset.y_test
    else:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        name = "digits (1437 train / 360 test, D=64)"
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, random_state=0, stratify=y
        )
    scaler = StandardScaler().fit(X_train.astype(np.float64))
    X_train = scaler.transform(X_train.astype(np.float64)).astype(np.float32)
    X_test = scaler.transform(X_test.astype(np.float64)).astype(np.float32)
    return name, X_train, y_train, X_test, y_test


def torch_trainer(X_train, y_train, X_test, epochs, batch_size, learning_rate, reg):
    import torch

    def run():
        generator = torch.Generator().manual_seed(0)
        X = torch.from_numpy(X_train)
        y = torch.from_numpy(y_train)
        model = torch.nn.Linear(X.shape[1], 10)
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            order = torch.randperm(len(y), generator=generator)
            for start in range(0, len(y), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(X[batch]), y[batch]) + reg * (model.weight**2).sum()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            return model(torch.from_numpy(X_test)).argmax(1).numpy()

    return run


def section_training(quick: bool) -> None:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from slopelab import LinearClassifier

    name, X_train, y_train, X_test, y_test = training_data(quick)
    epochs, batch_size, reg = (5, 200, 1e-4)
    slopelab_model = LinearClassifier(epochs=epochs, batch_size=batch_size, reg=reg, random_state=0)
    learning_rate = float(slopelab_model.fit(X_train[:2000], y_train[:2000]).learning_rate_)
    predictions: dict[str, np.ndarray] = {}

    def remember(key, fit_predict):
        def run():
            predictions[key] = fit_predict()

        return run

    candidates = {
        "slopelab LinearClassifier": remember(
            "slopelab LinearClassifier",
            lambda: slopelab_model.fit(X_train, y_train).predict(X_test),
        ),
        "PyTorch loop": remember(
            "PyTorch loop",
            torch_trainer(X_train, y_train, X_test, epochs, batch_size, learning_rate, reg),
        ),
        "sklearn SGDClassifier": remember(
            "sklearn SGDClassifier",
            lambda: (
                SGDClassifier(loss="log_loss", alpha=reg, max_iter=epochs, tol=None, random_state=0)
                .fit(X_train, y_train)
                .predict(X_test)
            ),
        ),
        "sklearn LogisticRegression": remember(
            "sklearn LogisticRegression",
            lambda: LogisticRegression(max_iter=100).fit(X_train, y_train).predict(X_test),
        ),
    }
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    print(
        f"\n3. training softmax on {name}: {epochs} epochs, batch {batch_size}, "
        f"lr {learning_rate:.3g} (slopelab 'auto', reused for PyTorch), float32"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        times = interleaved(candidates, repeats=3)
    baseline = times["slopelab LinearClassifier"]
    for key, seconds in times.items():
        accuracy = float(np.mean(predictions[key] == y_test))
        print(
            f"   {key:28s} {seconds:7.2f} s   x{seconds / baseline:5.2f} of slopelab   "
            f"test accuracy {accuracy:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    print(f"BLAS: {describe_blas()}")
    section_naive(args.quick)
    section_floor(args.quick)
    section_training(args.quick)


if __name__ == "__main__":
    main()
