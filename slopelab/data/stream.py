"""Training rows streamed out of core: a packed split is read in blocks, never held as float32.

:class:`StreamedRows` stands in for the training array ``X (N, D)`` of a
:class:`~slopelab.problem.Problem`. The loop (:mod:`slopelab.train`) asks it for the order of an
epoch (:meth:`~StreamedRows.epoch_order`) and for the rows of a batch
(:meth:`~StreamedRows.read`); each batch is read from the file (uint8 or float32), converted to
float32 and preprocessed on the fly, into the loop's own batch buffer.

The order is a seeded **block shuffle** (:func:`block_order`): the file is cut into blocks of
``block_rows`` contiguous rows, the blocks are shuffled, and the rows inside each *buffer* of
``buffer_blocks`` consecutive blocks (in the shuffled order) are shuffled together. Every row
comes exactly once per epoch, the order is a pure function of ``(seed, epoch)`` (so a
checkpoint needs no more than the epoch), and the reads stay sequential: the first batch of a
buffer loads all of its blocks, one sequential read each, and the buffer's batches are then
served from memory. A pack's rows are already in a seeded random order (``slopelab data
pack``), so a buffer of a few blocks from random places of the file is a well mixed sample.

Memory: a cache of ``2 * buffer_blocks`` blocks in the file's dtype (a batch may straddle two
buffers), one raw batch, and whatever the caller's batch buffer holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.data.block_cache import BlockCache
from slopelab.data.errors import DataError
from slopelab.data.npyrows import NpyRows
from slopelab.data.preprocess import Preprocessor
from slopelab.data.stream_stats import default_block_rows
from slopelab.problem import is_streamed
from slopelab.validation import check_positive

BUFFER_BLOCKS = 16  # blocks shuffled together: 128 MB of rows at the default block size
EVAL_ROWS = 4096  # rows scored at a time when a split is evaluated in blocks


def block_order(
    num_rows: int, block_rows: int, buffer_blocks: int, seed: int, epoch: int
) -> np.ndarray:
    """The rows of one epoch, ``(N,)`` int64, a permutation of ``range(N)``.

    Blocks ``[k R, (k + 1) R)`` (the last one shorter) are put in a random order; each run of
    ``buffer_blocks`` consecutive blocks in that order is a buffer whose rows are shuffled
    together. The random numbers come from ``numpy.random.default_rng([seed, epoch])``, so the
    order depends on nothing else.

    >>> block_order(6, 2, 1, seed=0, epoch=0).tolist() == block_order(6, 2, 1, 0, 0).tolist()
    True
    >>> sorted(block_order(7, 2, 2, seed=3, epoch=1).tolist())
    [0, 1, 2, 3, 4, 5, 6]
    """
    groups, rng = _block_groups(num_rows, block_rows, buffer_blocks, seed, epoch)
    pieces = []
    for group in groups:
        rows = np.concatenate(
            [
                np.arange(block * block_rows, min((block + 1) * block_rows, num_rows))
                for block in group
            ]
        )
        pieces.append(rng.permutation(rows))
    return np.concatenate(pieces).astype(np.int64, copy=False)


def _block_groups(
    num_rows: int, block_rows: int, buffer_blocks: int, seed: int, epoch: int
) -> tuple[list[np.ndarray], np.random.Generator]:
    """The epoch's buffers (each an array of block numbers) and the generator, which goes on
    to shuffle the rows inside them."""
    check_positive(num_rows, "num_rows", integer=True)
    check_positive(block_rows, "block_rows", integer=True)
    check_positive(buffer_blocks, "buffer_blocks", integer=True)
    check_positive(seed, "seed", integer=True, allow_zero=True)
    check_positive(epoch, "epoch", integer=True, allow_zero=True)
    rng = np.random.default_rng([int(seed), int(epoch)])
    blocks = rng.permutation(-(-num_rows // block_rows))
    groups = [
        blocks[start : start + buffer_blocks] for start in range(0, len(blocks), buffer_blocks)
    ]
    return groups, rng


class StreamedRows:
    """Preprocessed float32 rows of a ``.npy`` file, read on demand: the training ``X`` of a
    streamed :class:`~slopelab.problem.Problem`.

    ``shape``, ``dtype`` (float32), ``num_rows`` and ``num_features`` describe the rows;
    :meth:`epoch_order` is the block shuffle of an epoch for ``seed``; :meth:`read` writes the
    preprocessed rows of any indices into a buffer; :meth:`accuracy`, :meth:`predict_classes`
    and :meth:`loss` score the whole split a block at a time.
    """

    dtype = np.dtype(np.float32)

    def __init__(
        self,
        path: str | Path | NpyRows,
        preprocessor: Preprocessor,
        *,
        seed: int = 0,
        block_rows: int | None = None,
        buffer_blocks: int = BUFFER_BLOCKS,
    ) -> None:
        self.rows = path if isinstance(path, NpyRows) else NpyRows(path)
        self.preprocessor = preprocessor
        self.seed = seed
        self.block_rows = int(block_rows or default_block_rows(self.rows.row_bytes))
        self.buffer_blocks = int(check_positive(buffer_blocks, "buffer_blocks", integer=True))
        check_positive(self.block_rows, "block_rows", integer=True)
        if preprocessor.num_features != self.num_features:
            raise DataError(
                f"{path} has {self.num_features} features but the preprocessing was fitted on "
                f"{preprocessor.num_features}"
            )
        self._cache = BlockCache(self.rows, self.block_rows, 2 * self.buffer_blocks)
        self._raw: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"StreamedRows({str(self.rows.path)!r}, {self.num_rows} x {self.num_features} "
            f"{self.rows.dtype}, block_rows={self.block_rows}, buffer_blocks={self.buffer_blocks})"
        )

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows

    @property
    def num_features(self) -> int:
        return self.rows.num_features

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.shape

    def __len__(self) -> int:
        return self.num_rows

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The rows of epoch ``epoch`` (0, 1, ...): :func:`block_order` for this file and seed.
        Remembers the epoch's buffers, so a miss loads the whole buffer of the missing block."""
        groups, _ = _block_groups(
            self.num_rows, self.block_rows, self.buffer_blocks, self.seed, epoch
        )
        self._cache.plan(groups)
        return block_order(self.num_rows, self.block_rows, self.buffer_blocks, self.seed, epoch)

    def check_sampling(self, batch_size: int | None, sampling: str) -> None:
        """Refuse what streaming cannot do at the speed of the disk: the full batch (the whole
        split in memory at once) and sampling with replacement (a random row per read)."""
        if batch_size is None:
            raise DataError(
                f"full-batch gradient descent needs all {self.num_rows} training rows in memory "
                "at once; use minibatches (a batch size), or load the data into memory "
                "(--in-memory)"
            )
        if sampling != "shuffle":
            raise DataError(
                f"streamed training rows are visited in a block shuffle; sampling {sampling!r} "
                "would read random rows all over the file: use sampling 'shuffle', or load the "
                "data into memory (--in-memory)"
            )

    def sample_rows(self, max_rows: int) -> np.ndarray:
        """The rows :func:`slopelab.autolr.sample_rows` would take from this split in memory
        (all of them up to ``max_rows``, else a fixed random sample), read and preprocessed:
        what ``learning_rate="auto"`` measures the curvature on."""
        from slopelab.autolr import sample_rows

        column = np.arange(self.num_rows)[:, None]  # the same draw, made on the row numbers
        return self.read(sample_rows(column, max_rows)[:, 0])

    def read(self, indices: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The preprocessed float32 rows ``X[indices]``, written into ``out[: len(indices)]``
        (a new array when ``out`` is None); returns that array.

        The arithmetic is :meth:`Preprocessor.transform_in_place` on the float32 rows, the
        same as the in-memory path, so the same statistics give the same bits."""
        indices = np.asarray(indices, dtype=np.int64)
        if out is None:
            out = np.empty((len(indices), self.num_features), np.float32)
        rows = out[: len(indices)]
        raw = self._raw_buffer(len(indices))
        self._cache.gather(indices, raw)
        np.copyto(rows, raw)
        return self.preprocessor.transform_in_place(rows)

    def blocks(self, block_rows: int = EVAL_ROWS) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, rows)`` for consecutive blocks of preprocessed rows, in file order (one
        reusable buffer: use each block before asking for the next)."""
        buffer = np.empty((min(block_rows, self.num_rows), self.num_features), np.float32)
        raw = self._raw_buffer(len(buffer))
        for start in range(0, self.num_rows, len(buffer)):
            stop = min(start + len(buffer), self.num_rows)
            rows = buffer[: stop - start]
            np.copyto(rows, self.rows.read_range(start, stop, raw))
            yield start, self.preprocessor.transform_in_place(rows)

    def predict_classes(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """``argmax_j s_ij`` of every row, ``(N,)``, scored a block at a time."""
        from slopelab.linear import predict_classes

        predicted = np.empty(self.num_rows, np.int64)
        for start, rows in self.blocks():
            predicted[start : start + len(rows)] = predict_classes(params, rows)
        return predicted

    def accuracy(self, params: Mapping[str, np.ndarray], y: np.ndarray) -> float:
        """Fraction of rows whose predicted class is the label ``y``."""
        return float(np.mean(self.predict_classes(params) == y))

    def loss_and_accuracy(
        self, loss: Any, params: Mapping[str, np.ndarray], y: np.ndarray, reg: float
    ) -> tuple[float, float]:
        """:meth:`loss` and :meth:`accuracy` in one pass over the file."""
        if not all(np.all(np.isfinite(value)) for value in params.values()):
            return math.nan, self.accuracy(params, y)
        total, correct = 0.0, 0
        with np.errstate(over="ignore", invalid="ignore"):  # a finite but huge W may overflow
            for start, rows in self.blocks():
                labels = y[start : start + len(rows)]
                example_losses, scores = loss.example_losses(params, rows, labels)
                total += float(example_losses.sum(dtype=np.float64))
                correct += int(np.count_nonzero(scores.argmax(axis=1) == labels))
            penalty, _ = loss.penalty(params["W"])
        value = total / self.num_rows + reg * float(penalty)
        return (value if math.isfinite(value) else math.nan), correct / self.num_rows

    def loss(self, loss: Any, params: Mapping[str, np.ndarray], y: np.ndarray, reg: float) -> float:
        """The full training loss ``(1/N) sum_i L_i(W) + reg R(W)``, the per-example losses
        summed a block at a time in float64; NaN when it is not finite (as
        :func:`slopelab.losses.training_loss`)."""
        if not all(np.all(np.isfinite(value)) for value in params.values()):
            return math.nan
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # a finite but huge W may overflow
            for start, rows in self.blocks():
                example_losses, _ = loss.example_losses(params, rows, y[start : start + len(rows)])
                total += float(example_losses.sum(dtype=np.float64))
            penalty, _ = loss.penalty(params["W"])
        value = total / self.num_rows + reg * float(penalty)
        return value if math.isfinite(value) else math.nan

    def _raw_buffer(self, num_rows: int) -> np.ndarray:
        if self._raw is None or len(self._raw) < num_rows:
            self._raw = np.empty((num_rows, self.num_features), self.rows.dtype)
        return self._raw[:num_rows]


def split_predictions(params: Mapping[str, np.ndarray], X: Any) -> np.ndarray:
    """The predicted classes ``(N,)`` of a split in memory or streamed."""
    from slopelab.linear import predict_classes

    return X.predict_classes(params) if is_streamed(X) else predict_classes(params, X)


def split_loss_and_accuracy(
    loss: Any, params: Mapping[str, np.ndarray], X: Any, y: np.ndarray, reg: float
) -> tuple[float, float]:
    """The full training loss and the accuracy on a split: for streamed rows in one pass
    over the file, in memory exactly as :func:`slopelab.losses.training_loss` and
    :func:`slopelab.linear.accuracy` give them."""
    if is_streamed(X):
        return X.loss_and_accuracy(loss, params, y, reg)
    from slopelab.linear import accuracy
    from slopelab.losses import training_loss

    return training_loss(loss, params, X, y, reg), accuracy(params, X, y)
