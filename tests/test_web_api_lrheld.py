"""Issue 10's "learning rate first" scan (/api/lr_scan) and held-out points (data.test,
/api/split): each number equals what slopelab's own step gives, and bad input gets a 422."""

# ruff: noqa: F811  (the client fixture imported from test_web_api is a parameter by name)
from __future__ import annotations

import copy
import re

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import get_loss
from slopelab.linear import accuracy
from slopelab.web.heldout import random_mask
from slopelab.web.lr_scan import MAX_WORK, log_rates
from tests.test_web_api import as_params, client, post, problem  # noqa: F401  (fixture)

MASK = [True, False, False, True, False, False, False, True, False]  # one test point per class


def steps_by_hand(client: httpx.Client, body: dict, rate: float, k: int) -> dict:
    """``k`` calls of /api/step at ``rate``, each carrying on from the last: the last record."""
    body = copy.deepcopy(body)
    body["optimizer"] = {**body["optimizer"], "learning_rate": rate}
    record, opt_state, step = None, body.get("opt_state"), body.get("step", 0)
    for _ in range(k):
        answer = post(client, "/api/step", {**body, "opt_state": opt_state, "step": step})
        if answer["status"] == "diverged":
            return {"status": "diverged", "step": step}
        record = answer["records"][-1]
        body["params"], opt_state, step = record["params"], record["opt_state"], record["step"]
    return record


# ---------------------------------------------------------------- learning rate first

SCAN_CASES = [
    ({"name": "sgd", "learning_rate": 0.1}, None, 6),
    ({"name": "momentum", "learning_rate": 0.05, "hyperparams": {"momentum": 0.8}}, None, 5),
    ({"name": "adam", "learning_rate": 0.02}, {"size": 4, "seed": 3}, 7),
    ({"name": "sgd", "learning_rate": 0.3,
      "schedule": {"name": "step", "options": {"step_size": 2, "gamma": 0.5}}}, None, 5),
]  # fmt: skip


@pytest.mark.parametrize(("optimizer", "batch", "k"), SCAN_CASES)
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_each_scanned_loss_is_what_k_steps_at_that_rate_give(client, optimizer, batch, k, loss):
    body = problem(loss, optimizer=optimizer, batch=batch, step=3)
    scan = post(client, "/api/lr_scan", {**body, "num_steps": k, "num_rates": 4,
                                        "min_rate": 0.01, "max_rate": 3.0})  # fmt: skip
    assert [p["learning_rate"] for p in scan["points"]] == log_rates(0.01, 3.0, 4)
    assert scan["current"]["learning_rate"] == optimizer["learning_rate"]
    for point in [*scan["points"], scan["current"]]:
        expected = steps_by_hand(client, body, point["learning_rate"], k)
        assert point["steps"] == k
        assert point["total"] == pytest.approx(expected["total"], rel=0, abs=1e-12)
        assert point["accuracy"] == expected["accuracy"]


def test_the_scan_starts_from_the_given_optimizer_state_and_params(client):
    body = problem("softmax", optimizer={"name": "momentum", "learning_rate": 0.1})
    first = post(client, "/api/step", {**body, "num_steps": 3})["records"][-1]
    body.update(params=first["params"], opt_state=first["opt_state"], step=first["step"])
    scan = post(client, "/api/lr_scan", {**body, "num_steps": 4, "num_rates": 2})
    expected = steps_by_hand(client, body, 0.1, 4)
    assert scan["current"]["total"] == pytest.approx(expected["total"], rel=0, abs=1e-12)
    start = post(client, "/api/evaluate", {k: body[k] for k in ("data", "params", "loss", "reg")})
    assert scan["start_total"] == start["total"]


def test_a_diverging_rate_is_reported_as_diverged_not_dropped_or_clipped(client):
    body = problem("svm", optimizer={"name": "sgd", "learning_rate": 0.1})
    body["params"] = {"W": [[9e5, -9e5, 0.0], [0.0, 9e5, -9e5]], "b": [0.0, 0.0, 0.0]}
    scan = post(client, "/api/lr_scan", {**body, "num_steps": 30, "num_rates": 3,
                                        "min_rate": 0.01, "max_rate": 100.0})  # fmt: skip
    top = scan["points"][-1]
    assert len(scan["points"]) == 3
    assert top["status"] == "diverged" and top["total"] is None and top["accuracy"] is None
    assert steps_by_hand(client, body, 100.0, 30) == {"status": "diverged", "step": top["steps"]}


def test_the_work_limit_is_a_422_naming_it(client):
    data = {"X": [[0.004 * i, 0.0] for i in range(200)], "y": [i % 3 for i in range(200)],
            "num_classes": 3}  # fmt: skip
    body = {**problem(optimizer={"name": "sgd", "learning_rate": 0.1}), "data": data}
    response = client.post("/api/lr_scan", json={**body, "num_steps": 500, "num_rates": 41})
    assert response.status_code == 422
    # the rate in use is scanned too: 42 runs
    assert response.json()["message"] == (
        "a learning-rate scan of 42 rates x 500 steps x 200 points = 4200000 is over the limit "
        f"of {MAX_WORK}; scan fewer rates or steps"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_steps": 0}, r"num_steps: Input should be greater than or equal to 1"),
        ({"num_steps": 501}, r"num_steps: Input should be less than or equal to 500"),
        ({"num_steps": "10"}, r"num_steps: Input should be a valid integer"),
        ({"num_rates": 1}, r"num_rates: Input should be greater than or equal to 2"),
        ({"num_rates": 42}, r"num_rates: Input should be less than or equal to 41"),
        ({"min_rate": 0.0}, r"min_rate: Input should be greater than 0"),
        ({"max_rate": 1e3}, r"max_rate: Input should be less than or equal to 100"),
        ({"min_rate": 1.0, "max_rate": 0.5}, r"min_rate \(1.0\) must be below max_rate \(0.5\)"),
        ({"step": 10**7}, r"step \+ num_steps = 10000050 is over the limit"),
        ({"optimizer": {"name": "sgd", "learning_rate": 0.1, "hyperparams": {"momentum": 0.9}}},
         r"optimizer: unknown hyperparameter .momentum. for optimizer .sgd."),
        ({"optimizer": {"name": "sgd"}}, r"optimizer.learning_rate: Field required"),
    ],
)  # fmt: skip
def test_bad_scan_requests_get_a_422_naming_the_problem(client, change, message):
    body = {**problem(optimizer={"name": "sgd", "learning_rate": 0.1}), **change}
    response = client.post("/api/lr_scan", json=body)
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


# ---------------------------------------------------------------- held-out points


def split_problem(loss: str = "svm", mask: list[bool] = MASK, **extra) -> dict:
    body = problem(loss, **extra)
    body["data"]["test"] = list(mask)
    return body


def train_only(body: dict) -> dict:
    """The same request with the test points removed from the data."""
    body = copy.deepcopy(body)
    data = body["data"]
    test = data.pop("test")
    data["X"] = [x for x, t in zip(data["X"], test, strict=True) if not t]
    data["y"] = [y for y, t in zip(data["y"], test, strict=True) if not t]
    return body


def held_out_points(body: dict) -> tuple[np.ndarray, np.ndarray]:
    data = body["data"]
    chosen = [i for i, t in enumerate(data["test"]) if t]
    return np.array(data["X"])[chosen], np.array(data["y"])[chosen]


@pytest.mark.parametrize("loss", ["svm", "svm-ova", "svm-structured", "softmax"])
@pytest.mark.parametrize("batch", [None, {"size": 3, "seed": 2}])
def test_a_step_with_a_split_is_a_step_on_the_train_points_alone(client, loss, batch):
    body = split_problem(loss, optimizer={"name": "momentum", "learning_rate": 0.2}, batch=batch,
                         num_steps=4)  # fmt: skip
    split, alone = post(client, "/api/step", body), post(client, "/api/step", train_only(body))
    X_test, y_test = held_out_points(body)
    for ours, theirs in zip(split["records"], alone["records"], strict=True):
        for key in ("W", "b"):
            np.testing.assert_allclose(ours["params"][key], theirs["params"][key], atol=1e-12)
        for key in ("data_loss", "reg_loss", "total", "accuracy"):
            assert ours[key] == pytest.approx(theirs[key], rel=0, abs=1e-12)
        params = as_params(ours["params"])
        assert ours["test"]["accuracy"] == accuracy(params, X_test, y_test)
        expected = get_loss(loss).parts(params, X_test, y_test, 0.1).data_loss
        assert ours["test"]["data_loss"] == pytest.approx(expected, rel=0, abs=1e-12)
        assert theirs["test"] is None
        if batch is not None:  # minibatch indices point into the request's data, train points
            train = [i for i, t in enumerate(body["data"]["test"]) if not t]
            assert all(not body["data"]["test"][i] for i in ours["batch"])
            assert [train.index(i) for i in ours["batch"]] == theirs["batch"]


def test_evaluate_with_a_split_reports_test_metrics_and_every_point(client):
    body = split_problem("softmax")
    ours, alone = (
        post(client, "/api/evaluate", body),
        post(client, "/api/evaluate", train_only(body)),
    )
    X_test, y_test = held_out_points(body)
    params = as_params(body["params"])
    assert ours["test"] == {
        "count": 3,
        "data_loss": pytest.approx(
            get_loss("softmax").parts(params, X_test, y_test, 0.1).data_loss, abs=1e-12
        ),
        "accuracy": accuracy(params, X_test, y_test),
    }
    assert ours["total"] == alone["total"] and ours["grads"] == alone["grads"]
    assert len(ours["points"]["losses"]) == 9  # the per-point view keeps every point in place
    whole = post(client, "/api/evaluate", problem("softmax"))
    for key in ("scores", "losses"):
        np.testing.assert_allclose(ours["points"][key], whole["points"][key], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/gradcheck", {}),
        ("/api/landscape", {"size": 5}),
        ("/api/race", {"runners": [{"id": "a", "optimizer": {"name": "sgd", "learning_rate": 0.1},
                                    "params": problem()["params"]}]}),
        ("/api/lr_scan", {"optimizer": {"name": "sgd", "learning_rate": 0.1}, "num_steps": 3}),
        ("/api/python", {"optimizer": {"name": "sgd", "learning_rate": 0.1}, "num_steps": 2}),
    ],
)  # fmt: skip
def test_every_endpoint_uses_the_train_points_only(client, path, extra):
    body = {**split_problem("svm"), **extra}
    if path == "/api/race":
        del body["params"]
    ours, alone = post(client, path, body), post(client, path, train_only(body))
    assert without_test_metrics(ours) == without_test_metrics(alone)


def without_test_metrics(answer):
    """The answer without its "test" entries (present only with a split), and a Python
    export without its note naming the held-out points."""
    if isinstance(answer, str):
        return "\n".join(line for line in answer.split("\n") if "as test points" not in line)
    if isinstance(answer, dict):
        return {k: without_test_metrics(v) for k, v in answer.items() if k != "test"}
    if isinstance(answer, list):
        return [without_test_metrics(v) for v in answer]
    return answer


def test_the_python_export_replays_the_train_points(client):
    body = split_problem(optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=2)
    code = post(client, "/api/python", body)["code"]
    assert "on 6 points" in code


@pytest.mark.parametrize("test", [None, [False] * 9])
def test_no_split_is_exactly_todays_behaviour(client, test):
    body = problem(optimizer={"name": "adam", "learning_rate": 0.1}, num_steps=3)
    marked = copy.deepcopy(body)
    if test is not None:
        marked["data"]["test"] = test
    assert post(client, "/api/step", marked) == post(client, "/api/step", body)
    assert post(client, "/api/step", body)["records"][0]["test"] is None


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ([True] * 9, r"data.test marks every point as a test point; leave at least one"),
        ([False] * 8, r"data.test has 8 entries but data has 9 points"),
        (
            [0, 1, 0, 0, 0, 0, 0, 0, 0],
            r"data.test\[0\]: Input should be a valid boolean; got the number 0",
        ),
        ("yes", r"data.test: Input should be a valid list"),
    ],
)
def test_a_bad_mask_gets_a_422(client, test, message):
    body = problem()
    body["data"]["test"] = test
    response = client.post("/api/evaluate", json=body)
    assert response.status_code == 422
    assert re.search(message, response.json()["message"]), response.json()["message"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 500), st.sampled_from([0.0, 0.2, 0.3, 0.5, 0.9]), st.integers(0, 2**32 - 1))
def test_random_masks_are_deterministic_and_leave_a_train_point(num_points, fraction, seed):
    mask = random_mask(num_points, fraction, seed)
    assert mask == random_mask(num_points, fraction, seed)
    assert len(mask) == num_points
    assert mask.count(True) == min(round(fraction * num_points), num_points - 1)


def test_the_split_endpoint_and_its_limits(client):
    assert post(client, "/api/split", {"num_points": 9, "fraction": 0.3, "seed": 1}) == {
        "test": random_mask(9, 0.3, 1)
    }
    response = client.post("/api/split", json={"num_points": 9, "fraction": 1.0, "seed": 1})
    assert response.status_code == 422
    assert re.search(r"fraction: Input should be less than or equal to 0.9", response.text)
