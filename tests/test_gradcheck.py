"""Tests for slopelab.gradcheck (and the report it returns, slopelab.gradcheck_report).

Sections: the losses against finite differences; deliberately wrong gradients; kinks; modes and
reproducibility; numerical_gradient itself; non-finite values; verdicts, warnings and the report;
the summary of a long report; validation. Properties over arbitrary inputs are in
test_gradcheck_properties.py.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.errors import InvalidTypeError, InvalidValueError
from slopelab.gradcheck import GradCheckReport, check_gradient, numerical_gradient
from slopelab.losses import EXAMPLE_LOSSES, get_loss

LOSS_NAMES = list(EXAMPLE_LOSSES)
SVM_NAMES = [name for name in LOSS_NAMES if name.startswith("svm")]
H = 1e-5
KINK_CLEARANCE = 1e-3  # >> 2 h max|x|: no hinge moves through 0 within the stencil


# ---------------------------------------------------------------- problems and helpers


def make_problem(seed=0, N=6, D=5, C=4, weight_scale=0.5, feature_scale=1.0):
    rng = np.random.default_rng(seed)
    X = feature_scale * rng.standard_normal((N, D))
    y = np.arange(N) % C
    params = {"W": weight_scale * rng.standard_normal((D, C)), "b": 0.1 * rng.standard_normal(C)}
    return X, y, params


def loss_fn(name, X, y, reg=0.1, penalty="l2"):
    loss = get_loss(name, penalty)
    return lambda params: loss(params, X, y, reg)


def hinge_arguments(name, scores, y):
    """Every quantity whose sign switches a hinge on or off (a kink where it is 0)."""
    rows = np.arange(len(y))
    if name == "svm-ova":
        targets = np.where(np.arange(scores.shape[1]) == y[:, None], 1.0, -1.0)
        return (1.0 - targets * scores).ravel()
    wrong = scores.copy()
    wrong[rows, y] = -np.inf
    margins = wrong - scores[rows, y][:, None] + 1.0  # (N, C), -inf at the correct class
    if name == "svm":
        return margins[np.isfinite(margins)]
    top_two = np.sort(wrong, axis=1)[:, -2:]  # structured: the rival is the max, ties are kinks
    return np.concatenate([margins.max(axis=1), top_two[:, 1] - top_two[:, 0]])


def assert_away_from_kinks(name, X, y, params, skip=None):
    """No hinge argument within KINK_CLEARANCE of 0, except one placed exactly at ``skip``."""
    if name not in SVM_NAMES:
        return
    arguments = hinge_arguments(name, X @ params["W"] + params["b"], y)
    placed = np.zeros(arguments.shape, dtype=bool)
    if skip is not None:
        placed = np.isclose(arguments, skip, rtol=0.0, atol=1e-12)
        assert placed.sum() == 1
    assert np.abs(arguments[~placed]).min() > KINK_CLEARANCE


def place_margin(name, X, y, params, target):
    """Shift a bias so that example 0's hinge against its top wrong class j equals ``target``.

    Returns the new params and j. The hinge argument is ``1 + s_0j - s_0y`` (``1 + s_0j`` for
    one-vs-all); raising ``b[y_0]`` rather than lowering ``b[j]`` keeps j the rival.
    """
    scores = X @ params["W"] + params["b"]
    wrong = scores[0].copy()
    wrong[y[0]] = -np.inf
    j = int(np.argmax(wrong))
    b = params["b"].copy()
    if name == "svm-ova":
        b[j] += target - (1.0 + scores[0, j])
    else:
        b[y[0]] += (1.0 + scores[0, j] - scores[0, y[0]]) - target
    return {"W": params["W"], "b": b}, j


def rows_by_label(report):
    return {row.label: row for row in report.rows}


# ---------------------------------------------------------------- losses vs finite differences


@pytest.mark.parametrize("penalty", ["l2", "none", "l1"])
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_matches_finite_differences(name, penalty):
    X, y, params = make_problem(seed=1)
    assert_away_from_kinks(name, X, y, params)
    if penalty == "l1":
        assert np.abs(params["W"]).min() > KINK_CLEARANCE  # |W| is smooth away from 0

    report = check_gradient(loss_fn(name, X, y, penalty=penalty), params, mode="all")

    assert report.kinks == 0
    assert report.max_rel_error < 1e-7
    assert report.passed and report.verdict == "excellent", str(report)
    assert len(report.rows) == params["W"].size + params["b"].size


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_numerical_gradient_of_every_loss_matches_analytic_elementwise(name):
    X, y, params = make_problem(seed=2)
    assert_away_from_kinks(name, X, y, params)
    f = loss_fn(name, X, y, reg=0.3)

    numeric = numerical_gradient(f, params)
    _, analytic = f(params)

    for key in params:  # atol: an exact 0 (a bias whose hinge counts cancel) vs rounding noise
        np.testing.assert_allclose(numeric[key], analytic[key], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_passes_in_directional_mode(name):
    X, y, params = make_problem(seed=3)
    assert_away_from_kinks(name, X, y, params)
    report = check_gradient(loss_fn(name, X, y), params, mode="directional")
    assert report.passed and report.verdict == "excellent", str(report)


# ---------------------------------------------------------------- deliberately wrong gradients


def half_reg_gradient(grads, params, reg):
    """The classic bug: ``0.5 * reg * W`` where ``reg * sum(W**2)`` needs ``2 * reg * W``."""
    return {"W": grads["W"] - 2 * reg * params["W"] + 0.5 * reg * params["W"], "b": grads["b"]}


CORRUPTIONS = {
    "reg gradient 0.5*reg*W": half_reg_gradient,
    "bias gradient dropped": lambda g, p, reg: {"W": g["W"], "b": np.zeros_like(g["b"])},
    "W gradient transposed": lambda g, p, reg: {"W": g["W"].T, "b": g["b"]},
    "W gradient rows permuted": lambda g, p, reg: {"W": np.roll(g["W"], 1, axis=0), "b": g["b"]},
    "sign error": lambda g, p, reg: {"W": -g["W"], "b": -g["b"]},
}


@pytest.mark.parametrize("mode", ["sampled", "directional"])
@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_wrong_gradient_fails(corruption, name, mode):
    X, y, params = make_problem(seed=4, D=4, C=4)  # square W, so it can be transposed
    assert_away_from_kinks(name, X, y, params)
    reg = 0.5
    correct = loss_fn(name, X, y, reg=reg)

    def wrong(p):
        loss, grads = correct(p)
        return loss, CORRUPTIONS[corruption](grads, p, reg)

    report = check_gradient(wrong, params, mode=mode)

    assert not report.passed
    assert report.verdict == "wrong", str(report)
    assert report.hints


def test_correct_gradient_passes_where_the_corruptions_fail():
    X, y, params = make_problem(seed=4, D=4, C=4)
    report = check_gradient(loss_fn("softmax", X, y, reg=0.5), params)
    assert report.passed and report.verdict == "excellent"


def test_dropped_bias_gradient_is_caught_because_every_array_is_sampled():
    X, y, params = make_problem(seed=5, D=40, C=10)  # W has 400 entries, b only 10
    correct = loss_fn("softmax", X, y)

    def no_bias_gradient(p):
        loss, grads = correct(p)
        return loss, {"W": grads["W"], "b": np.zeros_like(grads["b"])}

    report = check_gradient(no_bias_gradient, params, num_checks=3)

    failing = {row.name for row in report.rows if not row.passed}
    assert failing == {"b"}
    assert any("'b'" in hint for hint in report.hints)


# ---------------------------------------------------------------- kinks


@pytest.mark.parametrize("target", [0.0, 0.4 * H, -0.7 * H])
@pytest.mark.parametrize("name", SVM_NAMES)
def test_svm_margin_at_or_near_zero_is_flagged_as_kink_and_passes(name, target):
    X, y, params = make_problem(seed=6)
    params, j = place_margin(name, X, y, params, target)
    assert_away_from_kinks(name, X, y, params, skip=target)

    report = check_gradient(loss_fn(name, X, y), params, mode="all")

    rows = rows_by_label(report)
    moved_by_t = [f"b[{j}]"] + ([] if name == "svm-ova" else [f"b[{y[0]}]"])
    moved_by_t += [f"W[{d}, {j}]" for d in range(X.shape[1]) if abs(X[0, d]) * H >= abs(target)]
    assert all(rows[label].kink for label in moved_by_t), str(report)
    untouched = {int(y[0]), j} if name != "svm-ova" else {j}
    assert not any(row.kink for row in report.rows if row.index[-1] not in untouched)
    assert report.passed, str(report)
    assert report.verdict in ("excellent", "acceptable")
    assert report.tol == 1e-7  # a kink loosens no other row: each smooth row still passed 1e-7


@pytest.mark.parametrize("name", SVM_NAMES)
def test_without_kink_detection_a_margin_at_zero_is_a_false_failure(name):
    X, y, params = make_problem(seed=6)
    params, _ = place_margin(name, X, y, params, 0.0)
    report = check_gradient(loss_fn(name, X, y), params, mode="all", detect_kinks=False)
    assert report.kinks == 0 and not report.passed  # what the detection saves us from


def test_wrong_gradient_at_a_kink_still_fails():
    X, y, params = make_problem(seed=6)
    params, j = place_margin("svm", X, y, params, 0.0)
    correct = loss_fn("svm", X, y)

    def wrong_at_kink(p):
        loss, grads = correct(p)
        db = grads["b"].copy()
        db[j] += 2.0  # far outside the one-sided slopes, which differ by 1/N
        return loss, {"W": grads["W"], "b": db}

    report = check_gradient(wrong_at_kink, params, mode="all")

    row = rows_by_label(report)[f"b[{j}]"]
    assert row.kink and not row.passed
    assert not report.passed and report.verdict == "wrong"
    assert "outside the one-sided slopes" in report.reason


def test_gradient_from_the_wrong_side_of_a_nearby_kink_fails():
    # Kink at x + h/2: x is left of it, so the slope right of the kink is not a subgradient at x.
    A, delta, s = 0.7, 1.0, 0.3 + 0.5 * H

    def f(x):
        return A * x[0] + delta * max(0.0, x[0] - s), np.array([A + delta])

    report = check_gradient(f, np.array([0.3]))
    assert report.kinks == 1 and not report.passed and report.verdict == "wrong"


@settings(max_examples=150, deadline=None)
@given(
    u=st.floats(-1.5, 1.5),
    slope=st.floats(-10.0, 10.0),
    jump=st.floats(1e-5, 10.0),  # 1e-5: at h = 1e-6 still 8x above the noise threshold
    curvature=st.sampled_from([0.0, 1.0, 1e4]),
    h=st.sampled_from([1e-3, 1e-4, 1e-5, 1e-6]),
)
def test_any_kink_near_x_is_flagged_and_its_subgradient_passes(u, slope, jump, curvature, h):
    # A hinge anywhere in [x - 1.5h, x + 1.5h], plus a quadratic as steep as a large reg makes.
    x0 = 0.3
    kink_at = x0 + u * h

    def f(x):
        t = x[0]
        value = 2.0 + slope * (t - x0) + jump * max(0.0, t - kink_at) + curvature * (t - x0) ** 2
        return value, np.array([slope + (jump if t > kink_at else 0.0) + 2 * curvature * (t - x0)])

    report = check_gradient(f, np.array([x0]), h=h)
    assert report.kinks == 1 and report.passed, str(report)


SMOOTH = {
    "exp(3x)": (lambda x: np.exp(3 * x), lambda x: 3 * np.exp(3 * x), np.linspace(-1, 1.5, 7)),
    "x**4": (lambda x: x**4, lambda x: 4 * x**3, np.linspace(0.5, 3.0, 7)),
    "exp(10x)": (lambda x: np.exp(10 * x), lambda x: 10 * np.exp(10 * x), np.linspace(-1, 1, 7)),
}


@pytest.mark.parametrize("h", [1e-3, 1e-4, 1e-5, 1e-6])
@pytest.mark.parametrize("function", list(SMOOTH))
def test_smooth_functions_with_strong_curvature_are_not_flagged(function, h):
    # A least-squares parabola through x-2h..x+2h would flag exp(10x) at h=1e-5 and exp(3x)
    # at h=1e-4: its residual holds 2 h^3 f''', above rounding noise there.
    value, derivative, points = SMOOTH[function]

    report = check_gradient(lambda x: (value(x).sum(), derivative(x)), points, h=h, mode="all")

    assert report.kinks == 0, str(report)
    # Until the Richardson extrapolation, h = 1e-3 left the centered difference's truncation
    # error h^2 f'''/6 (1.7e-5 of the slope for exp(10x)) and this was "suspicious"; what is
    # left now, h^4 f^(5)/480, stays below 2.1e-11 of the slope here.
    largest_ratio = {"exp(3x)": 81, "x**4": 0, "exp(10x)": 1e4}[function]  # max |f^(5) / f'|
    assert h**4 * largest_ratio / 480 < 2.1e-11
    assert report.passed and report.verdict == "excellent", str(report)


@pytest.mark.parametrize("h", [1e-4, 1e-5, 1e-6])
@pytest.mark.parametrize(("feature_scale", "weight_scale"), [(1.0, 0.01), (1.0, 1.0), (10.0, 0.3)])
def test_softmax_is_never_flagged(feature_scale, weight_scale, h):
    X, y, params = make_problem(seed=7, feature_scale=feature_scale, weight_scale=weight_scale)
    report = check_gradient(loss_fn("softmax", X, y), params, mode="all", h=h)
    assert report.kinks == 0, str(report)
    # With features ~10, h = 1e-4 leaves a truncation error h^2 f'''/6 ~ 1e-7 of the slope: the
    # notes' reason to prefer h = 1e-5, not a kink.
    if feature_scale == 1.0 or h < 1e-4:
        assert report.passed, str(report)


def test_nearly_fitted_softmax_is_not_flagged_by_rounding_noise():
    # Loss ~1e-2 but a normalizer >= 1 inside: rounding is eps, not eps * loss.
    X, y, params = make_problem(seed=8, N=5, D=6)
    params["W"] = 5.0 * np.linalg.pinv(X) @ (np.eye(4)[y] - 0.5)
    report = check_gradient(loss_fn("softmax", X, y, reg=0.0), params, mode="all")
    assert report.kinks == 0 and report.passed, str(report)


# ---------------------------------------------------------------- modes and reproducibility


def smooth_three_arrays():
    params = {"W": np.linspace(-1, 1, 300).reshape(30, 10), "b": np.linspace(0, 1, 10)}
    params["gamma"] = np.array([0.5, -0.25])

    def f(p):
        loss = sum(np.sin(value).sum() for value in p.values())
        return loss, {key: np.cos(value) for key, value in p.items()}

    return f, params


def test_sampled_mode_checks_num_checks_distinct_coordinates_in_every_array():
    f, params = smooth_three_arrays()
    report = check_gradient(f, params, num_checks=5)

    for name, array in params.items():
        indices = [row.index for row in report.rows if row.name == name]
        assert len(indices) == min(5, array.size)
        assert len(set(indices)) == len(indices)
        assert all(len(index) == array.ndim for index in indices)
        assert all(0 <= i < n for index in indices for i, n in zip(index, array.shape, strict=True))


def test_all_mode_covers_every_coordinate_once():
    f, params = smooth_three_arrays()
    report = check_gradient(f, params, mode="all")
    expected = {(name, idx) for name, array in params.items() for idx in np.ndindex(array.shape)}
    checked = [(row.name, row.index) for row in report.rows]
    assert len(checked) == len(expected) and set(checked) == expected


@pytest.mark.parametrize(
    ("mode", "detect_kinks", "per_row"),
    [("sampled", True, 6), ("sampled", False, 2), ("all", True, 6), ("directional", True, 6),
     ("directional", False, 2)],
)  # fmt: skip
def test_evaluations_counts_every_call_of_f(mode, detect_kinks, per_row):
    f, params = smooth_three_arrays()
    calls = []

    def counting(p):
        calls.append(1)
        return f(p)

    report = check_gradient(counting, params, mode=mode, detect_kinks=detect_kinks, num_checks=4)

    assert report.evaluations == len(calls) == 1 + per_row * len(report.rows)
    assert len(report.rows) == {"sampled": 4 + 4 + 2, "all": 312, "directional": 1}[mode]


def test_directional_mode_moves_along_one_unit_direction_through_every_array():
    f, params = smooth_three_arrays()
    base = np.concatenate([value.ravel() for value in params.values()])
    moves = []

    def recording(p):
        moves.append(np.concatenate([value.ravel() for value in p.values()]) - base)
        return f(p)

    check_gradient(recording, params, mode="directional")

    steps = moves[1:]  # the first call is the analytic gradient at x
    norms = sorted(np.linalg.norm(step) for step in steps)
    np.testing.assert_allclose(norms, np.array([0.5, 0.5, 1, 1, 2, 2]) * H, rtol=1e-6)
    direction = steps[0] / np.linalg.norm(steps[0])
    for step in steps:
        assert abs(abs(direction @ step) - np.linalg.norm(step)) < 1e-12  # collinear
    assert all(np.abs(direction[-12:]) > 0)  # b and gamma move too


def test_same_rng_seed_gives_the_same_report_and_global_state_is_untouched():
    f, params = smooth_three_arrays()
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 -- inspected, never used

    first = check_gradient(f, params, rng=np.random.default_rng(42))
    again = check_gradient(f, params, rng=np.random.default_rng(42))
    other = check_gradient(f, params, rng=np.random.default_rng(43))

    assert first == again
    assert check_gradient(f, params) == check_gradient(f, params)  # default seed 0
    assert [r.index for r in first.rows] != [r.index for r in other.rows]
    assert np.array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002


def test_check_gradient_never_modifies_the_callers_params():
    X, y, params = make_problem(seed=9)
    before = {key: value.copy() for key, value in params.items()}
    for mode in ("sampled", "directional"):
        check_gradient(loss_fn("svm", X, y), params, mode=mode)
    for key in params:
        assert np.array_equal(params[key], before[key])


# ---------------------------------------------------------------- numerical_gradient


def test_f_sees_one_perturbed_entry_at_a_time_and_callers_params_are_untouched():
    params = {"W": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "b": np.array([1.0, -2.0])}
    before = {key: value.copy() for key, value in params.items()}
    base = {key: value.astype(np.float64) for key, value in params.items()}
    seen = []

    def f(p):
        assert all(value.dtype == np.float64 for value in p.values())
        moved = [(key, np.flatnonzero(p[key] != base[key])) for key in p]
        seen.append([(key, int(i), float(p[key].flat[i] - base[key].flat[i])) for key, ix in moved
                     for i in ix])  # fmt: skip
        return float(sum((value**2).sum() for value in p.values()))

    grads = numerical_gradient(f, params, h=1e-3)

    assert all(len(changes) == 1 for changes in seen)  # never 0 (wasted) and never 2
    assert all(abs(abs(step) - 1e-3) < 1e-12 for changes in seen for _, _, step in changes)
    assert len(seen) == 2 * 8
    for key in params:
        assert params[key].dtype == before[key].dtype and np.array_equal(params[key], before[key])
        assert grads[key].dtype == np.float64
        np.testing.assert_allclose(grads[key], 2 * base[key], rtol=1e-9, atol=1e-12)


def test_numerical_gradient_of_a_single_array_returns_an_array_and_accepts_tuples():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda v: ((v**3).sum(), "grads ignored"), x)
    assert isinstance(grad, np.ndarray) and grad.shape == x.shape
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-9)


def test_forward_error_shrinks_linearly_and_centered_quadratically():
    x = np.array([0.3])
    steps = np.logspace(-4, -2, 9)  # rounding (eps/h < 1e-11) is far below truncation here

    def error_order(scheme):
        def f(v):
            return float(np.exp(v[0]))

        errors = [abs(numerical_gradient(f, x, h=h, scheme=scheme)[0] - np.exp(0.3)) for h in steps]
        slope, _ = np.polyfit(np.log(steps), np.log(errors), 1)
        return slope

    assert error_order("forward") == pytest.approx(1.0, abs=0.1)
    assert error_order("centered") == pytest.approx(2.0, abs=0.1)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 5),
)
def test_numerical_gradient_of_a_quadratic_matches_the_closed_form(data, n):
    values = st.floats(-10.0, 10.0, allow_nan=False)
    A = np.array(data.draw(st.lists(values, min_size=n * n, max_size=n * n))).reshape(n, n)
    c = np.array(data.draw(st.lists(values, min_size=n, max_size=n)))
    x = np.array(data.draw(st.lists(values, min_size=n, max_size=n)))

    numeric = numerical_gradient(lambda v: v @ A @ v + c @ v, x)

    closed_form = (A + A.T) @ x + c
    # Centered differences are exact on quadratics; only rounding is left, ~eps * scale / h.
    scale = np.abs(x) @ np.abs(A) @ np.abs(x) + np.abs(c) @ np.abs(x) + 1.0
    assert np.abs(numeric - closed_form).max() <= 50 * np.finfo(float).eps * scale / 1e-5


# ---------------------------------------------------------------- non-finite values

NON_FINITE = [math.nan, math.inf, -math.inf]
KINK_STEPS = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]  # every perturbed point of the kink stencil


def point_text(step):
    """How a report names x + step * H: ``x + 1e-05``, ``x - 5e-06``."""
    return f"x {'-' if step < 0 else '+'} {abs(step) * H:.3g}"


def squares_except_at(bad, coordinate, value):
    """Sum of squares with gradient 2x, but the loss ``bad`` where ``x[coordinate] == value``."""

    def f(x):
        loss = bad if x[coordinate] == value else float((x**2).sum())
        return loss, 2 * x

    return f


@pytest.mark.parametrize("detect_kinks", [True, False])
@pytest.mark.parametrize("mode", ["sampled", "all", "directional"])
@pytest.mark.parametrize("bad", NON_FINITE)
def test_a_non_finite_loss_at_x_fails_the_check(bad, mode, detect_kinks):
    # The old check called this "excellent": NaN - NaN compared with a zero gradient gave 0.
    def f(x):
        return bad, np.zeros_like(x)

    report = check_gradient(f, np.array([1.0, 2.0]), mode=mode, detect_kinks=detect_kinks)

    assert not report.passed and report.verdict == "non-finite"
    assert report.reason.startswith(
        f"f returned a loss of {bad} at params, the point being checked"
    )
    assert report.rows == () and report.evaluations == 1  # nothing to compare against f(x)
    assert report.max_rel_error == math.inf
    assert str(report).startswith("non-finite: ")


@pytest.mark.parametrize(
    ("step", "detect_kinks"),
    [(step, True) for step in KINK_STEPS] + [(-1.0, False), (1.0, False)],
)
@pytest.mark.parametrize("bad", NON_FINITE)
def test_a_non_finite_loss_at_any_perturbed_point_fails_its_row(bad, step, detect_kinks):
    x = np.array([0.3, -0.2])
    f = squares_except_at(bad, 0, x[0] + H * step)  # the point the stencil evaluates

    report = check_gradient(f, x, mode="all", detect_kinks=detect_kinks)

    first, second = report.rows
    assert first.kind == "unmeasured" and first.non_finite and not first.passed
    assert first.problem == f"f is {bad} at {point_text(step)}"
    assert first.status == f"FAIL (f is {bad} at {point_text(step)})"
    assert second.kind == "smooth" and second.passed
    assert not report.passed and report.verdict == "non-finite"
    assert report.reason.startswith(f"x[0]: f is {bad} at {point_text(step)}; ")
    assert report.max_rel_error == math.inf


@pytest.mark.parametrize("bad", NON_FINITE)
def test_a_non_finite_loss_along_the_direction_fails(bad):
    x = np.array([0.3, -0.2, 0.5])

    def f(v):
        far = np.linalg.norm(v - x) > 1.5 * H  # only the points x +- 2h u
        return (bad if far else float((v**2).sum())), 2 * v

    report = check_gradient(f, x, mode="directional")

    assert report.rows[0].problem == f"f is {bad} at x - 2e-05"
    assert not report.passed and report.verdict == "non-finite"


@pytest.mark.parametrize("bad", NON_FINITE)
def test_a_non_finite_analytic_gradient_fails_even_in_an_entry_no_row_checks(bad):
    x = np.linspace(1.0, 2.0, 100)

    def f(v):
        grad = 2 * v
        grad[99] = bad
        return float((v**2).sum()), grad

    report = check_gradient(f, x, num_checks=3)

    assert all(row.index != (99,) and row.passed for row in report.rows)
    assert not report.passed and report.verdict == "non-finite"
    assert report.problems == (f"the gradient[99] is {bad} (1 of 100 entries not finite)",)
    assert report.reason.startswith(report.problems[0])


def test_non_finite_analytic_values_are_named_by_array_and_index():
    params = {"W": np.ones((2, 3)), "b": np.ones(3)}

    def f(p):
        grads = {key: 2 * value for key, value in p.items()}
        grads["W"][1, 2] = math.inf
        grads["b"][:] = math.nan
        return float(sum((value**2).sum() for value in p.values())), grads

    report = check_gradient(f, params, mode="all")

    assert report.problems == (
        "grads['W'][1, 2] is inf (1 of 6 entries not finite)",
        "grads['b'][0] is nan (3 of 3 entries not finite)",
    )
    assert report.reason.startswith(f"{report.problems[0]} (and 1 more); ")
    assert rows_by_label(report)["W[1, 2]"].problem == "the analytic value is inf"
    assert all(
        row.passed for row in report.rows if row.label not in ("W[1, 2]", "b[0]", "b[1]", "b[2]")
    )
    assert "not finite: grads['b'][0] is nan" in str(report)  # every problem is listed


@pytest.mark.parametrize(
    ("scheme", "step"), [("centered", -1.0), ("centered", 1.0), ("forward", 1.0)]
)
@pytest.mark.parametrize("bad", NON_FINITE)
def test_numerical_gradient_refuses_a_non_finite_loss_and_names_the_point(bad, scheme, step):
    # The old numerical_gradient returned nan or inf as if it were a slope.
    params = {"W": np.array([[0.5, -1.0]]), "b": np.array([0.25])}
    moved = params["W"][0, 1] + H * step

    def f(p):
        bad_here = p["W"][0, 1] == moved
        return bad if bad_here else float(sum((value**2).sum() for value in p.values()))

    expected = f"f returned {bad} at {point_text(step)} along W[0, 1]; a finite difference"
    with pytest.raises(InvalidValueError, match=re.escape(expected)):
        numerical_gradient(f, params, scheme=scheme)


@pytest.mark.parametrize("bad", NON_FINITE)
def test_forward_numerical_gradient_refuses_a_non_finite_loss_at_x(bad):
    with pytest.raises(
        InvalidValueError, match=re.escape(f"f returned {bad} at x (params itself)")
    ):
        numerical_gradient(lambda x: bad, np.ones(3), scheme="forward")


def test_a_step_lost_in_rounding_is_not_measured_and_fails():
    # spacing(1e8) = 1.5e-8: x + 1e-9 rounds back to x, a 0/0 slope the old check divided.
    # (This was x = 1e6 at h = 1e-12, where the other row now fails too: at that h rounding
    # noise swamps it, "h too small". Here f stays near 1, so x[1] is still resolved.)
    def f(x):
        return 1e-8 * x[0] + x[1] ** 2, np.array([1e-8, 2 * x[1]])

    report = check_gradient(f, np.array([1e8, 1.0]), h=1e-9)

    lost = report.rows[0]
    assert lost.kind == "unmeasured" and not lost.non_finite and not lost.passed
    assert lost.problem == "h is lost in rounding: x + t repeats a point for two steps t"
    assert report.rows[1].passed
    assert not report.passed and report.verdict == "suspicious"
    assert report.reason.startswith("x[0]: h is lost in rounding")
    assert report.hints[0] == "use a larger h: x + h must differ from x in floating point"


def test_numerical_gradient_gives_nan_where_the_step_is_lost_in_rounding():
    grad = numerical_gradient(lambda x: float((x**2).sum()), np.array([1e6, 1.0]), h=1e-12)
    assert math.isnan(grad[0]) and math.isfinite(grad[1])  # no warning either: see below


# ---------------------------------------------------------------- verdicts, warnings, report


def squares_with_relative_error(error):
    return lambda x: ((x**2).sum(), 2 * x * (1 + error))


@pytest.mark.parametrize(
    ("error", "verdict", "passed"),
    [(1e-9, "excellent", True), (1e-5, "suspicious", False), (1e-3, "suspicious", False),
     (0.1, "wrong", False)],
)  # fmt: skip
def test_verdict_follows_the_cs231n_thresholds(error, verdict, passed):
    report = check_gradient(squares_with_relative_error(error), np.array([1.0, 2.0, 3.0]))
    # abs: the extrapolated difference carries about 3 eps F / h = 9e-10 of rounding (F = 14),
    # 1.5e-10 of the largest slope 6
    assert report.max_rel_error == pytest.approx(error / (1 + error), rel=1e-3, abs=2e-10)
    assert (report.verdict, report.passed) == (verdict, passed)
    assert bool(report.hints) == (not passed)


def test_noise_floor_does_not_hide_a_small_error_in_a_small_gradient():
    x = np.array([5e-7, 1.0])  # slopes 1e-6 and 2

    def one_percent_off_on_the_small_slope(v):
        grad = 2 * v
        grad[0] *= 1.01  # off by 1e-8, far above the floor 10 eps / h = 2.2e-10
        return (v**2).sum(), grad

    report = check_gradient(one_percent_off_on_the_small_slope, x)
    assert not report.passed and not report.rows[0].at_noise_floor


def test_acceptable_when_every_row_sits_on_a_kink():
    report = check_gradient(lambda x: (np.abs(x).sum(), np.sign(x)), np.array([0.0, 0.0]))
    assert report.kinks == 2 and report.passed and report.verdict == "acceptable", str(report)
    assert report.max_rel_error == 0.0  # no smooth row: nothing held to 1e-7
    assert "no smooth row" in report.reason


def test_explicit_tol_decides_passed_but_not_the_verdict():
    report = check_gradient(squares_with_relative_error(1e-5), np.array([1.0, 2.0]), tol=1e-4)
    assert report.passed and report.verdict == "suspicious"


def test_float32_params_and_gradients_are_warned_about():
    params = {"W": np.ones((2, 2), dtype=np.float32), "b": np.ones(2)}

    def f(p):
        return float((p["W"] ** 2).sum()), {"W": (2 * p["W"]).astype(np.float32), "b": p["b"]}

    report = check_gradient(f, params)

    assert any(w.startswith("params['W'] is float32") for w in report.warnings)
    assert any(w.startswith("grads['W'] is float32") for w in report.warnings)
    assert not any("'b'" in w for w in report.warnings)


def test_float32_inside_f_fails_and_the_hints_say_use_float64():
    X, y, params = make_problem(seed=10)
    loss = get_loss("softmax")

    def single_precision(p):
        p32 = {key: value.astype(np.float32) for key, value in p.items()}
        return loss(p32, X.astype(np.float32), y, 0.1)

    report = check_gradient(single_precision, params)

    assert not report.passed
    assert any("float32" in warning for warning in report.warnings)
    assert any("float64" in hint for hint in report.hints)


def test_tiny_gradients_are_warned_about():
    report = check_gradient(lambda x: (1e-14 * (x**2).sum(), 2e-14 * x), np.array([1.0, 2.0]))
    assert any("below 1e-10" in warning for warning in report.warnings)


def test_gradients_buried_in_rounding_noise_fail_as_unresolved():
    # They used to pass ("suspicious" but passed=True): a noise floor of 2.2e-10 against slopes
    # of 4e-14 passes any gradient of that size, 50% off or of the wrong sign.
    def offset_loss(x):  # the 1 rounds at eps, drowning slopes of 1e-14
        return 1.0 + 1e-14 * (x**2).sum(), 2e-14 * x

    report = check_gradient(offset_loss, np.array([1.0, 2.0]))

    assert all(row.kind == "unresolved" and row.unresolved == "h too small" for row in report.rows)
    assert not report.passed and report.verdict == "suspicious"
    assert "rounding noise in the differences (up to 2.2e-10) exceeds 1e-04" in report.reason
    assert any("scale the loss up" in hint for hint in report.hints)


def test_table_has_one_line_per_row_and_str_adds_the_verdict():
    X, y, params = make_problem(seed=6)
    params, j = place_margin("svm", X, y, params, 0.0)
    report = check_gradient(loss_fn("svm", X, y), params, mode="all")

    lines = report.format_table().splitlines()
    assert len(lines) == len(report.rows)
    assert re.match(r"W\[0, 0\]\s+analytic\s+-?\d\.\d{3}e[+-]\d\d\s+numeric", lines[0])
    kink_line = next(line for line in lines if line.startswith(f"b[{j}]"))
    assert "kink" in kink_line and "rel" in kink_line
    assert str(report).splitlines()[-1].startswith(f"{report.verdict}: ")


def data_of(report):
    return json.loads(json.dumps(report.to_dict(), allow_nan=False))


def test_to_dict_is_plain_json():
    def sometimes_nan(x):
        return (np.nan if x[0] > 1.0 else float(x[0] ** 2)), 2 * x

    reports = [
        check_gradient(sometimes_nan, np.array([1.0])),  # NaN numeric value
        check_gradient(lambda x: (abs(x[0]), np.sign(x)), np.array([0.0])),  # kink interval
    ]
    for report in reports:
        data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert set(data) >= {"rows", "max_rel_error", "passed", "verdict", "kinks", "h", "mode"}
        assert isinstance(data["rows"][0]["index"], list)
    assert reports[0].verdict == "non-finite" and not reports[0].passed
    assert data_of(reports[0])["max_rel_error"] is None  # infinite: a row was not measured
    assert isinstance(reports[1], GradCheckReport)
    assert reports[1].rows[0].interval == pytest.approx((-1.0, 1.0), rel=1e-12)  # fitted slopes


# ---------------------------------------------------------------- each row judged by its own kind


def kink_plus_smooth(error):
    """``|x0| + sum(x[1:]**2)``: a kink at x0 = 0; the smooth gradient off by ``error``."""

    def f(x):
        loss = abs(x[0]) + (x[1:] ** 2).sum()
        return loss, np.concatenate([[np.sign(x[0])], 2 * x[1:] * (1 + error)])

    return f


def test_a_kink_elsewhere_does_not_loosen_a_smooth_row():
    # The old check raised every row's tolerance to 1e-4 once any row was a kink: this 5e-5
    # error in two smooth coordinates passed as "acceptable".
    report = check_gradient(kink_plus_smooth(5e-5), np.array([0.0, 1.0, 2.0]))

    kink, *smooth = report.rows
    assert kink.kind == "kink" and kink.passed
    assert [row.kind for row in smooth] == ["smooth", "smooth"]
    assert not any(row.passed for row in smooth)
    assert not report.passed and report.verdict == "suspicious" and report.tol == 1e-7
    assert "a kink elsewhere does not loosen it" in report.reason
    assert "not in the max: 1 kink row (judged by one-sided slopes)" in report.reason


@settings(max_examples=60, deadline=None)
@given(log_error=st.floats(-9.0, -1.0), kink_at=st.sampled_from([None, 0.0, 0.4 * H, -1.2 * H]))
def test_a_smooth_row_is_judged_the_same_with_or_without_a_kink(log_error, kink_at):
    error = 10.0**log_error
    x = np.array([0.0, 1.0, 2.0])
    if kink_at is None:
        x[0] = 0.5  # |x0| is smooth there: no kink in the objective at all
    else:
        x[0] = kink_at

    report = check_gradient(kink_plus_smooth(error), x)

    smooth = [row for row in report.rows if row.index != (0,)]
    assert all(row.kind == "smooth" for row in smooth)
    assert report.rows[0].kind == ("smooth" if kink_at is None else "kink")
    alone = check_gradient(lambda v: ((v**2).sum(), 2 * v * (1 + error)), x[1:])
    assert [row.passed for row in smooth] == [row.passed for row in alone.rows]
    assert report.passed == alone.passed
    assert report.max_rel_error == alone.max_rel_error


# ---------------------------------------------------------------- the summary of a long report


def mixed_problem():
    """A report with smooth rows, one kink row and one row at the noise floor."""

    def f(x):
        loss = abs(x[0]) + 1e-14 * x[1] ** 2 + (x[2:] ** 3).sum()
        return loss, np.concatenate([[0.0], [2e-14 * x[1]], 3 * x[2:] ** 2])

    return f, np.concatenate([[0.0, 1.0], np.linspace(0.5, 1.5, 40)])


def test_the_reason_says_which_rows_the_max_leaves_out():
    f, x = mixed_problem()
    report = check_gradient(f, x, mode="all")

    kinds = [row.kind for row in report.rows]
    assert kinds[:2] == ["kink", "noise floor"] and set(kinds[2:]) == {"smooth"}
    smooth = [row for row in report.rows if row.kind == "smooth"]
    worst = max(smooth, key=lambda row: row.rel_error)
    assert report.max_rel_error == worst.rel_error
    assert report.reason == (
        f"max relative error {worst.rel_error:.1e} at {worst.label} <= 1e-07 over 40 smooth rows; "
        "not in the max: 1 kink row (judged by one-sided slopes), 1 row at the noise floor "
        "(equal to rounding)"
    )
    assert report.rows[1].rel_error > report.max_rel_error  # shown in the table, left out


def test_a_long_report_is_summarized_by_counts_and_the_rows_closest_to_failing():
    f, x = mixed_problem()
    report = check_gradient(f, x, mode="all")

    lines = str(report).splitlines()

    assert len(report.rows) == 42 > 30
    assert lines[0] == "42 rows: 40 ok, 1 ok at noise floor, 1 kink ok"
    assert lines[1] == "the 10 rows closest to failing (format_table() lists all 42):"
    shown = lines[2:12]
    worst_smooth = sorted(
        (r for r in report.rows if r.kind == "smooth"), key=lambda r: -r.rel_error
    )
    assert [line.split()[0] for line in shown] == [row.label for row in worst_smooth[:10]]
    assert lines[12].startswith("excellent: ") and len(lines) == 13
    assert len(report.to_text(table_rows=None).splitlines()) == 42 + 1
    assert sum(report.counts().values()) == len(report.rows)


def test_failing_rows_come_first_among_the_rows_closest_to_failing():
    def two_wrong(x):
        grad = 3 * x**2
        grad[[5, 17]] *= 1.01
        return (x**3).sum(), grad

    report = check_gradient(two_wrong, np.linspace(0.5, 1.5, 40), mode="all")

    assert [row.index for row in report.worst_rows(3)][:2] in ([(5,), (17,)], [(17,), (5,)])
    assert report.worst_rows(3)[2].kind == "smooth" and report.worst_rows(3)[2].passed
    assert report.counts() == {"ok": 38, "FAIL": 2}
    assert report.to_dict()["counts"] == {"ok": 38, "FAIL": 2}


# ---------------------------------------------------------------- validation


def square(x):
    return (x**2).sum(), 2 * x


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: numerical_gradient(square, np.ones(2), scheme="backward"), ValueError,
         "unknown scheme 'backward'; valid choices are 'centered', 'forward'"),
        (lambda: check_gradient(square, np.ones(2), mode="random"), ValueError,
         "unknown mode 'random'; valid choices are 'sampled', 'all', 'directional'"),
        (lambda: numerical_gradient(square, np.ones(2), h=0.0), ValueError,
         "h must be > 0; got 0.0"),
        (lambda: check_gradient(square, np.ones(2), h=-1e-5), ValueError,
         "h must be > 0; got -1e-05"),
        (lambda: check_gradient(square, np.ones(2), num_checks=0), ValueError,
         "num_checks must be > 0"),
        (lambda: check_gradient(square, np.ones(2), num_checks=2.5), TypeError,
         "num_checks must be an integer"),
        (lambda: check_gradient(square, np.ones(2), tol=-1.0), ValueError, "tol must be > 0"),
        (lambda: check_gradient(square, np.ones(2), rng=0), TypeError,
         "rng must be a numpy.random.Generator"),
        (lambda: check_gradient(lambda x: 1.0, np.ones(2)), TypeError,
         "f must return a tuple \\(loss, grads\\)"),
        (lambda: check_gradient(lambda p: (1.0, {"W": p["W"]}), {"W": np.ones(2), "b": np.ones(1)}),
         ValueError, "f must return grads with the keys of params"),
        (lambda: check_gradient(lambda x: (1.0, np.ones(3)), np.ones(2)), ValueError,
         "the gradient f returns has shape \\(3,\\) but params has shape \\(2,\\)"),
        (lambda: check_gradient(square, np.array([1.0, np.nan])), ValueError,
         "params contains nan at index \\[1\\]; a gradient check needs a finite point"),
        (lambda: numerical_gradient(lambda x: x, np.ones(2)), ValueError,
         "f must return a scalar loss"),
        (lambda: numerical_gradient(lambda x: "abc", np.ones(2)), InvalidTypeError,
         "the loss f returns must be a real number; got 'abc' \\(str\\)"),
        (lambda: numerical_gradient(lambda x: (), np.ones(2)), InvalidValueError,
         "f must return a scalar loss; got a loss of shape \\(0,\\)"),
        (lambda: check_gradient(lambda x: (None, x), np.ones(2)), InvalidTypeError,
         "the loss f returns must be a real number; got None \\(NoneType\\)"),
        (lambda: check_gradient(lambda x: (1j, x), np.ones(2)), InvalidTypeError,
         "the loss f returns must be a real number; got 1j \\(complex\\)"),
        (lambda: check_gradient(lambda x: (1.0,), np.ones(2)), InvalidTypeError,
         "f must return a tuple \\(loss, grads\\) for check_gradient; got a tuple of length 1"),
        (lambda: check_gradient(lambda x: (1.0, ["a", "b"]), np.ones(2)), InvalidTypeError,
         "the gradient f returns must be real numbers shaped like params; got an array of dtype"),
        (lambda: check_gradient(lambda p: (1.0, {"W": [[1.0], [2.0, 3.0]]}), {"W": np.ones(2)}),
         InvalidTypeError, "grads\\['W'\\] must be real numbers shaped like params; got"),
        (lambda: check_gradient(square, {"W": np.ones((0, 3))}), ValueError,
         "params\\['W'\\] is empty \\(shape \\(0, 3\\)\\); there is nothing to check"),
        (lambda: check_gradient(square, np.array(["a", "b"])), TypeError,
         "params must be an array of real numbers \\(float64\\); got an array of dtype <U1"),
        (lambda: numerical_gradient(square, {"W": np.ones(2) * 1j}), TypeError,
         "params\\['W'\\] must be an array of real numbers \\(float64\\); got an array of dtype"),
        (lambda: check_gradient(square, {"W": np.array([1.0, np.inf])}), ValueError,
         "params\\['W'\\] contains inf at index \\[1\\]"),
    ],
)  # fmt: skip
def test_bad_arguments_are_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- every bad argument, no warning


def indexes_a_dict(p):
    return float((p["W"] ** 2).sum()), {"W": 2 * p["W"]}


def raises_when_moved(x):
    if x[0] != 1.0:
        raise RuntimeError("only at x")
    return float(x[0]), np.ones(1)


BAD_ARGUMENTS = [
    # the tester's three, then their class
    (lambda: check_gradient(indexes_a_dict, np.ones(3)), InvalidValueError,
     "f raised IndexError: only integers, slices .* when called with params, one float64 array "
     "of shape \\(3,\\): f receives params as you pass them"),
    (lambda: check_gradient(5, np.ones(3)), InvalidTypeError,
     "f must be a function f\\(params\\) -> \\(loss, grads\\); got 5 \\(int\\)"),
    (lambda: numerical_gradient(None, np.ones(3)), InvalidTypeError,
     "f must be a function f\\(params\\) -> loss \\(or \\(loss, grads\\)\\); got None"),
    (lambda: numerical_gradient(lambda p: p["W"], np.ones(2)), InvalidValueError,
     "f raised IndexError"),
    (lambda: check_gradient(lambda p: indexes_a_dict(p), {"V": np.ones(2)}), InvalidValueError,
     "f raised KeyError: 'W' when called with params, a dict of float64 arrays with keys "
     "\\['V'\\]"),
    (lambda: check_gradient(raises_when_moved, np.ones(1)), InvalidValueError,
     "f raised RuntimeError: only at x at a point next to params \\(call 2: one entry moved"),
    (lambda: check_gradient(square, np.ones(2), h=10**400), InvalidValueError,
     "h must be at most 0.001 for check_gradient; got inf"),
    (lambda: numerical_gradient(square, np.ones(2), h=10**400), InvalidValueError,
     "h must fit float64; got an integer of 401 digits"),
    (lambda: numerical_gradient(square, np.ones(2), h=float("inf")), InvalidValueError,
     "h must be > 0; got inf"),
    (lambda: check_gradient(square, np.ones(2), h=True), InvalidTypeError, "h must be a number"),
    (lambda: check_gradient(square, np.ones(2), h="1e-5"), InvalidTypeError, "h must be a number"),
    (lambda: check_gradient(square, np.ones(2), tol=1), InvalidValueError,
     "tol must be below 1; got 1: a relative error of 1"),
    (lambda: check_gradient(square, np.ones(2), tol=10**400), InvalidValueError,
     "tol must be below 1; got an integer of 401 digits"),
    (lambda: check_gradient(square, np.ones(2), tol=None), InvalidTypeError,
     "tol must be a number"),
    (lambda: check_gradient(square, np.ones(2), detect_kinks="no"), InvalidTypeError,
     "detect_kinks must be True or False; got 'no' \\(str\\)"),
    (lambda: check_gradient(square, np.ones(2), num_checks=-10**400), InvalidValueError,
     "num_checks must be > 0; got an integer of 401 digits"),
    (lambda: check_gradient(square, np.ones(2), mode=None), InvalidValueError, "unknown mode None"),
    (lambda: numerical_gradient(lambda x: float(x[0]), np.array([1e308]), h=1e308),
     InvalidValueError,
     "x \\+ 1e\\+308 overflows float64 at an entry of 1e\\+308; take a smaller h"),
    (lambda: numerical_gradient(lambda x: 1e308 if x[0] > 0 else -1e308, np.zeros(1), h=1e-300),
     InvalidValueError, "the slope along x\\[0\\] overflows float64: f goes from -1e\\+308 at "
     "x - 1e-300 to 1e\\+308 at x \\+ 1e-300"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), BAD_ARGUMENTS)
def test_every_bad_argument_is_a_slopelab_error_naming_it(call, error, message):
    with pytest.raises(error, match=f"^{message}"):
        call()


def test_an_exception_of_f_is_kept_as_the_cause():
    with pytest.raises(InvalidValueError) as caught:
        check_gradient(indexes_a_dict, np.ones(3))
    assert isinstance(caught.value.__cause__, IndexError)


def test_a_huge_num_checks_means_every_coordinate():
    report = check_gradient(square, np.arange(1.0, 6.0), num_checks=10**400)
    assert len(report.rows) == 5 and report.passed


def test_numerical_gradient_gives_nan_without_a_warning_where_rounding_loses_the_step():
    # The tester's case: spacing(1e10) = 1.9e-6 swallows h = 1e-10, and numpy warned
    # "invalid value encountered in scalar divide" (an error under pytest's settings).
    grads = numerical_gradient(lambda p: float(p["W"].sum()), {"W": np.array([1e10])}, h=1e-10)
    assert math.isnan(grads["W"][0])
