"""The blocks of a streamed file held in memory: what a block shuffle's batches are served from.

A miss loads the missing block's whole buffer (the blocks :func:`slopelab.data.stream.block_order`
shuffles together) with one sequential read per block, in file order; the least recently used
slots are replaced. Rows spread over more blocks than the cache holds (a random sample) are read
one by one instead.
"""

from __future__ import annotations

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.npyrows import NpyRows


class BlockCache:
    """Up to ``slots`` blocks of the file in memory, in one array of the file's dtype."""

    def __init__(self, rows: NpyRows, block_rows: int, slots: int) -> None:
        self.rows, self.block_rows = rows, block_rows
        num_blocks = -(-rows.num_rows // block_rows)
        self.slots = min(slots, num_blocks)
        self.data: np.ndarray | None = None  # allocated at the first read
        self.slot_of_block = np.full(num_blocks, -1, np.int64)
        self.block_in_slot = np.full(self.slots, -1, np.int64)
        self.last_used = np.zeros(self.slots, np.int64)
        self.clock = 0
        self.group_of_block: np.ndarray | None = None
        self.groups: list[np.ndarray] = []

    def plan(self, groups: list[np.ndarray]) -> None:
        """The buffers of the coming epoch: a missing block loads its whole buffer."""
        self.groups = groups
        self.group_of_block = np.empty(len(self.slot_of_block), np.int64)
        for number, group in enumerate(groups):
            self.group_of_block[group] = number

    def gather(self, indices: np.ndarray, out: np.ndarray) -> None:
        """``X_raw[indices]`` into ``out``: the blocks they need, loaded if missing."""
        if len(indices) and (indices.min() < 0 or indices.max() >= self.rows.num_rows):
            raise DataError(f"row indices must be in [0, {self.rows.num_rows})")
        blocks = indices // self.block_rows
        needed = np.unique(blocks)
        if len(needed) > self.slots:
            self._gather_rows(indices, out)
            return
        self._load(needed)
        positions = self.slot_of_block[blocks] * self.block_rows + indices % self.block_rows
        np.take(self.data, positions, axis=0, out=out, mode="clip")

    def _load(self, needed: np.ndarray) -> None:
        missing = needed[self.slot_of_block[needed] < 0]
        if not len(missing):
            self._touch(needed)
            return
        if self.group_of_block is not None:
            buffers = np.concatenate(
                [self.groups[g] for g in np.unique(self.group_of_block[missing])]
            )
            wanted = np.union1d(needed, buffers)
            if len(wanted) <= self.slots:
                missing = wanted[self.slot_of_block[wanted] < 0]
        if self.data is None:
            self.data = np.empty(
                (self.slots * self.block_rows, self.rows.num_features), self.rows.dtype
            )
        keep = np.isin(self.block_in_slot, needed)
        free = np.flatnonzero(~keep)
        free = free[np.argsort(self.last_used[free], kind="stable")][: len(missing)]
        for slot, block in zip(free, np.sort(missing), strict=True):  # in file order
            old = self.block_in_slot[slot]
            if old >= 0:
                self.slot_of_block[old] = -1
            start = block * self.block_rows
            stop = min(start + self.block_rows, self.rows.num_rows)
            self.rows.read_range(start, stop, self.data[slot * self.block_rows :])
            self.block_in_slot[slot], self.slot_of_block[block] = block, slot
        self._touch(needed)

    def _touch(self, needed: np.ndarray) -> None:
        self.clock += 1
        self.last_used[self.slot_of_block[needed]] = self.clock

    def _gather_rows(self, indices: np.ndarray, out: np.ndarray) -> None:
        """Rows spread over more blocks than the cache holds (a random sample): one small
        read per row, in file order, instead of whole blocks."""
        for position in np.argsort(indices, kind="stable"):
            row = int(indices[position])
            self.rows.read_range(row, row + 1, out[position : position + 1])
