"""The result of a gradient check: one row per checked coordinate, a verdict, and a text table.

Each row is judged by its own kind:

- a **smooth** row (no kink within its stencil) by relative error, against ``tol`` (1e-7);
- a row **at the noise floor** (``|a - n|`` within the rounding noise of the difference, see
  ``slopelab.gradcheck``) passes: both values agree as well as floating point can tell;
- a **kink** row by the slopes of the pieces beside the kink: the slope of x's piece when x
  lies on one side, any value between the two when the kink is at x;
- a row that could not be **measured** fails: ``f`` was NaN or infinite at a point of its
  stencil, the analytic value is not finite, or a step of the stencil was lost in rounding;
- an **unresolved** row fails: the step does not suit f there. ``"h too large"``: f bends
  within ``x +- 2h`` more than a smooth curve or one kink explains, or the truncation error left
  could account for the difference; ``"h too small"``: the rounding noise floor that would pass
  the row is above 1e-4 of the largest slope checked (``slopelab.gradcheck``).

The verdict follows the thresholds of the CS231n notes ("Gradient Checks", neural-networks-3)
on the largest relative error ``r`` among the smooth rows:

- ``"non-finite"``: the loss or the analytic gradient is NaN or infinite somewhere the check
  looked (at x, in any entry of the gradient, or at a perturbed point);
- ``"wrong"``: ``r >= 1e-2``, or a kink row whose analytic value is not its slope (or lies
  outside the two slopes of a kink at x);
- ``"excellent"``: ``r <= 1e-7``;
- ``"suspicious"``: ``1e-7 < r < 1e-2``, or a row not measured (steps lost in rounding) or
  unresolved (an h that does not suit f), or nothing left to judge but rows at the noise floor;
- ``"acceptable"``: every row is a kink that passed or at the noise floor; a kink's slopes are
  known less precisely than a smooth row's relative error of 1e-7, hence not "excellent".

The notes accept ``r < 1e-4`` "for objectives with kinks" because without locating the kinks
one cannot tell which rows straddle one. Here each row's stencil is tested for a kink, so that
allowance is not needed: a row with a kink gets the interval check, and a smooth row keeps
1e-7 even when another coordinate sits on a kink (a 5e-5 error in a smooth coordinate is
"suspicious", whatever the other rows do).

``passed`` applies ``tol`` row by row, so with a hand-picked ``tol`` a check can pass while the
verdict still says ``"suspicious"``; with the default it fails whenever the verdict is
``"non-finite"``, ``"wrong"`` or ``"suspicious"``, except for rows at the noise floor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

EXCELLENT = 1e-7
WRONG = 1e-2
TINY_GRADIENT = 1e-10
TABLE_ROWS = 30  # a longer table is summarized (counts and the rows closest to failing)
WORST_ROWS = 10
STATUSES = (
    "ok",
    "ok at noise floor",
    "kink ok",
    "FAIL",
    "kink FAIL",
    "non-finite",
    "not measured",
    "unresolved",
)
TOO_LARGE, TOO_SMALL = "h too large", "h too small"  # why a row is unresolved


def coordinate_label(name: str, index: tuple[int, ...]) -> str:
    """``W[3, 7]``, ``b[2]``, or just the name for a 0-d parameter or a direction."""
    if not index:
        return str(name)
    return f"{name}[{', '.join(str(i) for i in index)}]"


@dataclass(frozen=True)
class GradCheckRow:
    """One checked coordinate ``params[name][index]``, or the direction in directional mode.

    For a kink row, ``kink_at`` is the kink's offset from x along the row and ``interval``
    what the analytic value may be: ``(s, s)`` with ``s`` the slope of x's piece (then
    ``numeric`` is ``s``), or both slopes when the kink is at x (``numeric`` is then the
    centered difference); both are ``None`` for other rows. ``noise_floor`` is the absolute
    error below which the two values are indistinguishable from rounding noise, and
    ``at_noise_floor`` marks a row that passed only thanks to it (its relative error is above
    the tolerance). ``problem`` says why a row could not be judged: ``non_finite`` when ``f``
    or the analytic value was NaN or infinite, ``unresolved`` (``"h too large"`` or
    ``"h too small"``) when the step does not suit f there.
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
    problem: str | None = None
    non_finite: bool = False
    kink_at: float | None = None
    unresolved: str | None = None

    @property
    def label(self) -> str:
        """``W[3, 7]``, ``b[2]``, or just the name for a 0-d parameter or a direction."""
        return coordinate_label(self.name, self.index)

    @property
    def kind(self) -> str:
        """How the row is judged: ``smooth``, ``noise floor``, ``kink``, ``unmeasured`` or
        ``unresolved``."""
        if self.problem is not None:
            return "unresolved" if self.unresolved else "unmeasured"
        if self.kink:
            return "kink"
        return "noise floor" if self.at_noise_floor else "smooth"

    @property
    def status(self) -> str:
        verdict = "ok" if self.passed else "FAIL"
        if self.problem is not None:
            return f"FAIL ({self.problem})"
        if self.kink and self.interval is not None:
            low, high = self.interval
            if low == high:
                return f"kink at x {self.kink_at or 0.0:+.1e}, slope of x's side {verdict}"
            return f"kink, slopes [{low:.3e}, {high:.3e}] {verdict}"
        if self.at_noise_floor:
            return "ok (at noise floor)"
        return verdict


@dataclass(frozen=True)
class GradCheckReport:
    """Everything a gradient check measured, with a verdict a person can act on.

    ``evaluations`` counts every call of ``f``, the one that returned the analytic gradient
    included. ``max_rel_error`` is taken over the smooth rows (not kinks, not at the noise
    floor); it is infinite when something could not be measured (``problems`` at x, or a row's
    ``problem``) and 0.0 when no row is smooth. ``problems`` lists what was not finite at x:
    the loss, or entries of the analytic gradient (every entry, not only the checked rows).
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
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (each row with its ``kind``, and the ``counts`` by status);
        NaN and infinity become ``None``."""
        plain = _plain(asdict(self))
        for row, fields in zip(self.rows, plain["rows"], strict=True):
            fields["kind"] = row.kind
        return {**plain, "counts": self.counts()}

    def counts(self) -> dict[str, int]:
        """How many rows have each status: ``{"ok": 18, "kink ok": 2}`` (zeros left out)."""
        statuses = [_status_name(row) for row in self.rows]
        return {status: statuses.count(status) for status in STATUSES if status in statuses}

    def worst_rows(self, limit: int = WORST_ROWS) -> tuple[GradCheckRow, ...]:
        """The ``limit`` rows closest to failing: failed rows first (unmeasured ones before the
        rest), then smooth rows by relative error (so the first passing smooth row is the one
        ``max_rel_error`` names when every row passed), then the others."""
        return tuple(sorted(self.rows, key=_closeness_to_failing)[:limit])

    def format_table(self, rows: Iterable[GradCheckRow] | None = None) -> str:
        """One line per row (every row by default): label, analytic, numeric, relative error,
        status."""
        rows = self.rows if rows is None else tuple(rows)
        width = max((len(row.label) for row in rows), default=0)
        return "\n".join(
            f"{row.label:<{width}}   analytic {row.analytic:>10.3e}   "
            f"numeric {row.numeric:>10.3e}   rel {row.rel_error:.1e}   {row.status}"
            for row in rows
        )

    def format_summary(self, limit: int = WORST_ROWS, every_row: str = "format_table()") -> str:
        """Counts by status, then the ``limit`` rows closest to failing; ``every_row`` says
        how to see the rest."""
        shown, total = self.worst_rows(limit), len(self.rows)
        counted = ", ".join(f"{count} {status}" for status, count in self.counts().items())
        heading = f"the {len(shown)} rows closest to failing ({every_row} lists all {total}):"
        return "\n".join([f"{total} rows: {counted}", heading, self.format_table(shown)])

    def to_text(
        self, table_rows: int | None = TABLE_ROWS, every_row: str = "format_table()"
    ) -> str:
        """The table (summarized beyond ``table_rows`` rows; ``None``: never), the verdict and
        its reason, then problems, warnings and hints."""
        if table_rows is not None and len(self.rows) > table_rows:
            lines = [self.format_summary(every_row=every_row)]
        else:
            lines = [self.format_table()] if self.rows else []
        lines.append(f"{self.verdict}: {self.reason}")
        if len(self.problems) > 1:
            lines += [f"not finite: {problem}" for problem in self.problems]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines += [f"hint: {hint}" for hint in self.hints]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        """One line: verdict, passed, max relative error, rows, kinks (``str()``: the table)."""
        from slopelab.display import report_text

        return report_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        """Jupyter's view: verdict, key numbers, and the rows with their status."""
        from slopelab.display import report_html

        return report_html(self)


def make_report(
    rows: tuple[GradCheckRow, ...],
    *,
    h: float,
    mode: str,
    tol: float,
    evaluations: int,
    warnings: tuple[str, ...],
    problems: tuple[str, ...] = (),
) -> GradCheckReport:
    """Summarize judged rows into a report: max relative error, verdict, reason and hints."""
    smooth = [row for row in rows if row.kind == "smooth"]
    unmeasured = bool(problems) or any(row.problem is not None for row in rows)
    max_rel_error = max((_nan_as_inf(row.rel_error) for row in smooth), default=0.0)
    if unmeasured:
        max_rel_error = math.inf
    verdict, reason = _verdict(rows, smooth, problems)
    passed = not problems and all(row.passed for row in rows)
    needs_help = not passed or verdict in ("non-finite", "suspicious", "wrong")
    return GradCheckReport(
        rows=rows,
        max_rel_error=max_rel_error,
        passed=passed,
        verdict=verdict,
        reason=reason,
        hints=_hints(rows, mode, warnings, verdict) if needs_help else (),
        kinks=sum(row.kink for row in rows),
        h=h,
        mode=mode,
        tol=tol,
        evaluations=evaluations,
        warnings=warnings,
        problems=problems,
    )


def precision_warnings(dtypes: Iterable[tuple[str, Any]]) -> tuple[str, ...]:
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
        if row.kind != "unmeasured":
            size = max(abs(row.analytic), abs(row.numeric))
            largest[row.name] = max(largest.get(row.name, 0.0), size)
    return tuple(
        f"gradient magnitudes in {name!r} are below 1e-10 (largest {size:.1e}): relative "
        "errors are unreliable at that scale; scale the loss up temporarily"
        for name, size in largest.items()
        if size < TINY_GRADIENT
    )


def _verdict(
    rows: tuple[GradCheckRow, ...], smooth: list[GradCheckRow], problems: tuple[str, ...]
) -> tuple[str, str]:
    non_finite = list(problems) + [  # a non-finite analytic value is already in problems
        f"{row.label}: {row.problem}"
        for row in rows
        if row.non_finite and math.isfinite(row.analytic)
    ]
    if non_finite:
        more = f" (and {len(non_finite) - 1} more)" if len(non_finite) > 1 else ""
        return "non-finite", (
            f"{non_finite[0]}{more}; a gradient check needs a finite loss and gradient "
            "everywhere it looks"
        )
    outside = [row for row in rows if row.kink and not row.passed]
    if outside:
        return "wrong", _kink_reason(outside[0])
    worst = max(smooth, key=lambda row: _nan_as_inf(row.rel_error), default=None)
    if worst is not None and _nan_as_inf(worst.rel_error) >= WRONG:
        error = f"max relative error {worst.rel_error:.1e} at {worst.label}"
        return "wrong", f"{error} >= {WRONG:.0e}: the gradient is probably incorrect"
    lost = sorted((row for row in rows if row.problem is not None), key=lambda r: r.kind)
    if lost:
        judged = "not measured" if lost[0].kind == "unmeasured" else "unresolved"
        return "suspicious", (
            f"{lost[0].label}: {lost[0].problem} ({len(lost)} of {len(rows)} rows {judged})"
        )
    if worst is None:
        return _nothing_smooth(rows)
    error = f"max relative error {worst.rel_error:.1e} at {worst.label}"
    over = f"over {len(smooth)} smooth rows{_left_out(rows)}"
    if worst.rel_error <= EXCELLENT:
        return "excellent", f"{error} <= {EXCELLENT:.0e} {over}"
    excuse = "; a kink elsewhere does not loosen it" if any(row.kink for row in rows) else ""
    return "suspicious", (
        f"{error} is above {EXCELLENT:.0e}, too large for a coordinate with no kink near it"
        f"{excuse} ({over})"
    )


def _kink_reason(row: GradCheckRow) -> str:
    low, high = row.interval or (math.nan, math.nan)
    if low == high:
        return (
            f"{row.label} has a kink at x {row.kink_at or 0.0:+.2e}, so f is differentiable at "
            f"x with the slope of x's side, {low:.6g}, but the analytic value is "
            f"{row.analytic:.6g}: the gradient is probably incorrect (or takes the other side)"
        )
    return (
        f"{row.label} sits on a kink but its analytic value {row.analytic:.4g} lies outside "
        f"the one-sided slopes [{low:.4g}, {high:.4g}]: the gradient is probably incorrect"
    )


def _nothing_smooth(rows: tuple[GradCheckRow, ...]) -> tuple[str, str]:
    kinks = sum(row.kink for row in rows)
    if kinks:
        return "acceptable", (
            f"no smooth row to hold to {EXCELLENT:.0e}: {kinks} of {len(rows)} rows sit on or "
            "next to a kink, each analytic value matching the slopes beside it, and the rest "
            "agree to rounding noise"
        )
    return "suspicious", (
        "every row agrees only to rounding noise: the gradients are too small to compare"
    )


def _left_out(rows: tuple[GradCheckRow, ...]) -> str:
    """``; not in the max: 2 kink rows (...), 1 row at the noise floor (...)``, or ``""``."""
    kinks = sum(row.kind == "kink" for row in rows)
    floor = sum(row.kind == "noise floor" for row in rows)
    parts = []
    if kinks:
        parts.append(f"{_count(kinks, 'kink row')} (judged by one-sided slopes)")
    if floor:
        parts.append(f"{_count(floor, 'row')} at the noise floor (equal to rounding)")
    return f"; not in the max: {', '.join(parts)}" if parts else ""


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _closeness_to_failing(row: GradCheckRow) -> tuple[int, float]:
    if not row.passed:
        rank = 0 if row.problem is not None else 1
    else:
        rank = 2 if row.kind == "smooth" else 3
    return rank, -_nan_as_inf(row.rel_error)


def _status_name(row: GradCheckRow) -> str:
    if row.kind == "unresolved":
        return "unresolved"
    if row.kind == "unmeasured":
        return "non-finite" if row.non_finite else "not measured"
    verdict = "ok" if row.passed else "FAIL"
    return {"smooth": verdict, "kink": f"kink {verdict}", "noise floor": "ok at noise floor"}[
        row.kind
    ]


def _hints(
    rows: tuple[GradCheckRow, ...], mode: str, warnings: tuple[str, ...], verdict: str
) -> tuple[str, ...]:
    """The CS231n notes' advice, most specific first."""
    if verdict == "non-finite":
        return (
            "evaluate f at the point named above: look for log(0), exp overflow (shift "
            "softmax scores by their max), division by 0, or NaN in the data",
        )
    hints = []
    if any(row.unresolved == TOO_LARGE for row in rows):
        hints.append(
            "use a smaller h (1e-5 is usual): f bends faster than the stencil x +- 2h resolves"
        )
    if any(row.unresolved == TOO_SMALL for row in rows):
        hints.append(
            "use a larger h (1e-5 is usual), or scale the loss up: rounding noise hides errors"
        )
    if any(row.kind == "unmeasured" and not row.non_finite for row in rows):
        hints.append("use a larger h: x + h must differ from x in floating point")
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
