"""The Explain and Losses panels' API (issue 10, "beyond every other demo"): ``/api/explain``
and ``/api/losses``, through a real uvicorn server (see tests/test_web_api.py).

The oracles are slopelab's own losses and gradients (``slopelab.get_loss``), the CS231n demo's
published losses at its defaults, and ``/api/step`` for the update.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import get_loss
from slopelab.linear import class_scores
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.optim import OPTIMIZERS, get_optimizer
from slopelab.web import create_app
from slopelab.web.convert import Setup
from slopelab.web.explain import explain_point
from tests.test_web_api import AT_DEFAULTS, as_params, post, problem, running_server

LOSSES = list(EXAMPLE_LOSSES)
SGD = {"name": "sgd", "learning_rate": 0.1}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with running_server(create_app()) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def arrays(body: dict) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    X = np.array(body["data"]["X"], dtype=np.float64)
    return X, np.array(body["data"]["y"]), as_params(body["params"])


def explain_request(loss: str = "svm", index: int = 0, optimizer: dict = SGD, **extra) -> dict:
    return problem(loss, index=index, optimizer=optimizer, **extra)


def all_explained(client: httpx.Client, body: dict) -> list[dict]:
    return [
        post(client, "/api/explain", {**body, "index": i}) for i in range(len(body["data"]["X"]))
    ]


# /api/explain: the numbers of one point are slopelab's


@pytest.mark.parametrize("loss", LOSSES)
def test_point_shares_plus_the_penalty_gradient_are_the_full_gradient(client, loss):
    body = explain_request(loss, reg=0.3)
    X, y, params = arrays(body)
    _, grads = get_loss(loss)(params, X, y, reg=0.3)
    answers = all_explained(client, body)
    share_W = sum(np.array(a["share"]["W"]) for a in answers)
    share_b = sum(np.array(a["share"]["b"]) for a in answers)
    np.testing.assert_allclose(share_W + np.array(answers[0]["reg_grad"]), grads["W"], atol=1e-12)
    np.testing.assert_allclose(share_b, grads["b"], atol=1e-12)
    np.testing.assert_allclose(answers[0]["grads"]["W"], grads["W"], atol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_scores_and_loss_of_the_point_are_slopelab_s(client, loss):
    body = explain_request(loss)
    X, y, params = arrays(body)
    example_losses, _ = get_loss(loss).example_losses(params, X, y)
    scores = class_scores(params, X)
    for i, answer in enumerate(all_explained(client, body)):
        assert answer["x"] == body["data"]["X"][i] and answer["label"] == y[i]
        np.testing.assert_allclose(answer["scores"], scores[i], atol=1e-12)
        assert answer["example_loss"] == pytest.approx(example_losses[i], abs=1e-12)
        assert answer["example_loss"] == pytest.approx(AT_DEFAULTS[loss][2][i], abs=0.005)


def test_the_share_of_a_point_is_x_times_dl_ds_over_n(client):
    answer = post(client, "/api/explain", explain_request("softmax", index=4))
    x, dscores = np.array(answer["x"]), np.array(answer["dscores"])
    np.testing.assert_allclose(answer["share"]["W"], np.outer(x, dscores) / 9, atol=1e-15)
    np.testing.assert_allclose(answer["share"]["b"], dscores / 9, atol=1e-15)


@pytest.mark.parametrize("loss", ["svm", "svm-ova", "svm-structured"])
def test_the_active_hinges_add_up_to_the_point_s_loss(client, loss):
    for answer in all_explained(client, explain_request(loss)):
        terms = answer["terms"]
        counted = [h for h, on in zip(terms["hinges"], terms["active"], strict=True) if on]
        assert sum(counted) == pytest.approx(answer["example_loss"], abs=1e-12)
        assert all(h > 0 for h in counted)
        scores, label = answer["scores"], answer["label"]
        for j, margin in enumerate(terms["margins"]):
            if loss == "svm-ova":
                target = 1.0 if j == label else -1.0
                assert terms["targets"][j] == target
                assert margin == pytest.approx(1 - target * scores[j], abs=1e-12)
            elif j == label:
                assert margin is None and not terms["active"][j]
            else:
                assert margin == pytest.approx(scores[j] - scores[label] + 1, abs=1e-12)


def test_the_structured_svm_counts_only_the_rival(client):
    answer = post(client, "/api/explain", explain_request("svm-structured", index=4))
    terms = answer["terms"]  # scores (1.1, -2.9, -2.1), label 1: both wrong classes violate
    assert terms["rival"] == 0
    assert terms["active"] == [True, False, False]
    assert terms["hinges"][2] > 0  # positive, yet it does not count


def test_softmax_shows_probabilities_whose_minus_log_is_the_loss(client):
    for answer in all_explained(client, explain_request("softmax")):
        probabilities = answer["terms"]["probabilities"]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-12)
        p_label = probabilities[answer["label"]]
        assert -np.log(p_label) == pytest.approx(answer["example_loss"], rel=1e-12)
        assert answer["terms"]["hinges"] is None


@settings(max_examples=40, deadline=None)
@given(
    loss=st.sampled_from(LOSSES),
    seed=st.integers(0, 2**32 - 1),
    num_examples=st.integers(1, 12),
    num_classes=st.integers(2, 6),
    scale=st.sampled_from([0.1, 3.0, 300.0]),
    reg=st.sampled_from([0.0, 0.1, 7.0]),
)
def test_shares_sum_to_the_gradient_for_any_data(loss, seed, num_examples, num_classes, scale, reg):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (num_examples, 2))
    y = rng.integers(0, num_classes, num_examples)
    params = {"W": rng.normal(0, scale, (2, num_classes)), "b": rng.normal(0, scale, num_classes)}
    setup = Setup(X, y, num_classes, get_loss(loss), reg)
    optimizer = get_optimizer("sgd", 0.01)
    answers = [
        explain_point(setup, params, i, optimizer, optimizer.init(params))
        for i in range(num_examples)
    ]
    _, grads = get_loss(loss)(params, X, y, reg=reg)
    share_W = sum(np.array(a["share"]["W"]) for a in answers) + np.array(answers[0]["reg_grad"])
    share_b = sum(np.array(a["share"]["b"]) for a in answers)
    tolerance = 1e-12 * max(1.0, np.abs(grads["W"]).max())
    np.testing.assert_allclose(share_W, grads["W"], rtol=0, atol=tolerance)
    np.testing.assert_allclose(share_b, grads["b"], rtol=0, atol=1e-12)
    example_losses, _ = get_loss(loss).example_losses(params, X, y)
    got = [a["example_loss"] for a in answers]
    np.testing.assert_allclose(got, example_losses, rtol=1e-12, atol=1e-12)


# /api/explain: the update shown is the one /api/step makes


def state_after(client: httpx.Client, body: dict, optimizer: dict, steps: int) -> dict:
    """W, b and the optimizer state after ``steps`` full-batch updates by /api/step."""
    answer = post(client, "/api/step", {**body, "optimizer": optimizer, "num_steps": steps})
    record = answer["records"][-1]
    return {"params": record["params"], "opt_state": record["opt_state"], "step": record["step"]}


@pytest.mark.parametrize("rule", sorted(OPTIMIZERS))
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_the_update_shown_is_the_one_a_step_makes(client, rule, loss):
    optimizer = {"name": rule, "learning_rate": 0.05}
    start = state_after(client, problem(loss), optimizer, 3)  # a state that is not fresh
    body = problem(loss, params=start["params"])
    stepped = post(client, "/api/step", {**body, "optimizer": optimizer,
                   "opt_state": start["opt_state"], "step": start["step"]})  # fmt: skip
    record = stepped["records"][0]
    explained = post(client, "/api/explain", {**body, "index": 2, "optimizer": optimizer,
                     "opt_state": start["opt_state"]})  # fmt: skip
    update = explained["update"]
    assert update["rule"] == rule
    assert update["params"] == record["params"]
    assert update["learning_rate"] == record["learning_rate"]
    assert update["total"] == record["total"]
    for key in ("W", "b"):
        new, old = np.array(record["params"][key]), np.array(start["params"][key])
        np.testing.assert_allclose(update["delta"][key], new - old, rtol=0, atol=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
def test_an_sgd_update_is_minus_the_step_size_times_the_gradient(client, loss):
    answer = post(client, "/api/explain", explain_request(loss, optimizer={"name": "sgd",
                  "learning_rate": 0.25}))  # fmt: skip
    for key in ("W", "b"):
        expected = -0.25 * np.array(answer["grads"][key])
        np.testing.assert_allclose(answer["update"]["delta"][key], expected, atol=1e-15)


def test_a_schedule_s_step_size_is_the_one_in_use_at_the_state_s_count(client):
    schedule = {"name": "step", "options": {"step_size": 2, "gamma": 0.5}}
    optimizer = {"name": "sgd", "learning_rate": 0.4, "schedule": schedule}
    start = state_after(client, problem(), optimizer, 2)
    answer = post(client, "/api/explain", problem(params=start["params"], index=0,
                  optimizer=optimizer, opt_state=start["opt_state"]))  # fmt: skip
    assert answer["update"]["learning_rate"] == pytest.approx(0.2)


def test_an_update_that_would_explode_is_refused_and_explained(client):
    params = {"W": [[1e6, -1e6, 1e6], [-1e6, 1e6, -1e6]], "b": [1e6, -1e6, 0.0]}
    body = problem(params=params, reg=1000.0, index=0,
                   optimizer={"name": "sgd", "learning_rate": 100.0})  # fmt: skip
    update = post(client, "/api/explain", body)["update"]
    assert update["params"] is None and update["delta"] is None
    assert update["message"].startswith("Diverged at step 1: the parameters left the range")


# /api/explain: bad input


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"index": 9}, r"^index 9 is not a point: there are 9 points, numbered 0\.\.8$"),
        ({"index": 499}, r"index 499 is not a point"),
        ({"index": 500}, r"^index: Input should be less than 500"),
        ({"index": -1}, r"^index: Input should be greater than or equal to 0"),
        ({"index": "1"}, r"^index: Input should be a valid integer; got the string '1'$"),
        ({"index": True}, r"^index: Input should be a valid integer; got the boolean true$"),
        ({"index": 1.0}, r"^index: Input should be a valid integer; got the number 1\.0$"),
        ({"index": None}, r"^index: Input should be a valid integer; got null$"),
        ({"optimizer": None}, r"^optimizer: Input should be a valid dictionary.*; got null$"),
        ({"optimizer": {"name": "sgd", "learning_rate": "0.1"}},
         r"^optimizer\.learning_rate: Input should be a valid number; got the string"),
        ({"optimizer": {"name": "sgd", "learning_rate": 0.1, "hyperparams": {"beta": 0.9}}},
         r"^optimizer: .*beta"),
        ({"opt_state": {"count": -1}}, r"^opt_state\.count must be an integer"),
    ],
)  # fmt: skip
def test_bad_explain_requests_get_a_readable_422(client, changes, message):
    body = {**explain_request(), **changes}
    response = client.post("/api/explain", json=body)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"message", "detail"}
    assert re.search(message, response.json()["message"]), response.json()["message"]


def test_an_explain_request_needs_an_index_and_an_optimizer(client):
    for field in ("index", "optimizer"):
        body = explain_request()
        del body[field]
        response = client.post("/api/explain", json=body)
        assert response.status_code == 422
        assert response.json()["message"] == f"{field}: Field required"


# /api/losses


@pytest.mark.parametrize("reg", [0.0, 0.1, 2.5])
def test_every_loss_s_total_is_slopelab_s(client, reg):
    body = problem(reg=reg)
    del body["loss"]
    X, y, params = arrays(body)
    answer = post(client, "/api/losses", body)
    assert [row["name"] for row in answer["losses"]] == LOSSES
    assert answer["num_examples"] == 9
    for row in answer["losses"]:
        loss = get_loss(row["name"])
        total, _ = loss(params, X, y, reg=reg)
        data_loss, reg_loss = loss.evaluate(params, X, y, reg=reg)
        assert row["total"] == pytest.approx(total, abs=1e-12)
        assert row["data_loss"] == pytest.approx(data_loss, abs=1e-12)
        assert row["reg_loss"] == pytest.approx(reg_loss, abs=1e-12)
        example_losses, _ = loss.example_losses(params, X, y)
        np.testing.assert_allclose(row["example_losses"], example_losses, atol=1e-12)
        assert row["penalized"] == np.flatnonzero(example_losses > 0).tolist()


def test_the_losses_at_the_defaults_are_the_cs231n_demo_s(client):
    body = problem()
    del body["loss"]
    for row in post(client, "/api/losses", body)["losses"]:
        data_loss, total, per_point = AT_DEFAULTS[row["name"]]
        assert round(row["data_loss"], 2) == data_loss
        assert round(row["total"], 2) == total
        np.testing.assert_allclose(row["example_losses"], per_point, atol=0.005)
    penalized = {
        row["name"]: row["penalized"] for row in post(client, "/api/losses", body)["losses"]
    }
    # the CS231n demo's L_i: point 2 meets every WW and structured margin, no ova margin
    assert 2 not in penalized["svm"] and 2 not in penalized["svm-structured"]
    assert penalized["svm-ova"] == list(range(9)) and penalized["softmax"] == list(range(9))


def test_a_separated_point_is_penalized_by_the_hinges_but_not_by_softmax(client):
    body = {"data": {"X": [[0.5, 0.0], [-0.5, 0.0]], "y": [0, 1], "num_classes": 2},
            "params": {"W": [[10.0, -10.0], [0.0, 0.0]], "b": [0.0, 0.0]}, "reg": 0.0}  # fmt: skip
    rows = {row["name"]: row for row in post(client, "/api/losses", body)["losses"]}
    for name in ("svm", "svm-ova", "svm-structured"):
        assert rows[name]["penalized"] == [] and rows[name]["total"] == 0.0
    assert rows["softmax"]["penalized"] == [0, 1] and rows["softmax"]["total"] > 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reg": "0.1"}, r"^reg: Input should be a valid number; got the string '0\.1'$"),
        ({"reg": -1.0}, r"^reg: Input should be greater than or equal to 0"),
        ({"params": {"W": [[1.0, 2.0], [3.0, 4.0]], "b": [0.0, 0.0]}},
         r"params have 2 classes \(W is 2 x 2\) but data.num_classes is 3"),
        ({"loss": "svm"}, r"^loss: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_losses_requests_get_a_readable_422(client, changes, message):
    body = problem()
    del body["loss"]
    response = client.post("/api/losses", json={**body, **changes})
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


# held-out points (data.test): the panels follow the training loss on the train points


SPLIT = [True, False, False, True, False, False, False, True, False]


@pytest.mark.parametrize("loss", LOSSES)
def test_with_a_split_train_shares_sum_to_the_train_gradient_and_test_points_add_none(client, loss):
    body = explain_request(loss, reg=0.3)
    body["data"]["test"] = SPLIT
    X, y, params = arrays(body)
    train = ~np.array(SPLIT)
    _, grads = get_loss(loss)(params, X[train], y[train], reg=0.3)
    answers = all_explained(client, body)
    example_losses, _ = get_loss(loss).example_losses(params, X, y)
    for index, answer in enumerate(answers):
        assert answer["index"] == index and answer["held_out"] == SPLIT[index]
        np.testing.assert_allclose(answer["x"], X[index], atol=0)
        assert answer["label"] == y[index]
        assert answer["example_loss"] == pytest.approx(example_losses[index], abs=1e-12)
        assert answer["num_examples"] == int(train.sum())
        if SPLIT[index]:
            assert not np.any(answer["share"]["W"]) and not np.any(answer["share"]["b"])
    share_W = sum(np.array(a["share"]["W"]) for a in answers)
    share_b = sum(np.array(a["share"]["b"]) for a in answers)
    np.testing.assert_allclose(share_W + np.array(answers[0]["reg_grad"]), grads["W"], atol=1e-12)
    np.testing.assert_allclose(share_b, grads["b"], atol=1e-12)


def test_with_a_split_the_losses_panel_scores_the_train_points_and_names_points_as_drawn(client):
    body = problem(reg=0.1)
    del body["loss"]
    body["data"]["test"] = SPLIT
    X, y, params = arrays(body)
    train = ~np.array(SPLIT)
    answer = post(client, "/api/losses", body)
    assert answer["num_examples"] == int(train.sum())
    for row in answer["losses"]:
        loss = get_loss(row["name"])
        total, _ = loss(params, X[train], y[train], reg=0.1)
        assert row["total"] == pytest.approx(total, abs=1e-12)
        example_losses, _ = loss.example_losses(params, X, y)
        np.testing.assert_allclose(row["example_losses"], example_losses, atol=1e-12)
        assert row["penalized"] == np.flatnonzero((example_losses > 0) & train).tolist()


# features and regularization conventions: the panels follow the page's model


FEATURES = ["x0^2", "x0*x1"]


def with_features(body: dict, conventions: dict) -> dict:
    """``body`` with two feature rows in W (seeded values) and the given conventions."""
    params = as_params(body["params"])
    extra = np.random.default_rng(5).uniform(-0.5, 0.5, (len(FEATURES), params["b"].size))
    W = np.vstack([params["W"], extra])
    return {**body, "features": FEATURES, "conventions": conventions,
            "params": {"W": W.tolist(), "b": params["b"].tolist()}}  # fmt: skip


def convention_setup(body: dict):
    from slopelab.web.conventions import convention_loss
    from slopelab.web.features import feature_map

    X, y, params = arrays(body)
    conventions = body["conventions"]
    return feature_map(X, tuple(FEATURES)), y, params, conventions, convention_loss


CONVENTIONS = [
    {"half_l2": False, "regularize_bias": False},
    {"half_l2": True, "regularize_bias": False},
    {"half_l2": False, "regularize_bias": True},
    {"half_l2": True, "regularize_bias": True},
]


@pytest.mark.parametrize("conventions", CONVENTIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_with_features_and_conventions_shares_and_penalty_sum_to_the_gradient(
    client, loss, conventions
):
    body = with_features(explain_request(loss, reg=0.3), conventions)
    phi, y, params, conventions, convention_loss = convention_setup(body)
    model = convention_loss(get_loss(loss), **conventions)
    grads = model.parts(params, phi, y, 0.3).grads
    answers = all_explained(client, body)
    np.testing.assert_allclose(answers[0]["x"], phi[0], atol=0)
    share_W = sum(np.array(a["share"]["W"]) for a in answers)
    share_b = sum(np.array(a["share"]["b"]) for a in answers)
    assert share_W.shape == (2 + len(FEATURES), params["b"].size)
    np.testing.assert_allclose(share_W + np.array(answers[0]["reg_grad"]), grads["W"], atol=1e-12)
    np.testing.assert_allclose(share_b + np.array(answers[0]["reg_grad_b"]), grads["b"], atol=1e-12)
    factor = 0.5 if conventions["half_l2"] else 1.0
    expected_b = (
        2 * factor * 0.3 * params["b"] if conventions["regularize_bias"] else 0 * params["b"]
    )
    np.testing.assert_allclose(answers[0]["reg_grad_b"], expected_b, atol=1e-15)


@pytest.mark.parametrize("conventions", CONVENTIONS)
def test_with_features_and_conventions_every_loss_s_total_is_that_model_s(client, conventions):
    body = with_features(problem(reg=0.2), conventions)
    del body["loss"]
    phi, y, params, conventions, convention_loss = convention_setup(body)
    answer = post(client, "/api/losses", body)
    for row in answer["losses"]:
        model = convention_loss(get_loss(row["name"]), **conventions)
        parts = model.parts(params, phi, y, 0.2)
        assert row["total"] == pytest.approx(parts.total, abs=1e-12)
        assert row["reg_loss"] == pytest.approx(parts.reg_loss, abs=1e-12)


def test_the_losses_panel_refuses_w_without_the_feature_rows(client):
    body = problem(reg=0.2)
    del body["loss"]
    body["features"] = FEATURES
    response = client.post("/api/losses", json=body)
    assert response.status_code == 422
    assert re.search(r"params have 2 rows in W but the features need 4", response.json()["message"])
