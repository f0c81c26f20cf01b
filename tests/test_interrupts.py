"""The CLI's Ctrl-C handler: an interrupt that lands in the import machinery is not lost in
a weakref callback ("Exception ignored in ...") but raised again once the code left it."""

from __future__ import annotations

import os
import signal
import time

import pytest

from slopelab.commands import interrupts


def frames_named(filename: str):
    """A function whose frames report ``filename``, as the frozen importlib's do, that sends
    itself SIGINT (the handler runs in the frame that called ``os.kill``) and keeps busy."""
    namespace: dict = {"os": os, "signal": signal, "finished": []}
    source = (
        "def busy():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    total = 0\n"
        "    for number in range(200_000):\n"
        "        total += number\n"
        "    finished.append(total)\n"
    )
    exec(compile(source, filename, "exec"), namespace)
    return namespace["busy"], namespace["finished"]


@pytest.fixture
def cli_handler():
    previous_int = signal.getsignal(signal.SIGINT)
    previous_alarm = signal.getsignal(signal.SIGALRM)
    interrupts.install()
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGINT, previous_int)
    signal.signal(signal.SIGALRM, previous_alarm)


def test_a_ctrl_c_inside_the_import_machinery_is_raised_after_it(cli_handler):
    busy, finished = frames_named("<frozen importlib._bootstrap>")
    deadline = time.monotonic() + 5
    with pytest.raises(KeyboardInterrupt):
        busy()
        while time.monotonic() < deadline:
            time.sleep(0.001)
    assert time.monotonic() < deadline
    assert finished == [sum(range(200_000))]  # not interrupted in there
    assert interrupts.was_interrupted()


def test_a_ctrl_c_in_ordinary_code_is_raised_at_once(cli_handler):
    busy, finished = frames_named("ordinary.py")
    with pytest.raises(KeyboardInterrupt):
        busy()
    assert finished == []
    assert interrupts.was_interrupted()


def test_ignore_from_now_also_drops_an_interrupt_held_back(cli_handler, monkeypatch):
    monkeypatch.setattr(interrupts, "REDELIVERY_DELAY", 0.5)  # busy() is over long before
    busy, finished = frames_named("<frozen importlib._bootstrap>")
    busy()
    assert finished
    interrupts.ignore_from_now()
    time.sleep(0.7)  # no KeyboardInterrupt
    assert not interrupts.was_interrupted()
