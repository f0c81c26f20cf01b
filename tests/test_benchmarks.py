"""The benchmark scripts: the quick run prints every row of its table with numbers that parse,
and the measuring tools measure what they claim (peak memory, matched objectives, whole
epochs). No timing is asserted: timings belong to the machine, not to the code."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from baselines import fit_logistic, matched_c, torch_softmax_trainer  # noqa: E402
from bench_data import Splits, cifar_shaped  # noqa: E402
from speed_epoch import (  # noqa: E402
    CliRuns,
    IncompleteRun,
    cli_train,
    estimator_epoch,
    floor_rows,
    library_epoch,
    write_npz,
)
from timing import (  # noqa: E402
    COLUMNS,
    Row,
    heading,
    interleaved,
    render_table,
    run_measured,
    seconds_text,
    verdict,
)

from slopelab.data import load_dataset  # noqa: E402
from slopelab.estimator import DivergedError  # noqa: E402
from slopelab.losses import get_loss  # noqa: E402

EPOCH_ROWS = [
    "floor: X_b @ W and X_b.T @ dS over the 10 batches, the library's BLAS threads",
    "floor at 1 BLAS thread",
]
for _loss, _sklearn in (("softmax", "log_loss"), ("svm", "hinge")):
    EPOCH_ROWS += [
        f"{_loss}: slopelab.train.sgd(budget=Budget(epochs=1))",
        f"{_loss}: LinearClassifier(epochs=1).fit",
        f"{_loss}: slopelab train --epochs 1, the 'seconds' it reports",
        f"{_loss}: slopelab train, wall time of the whole command",
        f"{_loss}: SGDClassifier(loss={_sklearn}, max_iter=1, tol=None, n_jobs=2)",
        f"{_loss}: speed-up over SGDClassifier, library",
        f"{_loss}: speed-up over SGDClassifier, estimator",
        f"{_loss}: speed-up over SGDClassifier, CLI",
    ]
EXPECTED_ROWS = {
    **dict.fromkeys(EPOCH_ROWS, 1),
    "slopelab LinearClassifier, defaults (auto rate = ": 1,
    "SGDClassifier(log_loss, alpha=0.0002, n_jobs=2), partial_fit epoch by epoch": 1,
    "LogisticRegression(lbfgs, C=1/(2 reg N)=": 3,  # b: to the target, to convergence; d3
    "the data in memory": 1,
    "slopelab train, default preprocessing": 1,
    "slopelab train --preprocess none": 1,
    "the same on half the rows": 1,
    "start-up: the same on 256 rows": 1,
    "growth with the data": 1,
    "svm, N=50 D=300 C=10: vectorized": 1,
    "svm, N=50 D=300 C=10: loops, numpy rows": 1,
    "svm, N=50 D=300 C=10: half-vectorized": 1,
    "svm, N=20 D=30 C=10: scalar loops": 1,
    "softmax, N=50 D=300 C=10: half-vectorized": 1,
    "softmax, N=20 D=30 C=10: scalar loops": 1,
    "N=2000 D=3072 C=10 float32: floor": 1,
    "N=2000 D=3072 C=10 float32: svm loss + gradient": 1,
    "N=2000 D=3072 C=10 float32: softmax loss + gradient": 1,
    "slopelab LinearClassifier, as run: ": 1,
    "slopelab LinearClassifier, 1 BLAS thread": 1,
    "PyTorch loop, as run: ": 1,
    "PyTorch loop, 1 thread": 1,
    "SGDClassifier(log_loss, alpha=0.0002, max_iter=5, n_jobs=2)": 1,
}
HEADINGS = ["a. one epoch", "b. time to 90% test accuracy", "c. peak memory", "d1.", "d2.", "d3."]
TARGET_ROWS = 3 * 2 * 2 + 1  # floor and speed-up per candidate and loss; memory growth


def parse_table(stdout: str) -> tuple[list[str], list[list[str]]]:
    """The bold heading texts and the cells of every other row, in order."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == list(COLUMNS)
    assert re.fullmatch(r"\|(-+\|){6}", lines[1])
    headings, rows = [], []
    for line in lines[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 6, line
        if cells[0].startswith("**"):
            headings.append(cells[0].strip("*"))
        else:
            rows.append(cells)
    return headings, rows


@pytest.mark.slow
def test_quick_run_prints_every_row_with_numbers_that_parse(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_speed.py"), "--quick"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for label in ("- machine: ", "- software: ", "- BLAS: ", "- BLAS settings from the env"):
        assert label in done.stdout
    assert re.search(r"numpy \d+\.\d+", done.stdout)
    assert re.search(r"\d+ threads?\) from numpy", done.stdout)  # the BLAS thread count
    assert "- threads: each library's default" in done.stdout
    headings, rows = parse_table(done.stdout)
    assert [next(h for h in headings if h.startswith(prefix)) for prefix in HEADINGS] == [
        h for h in headings if h.startswith(tuple(HEADINGS))
    ]
    assert len(headings) == len(HEADINGS)
    labels = [cells[0] for cells in rows]
    for expected, times in EXPECTED_ROWS.items():
        assert sum(label.startswith(expected) for label in labels) == times, expected
    for figure, measured, ratio, target, check, depends in rows:
        assert "nan" not in measured.lower() and "inf" not in measured.lower(), figure
        if ratio != "-":
            assert math.isfinite(float(ratio.replace(",", ""))), (figure, ratio)
        assert (check == "smoke") == bool(target), (figure, target, check)  # --quick
        assert bool(depends) or figure.startswith("the data in memory"), figure
    assert sum(1 for cells in rows if cells[4]) == TARGET_ROWS


def test_parse_table_rejects_a_row_without_a_number():
    table = render_table([heading("a. x"), Row("floor", "1 s", 1.0, depends="machine")])
    assert parse_table(table)[1] == [["floor", "1 s", "1.00", "", "", "machine"]]
    broken = table.replace("1.00", "n/a ")
    with pytest.raises(ValueError, match="could not convert"):
        for cells in parse_table(broken)[1]:
            float(cells[2])


def test_table_cells_escape_the_column_separator():
    table = render_table([Row("a | b", "c", None)])
    assert "a \\| b" in table
    assert parse_table(table)[1][0][0] == "a \\| b"


@pytest.mark.parametrize(
    ("ratio", "limits", "expected"),
    [
        (1.2, {"at_most": 1.2}, "PASS"),
        (1.2001, {"at_most": 1.2}, "MISS"),
        (8.0, {"at_least": 8.0}, "PASS"),
        (7.99, {"at_least": 8.0}, "MISS"),
        (math.nan, {"at_most": 1.2}, "MISS"),
        (math.nan, {"at_least": 8.0}, "MISS"),
        (math.inf, {"at_least": 8.0}, "MISS"),
    ],
)
def test_verdict(ratio, limits, expected):
    assert verdict(ratio, **limits) == expected


def test_interleaved_runs_every_candidate_once_a_round_in_changing_orders():
    calls: list[str] = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "ABCD"}
    times = interleaved(candidates, repeats=6)
    assert sorted(times) == list("ABCD") and all(t >= 0 for t in times.values())
    rounds = [calls[start : start + 4] for start in range(0, 24, 4)]
    assert all(sorted(one) == list("ABCD") for one in rounds)
    followers_of_a = {one[one.index("A") + 1] for one in rounds if one[-1] != "A"}
    assert len({tuple(one) for one in rounds}) > 1 and len(followers_of_a) > 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.00099949, "999 µs"),
        (0.0009996, "1.0 ms"),
        (0.9999, "999.9 ms"),
        (0.99996, "1.00 s"),
        (12.345, "12.35 s"),
    ],
)
def test_seconds_text_never_prints_a_thousand_of_a_unit(seconds, text):
    assert seconds_text(seconds) == text


def test_peak_memory_is_the_childs_own_not_the_parents(tmp_path):
    """ru_maxrss of a child counts the RSS of the parent it was forked from (recorded at
    exec); the child must report its own peak, or the benchmark measures itself."""
    (tmp_path / "hog.py").write_text("block = b'x' * 300_000_000\n")
    ballast = np.ones(400_000_000 // 8)  # the parent holds 400 MB, touched
    small = run_measured("platform", [], cwd=tmp_path)
    big = run_measured("hog", [], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert small.returncode == 0 and big.returncode == 0, (small.stderr, big.stderr)
    assert small.peak_bytes < 100e6 < 300e6 < big.peak_bytes < 400e6
    assert ballast[-1] == 1.0


def test_the_child_exit_code_and_output_come_back(tmp_path):
    (tmp_path / "fails.py").write_text("import sys\nprint('out')\nsys.exit('went wrong')\n")
    done = run_measured("fails", [], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert (done.returncode, done.stdout, done.stderr.strip()) == (1, "out\n", "went wrong")
    assert done.peak_bytes > 0


def test_matched_c_gives_slopelab_objective():
    """At LogisticRegression's optimum with C = 1/(2 reg N), slopelab's own gradient of
    ``mean softmax loss + reg * sum(W**2)`` is zero; with the factor 2 missing it is not."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = rng.integers(0, 3, 120)
    reg = 0.05

    def slopelab_gradient(C: float) -> float:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
        params = {"W": model.coef_.T.copy(), "b": model.intercept_.copy()}
        _, grads = get_loss("softmax")(params, X, y, reg)
        return max(np.abs(grads["W"]).max(), np.abs(grads["b"]).max())

    assert slopelab_gradient(matched_c(reg, len(y))) < 1e-7
    assert slopelab_gradient(1.0 / (reg * len(y))) > 1e-3


def test_logistic_fits_report_convergence_instead_of_hiding_it():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 8))
    y = rng.integers(0, 4, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape, nothing may be silenced
        stopped = fit_logistic(X, y, reg=1e-4, max_iter=2)
        finished = fit_logistic(X, y, reg=1e-4, max_iter=1000)
    assert not stopped.converged
    assert stopped.describe().startswith("NOT converged after 2 iterations: lbfgs failed")
    assert finished.converged and finished.iterations < 1000
    assert finished.describe() == f"converged in {finished.iterations} iterations"


def test_the_pytorch_loop_starts_from_a_seed():
    """With a learning rate of 0 the predictions are the start's: alike in every run, so its
    accuracy is a figure, not the luck of an unseeded initialization."""
    data = cifar_shaped(400, 6, 3)
    train = torch_softmax_trainer(
        data.X_train, data.y_train, data.X_test, epochs=1, batch_size=50, learning_rate=0.0,
        reg=1e-4,
    )  # fmt: skip
    runs = [train() for _ in range(4)]
    for run in runs[1:]:
        np.testing.assert_array_equal(run, runs[0])
    assert runs[0].shape == data.y_test.shape


def test_the_npz_holds_the_rows_the_in_process_candidates_train_on(tmp_path):
    data = cifar_shaped(600, 12, 3)
    size = write_npz(tmp_path / "data.npz", data)
    loaded = load_dataset(str(tmp_path / "data.npz"))
    np.testing.assert_array_equal(loaded.X_train, data.X_train)
    np.testing.assert_array_equal(loaded.y_train, data.y_train)
    assert len(loaded.y_val) == len(loaded.y_test) == len(data.y_test) // 2
    held_out = 2 * (len(data.y_test) // 2)  # val and test rows
    assert size == data.X_train.nbytes + data.y_train.nbytes + held_out * (12 * 4 + 8)


@pytest.mark.parametrize(
    ("times", "best_label"),
    [
        ({"floor default": 1.0, "floor 1": 1.5, "floor 2": 2.0}, "the library's BLAS threads"),
        ({"floor default": 2.0, "floor 1": 1.5, "floor 2": 2.0}, "floor at 1 BLAS thread"),
        ({"floor default": 2.0, "floor 1": 3.0, "floor 2": 1.0}, "floor at 2 BLAS threads"),
    ],
)
def test_the_best_floor_is_the_fastest_of_every_floor_measured(times, best_label):
    """Ratios are taken against the best floor: none can be below 1, whichever was fastest."""
    rows, best = floor_rows({**times, "softmax library": 0.1}, default_threads=2, steps=10)
    assert best == min(times.values())
    assert len(rows) == 3 and all(row.ratio >= 1.0 for row in rows)
    marked = [row.figure for row in rows if row.figure.endswith(" (best)")]
    assert len(marked) == 1 and best_label in marked[0]


def diverging_data() -> Splits:
    rng = np.random.default_rng(2)
    X = (1e6 * rng.standard_normal((600, 20))).astype(np.float32)
    y = rng.integers(0, 3, 600)
    return Splits("huge", X, y, X[:10], y[:10])


def test_an_epoch_that_stops_early_is_an_error_not_a_figure(tmp_path):
    """A diverged epoch ends early and would look fast: the benchmark refuses to time it."""
    with pytest.raises(IncompleteRun, match=r"sgd \(softmax\) did not train one whole epoch"):
        library_epoch("softmax", diverging_data())()
    with pytest.raises(DivergedError, match="loss diverged at step 1"):
        estimator_epoch("softmax", diverging_data())()
    write_npz(tmp_path / "huge.npz", diverging_data())
    with pytest.raises(IncompleteRun, match=r"slopelab train --loss svm on huge.npz did not"):
        cli_train(tmp_path / "huge.npz", tmp_path, "svm", "none", CliRuns())


@pytest.mark.slow
def test_quick_stream_benchmark_prints_every_row_and_deletes_its_file(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    folder = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_stream.py"), "--quick", "--path", str(folder)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert not folder.exists()  # deleted without --keep
    assert "- training BLAS: " in done.stdout
    _, rows = parse_table(done.stdout)
    figures = {cells[0]: cells for cells in rows}
    for figure in (
        "one epoch, streamed",
        "examples/s, streamed",
        "peak RSS (VmHWM) vs the 1.5 GB bound",
        "streamed bytes/s vs sequential disk read",
        "examples/s, in memory",
        "streamed rate / in-memory rate",
    ):
        assert figure in figures
    assert figures["peak RSS (VmHWM) vs the 1.5 GB bound"][4] == "smoke"  # never PASS/MISS
    assert float(figures["streamed rate / in-memory rate"][2]) > 0


@pytest.mark.slow
def test_quick_mpi_benchmark_compares_one_process_with_two_ranks():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_mpi.py"), "--quick"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "- BLAS: " in done.stdout and "mpiexec -n 2" in done.stdout
    _, rows = parse_table(done.stdout)
    figures = {cells[0]: cells for cells in rows}
    for problem in ("digits", "cifar-sized"):
        one = figures[f"{problem}: epoch, 1 process"]
        two = figures[f"{problem}: epoch, 2 ranks"]
        assert figures[f"{problem}: epoch, 1 process with 2 BLAS threads"][4] == "smoke"
        assert one[1].endswith(" ms") and two[1].endswith(" ms")
        # times are printed to 0.1 ms: the ratio must lie within what their rounding allows
        one_ms, two_ms, half = float(one[1][:-3]), float(two[1][:-3]), 0.05
        low, high = (one_ms - half) / (two_ms + half), (one_ms + half) / max(two_ms - half, 1e-9)
        assert low - 0.005 <= float(two[2]) <= high + 0.005
        assert two[4] == "smoke"  # never PASS/MISS from a smoke run
        assert "of the epoch" in figures[f"{problem}: time inside Allreduce, 2 ranks"][1]


@pytest.mark.slow
def test_quick_web_benchmark_prints_the_api_times_and_the_rate_each_speed_reaches():
    """The shape of bench_web.py's output, not its speeds: those belong to the machine."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    quick = ["--repeats", "2", "--pace-seconds", "0.5", "--pace-repeats", "1"]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_web.py"), *quick],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^BLAS: .*\d+ threads?\)", done.stdout, re.MULTILINE)
    for name in ("step: compute", "step: HTTP round trip", "landscape: compute"):
        assert re.search(rf"{name}\s+\d+\.\d\d ms", done.stdout), name
    rows = re.findall(
        r"requested +(\d+) / s +achieved +(\S+) / s +shown +(\S+) / s +achieved / requested (\S+)",
        done.stdout,
    )
    if not Path("/usr/bin/chromium").exists():
        assert "not measured: needs Chromium at /usr/bin/chromium" in done.stdout
        return
    assert [int(requested) for requested, *_ in rows] == [30, 300]
    for requested, achieved, shown, ratio in rows:
        assert float(achieved) > 0 and float(shown) > 0  # the run ran and the page said so
        # the ratio printed to 2 decimals is that of the achieved rate printed to 1
        assert float(ratio) == pytest.approx(float(achieved) / int(requested), abs=0.006)
