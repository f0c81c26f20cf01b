"""``DataError``: the one exception every data problem raises.

Its message is always a single readable line that names what was expected, where, and how to
fix it, so the CLI can print it as is:

    no CIFAR-10 found in /x/y: expected data_batch_1..5 and test_batch (the
    'cifar-10-batches-py' folder); run `slopelab data download cifar10` or pass --data-dir

(shown wrapped here; the real message has no line breaks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slopelab.errors import InvalidValueError, SlopelabError


class DataError(InvalidValueError):
    """A dataset could not be found, read, validated or downloaded.

    Newlines and runs of whitespace in the message are collapsed, so ``str(error)`` is one line.

    >>> str(DataError("bad file:\\n  truncated"))
    'bad file: truncated'
    """


@contextmanager
def reported_as(context: str) -> Iterator[None]:
    """Re-raise a validation error (a :class:`~slopelab.errors.SlopelabError`) as a
    ``DataError`` that names where the data came from.

    The shared checkers in :mod:`slopelab.validation` name the argument but not the file it came
    from; ``context`` adds that, e.g. ``"cifar10 training split"``.

    >>> from slopelab.validation import check_labels
    >>> with reported_as("labels.csv"):
    ...     check_labels([0, 12], num_classes=10)
    Traceback (most recent call last):
    ...
    slopelab.data.errors.DataError: labels.csv: y contains label 12 but there are only 10 classes; labels must be in [0, 10)
    """  # noqa: E501
    try:
        yield
    except DataError:
        raise
    except SlopelabError as error:
        raise DataError(f"{context}: {error}") from None


def option(name: str, value: Any = None) -> str:
    """How a message names an option, for the command line and for Python alike (messages are
    shared by both): ``--num-val (num_val in Python)``, or with the value asked for,
    ``--num-val 5 (num_val=5 in Python)``.

    >>> option("num_test", 1000000)
    '--num-test 1000000 (num_test=1000000 in Python)'
    """
    flag = "--" + name.replace("_", "-")
    if value is None:
        return f"{flag} ({name} in Python)"
    return f"{flag} {value} ({name}={value!r} in Python)"
