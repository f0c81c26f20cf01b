"""Ctrl-C: every interrupt ends the command with exit 130, however deep it lands.

A ``KeyboardInterrupt`` raised inside a finalizer or a callback can be swallowed by Python
("Exception ignored in ..."), and the command would then finish with exit 0. So the CLI's
SIGINT handler also *remembers* the interrupt (:func:`was_interrupted`), and the CLI exits 130
whenever it happened. Inside :func:`interrupt_flag`, Ctrl-C only sets a flag, so a training loop
can stop between two steps and save a consistent checkpoint; a second Ctrl-C interrupts at once.

A Ctrl-C that lands inside Python's import machinery is held back for a few milliseconds:
there it often runs inside a weakref callback (the module-lock cleanup), where Python would
print "Exception ignored in ..." and swallow it. It is raised again once the code has left
those frames, so the command still stops at once, with one line.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_seen = [False]

#: How long a Ctrl-C waits before it is raised again when it landed in the import machinery.
REDELIVERY_DELAY = 0.002


def _inside_import_machinery(frame: Any) -> bool:
    return frame is not None and frame.f_code.co_filename.startswith("<frozen importlib")


def was_interrupted() -> bool:
    """Whether Ctrl-C was pressed since :func:`install` (even if the exception got lost)."""
    return _seen[0]


def _raise_interrupt(signum: int, frame: Any) -> None:
    _seen[0] = True
    if _inside_import_machinery(frame) and _raise_again_soon():
        return
    raise KeyboardInterrupt


def _raise_again_soon() -> bool:
    """Arrange for :func:`_raise_interrupt` to run again in a moment (a one-shot SIGALRM
    timer, so no thread is needed); False where the platform has no interval timer."""
    if not hasattr(signal, "setitimer"):
        return False
    signal.signal(signal.SIGALRM, _raise_interrupt)
    signal.setitimer(signal.ITIMER_REAL, REDELIVERY_DELAY)
    return True


def install() -> None:
    """Remember every SIGINT, then raise ``KeyboardInterrupt`` as Python does by default."""
    _seen[0] = False
    signal.signal(signal.SIGINT, _raise_interrupt)


def ignore_from_now() -> None:
    """Ctrl-C does nothing from here on, and one seen before is forgotten: for an MPI rank
    other than 0 past its last collective call, whose job ends as rank 0 ends it. (At exit
    Python puts SIGINT's default action back, and a rank waiting for rank 0 in
    ``MPI_Finalize`` would die of the signal, which the launcher reports as exit 2.)"""
    _seen[0] = False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)  # nor is one held back raised later


@contextmanager
def interrupt_flag() -> Iterator[list[bool]]:
    """While inside, Ctrl-C sets ``flag[0]`` instead of raising, so the loop can stop between
    steps and leave a consistent state to save. A second Ctrl-C interrupts at once."""
    flag = [False]

    def handler(signum: int, frame: Any) -> None:
        _seen[0] = True
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
