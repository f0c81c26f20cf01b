"""Properties of the library entry points ``check_gradient`` and ``numerical_gradient`` over
arbitrary shapes, dtypes, outputs of ``f`` and non-finite values.

The contract: valid input gives a report (or a gradient); anything else raises a
``SlopelabError`` whose message names the culprit, never a numpy or internal error; and a NaN
or infinite value anywhere the check looks fails the check (or, for ``numerical_gradient``,
raises), never passes.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slopelab.errors import InvalidValueError, SlopelabError
from slopelab.gradcheck import check_gradient, numerical_gradient

MODES = ["sampled", "all", "directional"]
REAL_DTYPES = ["bool", "int8", "uint16", "int64", "float16", "float32", "float64"]
OTHER_DTYPES = ["complex128", "<U3", "object", "datetime64[s]"]
NON_FINITE = [math.nan, math.inf, -math.inf]


H = 1e-5  # check_gradient's default step


def assert_unresolvable_by_rounding(report, params) -> None:
    """A correct quadratic may fail the check only for the reason the checker gives, rounding,
    and only where rounding really hides the slopes it checked: float64 differences of a loss
    of size L at step h carry noise of order eps (L + n h^2) / h, and the checker asks for
    slopes 1e4 times larger. This bound, computed here from the loss, allows 1e4 of slack and
    no more. (Hypothesis found x = 7.7e-35, whose slope no difference at h resolves, and a
    float16 mix of 0.0078 beside entries near 100.)"""
    assert "rounding noise" in str(report), str(report)
    arrays = params.values() if isinstance(params, dict) else [params]
    values = [np.asarray(array, dtype=np.float64) for array in arrays]
    loss = sum(float((value**2).sum()) for value in values)
    count = sum(value.size for value in values)
    noise = np.finfo(np.float64).eps * (loss + count * H * H) / H
    largest_checked = max(abs(row.analytic) for row in report.rows)
    assert 1e-4 * largest_checked < 1e4 * noise, str(report)
    for row in report.rows:  # the estimate itself is right; only its resolution is short
        assert abs(row.numeric - row.analytic) <= 1e-3 * max(1.0, abs(row.analytic)), str(row)


def squares(params):
    """``sum(x**2)`` over every array, with gradient ``2x``, for a dict or one array."""
    if isinstance(params, dict):
        loss = float(sum((value**2).sum() for value in params.values()))
        return loss, {key: 2 * value for key, value in params.items()}
    return float((params**2).sum()), 2 * params


@st.composite
def arrays(draw):
    """``(array, valid)``: any shape (0-d and empty included), any dtype, NaN or infinity
    sometimes; ``valid`` says whether a gradient check can use it."""
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    size = math.prod(shape)
    values = draw(st.lists(st.floats(-100.0, 100.0), min_size=size, max_size=size))
    dtype = draw(st.sampled_from(REAL_DTYPES + OTHER_DTYPES))
    array = np.array(values, dtype=np.float64).reshape(shape)
    if dtype.startswith("float") and size and draw(st.booleans()):
        array.flat[draw(st.integers(0, size - 1))] = draw(st.sampled_from(NON_FINITE))
    if dtype == "object":
        converted = np.empty(shape, dtype=object)
        converted[...] = array
    elif dtype == "datetime64[s]":
        converted = array.astype(np.int64).astype(dtype)
    elif dtype.startswith("uint"):
        converted = np.abs(array).astype(dtype)
    else:
        converted = array.astype(dtype)
    valid = dtype in REAL_DTYPES and size > 0 and bool(np.isfinite(converted.astype(float)).all())
    return converted, valid


@settings(max_examples=150, deadline=None)
@given(
    named=st.lists(arrays(), min_size=1, max_size=3),
    as_dict=st.booleans(),
    mode=st.sampled_from(MODES),
)
@example(named=[(np.array(7.7e-35, dtype=np.float32), True)], as_dict=False, mode=MODES[0])
@example(
    named=[(np.array([[100.0, 0.0078], [0.0, 0.0]], dtype=np.float16), True)],
    as_dict=False,
    mode=MODES[0],
)
def test_any_params_give_a_report_or_a_slopelab_error_naming_them(named, as_dict, mode):
    params = {f"p{i}": array for i, (array, _) in enumerate(named)} if as_dict else named[0][0]
    valid = all(ok for _, ok in named) if as_dict else named[0][1]

    if valid:
        report = check_gradient(squares, params, mode=mode, num_checks=3)
        # a quadratic: centered differences are exact up to rounding, so every row passes
        # unless rounding itself hides the slopes checked
        if not report.passed:
            assert_unresolvable_by_rounding(report, params)
        grads = numerical_gradient(squares, params)
        expected = squares(params)[1]
        for key in grads if as_dict else [None]:
            got, want = (grads[key], expected[key]) if as_dict else (grads, expected)
            assert got.shape == np.shape(want) and got.dtype == np.float64
    else:
        for call in (
            lambda: check_gradient(squares, params, mode=mode),
            lambda: numerical_gradient(squares, params),
        ):
            with pytest.raises(SlopelabError, match=r"^params(\['p\d'\])? "):
                call()


JUNK_LOSSES = {
    "string": "abc",
    "None": None,
    "complex": 1 + 2j,
    "vector": np.array([1.0, 2.0]),
    "list": [1.0],
    "dict": {"loss": 1.0},
    "object": object(),
    "bytes": b"1",
}
JUNK_GRADS = {
    "None": None,
    "string": "abc",
    "wrong shape": np.ones(5),
    "complex": np.ones((2, 3)) * 1j,
    "strings": np.full((2, 3), "a"),
    "ragged": [[1.0, 2.0, 3.0], [1.0]],
    "wrong keys": {"V": np.ones((2, 3))},
    "scalar": 1.0,
}


@settings(max_examples=100, deadline=None)
@given(
    loss=st.sampled_from([None, *JUNK_LOSSES]),
    grads=st.sampled_from([None, *JUNK_GRADS]),
    wrap=st.sampled_from(["tuple", "list", "bare", "triple"]),
    as_dict=st.booleans(),
)
def test_any_wrong_output_of_f_is_a_slopelab_error(loss, grads, wrap, as_dict):
    params = {"W": np.ones((2, 3))} if as_dict else np.ones((2, 3))
    good_loss, good_grads = squares(params)
    value = good_loss if loss is None else JUNK_LOSSES[loss]
    gradient = good_grads if grads is None else JUNK_GRADS[grads]
    if grads is None and as_dict and wrap == "bare":
        gradient = good_grads["W"]
    output = {
        "tuple": (value, gradient),
        "list": [value, gradient],
        "bare": value,
        "triple": (value, gradient, None),
    }[wrap]
    fine = loss is None and grads is None and wrap == "tuple"

    def f(_params):
        return output

    if fine:  # f is constant here, so its gradient 2x is wrong, but it is the right kind
        assert check_gradient(f, params).verdict == "wrong"
    else:
        with pytest.raises(SlopelabError, match=r"^(f must return|the loss|the gradient|grads)"):
            check_gradient(f, params)
    if loss is None and wrap != "list":  # numerical_gradient reads only the loss (element 0)
        numerical_gradient(f, params)
    else:
        with pytest.raises(SlopelabError, match=r"^(f must return|the loss f returns)"):
            numerical_gradient(f, params)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    bad=st.sampled_from(NON_FINITE),
    mode=st.sampled_from(MODES),
    detect_kinks=st.booleans(),
    shape=st.sampled_from([(), (3,), (2, 3)]),
)
def test_a_non_finite_loss_at_any_evaluation_fails_the_check(data, bad, mode, detect_kinks, shape):
    params = np.linspace(-1.0, 1.5, math.prod(shape)).reshape(shape)
    rows = 1 if mode == "directional" else params.size
    calls = 1 + rows * (6 if detect_kinks else 2)
    poisoned = data.draw(st.integers(0, calls - 1), label="poisoned call")
    seen = []

    def f(x):
        seen.append(1)
        loss, grad = squares(x)
        return (bad if len(seen) - 1 == poisoned else loss), grad

    report = check_gradient(f, params, mode=mode, detect_kinks=detect_kinks)

    assert not report.passed and report.verdict == "non-finite", str(report)
    assert report.max_rel_error == math.inf
    assert f" {bad} at " in report.reason or f"of {bad} at params" in report.reason


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    bad=st.sampled_from(NON_FINITE),
    mode=st.sampled_from(MODES),
    shape=st.sampled_from([(), (4,), (2, 3)]),
)
def test_a_non_finite_analytic_gradient_entry_fails_the_check(data, bad, mode, shape):
    params = {"W": np.linspace(-1.0, 1.5, math.prod(shape)).reshape(shape), "b": np.ones(2)}
    entry = data.draw(st.integers(0, params["W"].size - 1), label="entry")

    def f(p):
        loss, grads = squares(p)
        grads["W"] = np.array(grads["W"])  # 2 * a 0-d array is a numpy scalar: make it writable
        grads["W"].flat[entry] = bad
        return loss, grads

    report = check_gradient(f, params, mode=mode, num_checks=1)

    assert not report.passed and report.verdict == "non-finite"
    assert re.match(rf"grads\['W'\](\[[\d, ]+\])? is {bad} \(1 of ", report.reason)


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    bad=st.sampled_from(NON_FINITE),
    scheme=st.sampled_from(["centered", "forward"]),
    size=st.integers(1, 5),
)
def test_numerical_gradient_never_returns_a_slope_from_a_non_finite_loss(data, bad, scheme, size):
    params = np.linspace(-1.0, 1.5, size)
    calls = (1 + size) if scheme == "forward" else 2 * size
    poisoned = data.draw(st.integers(0, calls - 1), label="poisoned call")
    seen = []

    def f(x):
        seen.append(1)
        return bad if len(seen) - 1 == poisoned else float((x**2).sum())

    with pytest.raises(InvalidValueError, match=rf"^f returned {bad} at x"):
        numerical_gradient(f, params, scheme=scheme)


MAGNITUDES = st.sampled_from([0.0, 1e-300, 1e-30, 1e-8, 1.0, 1e8, 1e30, 1e150, 1e300, 1.7e308])


@st.composite
def extreme_functions(draw):
    """``f(x) = a x0 + b + c |x0 - k|`` on Python floats (so f itself never warns), with
    coefficients and a kink from 0 to the edge of float64, and its gradient."""
    a, b, c, k = (draw(MAGNITUDES) * draw(st.sampled_from([1.0, -1.0])) for _ in range(4))

    def f(x):
        t = float(x[0])
        value = a * t + b + c * abs(t - k)
        slope = a + c * (1.0 if t > k else -1.0 if t < k else 0.0)
        return value, np.array([slope])

    return f


@settings(max_examples=300, deadline=None)
@given(
    f=extreme_functions(),
    x=MAGNITUDES,
    sign=st.sampled_from([1.0, -1.0]),
    log_h=st.floats(-300.0, -3.0),
    mode=st.sampled_from(MODES),
)
def test_check_gradient_never_lets_a_numpy_warning_out(f, x, sign, log_h, mode):
    # pytest turns every warning into an error: a report or a SlopelabError, nothing else.
    # The tester found "invalid value encountered in scalar divide" from a step lost in
    # rounding; values near 1.8e308 overflowed the kink statistics the same way.
    try:
        report = check_gradient(f, np.array([sign * x]), h=10.0**log_h, mode=mode)
    except SlopelabError:
        return
    assert report.verdict in ("excellent", "acceptable", "suspicious", "wrong", "non-finite")


@settings(max_examples=300, deadline=None)
@given(
    f=extreme_functions(),
    x=MAGNITUDES,
    sign=st.sampled_from([1.0, -1.0]),
    log_h=st.floats(-320.0, 308.0),
    scheme=st.sampled_from(["centered", "forward"]),
)
def test_numerical_gradient_never_lets_a_numpy_warning_out(f, x, sign, log_h, scheme):
    try:
        grad = numerical_gradient(f, np.array([sign * x]), h=10.0**log_h, scheme=scheme)
    except SlopelabError:
        return
    assert grad.shape == (1,) and (np.isnan(grad[0]) or np.isfinite(grad[0]))
