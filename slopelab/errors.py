"""One family of errors for input a user can fix, so that bugs never pose as user mistakes.

Every boundary (validation, file loaders, run folders, the CLI's own checks) raises a
:class:`SlopelabError` for bad input, with a one-line message that names the problem and the
fix. The command line turns exactly this family into exit code 2 and that one line; anything
else that reaches it is a bug in slopelab (exit 1, "internal error").

:class:`InvalidValueError` is also a ``ValueError`` and :class:`InvalidTypeError` a
``TypeError``, so callers (and scikit-learn's estimator checks) that catch the built-in
exceptions keep working.

>>> try:
...     raise InvalidValueError("reg must be >= 0;\\n got -1")
... except ValueError as error:
...     str(error)
'reg must be >= 0; got -1'
"""

from __future__ import annotations


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) replaced by one space."""
    return " ".join(str(text).split())


class SlopelabError(Exception):
    """Bad input found by slopelab; ``str(error)`` is one line saying what to do."""

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(message))


class InvalidValueError(SlopelabError, ValueError):
    """An argument, array or file holds a value slopelab cannot use."""


class InvalidTypeError(SlopelabError, TypeError):
    """An argument has the wrong type (a string where a number belongs, an object array)."""


class CommandError(SlopelabError):
    """Bad input found by a command of the CLI (a flag, a combination of flags)."""


class InterruptedRun(Exception):  # noqa: N818 (a stop, not an error)
    """Ctrl-C: the message says what was saved and how to continue."""
