"""What one SGD epoch on sparse, text-like data costs, and where the time goes.

The problem: ``N`` rows of ``nnz`` nonzeros each (columns drawn from a Zipf-like law, as words
are; positive tf-idf-like values, each row scaled to unit norm), ``D`` features, ``C`` classes;
softmax, l2 penalty, plain SGD, batches of ``B``. slopelab keeps ``W (D, C)`` dense and updates
all of it every step (no lazy or scaled updates), so a step costs two sparse products of
``B * nnz * C`` multiply-adds and a few dense passes over ``D * C`` weights. This script times:

1. one epoch of ``slopelab.train.sgd`` as a user runs it (median of ``--repeats``);
2. the same steps taken apart, each part timed over the whole epoch: the batch gather, the two
   sparse products, the loss on the (B, C) scores, the penalty gradient ``dW += 2 reg W``, the
   update ``W + (-lr dW)``, and the norms the loop records (gradient, weights, update);
3. for reference, one epoch (``max_iter=1``) of scikit-learn's ``SGDClassifier`` (log loss,
   one-vs-all, per-example updates with a scaled W), on the same data.

    python benchmarks/bench_sparse.py            # N=20,000, D=100,000, nnz=100, C=20
    python benchmarks/bench_sparse.py --quick    # a smoke run at small sizes

Timings belong to the machine: the header says which, and the BLAS threads.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from timing import add_threads_option, limit_all_threads, machine_lines

from slopelab import Budget, get_loss, sgd
from slopelab.linear import init_params
from slopelab.optim import add_updates, get_optimizer
from slopelab.reductions import column_sums
from slopelab.regularization import add_penalty_gradient
from slopelab.train import gradient_norm


@dataclass(frozen=True)
class Sizes:
    rows: int
    features: int
    nonzeros: int
    classes: int
    batch: int = 200


FULL = Sizes(20_000, 100_000, 100, 20)
QUICK = Sizes(2_000, 5_000, 20, 5)
REG, LEARNING_RATE = 1e-5, 0.5


def text_like(sizes: Sizes, seed: int = 0) -> tuple[scipy.sparse.csr_array, np.ndarray]:
    """Rows of ``nonzeros`` distinct columns drawn from a Zipf law (``p(rank) ~ 1/rank``) whose
    ranks the label rotates, so the classes are learnable; positive values, unit-norm rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, sizes.classes, sizes.rows)
    cumulative = np.cumsum(1.0 / np.arange(1, sizes.features + 1))
    cumulative /= cumulative[-1]
    shift = sizes.features // sizes.classes
    indices = np.empty((sizes.rows, sizes.nonzeros), dtype=np.int32)
    for row, label in enumerate(y):
        columns: np.ndarray = np.empty(0, dtype=np.int64)
        while len(columns) < sizes.nonzeros:  # distinct columns, drawn in batches
            ranks = np.searchsorted(cumulative, rng.random(2 * sizes.nonzeros))
            columns = np.unique(np.concatenate([columns, (ranks + label * shift) % sizes.features]))
        indices[row] = np.sort(rng.choice(columns, size=sizes.nonzeros, replace=False))
    values = rng.exponential(1.0, (sizes.rows, sizes.nonzeros))
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    indptr = np.arange(0, sizes.rows * sizes.nonzeros + 1, sizes.nonzeros, dtype=np.int32)
    shape = (sizes.rows, sizes.features)
    return scipy.sparse.csr_array((values.ravel(), indices.ravel(), indptr), shape=shape), y


def epoch_seconds(X, y, sizes: Sizes, repeats: int) -> float:
    times = []
    for repeat in range(repeats):
        started = time.perf_counter()
        sgd("softmax", X, y, budget=Budget(epochs=1), reg=REG, learning_rate=LEARNING_RATE,
            batch_size=sizes.batch, rng=repeat)  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def step_parts(X, y, sizes: Sizes) -> dict[str, float]:
    """Seconds per part of the loop's step, summed over one epoch (the loop's own operations,
    timed one by one)."""
    rng = np.random.default_rng(0)
    loss = get_loss("softmax")
    optimizer = get_optimizer("sgd", learning_rate=LEARNING_RATE)
    params = init_params(sizes.features, sizes.classes, rng)
    state = optimizer.init(params)
    order = rng.permutation(sizes.rows)
    seconds: dict[str, float] = defaultdict(float)

    def timed(part, function, *args):
        started = time.perf_counter()
        result = function(*args)
        seconds[part] += time.perf_counter() - started
        return result

    for start in range(0, sizes.rows, sizes.batch):
        rows = order[start : start + sizes.batch]
        X_batch = timed("gather the batch rows (sparse)", X.__getitem__, rows)
        scores = timed("scores X_b W (sparse product)", X_batch.__matmul__, params["W"])
        scores += params["b"]
        _, dscores = timed("loss on the (B, C) scores", loss.example_loss, scores, y[rows])
        dscores *= 1.0 / len(rows)
        dW = timed("gradient X_b^T dS (sparse product)", X_batch.T.__matmul__, dscores)
        timed("penalty dW += 2 reg W (dense D x C)", add_penalty_gradient, "l2", params["W"],
              REG, dW)  # fmt: skip
        grads = {"W": dW, "b": column_sums(dscores)}
        timed("gradient norm (dense D x C)", gradient_norm, grads)
        updates, state = timed("update rule (dense D x C)", optimizer.update, grads, state, params)
        new_params = timed("W + update (dense D x C)", add_updates, params, updates)
        timed("weight and update norms (dense D x C)", _norms, params, updates)
        params = new_params
    return dict(seconds)


def _norms(params, updates):
    return np.vdot(params["W"], params["W"]), np.vdot(updates["W"], updates["W"])


def sgdclassifier_epoch(X, y) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(loss="log_loss", alpha=REG, max_iter=1, tol=None, random_state=0)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    add_threads_option(parser)
    args = parser.parse_args()
    limit_all_threads(args.threads)
    sizes = QUICK if args.quick else FULL
    repeats = 1 if args.quick else args.repeats
    X, y = text_like(sizes)
    print("\n".join(machine_lines(args.threads)))
    stored = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    print(
        f"\nN={sizes.rows:,} D={sizes.features:,} nnz/row={sizes.nonzeros} C={sizes.classes} "
        f"B={sizes.batch}: X holds {X.nnz:,} nonzeros in {stored:,} bytes (dense: "
        f"{sizes.rows * sizes.features * 8:,}); W has {sizes.features * sizes.classes:,} weights\n"
    )
    epoch = epoch_seconds(X, y, sizes, repeats)
    print(f"| one epoch of slopelab.train.sgd (median of {repeats}) | {epoch:.3f} s |")
    parts = step_parts(X, y, sizes)
    total = sum(parts.values())
    print(f"| the same steps taken apart, sum of the parts | {total:.3f} s |")
    for part, value in parts.items():
        print(f"| - {part} | {value:.3f} s ({100 * value / total:.0f}%) |")
    dense = sum(value for part, value in parts.items() if "dense D x C" in part)
    sparse = sum(value for part, value in parts.items() if "sparse" in part)
    print(f"| all dense D x C work (penalty, update, norms) | {dense:.3f} s "
          f"({100 * dense / total:.0f}%) |")  # fmt: skip
    print(f"| all sparse work (gather, two products) | {sparse:.3f} s "
          f"({100 * sparse / total:.0f}%) |")  # fmt: skip
    print(
        f"| SGDClassifier(log_loss), one epoch, for reference | {sgdclassifier_epoch(X, y):.3f} s |"
    )


if __name__ == "__main__":
    main()
