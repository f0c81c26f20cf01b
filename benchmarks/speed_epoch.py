"""Sections a and c of ``bench_speed.py``: one SGD epoch against the matrix-product floor and
against scikit-learn, through the library, the estimator and the CLI; and the CLI's peak memory.

The floor is what any minibatch epoch must do: for every batch ``X_b`` (contiguous rows),
``X_b @ W`` and ``X_b.T @ dS``. It is measured at every BLAS thread count and at the count the
library runs with (numpy's BLAS default, which slopelab leaves alone); ratios are against the
best of them, the floor this machine allows.

Every candidate is checked to have run one whole epoch (no divergence, no early stop), so a
fast time can never come from a run that stopped early.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from baselines import sgd_classifier
from bench_data import Splits
from timing import (
    MEMORY,
    SPEED,
    Row,
    blas_threads,
    heading,
    interleaved,
    run_measured,
    seconds_text,
    threads,
    verdict,
)

import slopelab
from slopelab import LinearClassifier
from slopelab.history import Budget
from slopelab.train import sgd

LOSSES = {"softmax": "log_loss", "svm": "hinge"}  # slopelab's loss: SGDClassifier's
BATCH = 256
REG = 1e-4
RATE = 1e-4  # fixed: "auto" would add its curvature estimate to the epoch
FLOOR_TARGET, SPEEDUP_TARGET, GROWTH_TARGET = 1.2, 8.0, 1.2


class IncompleteRun(SystemExit):
    """A candidate did not train one whole epoch: its time would be a wrong figure."""


def check(ok: bool, what: str, detail: str) -> None:
    if not ok:
        raise IncompleteRun(f"{what} did not train one whole epoch ({detail}); no figure printed")


def floor_epoch(X: np.ndarray, num_classes: int) -> Callable[[], None]:
    """``X_b @ W`` and ``X_b.T @ dS`` for every batch of one epoch, on contiguous slices."""
    W = np.full((X.shape[1], num_classes), 1e-3, dtype=X.dtype)
    dS = np.full((BATCH, num_classes), 1e-3, dtype=X.dtype)

    def run() -> None:
        for start in range(0, len(X), BATCH):
            X_b = X[start : start + BATCH]
            X_b @ W
            X_b.T @ dS[: len(X_b)]

    return run


def with_threads(count: int, run: Callable[[], None]) -> Callable[[], None]:
    def limited() -> None:
        with threads(count):
            run()

    return limited


def library_epoch(loss: str, data: Splits) -> Callable[[], None]:
    def run() -> None:
        history = sgd(
            loss, data.X_train, data.y_train, budget=Budget(epochs=1), reg=REG,
            learning_rate=RATE, batch_size=BATCH, rng=0,
        )  # fmt: skip
        detail = f"status {history.status}, {history.examples} examples: {history.message}"
        done = history.status == "completed" and history.examples == len(data.y_train)
        check(done, f"slopelab.train.sgd ({loss})", detail)

    return run


def estimator_epoch(loss: str, data: Splits) -> Callable[[], None]:
    steps = math.ceil(len(data.y_train) / BATCH)

    def run() -> None:
        model = LinearClassifier(
            loss=loss, learning_rate=RATE, reg=REG, batch_size=BATCH, epochs=1, random_state=0
        ).fit(data.X_train, data.y_train)
        detail = f"n_iter_ {model.n_iter_}, t_ {model.t_} of {steps} updates"
        check(model.n_iter_ == 1 and model.t_ == steps, f"LinearClassifier ({loss})", detail)

    return run


def sklearn_epoch(loss: str, data: Splits) -> Callable[[], None]:
    def run() -> None:
        model = sgd_classifier(LOSSES[loss], REG, max_iter=1, tol=None)
        model.fit(data.X_train64, data.y_train)
        check(model.n_iter_ == 1, f"SGDClassifier ({loss})", f"n_iter_ {model.n_iter_}")

    return run


def child_environment() -> dict[str, str]:
    """The child imports the very slopelab this process runs (a worktree, an install)."""
    root = str(Path(slopelab.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


@dataclass
class CliRuns:
    """What each ``slopelab train`` run reported: its own training seconds, and peak RSS."""

    seconds: list[float] = field(default_factory=list)
    peak_bytes: list[int] = field(default_factory=list)


def cli_train(npz: Path, workdir: Path, loss: str, preprocess: str, runs: CliRuns) -> None:
    args = [
        "train", "--data", str(npz), "--loss", loss,
        "--preprocess", preprocess, "--learning-rate", str(RATE), "--reg", str(REG),
        "--batch-size", str(BATCH), "--epochs", "1", "--seed", "0", "--json", "--no-progress",
        "--out", str(workdir / "runs"),
    ]  # fmt: skip
    child = run_measured("slopelab", args, cwd=workdir, env=child_environment())
    what = f"slopelab train --loss {loss} on {npz.name}"
    check(child.returncode == 0, what, f"exit {child.returncode}: {child.stderr.strip()[-500:]}")
    result = json.loads(child.stdout)
    detail = f"status {result['status']}, {result['epochs']} epochs: {result['message']}"
    check(result["status"] == "completed" and math.isclose(result["epochs"], 1.0), what, detail)
    runs.seconds.append(float(result["seconds"]))
    runs.peak_bytes.append(child.peak_bytes)


def write_npz(path: Path, data: Splits, fraction: float = 1.0) -> int:
    """The splits as a slopelab ``.npz`` (test rows halved into val and test); returns the
    bytes its arrays take in memory."""
    rows = max(int(len(data.y_train) * fraction), BATCH)
    half = max(int(len(data.y_test) * fraction) // 2, 1)
    arrays = {
        "X": data.X_train[:rows], "y": data.y_train[:rows],
        "X_val": data.X_test[:half], "y_val": data.y_test[:half],
        "X_test": data.X_test[half : 2 * half], "y_test": data.y_test[half : 2 * half],
    }  # fmt: skip
    np.savez(path, **arrays)
    return sum(array.nbytes for array in arrays.values())


def median(values: list[float]) -> float:
    return float(np.median(values))


def epoch_rows(data: Splits, repeats: int, workdir: Path) -> tuple[list[Row], dict[str, CliRuns]]:
    """Section a; also returns the CLI runs (their peak memory is part of section c)."""
    npz = workdir / "epoch.npz"
    write_npz(npz, data)
    num_classes = int(data.y_train.max()) + 1
    default_threads = blas_threads() or 1
    floor = floor_epoch(data.X_train, num_classes)
    counts = range(1, (os.cpu_count() or 1) + 1)
    candidates = {"floor default": floor}
    candidates |= {f"floor {count}": with_threads(count, floor) for count in counts}
    cli_runs = {loss: CliRuns() for loss in LOSSES}
    for loss in LOSSES:
        candidates[f"{loss} library"] = library_epoch(loss, data)
        candidates[f"{loss} estimator"] = estimator_epoch(loss, data)
        candidates[f"{loss} cli"] = lambda loss=loss: cli_train(
            npz, workdir, loss, "none", cli_runs[loss]
        )
        candidates[f"{loss} sklearn"] = sklearn_epoch(loss, data)
    data.X_train64  # noqa: B018 (converted once, before the clock starts)
    times = interleaved(candidates, repeats)
    steps = math.ceil(len(data.y_train) / BATCH)
    rows = [
        heading(
            f"a. one epoch on {data.description}, float32, batch {BATCH}, reg {REG:g}, fixed "
            f"learning rate {RATE:g}; medians of {repeats}; ratio = seconds / best floor; "
            f"targets: an epoch <= {FLOOR_TARGET}x the floor and >= {SPEEDUP_TARGET:g}x "
            "faster than SGDClassifier"
        )
    ]
    floors, best = floor_rows(times, default_threads, steps)
    rows += floors
    library_floor = times["floor default"]
    for loss, sklearn_loss in LOSSES.items():
        rows += loss_rows(loss, sklearn_loss, times, cli_runs[loss], best, library_floor)
    return rows, cli_runs


def floor_rows(times: dict[str, float], default_threads: int, steps: int):
    """The floor at the library's thread count and at each count (``times["floor default"]``,
    ``times["floor 1"]``, ...), and the best of them all, which every ratio is taken against."""
    labels = {
        "floor default": f"floor: X_b @ W and X_b.T @ dS over the {steps} batches, the "
        f"library's BLAS threads ({default_threads})"
    }
    for key in times:
        if key.startswith("floor ") and key != "floor default":
            count = int(key.split()[1])
            labels[key] = f"floor at {count} BLAS thread{'s' if count > 1 else ''}"
    best_key = min(labels, key=lambda key: times[key])
    best = times[best_key]
    rows = [
        Row(
            label + (" (best)" if key == best_key else ""),
            seconds_text(times[key]),
            times[key] / best,
            depends=SPEED,
        )
        for key, label in labels.items()
    ]
    return rows, best


def loss_rows(loss, sklearn_loss, times, cli: CliRuns, best: float, library_floor: float):
    cli_seconds = median(cli.seconds)
    own = {
        "library": ("slopelab.train.sgd(budget=Budget(epochs=1))", times[f"{loss} library"]),
        "estimator": ("LinearClassifier(epochs=1).fit", times[f"{loss} estimator"]),
        "CLI": ("slopelab train --epochs 1, the 'seconds' it reports", cli_seconds),
    }
    rows = []
    for label, seconds in own.values():
        ratio = seconds / best
        measured = (
            f"{seconds_text(seconds)} ({seconds / library_floor:.2f}x the library-threads floor)"
        )
        check_text = verdict(ratio, at_most=FLOOR_TARGET)
        rows.append(
            Row(f"{loss}: {label}", measured, ratio, f"<= {FLOOR_TARGET}", check_text, SPEED)
        )
    wall = times[f"{loss} cli"]
    rows.append(
        Row(
            f"{loss}: slopelab train, wall time of the whole command (start-up, loading, "
            "evaluation, run folder)",
            seconds_text(wall),
            wall / best,
            depends=SPEED,
        )
    )
    baseline = times[f"{loss} sklearn"]
    rows.append(
        Row(
            f"{loss}: SGDClassifier(loss={sklearn_loss}, max_iter=1, tol=None, n_jobs=2), float64",
            seconds_text(baseline),
            baseline / best,
            depends=SPEED,
        )
    )
    for name, (_, seconds) in own.items():
        speedup = baseline / seconds
        rows.append(
            Row(
                f"{loss}: speed-up over SGDClassifier, {name} (ratio = its seconds / ours)",
                f"{seconds_text(baseline)} / {seconds_text(seconds)}",
                speedup,
                f">= {SPEEDUP_TARGET:g}",
                verdict(speedup, at_least=SPEEDUP_TARGET),
                SPEED,
            )
        )
    return rows


def memory_rows(data: Splits, workdir: Path, epoch_runs: dict[str, CliRuns]) -> list[Row]:
    """Section c: peak RSS of ``slopelab train`` against the size of its data."""
    sizes, peaks = {}, {}
    for name, fraction in (("full", 1.0), ("half", 0.5), ("tiny", 0.0)):
        npz = workdir / f"memory-{name}.npz"
        sizes[name] = write_npz(npz, data, fraction)
        runs = CliRuns()
        cli_train(npz, workdir, "softmax", "auto", runs)
        peaks[name] = runs.peak_bytes[0]
        npz.unlink()
    full = sizes["full"]
    growth = (peaks["full"] - peaks["half"]) / (sizes["full"] - sizes["half"])

    def mb(count: float) -> str:
        return f"{count / 1e6:,.1f} MB"

    unpreprocessed = max(epoch_runs["softmax"].peak_bytes)
    return [
        heading(
            "c. peak memory (RSS) of `slopelab train --loss softmax --epochs 1` on a .npz, in "
            "a child process, measured once each; ratio = peak / the data's size in memory"
        ),
        Row("the data in memory: X and y of every split (float32, int64)", mb(full), 1.0),
        Row(
            "slopelab train, default preprocessing (auto = standardize)",
            mb(peaks["full"]),
            peaks["full"] / full,
            depends=MEMORY,
        ),
        Row(
            "slopelab train --preprocess none (section a's runs, the largest)",
            mb(unpreprocessed),
            unpreprocessed / full,
            depends=MEMORY,
        ),
        Row(
            f"the same on half the rows ({mb(sizes['half'])} of data), default preprocessing",
            mb(peaks["half"]),
            peaks["half"] / sizes["half"],
            depends=MEMORY,
        ),
        Row(
            f"start-up: the same on {BATCH} rows ({mb(sizes['tiny'])} of data)",
            mb(peaks["tiny"]),
            peaks["tiny"] / full,
            depends=MEMORY,
        ),
        Row(
            "growth with the data: (peak - peak on half) / (data - half the data); "
            "1 = the data alone, 2 = one extra copy",
            "",
            growth,
            f"<= {GROWTH_TARGET}",
            verdict(growth, at_most=GROWTH_TARGET),
            MEMORY,
        ),
    ]
