"""The result of a gradient check: one row per checked coordinate, a verdict, and a text table.

The verdict follows the thresholds of the CS231n notes ("Gradient Checks", neural-networks-3) on
the largest relative error ``r`` among the rows judged by relative error: every row except kinks
(judged by their subgradient interval) and rows that passed only thanks to the noise floor
(``|a - n|`` within rounding noise, see ``slopelab.gradcheck``):

- ``r <= 1e-7``: ``"excellent"``;
- ``r < 1e-4`` and the objective has kinks: ``"acceptable"``;
- ``1e-7 < r < 1e-2`` otherwise: ``"suspicious"`` (too large for a smooth objective, or
  uncomfortable even with kinks);
- ``r >= 1e-2``, or a kink row whose analytic value lies outside its subgradient interval:
  ``"wrong"``, the gradient is probably incorrect.

With no row left to judge, the verdict is ``"acceptable"`` if kinks were seen (all inside their
intervals) and ``"suspicious"`` otherwise: every value agreed only to rounding noise, so the
check says nothing until the loss is scaled up.

``passed`` is separate: it applies the tolerance ``tol`` row by row, so with a hand-picked ``tol``
a check can pass while the verdict still says ``"suspicious"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

EXCELLENT = 1e-7
ACCEPTABLE_WITH_KINKS = 1e-4
WRONG = 1e-2
TINY_GRADIENT = 1e-10


@dataclass(frozen=True)
class GradCheckRow:
    """One checked coordinate ``params[name][index]``, or the direction in directional mode.

    ``interval`` is the subgradient interval ``[min, max]`` of the one-sided slopes for a kink
    row (``None`` otherwise); ``noise_floor`` is the absolute error below which the two values
    are indistinguishable from rounding noise, and ``at_noise_floor`` marks a row that passed
    only thanks to it (its relative error is above the tolerance).
    """

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    rel_error: float
    abs_error: float
    kink: bool
    passed: bool
    interval: tuple[float, float] | None = None
    noise_floor: float = 0.0
    at_noise_floor: bool = False

    @property
    def label(self) -> str:
        """``W[3, 7]``, ``b[2]``, or just the name for a 0-d parameter or a direction."""
        if not self.index:
            return self.name
        return f"{self.name}[{', '.join(str(i) for i in self.index)}]"

    @property
    def status(self) -> str:
        verdict = "ok" if self.passed else "FAIL"
        if self.kink and self.interval is not None:
            low, high = self.interval
            return f"kink, slopes [{low:.3e}, {high:.3e}] {verdict}"
        if self.at_noise_floor:
            return "ok (at noise floor)"
        return verdict


@dataclass(frozen=True)
class GradCheckReport:
    """Everything a gradient check measured, with a verdict a person can act on.

    ``evaluations`` counts every call of ``f``, the one that returned the analytic gradient
    included. ``max_rel_error`` is taken over the rows judged by relative error (not kinks,
    above the noise floor); it is 0.0 when there are none.
    """

    rows: tuple[GradCheckRow, ...]
    max_rel_error: float
    passed: bool
    verdict: str
    reason: str
    hints: tuple[str, ...]
    kinks: int
    h: float
    mode: str
    tol: float
    evaluations: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; NaN and infinity become ``None``."""
        return _plain(asdict(self))

    def format_table(self) -> str:
        """One line per row: label, analytic, numeric, relative error, status."""
        width = max((len(row.label) for row in self.rows), default=0)
        return "\n".join(
            f"{row.label:<{width}}   analytic {row.analytic:>10.3e}   "
            f"numeric {row.numeric:>10.3e}   rel {row.rel_error:.1e}   {row.status}"
            for row in self.rows
        )

    def __str__(self) -> str:
        lines = [self.format_table(), f"{self.verdict}: {self.reason}"]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [f"hint: {hint}" for hint in self.hints]
        return "\n".join(lines)


def make_report(
    rows: tuple[GradCheckRow, ...],
    *,
    h: float,
    mode: str,
    tol: float,
    evaluations: int,
    warnings: tuple[str, ...],
) -> GradCheckReport:
    """Summarize judged rows into a report: max relative error, verdict, reason and hints."""
    judged = [row for row in rows if not row.kink and not row.at_noise_floor]  # by rel error
    max_rel_error = max((_nan_as_inf(row.rel_error) for row in judged), default=0.0)
    kinks = sum(row.kink for row in rows)
    verdict, reason = _verdict(rows, judged, max_rel_error, kinks)
    passed = all(row.passed for row in rows)
    needs_help = not passed or verdict in ("suspicious", "wrong")
    hints = _hints(rows, mode, warnings) if needs_help else ()
    return GradCheckReport(
        rows=rows,
        max_rel_error=max_rel_error,
        passed=passed,
        verdict=verdict,
        reason=reason,
        hints=hints,
        kinks=kinks,
        h=h,
        mode=mode,
        tol=tol,
        evaluations=evaluations,
        warnings=warnings,
    )


def precision_warnings(dtypes: Iterable[tuple[str, np.dtype]]) -> tuple[str, ...]:
    """Flag float32 (or float16) params, gradients or loss: the notes' classic false failure."""
    return tuple(
        f"{label} is {dtype}: single precision gives relative errors around 1e-2 on correct "
        "code; use float64 (the check itself runs on float64 copies of params)"
        for label, dtype in dtypes
        if dtype.kind == "f" and dtype.itemsize < 8
    )


def magnitude_warnings(rows: Iterable[GradCheckRow]) -> tuple[str, ...]:
    """Flag each array whose checked values are all below 1e-10 (the notes: scale the loss up)."""
    largest: dict[str, float] = {}
    for row in rows:
        size = max(abs(row.analytic), abs(row.numeric))
        largest[row.name] = max(largest.get(row.name, 0.0), size)
    return tuple(
        f"gradient magnitudes in {name!r} are below 1e-10 (largest {size:.1e}): relative "
        "errors are unreliable at that scale; scale the loss up temporarily"
        for name, size in largest.items()
        if size < TINY_GRADIENT
    )


def _verdict(
    rows: tuple[GradCheckRow, ...], judged: list[GradCheckRow], max_rel_error: float, kinks: int
) -> tuple[str, str]:
    outside = [row for row in rows if row.kink and not row.passed]
    if outside:
        row = outside[0]
        low, high = row.interval or (math.nan, math.nan)
        return "wrong", (
            f"{row.label} sits on a kink but its analytic value {row.analytic:.4g} lies outside "
            f"the one-sided slopes [{low:.4g}, {high:.4g}]: the gradient is probably incorrect"
        )
    if not judged and kinks:
        return "acceptable", (
            f"every row sits on a kink ({kinks}) or agrees to rounding noise, and every analytic "
            "value lies inside its subgradient interval"
        )
    if not judged:
        return "suspicious", (
            "every row agrees only to rounding noise: the gradients are too small to compare"
        )
    worst = max(judged, key=lambda row: _nan_as_inf(row.rel_error))
    error = f"max relative error {max_rel_error:.1e} at {worst.label}"
    counted = f"{len(rows)} rows, {kinks} kinks"
    if max_rel_error <= EXCELLENT:
        return "excellent", f"{error} <= {EXCELLENT:.0e} ({counted})"
    if max_rel_error >= WRONG:
        return "wrong", f"{error} >= {WRONG:.0e}: the gradient is probably incorrect"
    if kinks and max_rel_error < ACCEPTABLE_WITH_KINKS:
        return "acceptable", (
            f"{error} < {ACCEPTABLE_WITH_KINKS:.0e}, fine because the objective has kinks "
            f"({counted})"
        )
    if kinks:
        return "suspicious", f"{error} is uncomfortable even for an objective with kinks"
    return "suspicious", f"{error} is too large for a smooth objective (expect <= 1e-7)"


def _hints(rows: tuple[GradCheckRow, ...], mode: str, warnings: tuple[str, ...]) -> tuple[str, ...]:
    """The CS231n notes' advice, most specific first."""
    hints = []
    if any("float32" in warning or "float16" in warning for warning in warnings):
        hints.append("use float64 for params, data and loss")
    if any("below 1e-10" in warning for warning in warnings):
        hints.append("scale the loss up temporarily so that gradients are not tiny")
    failing_names = {row.name for row in rows if not row.passed}
    if mode != "directional" and len(failing_names) == 1 and len({r.name for r in rows}) > 1:
        hints.append(f"every failing row is in {failing_names.pop()!r}: look at that gradient")
    if mode == "directional":
        hints.append('rerun with mode="sampled" to see which coordinates disagree')
    hints += [
        "check the data loss with reg=0 first, then the regularization term alone",
        "check on 2-3 datapoints (fewer kinks, faster)",
        "try h=1e-4 or h=1e-6 (smaller is not always better)",
    ]
    return tuple(hints)


def _nan_as_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
