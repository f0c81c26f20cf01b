"""When a text cell is a number: what Python's ``float()`` reads, minus what no CSV writer makes.

``float()`` and numpy's string parsing also read digit-group underscores (``1_000``) and the
digits of other scripts (Arabic-Indic ``١``, full-width ``１``). No spreadsheet or CSV writer
produces those, so such a cell is a typo or an identifier, not a measurement: slopelab reads it
as text, and the loaders then name it. ``nan`` and ``inf`` are numbers here; the loaders refuse
them as values, naming the row.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def is_number(text: str) -> bool:
    """Whether ``text`` is a plain number (surrounding spaces allowed).

    >>> is_number(" 1.5e3 "), is_number("1_000"), is_number("１"), is_number("cat")
    (True, False, False, False)
    """
    if not is_plain(text):
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_plain(text: str) -> bool:
    """No underscore and only ASCII: numpy's parsing of ``text`` is then :func:`is_number`'s."""
    return text.isascii() and "_" not in text


def all_plain(cells: Iterable[str]) -> bool:
    """Whether every cell :func:`is_plain` (one pass over the joined text, for speed)."""
    return is_plain("\x00".join(cells))


def parse_numbers(cells: np.ndarray) -> np.ndarray | None:
    """Text cells as float64 when every one is a plain number, else None."""
    if not all_plain(cells.ravel().tolist()):
        return None
    try:
        return cells.astype(np.float64)
    except ValueError:
        return None


def why_not_a_number(text: str) -> str:
    """A hint for a cell that is not a plain number ('' when there is nothing to add)."""
    if "_" in text:
        return " (digit separators such as '_' are not allowed)"
    if not text.isascii():
        return " (it holds a character that is not ASCII; write digits 0-9)"
    return ""
