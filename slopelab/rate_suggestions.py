"""Learning rates read off a range-test curve, each with how far it can be trusted.

The curve is the minibatch loss against an exponentially growing learning rate, smoothed by a
centred moving average over half a decade (no lag, see :mod:`slopelab.smoothing`). Three
readings, each a rule of thumb that fails somewhere, so all are reported:

* **valley**: two thirds of the way along the longest stretch where the smoothed loss falls
  (before its lowest point);
* **steepest**: between the two neighbouring rates where the smoothed loss falls fastest per
  decade, ``(s[i+1] - s[i]) / (log10 r[i+1] - log10 r[i])``, before its lowest point;
* **minimum/10**: a tenth of the rate at the lowest smoothed loss.

A reading of a feature that touches an end of the measured range is only a bound: the feature
may go on past it. When the loss has not turned up by ``--end`` (risen back by ``MIN_RISE`` of
its fall), the lowest loss may lie beyond the range, so minimum/10 is *at least* what was read;
so is a steepest fall or a descent that reaches the last point. When the loss was already
falling fast at ``--start`` (over its first quarter decade at half its steepest rate or more), a
steepest fall or a descent that starts at the first point is *at most* what was read. A descent that
touches both ends is *unlocated*. :func:`reasoning` says all of this next to the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from slopelab.errors import CommandError
from slopelab.smoothing import centered_moving_average

SMOOTHING_DECADES = 0.5  # width of the centred average the readings are taken from
MIN_POINTS = 10  # fewer losses than this are not a curve to read anything off
MIN_FALL = 0.1  # the smoothed loss must fall by 10% of its start for a reading to mean much
MIN_RISE = 0.1  # the loss "turned up" once it climbed back 10% of its fall after its lowest
FAST_START = 0.5  # a first step falling at half the steepest rate: already falling at --start
COARSE_FACTOR = 2.0  # neighbouring rates further apart than this: every reading is coarse
AT_LEAST, AT_MOST, UNLOCATED = "at least", "at most", "unlocated"


@dataclass(frozen=True)
class Reading:
    """One suggested rate; ``bound`` is empty when the feature lies inside the measured range,
    else ``"at least"``, ``"at most"`` or ``"unlocated"``."""

    rate: float
    bound: str = ""

    def text(self) -> str:
        """``0.0546``, ``at least 1``, ``0.0774 (unlocated)``."""
        if self.bound == UNLOCATED:
            return f"{self.rate:.3g} (unlocated)"
        return f"{self.bound} {self.rate:.3g}".strip()


@dataclass(frozen=True)
class Curve:
    """A range-test curve and what was read off it. Indices count the usable points: those
    before the first non-finite smoothed loss (the blow-up)."""

    rates: np.ndarray  # (T,) every rate tried
    smoothed: np.ndarray  # (T,) centred mean of the losses
    window: int  # of the centred mean, in steps
    count: int  # usable points
    lowest: int  # index of the lowest smoothed loss
    steepest: int  # the fastest fall is between points steepest and steepest + 1
    steepest_slope: float  # loss per decade there (negative)
    descent: tuple[int, int]  # first and last point of the valley's stretch
    blew_up: bool
    turned_up: bool
    falling_at_start: bool
    readings: dict[str, Reading] = field(default_factory=dict)

    @property
    def step_factor(self) -> float:
        """Ratio of neighbouring rates: how finely each reading is located."""
        return float(self.rates[1] / self.rates[0])


def smoothing_window(rates: np.ndarray) -> int:
    """An odd number of steps spanning about half a decade of the (geometric) rates.

    >>> smoothing_window(np.geomspace(1e-6, 10.0, 100))
    7
    """
    if len(rates) < 2 or rates[-1] <= rates[0]:
        return 1
    steps_per_decade = (len(rates) - 1) / math.log10(rates[-1] / rates[0])
    return 2 * int(SMOOTHING_DECADES * steps_per_decade / 2) + 1


def read_curve(rates: np.ndarray, losses: np.ndarray, blew_up: bool) -> Curve:
    """Smooth ``losses`` (measured at the geometric ``rates``), refuse a curve that holds no
    answer, and take the readings; ``blew_up`` says the test stopped because the loss did."""
    rates, losses = np.asarray(rates, dtype=float), np.asarray(losses, dtype=float)
    window = smoothing_window(rates)
    smoothed = centered_moving_average(losses, window)
    count = _finite_prefix(smoothed)
    check_curve(rates, smoothed, count)
    r, s = np.log10(rates[:count]), smoothed[:count]
    lowest = int(np.argmin(s))
    fall = float(s[0] - s[lowest])
    turned_up = blew_up or float(s[lowest:].max()) >= s[lowest] + MIN_RISE * fall
    slopes = np.diff(s[: lowest + 1]) / np.diff(r[: lowest + 1])  # (lowest,)
    steepest = int(np.argmin(slopes))
    head = min(max(1, window // 2), lowest)  # a quarter decade: one noisy step is not a trend
    start_slope = (s[head] - s[0]) / (r[head] - r[0])
    falling_at_start = bool(steepest == 0 or start_slope <= FAST_START * slopes[steepest])
    descent = _longest_descent(s[: lowest + 1])
    curve = Curve(
        rates,
        smoothed,
        window,
        count,
        lowest,
        steepest,
        float(slopes[steepest]),
        descent,
        blew_up,
        turned_up,
        falling_at_start,
    )
    curve.readings.update(_readings(curve))
    return curve


def _finite_prefix(values: np.ndarray) -> int:
    """How many values come before the first non-finite one."""
    bad = np.flatnonzero(~np.isfinite(values))
    return int(bad[0]) if len(bad) else len(values)


def check_curve(rates: np.ndarray, smoothed: np.ndarray, count: int) -> None:
    """Refuse a curve that holds no answer: too short (the loss blew up at once) or flat (the
    loss never fell by ``MIN_FALL`` of where it started)."""
    if count < MIN_POINTS:
        where = rates[min(count, len(rates) - 1)]
        raise CommandError(
            f"the loss blew up after {count} steps, at rate {where:.3g}: no curve to read a "
            "suggestion off; start lower (--start)"
        )
    lowest = float(smoothed[:count].min())
    if not lowest < (1 - MIN_FALL) * smoothed[0]:
        raise CommandError(
            f"the loss never fell by {MIN_FALL:.0%} between rates {rates[0]:.3g} and "
            f"{rates[count - 1]:.3g} (from {smoothed[0]:.4g} to at best {lowest:.4g}): no rate "
            "to suggest; search a wider range (--start lower, --end higher)"
        )


def _longest_descent(values: np.ndarray) -> tuple[int, int]:
    """First and last index of the longest run where each value is below the previous one
    (the earliest of equally long runs)."""
    best, start = (0, 0), 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] >= values[index - 1]:
            if index - 1 - start > best[1] - best[0]:
                best = (start, index - 1)
            start = index
    return best


def _readings(curve: Curve) -> dict[str, Reading]:
    rates, last = curve.rates, curve.count - 1
    ends_open = not curve.turned_up
    first, end = curve.descent
    valley_index = first + (2 * (end - first)) // 3
    valley_bound = _bound(
        below=curve.falling_at_start and first == 0, above=ends_open and end == last
    )
    step = curve.steepest
    steepest_rate = math.sqrt(rates[step] * rates[step + 1])  # geometric midpoint
    steepest_bound = _bound(below=step == 0, above=ends_open and step + 1 == last)
    return {
        "valley": Reading(float(rates[valley_index]), valley_bound),
        "steepest": Reading(float(steepest_rate), steepest_bound),
        "minimum/10": Reading(float(rates[curve.lowest]) / 10, AT_LEAST if ends_open else ""),
    }


def _bound(below: bool, above: bool) -> str:
    """The bound of a feature that touches the start (``below``) or the end of the range."""
    if below and above:
        return UNLOCATED
    return AT_MOST if below else AT_LEAST if above else ""


def reasoning(curve: Curve, curvature: float) -> list[str]:
    """The lines ``slopelab lr-find`` prints: what the curve did, then each reading beside the
    rule it follows and the numbers it was read from."""
    rates, s = curve.rates, curve.smoothed
    low = curve.lowest
    readings = curve.readings
    first, end = curve.descent
    step = curve.steepest
    summary = (
        f"loss {s[0]:.3f} at rate {rates[0]:.3g}; lowest {s[low]:.3f} at rate {rates[low]:.3g}; "
        f"the test stopped at {rates[-1]:.3g}"
    )
    if curve.blew_up:
        summary += " when the loss blew up"
    elif curve.turned_up:
        summary += " after the loss turned up"
    else:
        summary += (
            "; the range ended before the loss turned up, so the best rate may lie beyond it: "
            f"widen --end (e.g. --end {10 * rates[-1]:.3g})"
        )
    if curve.falling_at_start:
        summary += (
            "; the loss was already falling fast at --start: start lower "
            f"(e.g. --start {rates[0] / 100:.3g})"
        )
    lines = [summary]
    if curve.step_factor >= COARSE_FACTOR:
        lines.append(
            f"note: neighbouring rates are {curve.step_factor:.3g}x apart, so every reading is "
            "known only to within that factor; use more --steps"
        )
    lines += [
        f"valley {readings['valley'].text()}: two thirds into the longest stretch where the "
        f"loss keeps falling ({rates[first]:.3g} to {rates[end]:.3g})",
        f"steepest {readings['steepest'].text()}: where the loss falls fastest, "
        f"{-curve.steepest_slope:.3g} per decade (between {rates[step]:.3g} and "
        f"{rates[step + 1]:.3g})",
        f"minimum/10 {readings['minimum/10'].text()}: a tenth of the rate at the lowest loss "
        f"({rates[low]:.3g})",
        f"curvature {curvature:.3g}: 1/L from the data (slopelab's learning_rate='auto'), a "
        "step gradient descent can always take",
    ]
    return lines


def suggestion_line(curve: Curve) -> str:
    """``suggested learning rate: ...``: the valley, with what its bound asks for."""
    valley = curve.readings["valley"]
    advice = {
        "": "",
        AT_LEAST: " (the loss had not turned up by --end; widen --end to locate it)",
        AT_MOST: " (the loss was already falling at --start; start lower to locate it)",
        UNLOCATED: ": the loss fell across the whole range; widen --start and --end",
    }[valley.bound]
    return f"suggested learning rate: {valley.text()}{advice}"
