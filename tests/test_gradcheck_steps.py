"""The step h of ``check_gradient``: a wrong gradient fails at every h the checker accepts.

A finite-difference check is local: its stencil ``x +- 2h`` must not outrun the scale on which
f bends. Too large an h made a smooth logsumexp look like a max, its rows were called kinks and
judged by the wide range between one-sided slopes, and a gradient 50% off passed. Too small an
h let the rounding noise floor pass anything. Sections: the bound on h; f bending faster than
the stencil (unresolved rows, the tester's logsumexp); kinks judged by the slope of x's side;
rounding noise at tiny h; the built-in losses at every accepted h; properties over random
smooth functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from slopelab.errors import InvalidValueError
from slopelab.gradcheck import MAX_H, check_gradient
from slopelab.losses import EXAMPLE_LOSSES, get_loss

ACCEPTED_H = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
LOSS_NAMES = list(EXAMPLE_LOSSES)
TESTER_W = np.random.default_rng(0).standard_normal(10)  # "W ~ N(0, 1)", 10 entries


def logsumexp(w):
    """``f(w) = log sum exp(w)`` and its gradient ``softmax(w)``."""
    shift = w.max()
    exps = np.exp(w - shift)
    return float(shift + np.log(exps.sum())), exps / exps.sum()


def scaled_logsumexp(k, factor=1.0):
    """``lse(k w) / k`` at ``w = W / k``: at step h it is the tester's ``lse(W)`` at step ``k h``
    (values divided by k, slopes the same), with the gradient multiplied by ``factor``."""

    def f(w):
        value, grad = logsumexp(k * w)
        return value / k, factor * grad

    return f


def softmax_problem(seed=0, N=6, D=5, C=4, feature_scale=1.0):
    rng = np.random.default_rng(seed)
    X = feature_scale * rng.standard_normal((N, D))
    y = np.arange(N) % C
    params = {"W": 0.5 * rng.standard_normal((D, C)), "b": 0.1 * rng.standard_normal(C)}
    return X, y, params


def scaled(f, factor):
    def wrong(p):
        loss, grads = f(p)
        if isinstance(grads, dict):
            return loss, {key: factor * grad for key, grad in grads.items()}
        return loss, factor * grads

    return wrong


# ---------------------------------------------------------------- the bound on h


@pytest.mark.parametrize("h", [2, 3, 5, 10, 100, 0.0011, 1e-2, 0.5])
def test_the_testers_wrong_softmax_gradient_at_a_large_h_is_refused(h):
    # The tester's report: check_gradient(lambda p: (l, {k: 1.5 * g}), p, h=3) on the built-in
    # softmax gave passed=True, "acceptable: 10 of 10 rows sit on a kink".
    X, y, params = softmax_problem()
    loss = get_loss("softmax")
    wrong = scaled(lambda p: loss(p, X, y, 0.1), 1.5)
    expected = rf"^h must be at most 0\.001 for check_gradient; got {h:g}: the check compares "
    with pytest.raises(InvalidValueError, match=expected + "slopes at x"):
        check_gradient(wrong, params, h=h)


def test_the_largest_accepted_h_is_checked_and_the_next_float_is_not():
    f = scaled_logsumexp(1.0)
    assert check_gradient(f, TESTER_W, h=MAX_H).passed
    with pytest.raises(InvalidValueError, match=r"h must be at most 0\.001"):
        check_gradient(f, TESTER_W, h=float(np.nextafter(MAX_H, 1.0)))


# ---------------------------------------------------------------- f bending faster than h


@pytest.mark.parametrize("factor", [1.5, 1.01, -1.0, 0.0])
@pytest.mark.parametrize("tester_h", [0.5, 1, 2, 3, 5, 10, 100])
@pytest.mark.parametrize("h", [1e-3, 1e-5])
def test_the_testers_case_scaled_into_the_accepted_range_still_fails(h, tester_h, factor):
    # lse(k w) / k at h is the tester's lse(W) at k h: the same bend, now within the bound.
    # The old checker passed the 1.5x gradient for k h >= 2 ("acceptable", every row a kink).
    k = tester_h / h
    report = check_gradient(scaled_logsumexp(k, factor), TESTER_W / k, h=h, mode="all")
    assert not report.passed, str(report)
    assert report.verdict in ("wrong", "suspicious")


@pytest.mark.parametrize("tester_h", [2, 3, 5])
def test_a_bend_the_stencil_cannot_resolve_is_unresolved_not_a_kink(tester_h):
    # Even the correct gradient cannot be checked there: the report says so and asks for a
    # smaller h instead of calling it "acceptable" (or the gradient wrong).
    k = tester_h / 1e-3
    report = check_gradient(scaled_logsumexp(k), TESTER_W / k, h=1e-3, mode="all")

    unresolved = [row for row in report.rows if row.kind == "unresolved"]
    assert unresolved and all(row.unresolved == "h too large" for row in unresolved)
    assert not any(row.kink and row.passed for row in report.rows), str(report)
    assert not report.passed and report.verdict == "suspicious"
    assert "too large" in report.reason
    assert report.hints[0].startswith("use a smaller h (1e-5 is usual)")


def test_a_smooth_row_whose_truncation_error_hides_the_difference_is_unresolved():
    # The tester's lse at h = 0.1, as lse(100 w) / 100 at h = 1e-3: the gradient is correct,
    # but the extrapolated difference still errs by more than 1e-7 of the slope on some rows
    # (about (k h)^4 / 480), so those cannot be held to 1e-7 at this h.
    k = 0.1 / 1e-3
    report = check_gradient(scaled_logsumexp(k), TESTER_W / k, h=1e-3, mode="all")
    unresolved = [row for row in report.rows if row.kind == "unresolved"]
    assert unresolved, str(report)
    assert all("f bends too fast for h = 0.001 here" in row.problem for row in unresolved)
    assert not any(row.status.endswith(" FAIL") for row in report.rows)
    assert report.verdict == "suspicious"


# ---------------------------------------------------------------- kinks: the slope of x's side


@pytest.mark.parametrize("position", [0.3, -0.3, 0.7, -1.2, 1.7])
def test_next_to_a_kink_only_the_slope_of_x_side_passes(position):
    # |x - c| with the kink c = position * h away from x = 0.5: f is differentiable at x. The
    # old interval check passed any value between the one-sided slopes, 0 included.
    h = 1e-5
    c = 0.5 + position * h
    slope_at_x = -1.0 if position > 0 else 1.0

    def f_with(analytic):
        return lambda x: (abs(float(x[0]) - c), np.array([analytic]))

    right = check_gradient(f_with(slope_at_x), np.array([0.5]), h=h)
    assert right.passed and right.kinks == 1, str(right)
    row = right.rows[0]
    assert row.interval == pytest.approx((slope_at_x, slope_at_x), abs=1e-9)
    if abs(position) < 1:  # located; beyond h only its gap is known (and its side)
        assert row.kink_at == pytest.approx(position * h, rel=1e-3)
    assert row.kink_at * position > 0 and 0.2 * h < abs(row.kink_at) < 2 * h
    for analytic in (0.0, -slope_at_x, 0.5 * slope_at_x):
        wrong = check_gradient(f_with(analytic), np.array([0.5]), h=h)
        assert not wrong.passed and wrong.verdict == "wrong", str(wrong)
        assert "so f is differentiable at x with the slope of x's side" in wrong.reason


@pytest.mark.parametrize("analytic", [-1.0, -0.25, 0.0, 0.6, 1.0])
def test_at_the_kink_itself_any_value_between_the_slopes_passes(analytic):
    report = check_gradient(lambda x: (abs(float(x[0])), np.array([analytic])), np.array([0.0]))
    row = report.rows[0]
    assert row.kink and row.kink_at == pytest.approx(0.0, abs=1e-12) and report.passed


@pytest.mark.parametrize("h", ACCEPTED_H[:-1])  # a 1e-7 step is 1e-6 of the margin here
@pytest.mark.parametrize("name", [n for n in LOSS_NAMES if n.startswith("svm")])
def test_a_hinge_at_zero_is_found_at_every_accepted_h(name, h):
    X, y, params = softmax_problem(seed=6)
    loss = get_loss(name)
    scores = X @ params["W"] + params["b"]
    j = next(k for k in np.argsort(scores[0])[::-1] if k != y[0])  # example 0's top rival
    params["b"] = params["b"].copy()
    if name == "svm-ova":
        params["b"][j] -= 1.0 + scores[0, j]  # its hinge 1 + s_0j at exactly 0
    else:
        params["b"][y[0]] += 1.0 + scores[0, j] - scores[0, y[0]]  # margin of j at 0
    f = lambda p: loss(p, X, y, 0.1)  # noqa: E731

    report = check_gradient(f, params, mode="all", h=h)

    assert {f"b[{j}]"} <= {row.label for row in report.rows if row.kink}, str(report)
    assert report.passed, str(report)
    bad = check_gradient(scaled(f, 1.5), params, mode="all", h=h)
    assert not bad.passed


# ---------------------------------------------------------------- rounding noise at tiny h


@pytest.mark.parametrize(
    ("h", "factor"), [(1e-14, 1.5), (1e-13, 1.01), (1e-12, 1.01), (1e-12, 1.001), (1e-14, -1.0)]
)
def test_a_tiny_h_cannot_pass_a_wrong_gradient_through_the_noise_floor(h, factor):
    # The old checker passed these: every row "ok at noise floor", passed=True.
    report = check_gradient(scaled_logsumexp(1.0, factor), TESTER_W, h=h)
    assert not report.passed, str(report)


def test_a_tiny_h_fails_even_a_correct_gradient_as_unresolved_and_says_why():
    report = check_gradient(scaled_logsumexp(1.0), TESTER_W, h=1e-13)
    assert not report.passed and report.verdict == "suspicious"
    assert {row.unresolved for row in report.rows if not row.passed} == {"h too small"}
    assert "rounding noise in the differences" in report.reason
    assert any(hint.startswith("use a larger h (1e-5 is usual)") for hint in report.hints)


def test_a_zero_gradient_entry_still_passes_at_the_noise_floor():
    # The floor exists for this: an exact 0 against a numerical value of rounding noise.
    def f(x):
        return float(x[0] ** 2 + 0.0 * x[1] + 1.0), np.array([2 * x[0], 0.0])

    report = check_gradient(f, np.array([0.7, 0.3]), h=1e-7)
    assert report.passed and report.verdict == "excellent"


# ---------------------------------------------------------------- built-in losses, every h


def loss_problem(name, seed):
    X, y, params = softmax_problem(seed=seed)
    loss = get_loss(name)
    return (lambda p: loss(p, X, y, 0.1)), params


@pytest.mark.parametrize("h", ACCEPTED_H)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_correct_loss_passes_and_every_wrong_one_fails_at_every_accepted_h(name, seed, h):
    f, params = loss_problem(name, seed)

    assert check_gradient(f, params, h=h, mode="all").passed
    for factor in (1.5, 1.01, -1.0):
        assert not check_gradient(scaled(f, factor), params, h=h, mode="all").passed


# ---------------------------------------------------------------- random smooth functions

KINDS = ("exp", "log", "sin")


def smooth_function(terms):
    """``f(x) = sum c_j phi_j(a_j . x + b_j)`` with phi in exp, log(1 + u^2), sin."""

    def parts(x):
        value, grad = 0.0, np.zeros_like(x)
        parts.largest_term = 0.0
        for kind, a, b, c in terms:
            u = float(a @ x + b)
            phi, dphi = {
                "exp": (math.exp(u), math.exp(u)),
                "log": (math.log1p(u * u), 2 * u / (1 + u * u)),
                "sin": (math.sin(u), math.cos(u)),
            }[kind]
            value += c * phi
            grad = grad + c * dphi * a
            parts.largest_term = max(parts.largest_term, abs(c * phi))
        return value, grad

    return parts


@st.composite
def smooth_problems(draw):
    n = draw(st.integers(1, 4))
    coefficient = st.floats(-3.0, 3.0, allow_subnormal=False)
    terms = [
        (
            draw(st.sampled_from(KINDS)),
            np.array(draw(st.lists(coefficient, min_size=n, max_size=n))),
            draw(coefficient),
            draw(st.floats(-2.0, 2.0).filter(lambda c: abs(c) > 1e-3)),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    x = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)))
    return smooth_function(terms), x


@settings(max_examples=300, deadline=None)
@given(
    problem=smooth_problems(),
    log_h=st.floats(-13.0, math.log10(MAX_H)),
    log_error=st.floats(-3.0, 0.0),
    how=st.sampled_from(["too large", "too small", "sign flipped"]),
    mode=st.sampled_from(["sampled", "all", "directional"]),
    detect_kinks=st.booleans(),
)
def test_any_relative_gradient_error_above_1e_3_fails_at_any_accepted_h(
    problem, log_h, log_error, how, mode, detect_kinks
):
    f, x = problem
    value, grad = f(x)
    h = 10.0**log_h
    # A gradient the step can resolve: its rounding noise floor, 10 eps |f| / h, at most 1e-4
    # of the largest slope. Below that no check sees a relative error: a slope of 1e-7 at
    # h = 1e-13 leaves f's values equal to the last bit, 0 against 0 (and the report warns
    # about gradients below 1e-10). Above it the checker fails such a row as unresolved.
    noise_floor = 10 * np.finfo(float).eps * max(abs(value), 1.0) / h
    assume(np.abs(grad).max() >= 2e4 * noise_floor)
    error = 10.0**log_error
    factor = {"too large": 1.0 + error, "too small": 1.0 - error, "sign flipped": -1.0}[how]

    report = check_gradient(scaled(f, factor), x, h=h, mode=mode, detect_kinks=detect_kinks)

    assert not report.passed, str(report)


@settings(max_examples=200, deadline=None)
@given(
    problem=smooth_problems(),
    log_h=st.floats(-13.0, math.log10(MAX_H)),
    mode=st.sampled_from(["sampled", "all", "directional"]),
)
def test_a_correct_gradient_is_never_called_wrong_and_fails_only_for_its_step(problem, log_h, mode):
    f, x = problem
    value, _ = f(x)
    # The noise floor takes f's rounding to be eps max(|f|, 1): terms of 1e6 that cancel to
    # f = 1 round 1e6 times coarser, and a correct row can then fail (a false failure, never a
    # pass). The losses here keep their terms near their value (slopelab.gradcheck).
    assume(f.largest_term <= 10 * max(abs(value), 1.0))
    report = check_gradient(f, x, h=10.0**log_h, mode=mode)
    assert report.verdict != "wrong", str(report)
    assert not any(row.kink for row in report.rows), str(report)  # smooth: never a kink
    failing = [row for row in report.rows if not row.passed]
    assert all(row.kind == "unresolved" for row in failing), str(report)
