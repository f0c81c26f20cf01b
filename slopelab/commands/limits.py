"""Upper bounds on the work a command line can ask for, checked before anything runs.

A :class:`~slopelab.history.History` keeps one record of about 400 bytes per step, so a budget
of 10^9 steps would end in a MemoryError hours later; such requests are refused at once, with
the flag to change.
"""

from __future__ import annotations

import math

from slopelab.errors import CommandError

MAX_RECORDED_STEPS = 1_000_000  # x ~400 bytes per step record: at most ~400 MB per run


def check_recorded_steps(steps: float, request: str, fix: str) -> None:
    """Refuse ``request`` (e.g. ``"--epochs 1e9"``) when it means more steps than a History
    can hold; ``fix`` says what to change."""
    if steps > MAX_RECORDED_STEPS:
        raise CommandError(
            f"{request} means {math.ceil(steps):,} steps, more than the "
            f"{MAX_RECORDED_STEPS:,} a run can record; {fix}"
        )
