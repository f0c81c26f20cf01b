"""Features and regularization conventions in the web API (slopelab.web.features, .conventions).

With features the model is linear in ``phi(x)``: every endpoint must give what slopelab gives on
``phi(X)``. The conventions (``0.5 reg sum W^2``, a penalized bias) are checked against a naive
loop reference and finite differences (slopelab's gradient checker). Without either, requests
must give exactly what they gave before (the other test_web_api* files pin that behaviour).
"""

# ruff: noqa: F811  (the client fixture imported from test_web_api is a parameter here by name)
from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import get_loss, get_optimizer
from slopelab.gradcheck import check_gradient
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.optim import apply_updates
from slopelab.web.conventions import ConventionLoss, bias_penalty, convention_loss
from slopelab.web.features import FEATURES, feature_map, row_names, with_feature_rows
from slopelab.web.geometry import grid_centres
from tests.test_web_api import as_params, client, post, problem  # noqa: F401  (client: fixture)

ALL = list(FEATURES)
# every feature set the page can send: each subset of the five, in the fixed order
SUBSETS = [list(c) for r in range(1, 6) for c in itertools.combinations(ALL, r)]
CONVENTIONS = [
    {"half_l2": half, "regularize_bias": bias} for half in (False, True) for bias in (False, True)
]


def naive_feature(name: str, x0: float, x1: float) -> float:
    """The docstring's formulas, one point at a time."""
    return {
        "x0^2": x0 * x0,
        "x1^2": x1 * x1,
        "x0*x1": x0 * x1,
        "sin(x0)": math.sin(x0),
        "sin(x1)": math.sin(x1),
    }[name]


def with_features(body: dict, features: list[str], seed: int = 0) -> dict:
    """``body`` with features and a W of the matching shape (random feature rows)."""
    rng = np.random.default_rng(seed)
    W = np.array(body["params"]["W"])
    extra = rng.uniform(-1, 1, (len(features), W.shape[1]))
    params = {"W": np.vstack([W, extra]).tolist(), "b": body["params"]["b"]}
    return {**body, "features": features, "params": params}


def inputs(body: dict) -> tuple[np.ndarray, np.ndarray]:
    return np.array(body["data"]["X"]), np.array(body["data"]["y"])


# The feature map


@pytest.mark.parametrize("features", SUBSETS, ids="+".join)
def test_feature_map_follows_its_formulas_column_by_column(features):
    X = np.random.default_rng(1).uniform(-1, 1, (7, 2))
    phi = feature_map(X, features)
    assert phi.shape == (7, 2 + len(features))
    np.testing.assert_array_equal(phi[:, :2], X)
    for column, name in enumerate(features, start=2):
        expected = [naive_feature(name, x0, x1) for x0, x1 in X]
        np.testing.assert_allclose(phi[:, column], expected, rtol=1e-15, atol=0)
    assert row_names(features) == ["x0", "x1", *features]


def test_no_features_is_the_identity():
    X = np.random.default_rng(2).uniform(-1, 1, (5, 2))
    assert feature_map(X, ()) is X


# With features, every endpoint computes on phi(X)


@pytest.mark.parametrize("loss", list(EXAMPLE_LOSSES))
@pytest.mark.parametrize("features", [["x0*x1"], ALL, ["x1^2", "sin(x0)"]], ids="+".join)
def test_a_step_with_features_is_slopelabs_step_on_phi_x(client, loss, features):
    body = with_features(problem(loss), features)
    spec = {"name": "momentum", "learning_rate": 0.05, "hyperparams": {"momentum": 0.9}}
    records = post(client, "/api/step", {**body, "optimizer": spec, "num_steps": 4})["records"]
    X, y = inputs(body)
    phi = feature_map(X, features)
    loss_fn, optimizer = get_loss(loss), get_optimizer("momentum", 0.05, momentum=0.9)
    params = as_params(body["params"])
    state = optimizer.init(params)
    for record in records:
        _, grads = loss_fn(params, phi, y, 0.1)
        updates, state = optimizer.update(grads, state, params)
        params = apply_updates(params, updates)
        np.testing.assert_allclose(record["params"]["W"], params["W"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(record["params"]["b"], params["b"], rtol=0, atol=1e-12)
        parts = loss_fn.parts(params, phi, y, 0.1)
        assert record["total"] == pytest.approx(parts.total, abs=1e-12)


def test_evaluate_with_features_scores_phi_x_and_colours_the_grid_by_phi(client):
    features = ["x0^2", "x1^2", "x0*x1"]
    body = with_features(problem("softmax"), features, seed=3)
    result = post(client, "/api/evaluate", {**body, "grid_size": 30})
    X, y = inputs(body)
    params = as_params(body["params"])
    parts = get_loss("softmax").parts(params, feature_map(X, features), y, 0.1)
    assert result["total"] == pytest.approx(parts.total, abs=1e-12)
    np.testing.assert_allclose(result["points"]["scores"], parts.scores, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result["grads"]["W"], parts.grads["W"], rtol=0, atol=1e-12)
    grid_scores = feature_map(grid_centres(30), features) @ params["W"] + params["b"]
    expected = "".join(str(k) for k in np.argmax(grid_scores, axis=1))
    assert result["grid"]["classes"] == expected
    # the boundaries curve: the straight lines of geometry.py do not exist
    assert result["lines"] == [] and result["margin_lines"] == []
    plain = post(client, "/api/evaluate", problem("svm"))
    assert len(plain["lines"]) == 3 and plain["margin_lines"]


def test_the_grid_of_a_circle_feature_is_a_disc(client):
    """W on x0^2 and x1^2 only: class 1 where x0^2 + x1^2 < 0.25, a disc, not a half plane."""
    body = problem(data={"X": [[0.0, 0.0], [0.9, 0.9]], "y": [1, 0], "num_classes": 2})
    body["features"] = ["x0^2", "x1^2"]
    body["params"] = {"W": [[0, 0], [0, 0], [1, -1], [1, -1]], "b": [-0.25, 0.25]}
    result = post(client, "/api/evaluate", {**body, "grid_size": 20})
    cells = np.array(list(result["grid"]["classes"]), dtype=int).reshape(20, 20)
    centres = grid_centres(20).reshape(20, 20, 2)
    inside = (centres**2).sum(axis=2) < 0.25
    np.testing.assert_array_equal(cells, inside.astype(int))


def test_race_landscape_value_and_gradcheck_use_phi_x(client):
    features = ["x0*x1", "sin(x1)"]
    body = with_features(problem("svm"), features, seed=5)
    X, y = inputs(body)
    phi = feature_map(X, features)
    params = as_params(body["params"])
    loss_fn = get_loss("svm")
    race = post(client, "/api/race", {
        **{k: v for k, v in body.items() if k != "params"},
        "runners": [{"id": "a", "optimizer": {"name": "sgd", "learning_rate": 0.1},
                     "params": body["params"]}],
    })  # fmt: skip
    _, grads = loss_fn(params, phi, y, 0.1)
    expected = {key: params[key] - 0.1 * grads[key] for key in params}
    np.testing.assert_allclose(
        race["runners"][0]["records"][0]["params"]["W"], expected["W"], rtol=0, atol=1e-12
    )
    axes = {"kind": "coordinates", "first": "W[3,1]", "second": "b[0]"}
    landscape = post(client, "/api/landscape", {**body, "axes": axes, "size": 5, "span": 1.0})
    assert landscape["first"]["label"] == "W[3,1]"
    centre = landscape["values"][2][2]
    assert centre == pytest.approx(loss_fn.parts(params, phi, y, 0.1).total, abs=1e-12)
    value = post(
        client, "/api/landscape/value", {**body, "axes": axes, "first": 0.3, "second": 0.2}
    )
    moved = as_params(value["params"])
    assert moved["W"][3, 1] == 0.3 and moved["b"][0] == 0.2
    assert value["value"] == pytest.approx(loss_fn.parts(moved, phi, y, 0.1).total, abs=1e-12)
    point = post(client, "/api/landscape/point", {
        "params": body["params"], "axes": axes, "first": 0.3, "second": 0.2,
    })  # fmt: skip
    assert point == value["params"]
    check = post(client, "/api/gradcheck", {**body, "sweep": False})
    names = [row["name"] for row in check["rows"]]
    assert "W[3,2]" in names and len(names) == 4 * 3 + 3
    analytic = {row["name"]: row["analytic"] for row in check["rows"]}
    assert analytic["W[2,0]"] == pytest.approx(grads["W"][2, 0], abs=1e-12)


def test_new_parameters_get_zero_rows_for_the_features(client):
    plain = post(client, "/api/params", {"kind": "default", "num_classes": 3})
    extended = post(
        client,
        "/api/params",
        {"kind": "default", "num_classes": 3, "features": ["x0*x1", "sin(x0)"]},
    )
    assert extended["W"][:2] == plain["W"] and extended["b"] == plain["b"]
    assert extended["W"][2:] == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    random = post(client, "/api/params", {"kind": "random", "num_classes": 2, "seed": 4})
    random_extended = post(
        client, "/api/params", {"kind": "random", "num_classes": 2, "seed": 4, "features": ["x0^2"]}
    )
    assert random_extended == {"W": [*random["W"], [0.0, 0.0]], "b": random["b"]}
    params = {key: np.array(value) for key, value in plain.items()}
    np.testing.assert_array_equal(with_feature_rows(params, 0)["W"], params["W"])


def run_to_the_end(client, body: dict, num_steps: int) -> dict:
    spec = {"name": "sgd", "learning_rate": 1.0}
    steps = {"optimizer": spec, "num_steps": 200}
    state = body
    for step in range(0, num_steps, 200):
        result = post(client, "/api/step", {**state, **steps, "step": step})
        last = result["records"][-1]
        state = {**state, "params": last["params"], "opt_state": last["opt_state"]}
    return result["evaluation"]


def test_xor_is_solved_with_the_product_feature_and_not_without(client):
    data = post(client, "/api/dataset", {"preset": "xor", "num_points": 80, "num_classes": 2})
    base = {"data": data, "loss": "softmax", "reg": 0.001}
    plain = post(client, "/api/params", {"kind": "zeros", "num_classes": 2})
    product = post(
        client, "/api/params", {"kind": "zeros", "num_classes": 2, "features": ["x0*x1"]}
    )
    without = run_to_the_end(client, {**base, "params": plain}, 1000)
    with_product = run_to_the_end(client, {**base, "params": product, "features": ["x0*x1"]}, 1000)
    assert with_product["accuracy"] == 1.0
    assert without["accuracy"] < 0.8  # XOR is not linearly separable in x
    assert without["lines"] and not with_product["lines"]


# The regularization conventions


def naive_regularization(W: np.ndarray, b: np.ndarray, reg: float, half: bool, bias: bool):
    """``R = c reg (sum W^2 [+ sum b^2])`` and its gradients, entry by entry."""
    factor = 0.5 if half else 1.0
    value, dW, db = 0.0, np.zeros_like(W), np.zeros_like(b)
    for d in range(W.shape[0]):
        for k in range(W.shape[1]):
            value += factor * reg * W[d, k] ** 2
            dW[d, k] = 2 * factor * reg * W[d, k]
    if bias:
        for k in range(b.shape[0]):
            value += factor * reg * b[k] ** 2
            db[k] = 2 * factor * reg * b[k]
    return value, dW, db


@pytest.mark.parametrize("loss", list(EXAMPLE_LOSSES))
@pytest.mark.parametrize("conventions", CONVENTIONS, ids=str)
def test_the_conventions_match_a_naive_reference_and_finite_differences(client, loss, conventions):
    body = {**problem(loss, reg=0.3), "conventions": conventions}
    result = post(client, "/api/evaluate", body)
    X, y = inputs(body)
    params = as_params(body["params"])
    data = get_loss(loss).parts(params, X, y, 0.0)
    half, bias = conventions["half_l2"], conventions["regularize_bias"]
    value, dW, db = naive_regularization(params["W"], params["b"], 0.3, half, bias)
    assert result["reg_loss"] == pytest.approx(value, rel=1e-14)
    assert result["total"] == pytest.approx(data.data_loss + value, rel=1e-14)
    np.testing.assert_allclose(result["grads"]["W"], data.grads["W"] + dW, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(result["grads"]["b"], data.grads["b"] + db, rtol=1e-13, atol=1e-15)
    loss_fn = convention_loss(get_loss(loss), half_l2=half, regularize_bias=bias)

    def f(p):
        parts = loss_fn.parts(p, X, y, 0.3)
        return parts.total, parts.grads

    report = check_gradient(f, params, mode="all")
    assert report.passed, report.verdict
    check = post(client, "/api/gradcheck", {**body, "sweep": False})
    assert all(row["passed"] for row in check["rows"])
    analytic = {row["name"]: row["analytic"] for row in check["rows"]}
    assert analytic["b[1]"] == pytest.approx(result["grads"]["b"][1], abs=1e-15)


@given(
    W=st.lists(st.floats(-5, 5), min_size=6, max_size=6),
    b=st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    reg=st.floats(0, 100),
    half=st.booleans(),
    bias=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_the_penalty_is_the_naive_one_for_any_parameters(W, b, reg, half, bias):
    params = {"W": np.array(W).reshape(2, 3), "b": np.array(b)}
    X, y = np.array([[0.1, -0.2]]), np.array([1])
    loss_fn = convention_loss(get_loss("svm"), half_l2=half, regularize_bias=bias)
    parts = loss_fn.parts(params, X, y, reg)
    value, dW, db = naive_regularization(params["W"], params["b"], reg, half, bias)
    assert parts.reg_loss == pytest.approx(value, rel=1e-12, abs=1e-300)
    data = get_loss("svm").parts(params, X, y, 0.0)
    np.testing.assert_allclose(parts.grads["W"] - data.grads["W"], dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(parts.grads["b"] - data.grads["b"], db, rtol=1e-12, atol=1e-12)
    assert loss_fn.regularization(params["W"], params["b"], reg) == pytest.approx(value, rel=1e-12)
    assert bias_penalty(params["b"])[0] == pytest.approx(float(np.sum(params["b"] ** 2)))


def test_the_half_convention_halves_the_regularization_at_the_defaults(client):
    """The CS231n defaults: reg loss 3.50 = 0.1 * 35; half of it, 1.75, under 0.5 reg sum W^2."""
    plain = post(client, "/api/evaluate", problem())
    half = post(client, "/api/evaluate", {**problem(), "conventions": {"half_l2": True}})
    assert plain["reg_loss"] == pytest.approx(3.5) and half["reg_loss"] == pytest.approx(1.75)
    # b = (0, 0.5, -0.5): the bias adds 0.1 * 0.5 = 0.05
    both = {"half_l2": False, "regularize_bias": True}
    assert post(client, "/api/evaluate", {**problem(), "conventions": both})["reg_loss"] == (
        pytest.approx(3.55)
    )


@pytest.mark.parametrize("conventions", CONVENTIONS[1:], ids=str)
def test_steps_and_the_landscape_follow_the_conventions(client, conventions):
    body = {**problem("softmax", reg=0.5), "conventions": conventions}
    X, y = inputs(body)
    params = as_params(body["params"])
    loss_fn = convention_loss(get_loss("softmax"), **conventions)
    record = post(client, "/api/step", {**body, "optimizer": {"name": "sgd", "learning_rate": 0.1}})
    grads = loss_fn.parts(params, X, y, 0.5).grads
    expected = {key: params[key] - 0.1 * grads[key] for key in params}
    np.testing.assert_allclose(record["records"][0]["params"]["b"], expected["b"], atol=1e-15)
    np.testing.assert_allclose(record["records"][0]["params"]["W"], expected["W"], atol=1e-15)
    axes = {"kind": "coordinates", "first": "b[1]", "second": "W[0,0]"}
    landscape = post(client, "/api/landscape", {**body, "axes": axes, "size": 3, "span": 0.5})
    for r, second in enumerate(landscape["second"]["values"]):
        for c, first in enumerate(landscape["first"]["values"]):
            moved = {key: value.copy() for key, value in params.items()}
            moved["b"][1], moved["W"][0, 0] = first, second
            expected_value = loss_fn.parts(moved, X, y, 0.5).total
            assert landscape["values"][r][c] == pytest.approx(expected_value, rel=1e-12)


def test_default_fields_give_exactly_the_plain_answers(client):
    body = problem("svm-ova", grid_size=10)
    plain = post(client, "/api/evaluate", body)
    explicit = {**body, "features": [], "conventions": {"half_l2": False, "regularize_bias": False}}
    assert post(client, "/api/evaluate", explicit) == plain
    X, y = inputs(body)
    parts = get_loss("svm-ova").parts(as_params(body["params"]), X, y, 0.1)
    assert plain["total"] == float(parts.total) and plain["grads"]["W"] == parts.grads["W"].tolist()
    assert isinstance(convention_loss(get_loss("svm")), ConventionLoss)


# The exported script


@pytest.mark.parametrize(
    ("features", "conventions", "batch"),
    [
        (["x0^2", "x1^2"], {}, None),
        (ALL, {"half_l2": True, "regularize_bias": True}, {"size": 4, "seed": 3}),
        ([], {"regularize_bias": True}, None),
        (["x0*x1"], {"half_l2": True}, None),
    ],
)
def test_the_python_export_replays_features_and_conventions_exactly(
    client, features, conventions, batch, capsys
):
    body = with_features(problem("softmax"), features) if features else problem("softmax")
    body = {**body, "conventions": conventions, "batch": batch}
    spec = {"name": "adam", "learning_rate": 0.05}
    records = post(client, "/api/step", {**body, "optimizer": spec, "num_steps": 9})["records"]
    code = post(client, "/api/python", {**body, "optimizer": spec, "num_steps": 9})["code"]
    for name in features:
        assert re.search(re.escape(name.replace("^2", "**2")).replace(r"\*", r"\s?\*\s?"), code)
    if conventions:
        assert "def loss_fn(params, X, y, reg):" in code
    namespace: dict = {}
    exec(compile(code, "<copied>", "exec"), namespace)
    np.testing.assert_array_equal(namespace["params"]["W"], records[-1]["params"]["W"])
    np.testing.assert_array_equal(namespace["params"]["b"], records[-1]["params"]["b"])
    assert f"total {records[-1]['total']:.4f}" in capsys.readouterr().out


# Bad requests


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": ["x1^2", "x0^2"]},
         r"features must be distinct and listed in the order x0\^2, x1\^2, x0\*x1, sin\(x0\), "
         r"sin\(x1\); got \['x1\^2', 'x0\^2'\] \(use \['x0\^2', 'x1\^2'\]\)"),
        ({"features": ["x0^2", "x0^2"]}, r"features must be distinct"),
        ({"features": ["cos(x0)"]},
         r"features\[0\]: Input should be 'x0\^2', 'x1\^2', 'x0\*x1', 'sin\(x0\)' or "
         r"'sin\(x1\)'; got the string 'cos\(x0\)'"),
        ({"features": ["x0^2"]},
         r"params have 2 rows in W but the features need 3 \(x0, x1 and 1 features\); reset W "
         r"and b after changing the features"),
        ({"conventions": {"half": True}}, r"conventions\.half: Extra inputs are not permitted"),
        ({"conventions": {"half_l2": 1}}, r"conventions\.half_l2: Input should be a valid boolean"),
    ],
)  # fmt: skip
def test_bad_features_and_conventions_get_a_readable_422(client, change, message):
    response = client.post("/api/evaluate", json={**problem(), **change})
    assert response.status_code == 422
    assert re.search(message, response.json()["message"]), response.json()["message"]


def test_axes_and_rows_are_checked_against_the_features(client):
    body = problem(axes={"kind": "coordinates", "first": "W[2,0]", "second": "b[0]"})
    response = client.post("/api/landscape", json=body)
    assert response.status_code == 422
    assert re.search(r"W has 2 rows \(features 0 and 1\)", response.json()["message"])
    featured = with_features(problem(), ["x0^2"])
    bad_axis = {**featured, "axes": {"kind": "coordinates", "first": "W[3,0]", "second": "b[0]"}}
    response = client.post("/api/landscape", json=bad_axis)
    assert re.search(
        r"axes\.first 'W\[3,0\]': W has 3 rows \(x0, x1 and the features: 0\.\.2\)",
        response.json()["message"],
    )
    race = {k: v for k, v in featured.items() if k != "params"}
    race["runners"] = [{"id": "a", "optimizer": {"name": "sgd", "learning_rate": 0.1},
                        "params": problem()["params"]}]  # fmt: skip
    response = client.post("/api/race", json=race)
    assert response.status_code == 422
    assert (
        "runner 'a' params have 2 rows in W but the features need 3" in response.json()["message"]
    )
