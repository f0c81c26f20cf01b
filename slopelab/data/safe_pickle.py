"""Unpickling CIFAR-10 batches without ever running code from the file.

``pickle.load`` calls any function a file names, so a doctored ``data_batch_1`` could run
``os.system``. :func:`load_pickle` uses a restricted unpickler whose ``find_class`` admits only
the globals that real CIFAR-10 batches reference, checked with ``pickletools`` on the real
files: ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype`` (numpy 2
writes the first as ``numpy._core.multiarray._reconstruct``). Dicts, lists, byte strings and
ints are built by pickle opcodes and need no globals. Anything else is refused with a
``DataError`` naming the forbidden global, before it is ever called.

Before unpickling, :mod:`pickletools` walks the opcodes: only data-building opcodes are allowed
(not ``INST``/``OBJ``/``NEWOBJ``, extension codes, persistent ids or out-of-band buffers), and
every length prefix is checked against the bytes actually present, so a forged length cannot
make the unpickler allocate gigabytes.

Even the three admitted globals are not handed to numpy: a pickle passes a dtype's raw
internal state (flags, field tables) to ``numpy.dtype.__setstate__``, and fuzzing showed that a
one-byte change there crashes the interpreter. The names resolve to stand-ins that record the
array's shape, number type and bytes; :func:`load_pickle` then builds plain arrays with
``np.frombuffer``, admitting only simple number types (``u1`` ... ``f8``).
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import warnings
from typing import Any

import numpy as np

from slopelab.data.errors import DataError

# Opcodes of the real files (protocol 2, written by Python 2's cPickle) ...
_REAL_OPCODES = """PROTO STOP MARK GLOBAL REDUCE BUILD NONE NEWTRUE NEWFALSE BININT BININT1 BININT2
SHORT_BINSTRING BINSTRING BINUNICODE EMPTY_DICT EMPTY_LIST APPENDS SETITEMS TUPLE TUPLE1 TUPLE2
TUPLE3 BINPUT LONG_BINPUT"""
# ... and the data-only ones a Python 3 writer may pick for the same content.
_EQUIVALENT_OPCODES = """BINGET LONG_BINGET APPEND SETITEM EMPTY_TUPLE LONG1 BINFLOAT BINBYTES
SHORT_BINBYTES SHORT_BINUNICODE FRAME MEMOIZE STACK_GLOBAL"""
ALLOWED_OPCODES = frozenset((_REAL_OPCODES + " " + _EQUIVALENT_OPCODES).split())
NUMBER_TYPES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}
BYTE_ORDERS = {"|", "<", ">", "="}


class _DtypeStandIn:
    """Records ``numpy.dtype(name, align, copy)`` and the byte order from its pickled state."""

    def __init__(self, name: Any, align: Any = False, copy: Any = True) -> None:
        self.name = _text(name)
        self.byte_order = "|"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2:
            raise ValueError("malformed dtype state")
        self.byte_order = _text(state[1])

    def resolve(self) -> np.dtype:
        name = getattr(self, "name", None)
        if name not in NUMBER_TYPES or getattr(self, "byte_order", None) not in BYTE_ORDERS:
            raise ValueError(f"unsupported array type {name!r}")
        return np.dtype(self.byte_order + name)


class _ArrayStandIn:
    """Records what ``ndarray.__setstate__`` would get: shape, dtype, order and raw bytes."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ValueError("malformed array state")
        self.shape, self.dtype, self.fortran, self.raw = state[-4:]

    def resolve(self) -> np.ndarray:
        shape, dtype = getattr(self, "shape", None), getattr(self, "dtype", None)
        raw, fortran = getattr(self, "raw", None), getattr(self, "fortran", False)
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"malformed array shape {shape!r}")
        if not isinstance(dtype, _DtypeStandIn) or not isinstance(raw, bytes):
            raise ValueError("array data must be raw bytes of a plain number type")
        number_type = dtype.resolve()
        if len(raw) != math.prod(shape) * number_type.itemsize:
            raise ValueError(f"array of shape {shape} does not match its {len(raw)} data bytes")
        order = "F" if fortran is True else "C"
        return np.frombuffer(raw, dtype=number_type).reshape(shape, order=order).copy()


_NDARRAY = object()  # stands for numpy.ndarray: only ever passed to _reconstruct, never called


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _ArrayStandIn:
    if subtype is not _NDARRAY:
        raise ValueError("only plain numpy arrays are allowed")
    return _ArrayStandIn()


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeStandIn,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS` and refuses everything else."""

    def __init__(self, file: io.BufferedIOBase, source: str, what: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source
        self.what = what

    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise DataError(
                f"refusing to unpickle {module}.{name} from {self.source}: {self.what} files "
                "only contain dicts, lists, bytes and numpy arrays; this file is not a "
                f"{self.what}"
            )
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(
            f"refusing to unpickle a persistent reference from {self.source}: this file is not "
            f"a {self.what}"
        )


def load_pickle(data: bytes, source: str, what: str = "CIFAR-10 batch") -> Any:
    """Unpickle ``data`` (read from ``source``) admitting only numpy arrays and plain containers.

    Strings come back as ``bytes`` (``encoding="bytes"``), as CIFAR-10's Python 2 pickles need.

    >>> load_pickle(pickle.dumps({"labels": [1, 2]}, protocol=3), "example")
    {'labels': [1, 2]}
    >>> load_pickle(pickle.dumps(print), "bad.pkl")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slopelab.data.errors.DataError: refusing to unpickle builtins.print from bad.pkl: ...
    """
    try:
        _check_opcodes(data, source, what)
        return _resolve(RestrictedUnpickler(io.BytesIO(data), source, what).load())
    except DataError:
        raise
    except Exception as error:  # any failure inside pickle means the bytes are not a batch
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise DataError(
            f"{source} is not a readable {what} file (truncated or corrupt: {reason}); "
            "delete it and download the dataset again"
        ) from None


def _check_opcodes(data: bytes, source: str, what: str) -> None:
    """Refuse opcodes outside :data:`ALLOWED_OPCODES` and memo indexes beyond the number of
    opcodes (the unpickler sizes its memo table by the largest index); ``genops`` raises
    ``ValueError`` on a length prefix longer than the data that follows."""
    with warnings.catch_warnings():  # genops decodes text arguments; bad escapes only warn
        warnings.simplefilter("ignore")
        for count, (opcode, argument, position) in enumerate(pickletools.genops(data)):
            if opcode.name not in ALLOWED_OPCODES:
                raise DataError(
                    f"refusing to unpickle opcode {opcode.name} at byte {position} of {source}: "
                    f"{what} files only contain dicts, lists, bytes and numpy arrays; this file "
                    f"is not a {what}"
                )
            if opcode.name.endswith(("PUT", "GET")) and argument > count:
                raise ValueError(f"memo index {argument} at byte {position} is out of range")


def _resolve(value: Any) -> Any:
    """Replace the stand-ins in a loaded structure by real arrays and dtypes."""
    if isinstance(value, _ArrayStandIn | _DtypeStandIn):
        return value.resolve()
    if isinstance(value, dict):
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_resolve(item) for item in value)
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None
