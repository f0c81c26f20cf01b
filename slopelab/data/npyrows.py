"""Rows of an ``(N, D)`` ``.npy`` file read with plain file reads, never through a memory map.

A memory map would be simpler, but every page a process touches through one counts in its
resident memory until the kernel reclaims it, so one epoch over a 3.9 GB file would show a
3.9 GB peak. Reading with ``os.preadv`` into a buffer the caller owns keeps the resident memory
at the size of that buffer (the file's pages land in the page cache, which is not the
process's). The header is parsed with ``numpy.lib.format``; only C-ordered uint8 and
little-endian float32 rows are read (what ``slopelab data pack`` writes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from slopelab.data.errors import DataError
from slopelab.data.npyformat import read_npy_header

ROW_DTYPES = (np.dtype(np.uint8), np.dtype("<f4"))


class NpyRows:
    """An open ``.npy`` of ``shape (N, D)``, or its rows ``start..stop-1`` only (a split carved
    out of it): ``read_range(start, stop, out)`` copies rows ``start..stop-1`` of that part
    into ``out`` (raw dtype) with sequential file reads.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "X.npy"
    >>> np.save(path, np.arange(6, dtype=np.uint8).reshape(3, 2))
    >>> rows = NpyRows(path)
    >>> rows.read_range(1, 3, np.empty((2, 2), np.uint8)).tolist()
    [[2, 3], [4, 5]]
    """

    _fd: int | None = None  # until the file is open (``__del__`` runs after a failed check too)

    def __init__(self, path: str | Path, start: int = 0, stop: int | None = None) -> None:
        self.path = Path(path)
        self.offset, (file_rows, self.num_features), self.dtype = _read_header(self.path)
        self.row_bytes = self.num_features * self.dtype.itemsize
        expected = self.offset + file_rows * self.row_bytes
        stop = file_rows if stop is None else stop
        if not 0 <= start < stop <= file_rows:
            raise DataError(
                f"rows {start}..{stop} are not a part of the {file_rows} rows of {path}"
            )
        self.first_row, self.num_rows = start, stop - start
        size = self.path.stat().st_size
        if size < expected:
            raise DataError(
                f"{self.path} is truncated: its header promises {file_rows} rows of "
                f"{self.num_features} {self.dtype} values ({expected} bytes) but the file has "
                f"{size}; pack the data again"
            )
        self._fd: int | None = os.open(self.path, os.O_RDONLY)
        if hasattr(os, "posix_fadvise"):  # a hint only: larger readahead for sequential reads
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def __len__(self) -> int:
        return self.num_rows

    def __getitem__(self, rows: slice) -> NpyRows:
        """Rows ``rows`` (a slice, step 1) of this part, as a part of the same file."""
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise DataError("a part of an NpyRows is a slice of consecutive rows, e.g. rows[10:20]")
        start, stop, _ = rows.indices(self.num_rows)
        return NpyRows(self.path, self.first_row + start, self.first_row + max(start, stop))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.num_rows, self.num_features)

    def read_range(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows ``[start, stop)`` into ``out[: stop - start]`` (a C-contiguous array of the
        file's dtype and width); returns that view."""
        if not 0 <= start <= stop <= self.num_rows:
            raise DataError(f"rows {start}..{stop} are outside the {self.num_rows} rows")
        rows = out[: stop - start]
        if rows.dtype != self.dtype or not rows.flags.c_contiguous:
            raise DataError(f"the read buffer must be C-contiguous {self.dtype}")
        view = memoryview(rows.reshape(-1).view(np.uint8))
        position, done = self.offset + (self.first_row + start) * self.row_bytes, 0
        while done < len(view):
            count = os.preadv(self._descriptor(), [view[done:]], position + done)
            if count == 0:
                raise DataError(f"{self.path} ended early (truncated while being read?)")
            done += count
        return rows

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def _descriptor(self) -> int:
        if self._fd is None:
            raise DataError(f"{self.path} is closed")
        return self._fd


def _read_header(path: Path) -> tuple[int, tuple[int, int], np.dtype]:
    """The data offset, shape and dtype of a ``.npy``, checked to be rows we can stream."""
    try:
        with open(path, "rb") as file:
            shape, fortran_order, dtype = read_npy_header(file)
            offset = file.tell()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; pack the data again") from None
    except ValueError as error:  # numpy's words for a bad magic string or header
        raise DataError(f"{path} is not a readable .npy file ({error})") from None
    if len(shape) != 2 or fortran_order or np.dtype(dtype) not in ROW_DTYPES:
        raise DataError(
            f"{path} holds a {'Fortran-ordered ' if fortran_order else ''}{dtype} array of shape "
            f"{shape}; streaming reads C-ordered (N, D) uint8 or float32 rows, as "
            "`slopelab data pack` writes them"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise DataError(f"{path} holds no rows to train on (shape {shape})")
    return offset, (int(shape[0]), int(shape[1])), np.dtype(dtype)
