"""The ``.npy`` format as packs use it: headers read and written, files written a piece at a time.

A pack's ``X`` can be larger than memory, so a packer preallocates the file and writes rows at
any position; the header is padded to a length that does not depend on the number of rows, so
the file can be cut to fewer rows in place (:meth:`RowWriter.shrink`).
:class:`~slopelab.data.npyrows.NpyRows` is the reading side.
"""

from __future__ import annotations

import math
import os
import tokenize
from pathlib import Path
from typing import BinaryIO

import numpy as np

HEADER_ALIGN = 64  # .npy headers are padded so the data starts on a multiple of 64 bytes
NPY_MAGIC = b"\x93NUMPY\x01\x00"  # format version 1.0: a 2-byte header length


class RowWriter:
    """Write the rows of an ``(N, D)`` ``.npy`` file at any position, in any order.

    The file is created with its full size (sparse where the file system allows) and a header
    padded to a fixed length, so that :meth:`shrink` can later cut it to fewer rows in place.
    Opening an existing file of the same shape keeps its rows (to resume an interrupted pack).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "X.npy"
    >>> with RowWriter(path, 3, 2, "uint8") as writer:
    ...     writer.write(2, np.array([[5, 6]], np.uint8))
    ...     writer.write(0, np.array([[1, 2], [3, 4]], np.uint8))
    >>> np.load(path).tolist()
    [[1, 2], [3, 4], [5, 6]]
    """

    def __init__(self, path: Path, rows: int, num_features: int, dtype: str) -> None:
        self.path = Path(path)
        self.rows, self.num_features = int(rows), int(num_features)
        self.dtype = np.dtype(dtype)
        self.row_bytes = self.num_features * self.dtype.itemsize
        header = npy_header((self.rows, self.num_features), self.dtype)
        self.offset = len(header)
        size = self.offset + self.rows * self.row_bytes
        fresh = not (self.path.is_file() and self._same_header(header, size))
        self.created = fresh  # False: an existing file of this shape, rows kept
        self.handle = open(self.path, "w+b" if fresh else "r+b")  # noqa: SIM115 (closed by close)
        if fresh:
            self.handle.write(header)
            self.handle.truncate(size)

    def _same_header(self, header: bytes, size: int) -> bool:
        with open(self.path, "rb") as handle:
            return handle.read(len(header)) == header and os.fstat(handle.fileno()).st_size == size

    def write(self, start: int, block: np.ndarray) -> None:
        """Write ``block`` (k, D) as rows ``start .. start + k - 1``."""
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.ndim != 2 or block.shape[1] != self.num_features:
            raise ValueError(f"block of shape {block.shape}; expected (k, {self.num_features})")
        if start < 0 or start + len(block) > self.rows:
            raise ValueError(f"rows {start}..{start + len(block)} outside [0, {self.rows})")
        self.handle.seek(self.offset + start * self.row_bytes)
        self.handle.write(block.tobytes())

    def read(self, start: int, count: int) -> np.ndarray:
        """Rows ``start .. start + count - 1`` as they are on disk."""
        self.handle.seek(self.offset + start * self.row_bytes)
        data = self.handle.read(count * self.row_bytes)
        return np.frombuffer(data, self.dtype).reshape(count, self.num_features)

    def sync(self) -> None:
        """Flush the rows written so far to disk."""
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def shrink(self, rows: int) -> None:
        """Keep only the first ``rows`` rows: rewrite the header (same length) and truncate."""
        header = npy_header((rows, self.num_features), self.dtype)
        self.handle.seek(0)
        self.handle.write(header)
        self.handle.truncate(self.offset + rows * self.row_bytes)
        self.rows = rows

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def npy_header(shape: tuple[int, ...], dtype: np.dtype, length: int | None = None) -> bytes:
    """A ``.npy`` (version 1.0) header for a C-order array, padded with spaces to ``length``
    bytes (default: the multiple of 64 that would hold a 20-digit row count, so the length
    does not depend on the number of rows, and a header rewritten for fewer rows fits)."""
    fields = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
    text = repr({**fields, "shape": tuple(int(size) for size in shape)})
    if length is None:
        widest = repr({**fields, "shape": (10**19, *(int(size) for size in shape[1:]))})
        length = HEADER_ALIGN * math.ceil((len(NPY_MAGIC) + 2 + len(widest) + 1) / HEADER_ALIGN)
    padding = length - len(NPY_MAGIC) - 2 - len(text) - 1
    if padding < 0:
        raise ValueError(f"a header of {length} bytes cannot hold shape {shape}")
    body = (text + " " * padding + "\n").encode("latin1")
    return NPY_MAGIC + len(body).to_bytes(2, "little") + body


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file (C order)."""
    array = np.ascontiguousarray(array)
    return npy_header(array.shape, array.dtype) + array.tobytes()


def read_npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the header of an open ``.npy`` file, leaving
    ``handle`` at the first data byte. ValueError for a file that is not one (numpy raises
    SyntaxError, TypeError or a tokenizer error for some garbled headers: all become
    ValueError, so a caller catches one kind)."""
    try:
        version = np.lib.format.read_magic(handle)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran_order, dtype = read(handle)
    except (SyntaxError, TypeError, tokenize.TokenError) as error:
        raise ValueError(f"corrupt header: {error}") from None
    return tuple(int(size) for size in shape), bool(fortran_order), np.dtype(dtype)


def npy_shape(path: Path) -> tuple[int, ...] | None:
    """The shape in the header of the ``.npy`` file at ``path`` (None: missing or not one)."""
    try:
        with open(path, "rb") as handle:
            return read_npy_header(handle)[0]
    except (OSError, ValueError):
        return None
