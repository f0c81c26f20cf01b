"""Streaming rows out of core: the block shuffle, the one-pass statistics, reading batches, and
the training loop on streamed rows (every example once per epoch, same order, resume)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slopelab.checkpoint import load_checkpoint, save_checkpoint
from slopelab.data.errors import DataError
from slopelab.data.npyrows import NpyRows
from slopelab.data.preprocess import Preprocessor
from slopelab.data.stream import StreamedRows, block_order
from slopelab.data.stream_stats import fit_streaming
from slopelab.errors import SlopelabError
from slopelab.history import Budget
from slopelab.linear import accuracy, init_params
from slopelab.losses import get_loss, training_loss
from slopelab.optim import get_optimizer
from slopelab.problem import make_problem
from slopelab.train import DescentConfig, descend, resolve_optimizer, sgd, start_state

KINDS = ("standardize", "center", "scale", "none")
STATISTICS_RTOL = 1e-10  # merged chunk statistics against numpy's pairwise sums: rounding only


def save_rows(path: Path, X: np.ndarray) -> Path:
    np.save(path, X)
    return path


def image_rows(num_rows: int, num_features: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_rows, num_features), dtype=np.uint8)


def labelled(num_rows: int, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose labels a linear model can learn: uint8 pixels or float32 values."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, num_rows)
    X = 60.0 * y[:, None] + 40.0 * rng.random((num_rows, 8))
    return (X.astype(np.uint8) if dtype == "uint8" else X.astype(np.float32)), y


# --- the block shuffle ---------------------------------------------------------------------

sizes = st.integers(1, 300)


@settings(max_examples=150, deadline=None)
@given(sizes, st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32), st.integers(0, 50))
@example(1, 1, 1, 0, 0)
@example(300, 7, 6, 5, 3)
def test_block_order_is_a_permutation_and_a_pure_function(
    num_rows, block_rows, buffer_blocks, seed, epoch
):
    order = block_order(num_rows, block_rows, buffer_blocks, seed, epoch)
    assert order.dtype == np.int64
    assert np.array_equal(np.sort(order), np.arange(num_rows))  # every row exactly once
    again = block_order(num_rows, block_rows, buffer_blocks, seed, epoch)
    assert np.array_equal(order, again)


@settings(max_examples=100, deadline=None)
@given(st.integers(20, 300), st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32))
def test_block_orders_of_different_epochs_differ(num_rows, block_rows, buffer_blocks, seed):
    # With N >= 20 every configuration has at least 2 * 10! equally likely orders (blocks
    # shuffled, rows shuffled in buffers), so two equal epochs would be a bug, not chance.
    orders = [block_order(num_rows, block_rows, buffer_blocks, seed, epoch) for epoch in range(3)]
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(
        orders[0], block_order(num_rows, block_rows, buffer_blocks, seed + 1, 0)
    )


@settings(max_examples=100, deadline=None)
@given(sizes, st.integers(1, 40), st.integers(1, 6), st.integers(0, 1000))
def test_each_buffer_holds_whole_blocks(num_rows, block_rows, buffer_blocks, seed):
    """Reads stay sequential: the rows of a buffer are exactly those of its blocks."""
    order = block_order(num_rows, block_rows, buffer_blocks, seed, 0)
    start = 0
    while start < num_rows:
        first_blocks = set((order[start : start + 1] // block_rows).tolist())
        blocks: set[int] = set()
        stop = start
        while stop < num_rows and len(blocks | {int(order[stop] // block_rows)}) <= buffer_blocks:
            blocks.add(int(order[stop] // block_rows))
            stop += 1
        expected = {
            row
            for b in blocks
            for row in range(b * block_rows, min((b + 1) * block_rows, num_rows))
        }
        assert first_blocks <= blocks
        assert set(order[start:stop].tolist()) == expected
        start = stop


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ((0, 2, 2, 0, 0), "num_rows must be"),
        ((5, 0, 2, 0, 0), "block_rows must be"),
        ((5, 2, 0, 0, 0), "buffer_blocks must be"),
        ((5, 2, 2, -1, 0), "seed must be"),
        ((5, 2, 2, 0, 1.5), "epoch must be an integer"),
    ],
)
def test_block_order_refuses_bad_sizes(arguments, match):
    with pytest.raises(SlopelabError, match=match):
        block_order(*arguments)


# --- statistics in one pass ----------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 120),
    st.integers(1, 50),
    st.integers(1, 30),
    st.sampled_from(KINDS),
    st.sampled_from(["uint8", "float32"]),
    st.integers(0, 1000),
)
def test_streaming_fit_equals_fit_on_the_whole_array(
    tmp_path_factory, num_rows, block_rows, chunk_rows, kind, dtype, seed
):
    rng = np.random.default_rng(seed)
    X = image_rows(num_rows, 7, seed)
    if dtype == "float32":
        X = (1e3 + 50.0 * rng.standard_normal((num_rows, 7))).astype(np.float32)
        X[:, 3] = 2.5  # a constant feature: scale 1, as fit decides
    path = save_rows(tmp_path_factory.mktemp("fit") / "X.npy", X)
    streamed = fit_streaming(NpyRows(path), kind, block_rows=block_rows, chunk_rows=chunk_rows)
    whole = Preprocessor(kind).fit(X)
    np.testing.assert_allclose(streamed.mean_, whole.mean_, rtol=STATISTICS_RTOL, atol=1e-9)
    np.testing.assert_allclose(streamed.scale_, whole.scale_, rtol=STATISTICS_RTOL)
    if kind == "standardize" and dtype == "float32":
        assert streamed.scale_[3] == 1.0


def test_streaming_fit_names_a_row_that_is_not_finite(tmp_path):
    X = np.ones((50, 4), np.float32)
    X[37, 2] = np.nan
    path = save_rows(tmp_path / "X.npy", X)
    with pytest.raises(DataError, match="NaN or infinity in row 37"):
        fit_streaming(NpyRows(path), "standardize", block_rows=16, chunk_rows=5)


# --- reading rows --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("kind", KINDS)
def test_read_gives_the_preprocessed_rows_bit_for_bit(tmp_path, dtype, kind):
    X, _ = labelled(301, dtype)
    path = save_rows(tmp_path / "X.npy", X)
    preprocessor = Preprocessor(kind).fit(X)
    expected = preprocessor.transform_in_place(X.astype(np.float32))  # the in-memory path
    source = StreamedRows(path, preprocessor, seed=4, block_rows=16, buffer_blocks=3)
    buffer = np.empty((50, 8), np.float32)
    for epoch in range(2):
        order = source.epoch_order(epoch)
        for start in range(0, 301, 50):
            batch = source.read(order[start : start + 50], buffer)
            assert batch.dtype == np.float32
            assert np.array_equal(batch, expected[order[start : start + 50]])
    scattered = np.random.default_rng(0).choice(301, 200, replace=False)  # > the cache: per row
    assert np.array_equal(source.read(scattered), expected[scattered])


def test_streamed_split_scores_in_blocks_as_in_memory(tmp_path):
    X, y = labelled(300, "uint8")
    path = save_rows(tmp_path / "X.npy", X)
    preprocessor = Preprocessor("standardize").fit(X)
    rows = preprocessor.transform(X)
    source = StreamedRows(path, preprocessor, block_rows=32)
    params = init_params(8, 3, np.random.default_rng(1), scale=1.0, dtype=np.float32)
    loss = get_loss("softmax")
    assert source.accuracy(params, y) == accuracy(params, rows, y)
    expected = training_loss(loss, params, rows, y, 0.1)
    assert source.loss(loss, params, y, 0.1) == pytest.approx(expected, rel=1e-6)
    assert source.loss_and_accuracy(loss, params, y, 0.1) == pytest.approx(
        (expected, accuracy(params, rows, y)), rel=1e-6
    )


def test_sample_rows_are_the_in_memory_sample(tmp_path):
    from slopelab.autolr import sample_rows

    X, _ = labelled(500, "float32")
    path = save_rows(tmp_path / "X.npy", X)
    preprocessor = Preprocessor("none").fit(X)
    source = StreamedRows(path, preprocessor, block_rows=10)
    assert np.array_equal(sample_rows(source, 64), sample_rows(X, 64))
    assert np.array_equal(sample_rows(source, 600), X)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((3, 4, 2), np.uint8), r"shape \(3, 4, 2\); streaming reads C-ordered \(N, D\)"),
        (np.zeros((3, 4), np.float64), "float64 array"),
        (np.zeros((3, 4), ">f4"), ">f4 array"),
        (np.asfortranarray(np.zeros((3, 4), np.uint8)), "Fortran-ordered"),
        (np.zeros((0, 4), np.uint8), "holds no rows"),
    ],
)
def test_unstreamable_files_are_refused_by_name(tmp_path, array, match):
    path = save_rows(tmp_path / "X.npy", array)
    with pytest.raises(DataError, match=match):
        NpyRows(path)


def test_a_truncated_or_foreign_file_is_refused(tmp_path):
    path = save_rows(tmp_path / "X.npy", np.zeros((10, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match=r"truncated: its header promises 10 rows of 4 uint8"):
        NpyRows(path)
    (tmp_path / "text.npy").write_text("not numpy")
    with pytest.raises(DataError, match=r"is not a readable \.npy file"):
        NpyRows(tmp_path / "text.npy")
    with pytest.raises(DataError, match="does not exist"):
        NpyRows(tmp_path / "missing.npy")


# --- the training loop on streamed rows ----------------------------------------------------


def streamed_problem(tmp_path, dtype="uint8", num_rows=230, seed=3, **layout):
    X, y = labelled(num_rows, dtype)
    path = save_rows(tmp_path / f"X-{dtype}.npy", X)
    preprocessor = Preprocessor("standardize").fit(X)
    layout = {"block_rows": 16, "buffer_blocks": 2, **layout}
    source = StreamedRows(path, preprocessor, seed=seed, **layout)
    return source, y, preprocessor.transform_in_place(X.astype(np.float32))


class RecordingRows:
    """A streamed source that remembers the indices of every read."""

    def __init__(self, source):
        self.source, self.reads = source, []

    def __getattr__(self, name):
        return getattr(self.source, name)

    def read(self, indices, out=None):
        self.reads.append(np.array(indices))
        return self.source.read(indices, out)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_the_loop_visits_every_example_once_per_epoch(tmp_path, dtype):
    source, y, _ = streamed_problem(tmp_path, dtype)
    recording = RecordingRows(source)
    config = DescentConfig(batch_size=32, eval_every=None)
    problem = make_problem("softmax", recording, y)
    optimizer = get_optimizer("sgd", learning_rate=0.1)
    history = descend(problem, optimizer, config, Budget(epochs=3), np.random.default_rng(0))
    assert history.status == "completed"
    steps = -(-230 // 32)
    assert len(recording.reads) == 3 * steps
    epochs = [np.concatenate(recording.reads[e * steps : (e + 1) * steps]) for e in range(3)]
    for epoch, seen in enumerate(epochs):
        assert np.array_equal(np.sort(seen), np.arange(230))
        assert np.array_equal(seen, block_order(230, 16, 2, 3, epoch))


def run_streamed(source, y, rng, state=None, stop_after=None):
    """Momentum SGD for 3 epochs (a checkpointable state: velocity, order, counters)."""
    problem = make_problem("softmax", source, y)
    optimizer = get_optimizer("momentum", learning_rate=0.05)
    state = state if state is not None else start_state(problem, optimizer, rng)
    history = descend(
        problem,
        optimizer,
        DescentConfig(batch_size=20, eval_every=1),
        Budget(epochs=3),
        rng,
        state=state,
        stop_requested=lambda: stop_after is not None and state.step >= stop_after,
    )
    return problem, optimizer, state, history


class ReplayedOrders:
    """An RNG whose permutations are given orders, to run the in-memory loop in a given order."""

    def __init__(self, orders):
        self.orders = list(orders)

    def permutation(self, num_examples):
        return self.orders.pop(0)


def test_streamed_and_in_memory_training_agree_bit_for_bit_in_the_same_order(tmp_path):
    """The same preprocessing statistics, order and start: the same batches, so the same bits
    (the auto learning rate too: it is measured on the same sample rows)."""
    source, y, rows = streamed_problem(tmp_path)
    params = init_params(8, 3, np.random.default_rng(2), dtype=np.float32)
    config = DescentConfig(reg=1e-3, batch_size=20)
    results = []
    for X, rng in (
        (source, np.random.default_rng(0)),
        (rows, ReplayedOrders(block_order(230, 16, 2, 3, epoch) for epoch in range(3))),
    ):
        problem = make_problem("softmax", X, y)
        optimizer = resolve_optimizer("adam", "auto", problem.X, 1e-3, problem=problem)
        results.append(descend(problem, optimizer, config, Budget(epochs=3), rng, params))
    streamed, in_memory = results
    for key in ("W", "b"):
        assert np.array_equal(streamed.params[key], in_memory.params[key])
    assert [s.loss for s in streamed.steps] == [s.loss for s in in_memory.steps]
    assert streamed.epochs[-1].train_accuracy == in_memory.epochs[-1].train_accuracy


@pytest.mark.parametrize("stop_after", [5, 12, 17, 30])
def test_resume_from_a_checkpoint_ends_with_the_same_params(tmp_path, stop_after):
    """Stopped mid-epoch (5, 17, 30 of 12 steps an epoch) or at an epoch's end (12), saved,
    and continued on a freshly opened file with another RNG object: the same final bits."""
    source, y, _ = streamed_problem(tmp_path)
    *_, whole = run_streamed(source, y, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    _, _, state, stopped = run_streamed(source, y, rng, stop_after=stop_after)
    assert stopped.status == "interrupted"
    save_checkpoint(tmp_path, state, rng)
    reopened, _, _ = streamed_problem(tmp_path)
    problem = make_problem("softmax", reopened, y)
    optimizer = get_optimizer("momentum", learning_rate=0.05)
    rng = np.random.default_rng(12345)
    state = load_checkpoint(tmp_path, problem, optimizer, rng)
    *_, resumed = run_streamed(reopened, y, rng, state=state)
    assert resumed.status == "completed"
    for key in ("W", "b"):
        assert np.array_equal(resumed.params[key], whole.params[key])


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (DescentConfig(batch_size=None), "full-batch gradient descent needs all 230 training"),
        (DescentConfig(sampling="replacement"), "sampling 'replacement' would read random rows"),
    ],
)
def test_what_streaming_cannot_do_is_refused(tmp_path, config, match):
    source, y, _ = streamed_problem(tmp_path)
    problem = make_problem("softmax", source, y)
    optimizer = get_optimizer("sgd", learning_rate=0.1)
    with pytest.raises(DataError, match=match):
        descend(problem, optimizer, config, Budget(epochs=1), np.random.default_rng(0))


def test_a_streamed_validation_split_is_scored_in_blocks(tmp_path):
    source, y, _ = streamed_problem(tmp_path)
    X_val, y_val = labelled(90, "uint8", seed=5)
    val_path = save_rows(tmp_path / "val.npy", X_val)
    val = StreamedRows(val_path, source.preprocessor, block_rows=8)
    history = sgd(
        "softmax",
        source,
        y,
        X_val=val,
        y_val=y_val,
        budget=Budget(epochs=2),
        learning_rate=0.05,
        rng=0,
    )
    expected = accuracy(history.params, source.preprocessor.transform(X_val), y_val)
    assert history.epochs[-1].val_accuracy == expected
    with pytest.raises(ValueError, match="X_val has 90 rows but y_val has 89 labels"):
        make_problem("softmax", source, y, val, y_val[:-1])


@pytest.mark.slow
def test_peak_memory_of_a_streamed_epoch_stays_far_below_the_file(tmp_path):
    """A 200 MB uint8 file (65,000 x 3,072): statistics and one epoch in a child process, peak
    RSS (VmHWM: ``ru_maxrss`` would carry the pytest parent's peak over the exec) below 120 MB
    (measured 78 MB; importing numpy and slopelab takes 37 MB), where the rows as
    float32 in memory would take 800 MB."""
    path = tmp_path / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(65_000, 3072))
    rng = np.random.default_rng(0)
    for start in range(0, 65_000, 5000):
        X[start : start + 5000] = rng.integers(0, 256, (min(5000, 65_000 - start), 3072))
    X.flush()
    del X
    np.save(tmp_path / "y.npy", rng.integers(0, 10, 65_000))
    script = textwrap.dedent(
        f"""
        import numpy as np
        from slopelab.data.npyrows import NpyRows
        from slopelab.data.stream import StreamedRows
        from slopelab.data.stream_stats import fit_streaming
        from slopelab.history import Budget
        from slopelab.train import sgd
        path = {str(path)!r}
        preprocessor = fit_streaming(NpyRows(path), "standardize")
        source = StreamedRows(path, preprocessor, seed=0, buffer_blocks=2)
        y = np.load({str(tmp_path / "y.npy")!r})
        history = sgd("softmax", source, y, budget=Budget(epochs=1), batch_size=200,
                      learning_rate=1e-4, rng=0)
        assert history.status == "completed", history.message
        status = open("/proc/self/status").read()
        print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
        """
    )
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=600
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1])
    assert peak_mb < 120
