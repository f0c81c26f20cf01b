"""The demo's JSON API, through a real uvicorn server on a free port.

The CS231n demo's numbers are the fixtures (docs: /work/shared/reference, section 1.4): the
losses at its defaults, its (wrong) displayed gradient next to the exact one, and the losses
after 2,000 steps. Gradients are checked against finite differences of the API's own loss.
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab import Budget, get_loss, get_optimizer, gradient_descent
from slopelab.data.toy2d import GENERATORS
from slopelab.errors import CommandError, InvalidValueError
from slopelab.losses import EXAMPLE_LOSSES
from slopelab.optim import OPTIMIZERS, apply_updates, state_to_arrays
from slopelab.schedules import SCHEDULES
from slopelab.web import create_app, serve
from slopelab.web import models as m
from slopelab.web.app import STATIC_DIR
from slopelab.web.batches import batch_indices
from slopelab.web.geometry import clip_line
from slopelab.web.limits import HostGuard
from slopelab.web.server import bind

CS231N_X = [[0.5, 0.4], [0.8, 0.3], [0.3, 0.8], [-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2],
            [0.7, -0.4], [0.5, -0.6], [-0.4, -0.5]]  # fmt: skip
CS231N_Y = [0, 0, 0, 1, 1, 1, 2, 2, 2]
CS231N_W_ROWS = [[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]]  # the demo's (C, D) layout
CS231N_B = [0.0, 0.5, -0.5]

# loss: (data loss, total, per-point L_i) at the defaults, reg 0.1 (reg loss 3.50)
AT_DEFAULTS = {
    "svm": (2.77, 6.27, [0.30, 1.70, 0.00, 3.20, 6.80, 2.40, 2.50, 3.30, 4.70]),
    "svm-ova": (4.02, 7.52, [2.5, 4.5, 0.6, 3.7, 6.0, 3.4, 5.4, 5.2, 4.9]),
    "svm-structured": (2.37, 5.87, [0.3, 1.2, 0.0, 2.7, 5.0, 2.4, 2.5, 3.3, 3.9]),
    "softmax": (1.84, 5.34, [0.56, 1.04, 0.11, 1.96, 4.06, 1.68, 1.72, 2.40, 3.00]),
}
# total loss after 2,000 full-batch steps of size 0.1 with the exact 2 reg W gradient
AFTER_2000_STEPS = {"svm": 0.66, "svm-ova": 1.62, "svm-structured": 0.63, "softmax": 0.88}


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread; yields the base URL."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo server did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with running_server(create_app()) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def problem(loss: str = "svm", reg: float = 0.1, **extra) -> dict:
    """A request body at the CS231n demo's defaults."""
    params = {"W": np.array(CS231N_W_ROWS).T.tolist(), "b": list(CS231N_B)}
    data = {"X": [list(x) for x in CS231N_X], "y": list(CS231N_Y), "num_classes": 3}
    return {"data": data, "params": params, "loss": loss, "reg": reg, **extra}


def post(client: httpx.Client, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def as_params(params: dict) -> dict[str, np.ndarray]:
    return {"W": np.array(params["W"]), "b": np.array(params["b"])}


# The page and its files


def test_page_loads_its_modules_and_nothing_from_the_network(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="data-canvas"' in page.text
    files = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"index.html", "style.css", "main.js"}
    for path in files:
        response = client.get(f"/static/{path.relative_to(STATIC_DIR).as_posix()}")
        assert response.status_code == 200, path
        text = path.read_text()
        external = re.findall(r"(?:https?:)?//[\w.-]+\.\w+/", text)
        assert [url for url in external if "www.w3.org" not in url] == [], path
    imports = re.findall(r'from "(\./[\w.]+)"', (STATIC_DIR / "js" / "main.js").read_text())
    assert imports, "main.js imports its modules"
    for module in imports:
        assert (STATIC_DIR / "js" / module).is_file(), module


def test_every_static_file_ships_in_the_package():
    pyproject = tomllib.loads((STATIC_DIR.parents[2] / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"].get("package-data", {})
    patterns = package_data.get("slopelab.web")
    assert patterns, "pyproject.toml needs [tool.setuptools.package-data] for slopelab.web"
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(STATIC_DIR.parent).as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_no_swagger_ui_because_it_loads_from_a_cdn(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_defaults_are_the_cs231n_demo(client):
    defaults = client.get("/api/defaults").json()
    assert defaults["data"] == {"X": CS231N_X, "y": CS231N_Y, "num_classes": 3}
    assert np.array(defaults["params"]["W"]).T.tolist() == CS231N_W_ROWS
    assert defaults["params"]["b"] == CS231N_B
    assert (defaults["learning_rate"], defaults["reg"], defaults["nudge"]) == (0.1, 0.1, 0.1)
    assert defaults["ranges"] == {"learning_rate": [0.0005, 5.0], "reg": [0.01, 100.0]}
    assert [loss["name"] for loss in defaults["losses"]] == list(AT_DEFAULTS)
    assert set(defaults["optimizers"]) == set(OPTIMIZERS)
    assert defaults["optimizers"]["momentum"]["hyperparams"] == {"momentum": 0.9}


def test_model_choices_match_slopelab():
    assert set(m.LossName.__args__) == set(EXAMPLE_LOSSES)
    assert set(m.OptimizerName.__args__) == set(OPTIMIZERS)
    assert set(m.PresetName.__args__) == {"cs231n", *GENERATORS}
    assert set(m.ScheduleName.__args__) <= set(SCHEDULES)


# Evaluation: the fixtures


@pytest.mark.parametrize("loss", AT_DEFAULTS)
def test_losses_at_the_defaults_match_the_cs231n_demo(client, loss):
    data_loss, total, example_losses = AT_DEFAULTS[loss]
    result = post(client, "/api/evaluate", problem(loss))
    assert round(result["total"], 2) == total
    assert round(result["data_loss"], 2) == data_loss
    assert result["reg_loss"] == pytest.approx(3.5)
    np.testing.assert_allclose(result["points"]["losses"], example_losses, atol=0.0051)
    assert result["points"]["predicted"] == np.argmax(result["points"]["scores"], 1).tolist()


def test_scores_active_hinges_and_lines_at_the_defaults(client):
    result = post(client, "/api/evaluate", problem("svm", grid_size=4))
    points = result["points"]
    assert points["scores"][0] == pytest.approx([1.3, -0.1, 0.6])
    # point 0 (label 0): margins s_j - s_0 + 1 are -0.4 and 0.3, so only term 2 is active
    assert points["active"][0] == [False, False, True]
    assert points["active"][3] == [True, False, True]  # point 3: margins 2.7 and 0.5
    assert result["accuracy"] == pytest.approx(2 / 9)  # points 0 and 2
    assert result["grid"] == {"size": 4, "classes": result["grid"]["classes"]}
    assert len(result["grid"]["classes"]) == 16
    line = result["lines"][1]  # class 1: 2 x0 - 4 x1 + 0.5 = 0
    (x0, x1), (u0, u1) = line["segment"]
    assert 2 * x0 - 4 * x1 + 0.5 == pytest.approx(0, abs=1e-9)
    assert 2 * u0 - 4 * u1 + 0.5 == pytest.approx(0, abs=1e-9)
    (a0, a1), (b0, b1) = line["arrow"]
    assert [b0 - a0, b1 - a1] == pytest.approx([0.2, -0.4])  # 0.1 canvas units per weight
    assert len(result["margin_lines"]) == 6  # 3 labels x 2 rival classes


def test_softmax_has_probabilities_and_no_hinges(client):
    points = post(client, "/api/evaluate", problem("softmax"))["points"]
    probabilities = np.array(points["probabilities"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(-np.log(probabilities[np.arange(9), CS231N_Y]), points["losses"])
    assert not np.any(points["active"])


def test_margin_lines_separate_active_from_inactive_hinge_terms(client):
    result = post(client, "/api/evaluate", problem("svm"))
    line = next(d for d in result["margin_lines"] if d["label"] == 0 and d["term"] == 2)
    start, end = np.array(line["segment"])
    normal = np.array([end[1] - start[1], start[0] - end[0]]) / np.linalg.norm(end - start)
    on_line = (start + end) / 2
    sides = []
    for side in (-0.01, 0.01):
        body = problem("svm")
        body["data"] = {"X": [(on_line + side * normal).tolist()], "y": [0], "num_classes": 3}
        sides.append(post(client, "/api/evaluate", body)["points"]["active"][0][2])
    assert sorted(sides) == [False, True]


@pytest.mark.parametrize("loss", AT_DEFAULTS)
def test_gradients_match_finite_differences_of_the_api(client, loss):
    result = post(client, "/api/evaluate", problem(loss))
    h = 1e-6
    for key in ("W", "b"):
        analytic = np.array(result["grads"][key])
        for index in np.ndindex(analytic.shape):
            totals = []
            for sign in (1, -1):
                body = problem(loss)
                moved = np.array(body["params"][key], dtype=float)
                moved[index] += sign * h
                body["params"][key] = moved.tolist()
                totals.append(post(client, "/api/evaluate", body)["total"])
            numeric = (totals[0] - totals[1]) / (2 * h)
            assert numeric == pytest.approx(analytic[index], rel=1e-6, abs=1e-8), (key, index)


def test_gradient_check_shows_the_cs231n_demo_gradient_is_wrong(client):
    result = post(client, "/api/gradcheck", problem("svm", h=1e-5, sweep=False))
    rows = {row["name"]: row for row in result["rows"]}
    exact = [[-0.23, 0.37], [0.81, -1.18], [0.62, 0.21]]  # (C, D) rows as in the reference
    demo = [[-0.38, 0.07], [0.51, -0.58], [0.17, 0.36]]
    for k in range(3):
        for d in range(2):
            row = rows[f"W[{d},{k}]"]
            assert round(row["analytic"], 2) == exact[k][d]
            assert round(row["demo_analytic"], 2) == demo[k][d]
            assert row["rel_error"] < 1e-7
            assert row["demo_rel_error"] > 1e-2
            assert not row["kink"] and row["passed"]
    assert [round(rows[f"b[{k}]"]["analytic"], 2) for k in range(3)] == [0.11, -0.11, 0.0]
    # b[2] is exactly 0 and its numerical twin is rounding noise: relative error 1, noise floor
    assert rows["b[2]"]["rel_error"] == 1.0 and rows["b[2]"]["at_noise_floor"]
    assert not any(rows[f"W[0,{k}]"]["at_noise_floor"] for k in range(3))
    assert result["verdict"] == "excellent"


def test_gradient_check_sweep_shows_truncation_then_rounding(client):
    result = post(client, "/api/gradcheck", problem("softmax", h=1e-4, scheme="forward"))
    sweep = result["sweep"]
    h = np.array(sweep["h"])
    centered, forward = np.array(sweep["centered"]), np.array(sweep["forward"])
    at = {value: int(np.argmin(np.abs(np.log10(h) - np.log10(value)))) for value in (1e-2, 1e-6)}
    assert forward[at[1e-2]] > 10 * centered[at[1e-2]]  # O(h) against O(h^2)
    assert centered[at[1e-6]] < 1e-7
    assert centered[0] > centered[at[1e-6]]  # h = 1e-12: rounding error dominates
    forward_rows = [row["rel_error"] for row in result["rows"]]
    assert max(forward_rows) > 1e-6  # forward differences at h = 1e-4 are visibly off
    assert result["scheme"] == "forward"


def test_gradient_check_sweep_leaves_out_exactly_zero_gradients(client):
    sweep = post(client, "/api/gradcheck", problem("svm"))["sweep"]
    h, centered = np.array(sweep["h"]), np.array(sweep["centered"], dtype=float)
    middle = (h >= 1e-7) & (h <= 1e-3)
    assert centered[middle].max() < 1e-6  # b[2] = 0 exactly would put every h at 1


def test_gradient_check_flags_kinks(client):
    body = problem("svm", h=1e-5, sweep=False)
    body["params"] = {"W": [[0.0] * 3, [0.0] * 3], "b": [1.0, 0.0, 0.0]}  # margins exactly 0
    rows = post(client, "/api/gradcheck", body)["rows"]
    kinks = [row["name"] for row in rows if row["kink"]]
    assert "b[0]" in kinks and "b[1]" in kinks
    assert all(row["passed"] for row in rows)


# Steps, optimizers, minibatches, divergence


def test_a_single_update_is_a_gradient_step_that_lowers_the_loss(client):
    before = post(client, "/api/evaluate", problem("svm"))
    sgd = {"name": "sgd", "learning_rate": 0.1}
    result = post(client, "/api/step", problem("svm", optimizer=sgd, grid_size=10))
    (record,) = result["records"]
    for key in ("W", "b"):
        expected = np.array(problem()["params"][key]) - 0.1 * np.array(before["grads"][key])
        np.testing.assert_allclose(record["params"][key], expected, rtol=1e-15)
    assert record["total"] < before["total"]
    assert record["step"] == 1 and record["opt_state"] == {"count": 1}
    assert result["evaluation"]["total"] == record["total"]
    assert result["status"] == "ok" and result["message"] is None


@pytest.mark.parametrize("loss", AFTER_2000_STEPS)
def test_2000_steps_reach_the_exact_gradient_fixtures(client, loss):
    body = problem(loss, optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=200)
    for _ in range(10):
        result = post(client, "/api/step", body)
        last = result["records"][-1]
        body.update(params=last["params"], opt_state=last["opt_state"], step=last["step"])
    assert last["step"] == 2000
    assert round(last["total"], 2) == AFTER_2000_STEPS[loss]
    assert last["accuracy"] == 1.0
    X, y = np.array(CS231N_X), np.array(CS231N_Y)
    history = gradient_descent(
        loss, X, y, budget=Budget(steps=2000), reg=0.1, learning_rate=0.1,
        params=as_params(problem()["params"]),
    )  # fmt: skip
    np.testing.assert_allclose(last["params"]["W"], history.params["W"], rtol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_state_round_trips_through_json(client, name):
    spec = {"name": name, "learning_rate": 0.05}
    in_one = post(client, "/api/step", problem(optimizer=spec, num_steps=4))["records"]
    first = post(client, "/api/step", problem(optimizer=spec, num_steps=2))["records"][-1]
    body = problem(optimizer=spec, num_steps=2, params=first["params"],
                   opt_state=first["opt_state"], step=2)  # fmt: skip
    in_two = post(client, "/api/step", body)["records"]
    assert in_two[-1]["params"] == in_one[-1]["params"]
    assert in_two[-1]["opt_state"] == in_one[-1]["opt_state"]
    loss_fn, optimizer = get_loss("svm"), get_optimizer(name, 0.05)
    params = as_params(problem()["params"])
    state = optimizer.init(params)
    for _ in range(4):
        _, grads = loss_fn(params, np.array(CS231N_X), np.array(CS231N_Y), 0.1)
        updates, state = optimizer.update(grads, state, params)
        params = apply_updates(params, updates)
    np.testing.assert_array_equal(in_one[-1]["params"]["W"], params["W"])


def test_schedules_set_each_steps_learning_rate(client):
    spec = {"name": "sgd", "learning_rate": 0.1,
            "schedule": {"name": "step", "options": {"step_size": 2, "gamma": 0.5}}}  # fmt: skip
    records = post(client, "/api/step", problem(optimizer=spec, num_steps=5))["records"]
    assert [r["learning_rate"] for r in records] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_minibatches_visit_every_point_once_per_epoch(client):
    spec = {"name": "sgd", "learning_rate": 0.1}
    batch = {"size": 4, "seed": 7}
    records = post(client, "/api/step", problem(optimizer=spec, batch=batch, num_steps=6))[
        "records"
    ]
    batches = [r["batch"] for r in records]
    assert [len(b) for b in batches] == [4, 4, 1, 4, 4, 1]
    assert sorted(itertools.chain(*batches[:3])) == list(range(9))
    assert sorted(itertools.chain(*batches[3:])) == list(range(9))
    assert batches[:3] != batches[3:6]  # a fresh permutation per epoch
    preview = post(client, "/api/evaluate", problem(batch=batch, step=4))["batch"]
    assert preview["indices"] == batches[4]
    parts = get_loss("svm").parts(
        as_params(records[3]["params"]), np.array(CS231N_X)[batches[4]],
        np.array(CS231N_Y)[batches[4]], 0.1,
    )  # fmt: skip
    assert records[4]["batch_loss"] == pytest.approx(parts.total, rel=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    num_examples=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
    epoch=st.integers(0, 1000),
)
def test_each_epoch_of_minibatches_is_a_permutation(num_examples, batch_size, seed, epoch):
    batches_per_epoch = -(-num_examples // batch_size)
    steps = range(epoch * batches_per_epoch, (epoch + 1) * batches_per_epoch)
    batches = [batch_indices(num_examples, batch_size, seed, step) for step in steps]
    if batch_size >= num_examples:
        assert batches == [None]
        return
    assert sorted(itertools.chain(*batches)) == list(range(num_examples))
    assert all(len(b) == batch_size for b in batches[:-1])


@settings(max_examples=200, deadline=None)
@given(
    normal=st.tuples(st.floats(-10, 10), st.floats(-10, 10)),
    offset=st.floats(-10, 10),
)
def test_clipped_lines_lie_on_the_line_and_inside_the_canvas(normal, offset):
    normal = np.array(normal)
    segment = clip_line(normal, offset)
    if segment is None:
        return
    for point in np.array(segment):
        assert np.all(np.abs(point) <= 1.0 + 1e-9)
        assert normal @ point + offset == pytest.approx(0.0, abs=1e-9 * (1 + np.abs(normal).sum()))


def test_divergence_is_refused_and_explained(client):
    spec = {"name": "sgd", "learning_rate": 5.0}
    result = post(client, "/api/step", problem("softmax", reg=10.0, optimizer=spec, num_steps=50))
    assert result["status"] == "diverged"
    assert 0 < len(result["records"]) < 50
    assert "step size 5 is too large" in result["message"]
    assert np.max(np.abs(result["records"][-1]["params"]["W"])) <= 1e5


def test_a_rising_loss_is_flagged_as_diverging(client):
    spec = {"name": "sgd", "learning_rate": 1.3}  # W <- (1 - 2.6) W: the reg term oscillates
    result = post(client, "/api/step", problem("svm", reg=1.0, optimizer=spec, num_steps=8))
    assert result["status"] == "diverging"
    assert "rose 5 steps in a row" in result["message"]
    assert "Try 0.13" in result["message"]


def test_race_runs_each_rule_from_the_same_start(client):
    start = problem()["params"]
    specs = {"plain": {"name": "sgd", "learning_rate": 0.1},
             "heavy": {"name": "momentum", "learning_rate": 0.1},
             "adaptive": {"name": "adam", "learning_rate": 0.1}}  # fmt: skip
    runners = [{"id": key, "optimizer": spec, "params": start} for key, spec in specs.items()]
    body = problem(runners=runners, num_steps=5)
    del body["params"]
    result = post(client, "/api/race", body)
    assert [runner["id"] for runner in result["runners"]] == list(specs)
    for runner in result["runners"]:
        alone = post(client, "/api/step", problem(optimizer=specs[runner["id"]], num_steps=5))
        assert runner["records"] == alone["records"]
    finals = {r["id"]: r["records"][-1]["total"] for r in result["runners"]}
    assert len(set(finals.values())) == 3


# Landscape


def test_landscape_values_are_the_loss_on_the_slice(client):
    axes = {"kind": "coordinates", "first": "W[0,0]", "second": "b[2]"}
    path = [problem()["params"], post(client, "/api/step", problem(
        optimizer={"name": "sgd", "learning_rate": 0.1}))["records"][0]["params"]]  # fmt: skip
    result = post(client, "/api/landscape", problem(axes=axes, span=1.0, size=61, paths=[path]))
    values = np.array(result["values"])
    assert values.shape == (61, 61)
    at_defaults = post(client, "/api/evaluate", problem())
    assert values[30, 30] == pytest.approx(at_defaults["total"], rel=1e-12)
    assert result["first"]["values"][0] == pytest.approx(0.0)  # W[0,0] = 1 - 1
    assert result["second"]["values"][-1] == pytest.approx(0.5)  # b[2] = -0.5 + 1
    corner = problem()
    corner["params"]["W"][0][0], corner["params"]["b"][2] = 0.0, 0.5
    assert values[-1, 0] == pytest.approx(post(client, "/api/evaluate", corner)["total"])
    (start, moved) = result["paths"][0]
    assert start == pytest.approx([1.0, -0.5])
    assert moved == pytest.approx([path[1]["W"][0][0], path[1]["b"][2]])
    grads = at_defaults["grads"]
    assert result["descent"] == pytest.approx([-grads["W"][0][0], -grads["b"][2]])
    assert result["minimum"] == values.min() and result["batch_descent"] is None


def test_random_directions_project_back_to_the_clicked_point(client):
    axes = {"kind": "random", "seed": 3}
    click = {"params": problem()["params"], "axes": axes, "first": 0.4, "second": -0.7}
    moved = post(client, "/api/landscape/point", click)
    result = post(client, "/api/landscape", problem(axes=axes, size=5, paths=[[moved]]))
    assert result["paths"][0][0] == pytest.approx([0.4, -0.7])
    assert result["first"]["label"] == "random direction 1"
    assert result["first"]["values"] == pytest.approx(np.linspace(-2, 2, 5))


def test_clicking_a_coordinate_landscape_sets_exactly_those_two_entries(client):
    axes = {"kind": "coordinates", "first": "W[1,2]", "second": "b[0]"}
    click = {"params": problem()["params"], "axes": axes, "first": 0.3, "second": 0.25}
    moved = post(client, "/api/landscape/point", click)
    expected = problem()["params"]
    expected["W"][1][2], expected["b"][0] = 0.3, 0.25
    assert moved == expected


@pytest.mark.parametrize(
    ("axes", "first", "second", "message"),
    [
        ({"kind": "random", "seed": 0}, 1e6, 1e6,  # from a centre at the range's corner
         r"^the point \(1e\+06, 1e\+06\) is outside the parameter range: [Wb]\[[\d,]+\] would "
         r"be -?1\.\d+e\+06, and every parameter must lie in \[-1e\+06, 1e\+06\]\. Pick a point "
         r"nearer the centre$"),
        ({"kind": "coordinates"}, 1.5e6, 0.0,
         r"^first: Input should be less than or equal to 1000000$"),
        ({"kind": "random"}, 0.0, -1e300, r"^second: Input should be greater than or equal to"),
    ],
)  # fmt: skip
def test_a_landscape_point_outside_the_parameter_range_is_refused(
    client, axes, first, second, message
):
    corner = {"W": [[1e6] * 3] * 2, "b": [1e6] * 3}
    click = {"params": corner, "axes": axes, "first": first, "second": second}
    response = client.post("/api/landscape/point", json=click)
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


@settings(max_examples=100, deadline=None)
@given(
    axes=st.one_of(
        st.builds(lambda seed: {"kind": "random", "seed": seed}, st.integers(0, 2**32 - 1)),
        st.sampled_from(["W[0,0]", "W[1,2]", "b[0]", "b[2]"]).flatmap(
            lambda first: st.sampled_from(["W[0,1]", "b[1]"]).map(
                lambda second: {"kind": "coordinates", "first": first, "second": second}
            )
        ),
    ),
    first=st.floats(-1e6, 1e6) | st.sampled_from([-1e6, 1e6, 999_999.5]),
    second=st.floats(-1e6, 1e6) | st.sampled_from([-1e6, 1e6, -999_999.5]),
    centre=st.floats(-1e6, 1e6),
)
def test_every_landscape_point_the_api_returns_is_accepted_back(
    client, axes, first, second, centre
):
    params = problem()["params"]
    params["W"][0][1] = centre
    click = {"params": params, "axes": axes, "first": first, "second": second}
    response = client.post("/api/landscape/point", json=click)
    if response.status_code == 422:  # only random directions can leave the range
        assert axes["kind"] == "random", response.text
        assert "outside the parameter range" in response.json()["message"]
        return
    assert response.status_code == 200, response.text
    moved = response.json()
    assert np.all(np.abs(moved["W"]) <= m.MAX_PARAM) and np.all(np.abs(moved["b"]) <= m.MAX_PARAM)
    post(client, "/api/evaluate", problem(params=moved))


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(OPTIMIZERS)),
    learning_rate=st.floats(1e-3, m.MAX_LEARNING_RATE),
    scale=st.floats(0.0, m.MAX_PARAM),
    reg=st.floats(0.0, m.MAX_REG),
    loss=st.sampled_from(list(AT_DEFAULTS)),
)
def test_every_state_a_step_returns_is_accepted_back(client, name, learning_rate, scale, reg, loss):
    params = {"W": (np.array(problem()["params"]["W"]) * scale / 4).tolist(),
              "b": (np.array(CS231N_B) * scale).tolist()}  # fmt: skip
    optimizer = {"name": name, "learning_rate": learning_rate}
    body = problem(loss, reg=reg, params=params, optimizer=optimizer, num_steps=3)
    result = post(client, "/api/step", body)
    if not result["records"]:
        assert result["status"] == "diverged"
        return
    last = result["records"][-1]
    body.update(params=last["params"], opt_state=last["opt_state"], step=last["step"],
                recent_totals=[r["total"] for r in result["records"]])  # fmt: skip
    post(client, "/api/step", body)


def test_landscape_with_a_minibatch_draws_both_descent_directions(client):
    body = problem(size=3, batch={"size": 2, "seed": 0}, step=0)
    result = post(client, "/api/landscape", body)
    assert result["batch_descent"] != pytest.approx(result["descent"])


# Presets, parameters, Python export


@pytest.mark.parametrize("preset", ["cs231n", *GENERATORS])
def test_dataset_presets_are_valid_requests(client, preset):
    body = {"preset": preset, "num_points": 40, "num_classes": 4, "noise": 0.1, "seed": 1}
    data = post(client, "/api/dataset", body)
    expected_points = 9 if preset == "cs231n" else 40
    assert len(data["X"]) == len(data["y"]) == expected_points
    assert np.all(np.abs(data["X"]) <= 1.0)
    assert max(data["y"]) < data["num_classes"]
    params = post(client, "/api/params", {"kind": "random", "num_classes": data["num_classes"]})
    post(client, "/api/evaluate", {"data": data, "params": params, "loss": "softmax"})


def test_initial_parameters(client):
    default = post(client, "/api/params", {"kind": "default", "num_classes": 3})
    assert default == problem()["params"]
    first = post(client, "/api/params", {"kind": "random", "num_classes": 5, "seed": 4})
    again = post(client, "/api/params", {"kind": "random", "num_classes": 5, "seed": 4})
    assert first == again and np.array(first["W"]).shape == (2, 5)
    assert np.max(np.abs(first["W"])) <= 0.5
    zeros = post(client, "/api/params", {"kind": "zeros", "num_classes": 2})
    assert zeros == {"W": [[0.0, 0.0], [0.0, 0.0]], "b": [0.0, 0.0]}


@pytest.mark.parametrize(
    ("spec", "batch"),
    [
        ({"name": "momentum", "learning_rate": 0.3, "hyperparams": {"momentum": 0.8},
          "schedule": {"name": "exponential", "options": {"decay_rate": 0.5, "decay_steps": 4}}},
         None),
        ({"name": "adam", "learning_rate": 0.05}, {"size": 4, "seed": 11}),
    ],
)  # fmt: skip
def test_python_script_replays_the_run_exactly(client, spec, batch, capsys, tmp_path):
    body = problem("softmax", optimizer=spec, batch=batch, num_steps=13)
    records = post(client, "/api/step", body)["records"]
    del body["num_steps"]
    code = post(client, "/api/python", {**body, "num_steps": 13})["code"]
    assert "from slopelab import apply_updates, get_loss, get_optimizer" in code
    namespace: dict = {}
    exec(compile(code, "<copied>", "exec"), namespace)
    np.testing.assert_array_equal(namespace["params"]["W"], records[-1]["params"]["W"])
    np.testing.assert_array_equal(namespace["params"]["b"], records[-1]["params"]["b"])
    assert f"total {records[-1]['total']:.4f}" in capsys.readouterr().out
    ruff = shutil.which("ruff")
    if ruff is not None:  # clean code, as a learner sees it outside this repository
        for command in (["check"], ["format", "--check"]):
            checked = subprocess.run(
                [ruff, *command, "--isolated", "--line-length", "100", "-"],
                input=code, capture_output=True, text=True, cwd=tmp_path,
            )  # fmt: skip
            assert checked.returncode == 0, checked.stdout + checked.stderr


def test_python_script_warns_when_the_run_was_modified(client):
    spec = {"name": "sgd", "learning_rate": 0.1}
    code = post(client, "/api/python", problem(optimizer=spec, num_steps=3, modified=True))["code"]
    assert "changed settings or data after it started" in code


# Limits and errors


def raw(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


def with_changes(**changes) -> dict:
    body = problem()
    for dotted, value in changes.items():
        target = body
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return body


def negative_moment(name: str, key: str) -> dict:
    """A state for update rule ``name`` whose squared-gradient entry ``key/W[1,2]`` is -1."""
    zeros = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    state = {k: a.tolist() for k, a in state_to_arrays(get_optimizer(name).init(zeros)).items()}
    state[f"{key}/W"][1][2] = -1.0
    return state


INVALID = [
    ("/api/evaluate", with_changes(data__X=[[0.0, 0.0]] * 501, data__y=[0] * 501),
     r"data\.X: List should have at most 500 items"),
    ("/api/evaluate", with_changes(data__num_classes=7),
     r"data\.num_classes: Input should be less than or equal to 6"),
    ("/api/evaluate", with_changes(data__y=[0, 0, 0, 1, 1, 1, 2, 2, 3]),
     r"y contains label 3 but there are only 3 classes; labels must be in \[0, 3\)"),
    ("/api/evaluate", with_changes(data__y=[0, 1]),
     r"data has 9 points in X but 2 labels in y"),
    ("/api/evaluate", with_changes(data__X=[[1.5, 0.0]] * 9),
     r"data\.X\[0\]\[0\]: Input should be less than or equal to 1"),
    ("/api/evaluate", with_changes(params__W=[[1.0, 2.0, 3.0], [1.0, 2.0]]),
     r"W must have shape \(2, C\) with C = len\(b\) = 3; row 1 has 2 entries"),
    ("/api/evaluate", with_changes(params__W=[[0.0] * 4] * 2, params__b=[0.0] * 4),
     r"params have 4 classes \(W is 2 x 4\) but data\.num_classes is 3"),
    ("/api/evaluate", with_changes(grid_size=202),
     r"grid_size: Input should be less than or equal to 201"),
    ("/api/evaluate", with_changes(loss="hinge"), r"loss: Input should be 'svm'"),
    ("/api/evaluate", with_changes(regularization=0.1), r"regularization: Extra inputs"),
    ("/api/evaluate", with_changes(reg=-1), r"reg: Input should be greater than or equal to 0"),
    ("/api/landscape", with_changes(size=102), r"size: Input should be less than or equal to 101"),
    ("/api/landscape", with_changes(axes={"first": "W[0,3]"}),
     r"axes\.first 'W\[0,3\]': there are 3 classes"),
    ("/api/landscape", with_changes(axes={"first": "x"}), r"axes\.first must name a parameter"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1,
                                          "hyperparams": {"momentum": 0.9}}),
     r"optimizer: unknown hyperparameter 'momentum' for optimizer 'sgd'"),
    ("/api/step", with_changes(optimizer={"name": "momentum", "learning_rate": 0.1},
                               opt_state={"count": 1, "velocity/W": [[0.0]], "velocity/b": [0.0]}),
     r"opt_state: optimizer state 'velocity/W' has shape \(1, 1\)"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1},
                               opt_state={"count": 1.5}),
     r"opt_state\.count must be an integer in \[0, 9999999\] \(the limit of 10000000 updates "
     r"in one run, less num_steps = 1\); got 1\.5"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1},
                               opt_state={"count": 1e300}),
     r"opt_state\.count must be an integer in \[0, 9999999\] .*; got 1e\+300"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=200,
                               opt_state={"count": 10**7 - 199}),
     r"opt_state\.count must be an integer in \[0, 9999800\] .*; got 9999801"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1},
                               opt_state={"count": -1}),
     r"opt_state\.count must be an integer in \[0, 9999999\]"),
    *[("/api/step", with_changes(optimizer={"name": name, "learning_rate": 0.1},
                                 opt_state=negative_moment(name, key)),
       rf"^opt_state\.{key}/W holds a negative value; it accumulates squared gradients, so every "
       r"entry must be >= 0$")
      for name, key in [("adagrad", "sum_squares"), ("rmsprop", "mean_square"),
                        ("adam", "second_moment"), ("adamw", "second_moment")]],
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1,
                                          "schedule": {"name": "step", "options": {}}}),
     r"optimizer\.schedule: "),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1, "schedule": {
        "name": "step", "options": {"step_size": 1e300, "gamma": 0.5}}}),
     r"^optimizer\.schedule: step_size must be an integer; got 1e\+300 \(float\)$"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=201),
     r"num_steps: Input should be less than or equal to 200"),
    ("/api/gradcheck", with_changes(h=0.0), r"h: Input should be greater than or equal to"),
    ("/api/step", with_changes(optimizer={"name": "sgd", "learning_rate": 0.1}, step=10**7),
     r"^step \+ num_steps = 10000001 is over the limit of 10000000 updates in one run; reset"),
    ("/api/race", {"data": problem()["data"], "num_steps": 200, "runners": [
        {"id": "late", "optimizer": {"name": "sgd", "learning_rate": 0.1},
         "params": problem()["params"], "step": 10**7 - 199}]},
     r"^runner 'late' step \+ num_steps = 10000001 is over the limit of 10000000 updates"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "message"), INVALID)
def test_bad_input_gets_a_readable_422(client, path, body, message):
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert re.search(message, response.json()["message"]), response.json()["message"]


def test_nan_and_infinity_are_refused(client):
    body = problem()
    body["data"]["X"][0][0], body["params"]["b"][2] = float("nan"), float("-inf")
    text = json.dumps(body)  # Python writes the NaN and -Infinity literals its reader accepts
    assert "NaN" in text and "-Infinity" in text
    response = raw(client, "/api/evaluate", text)
    assert response.status_code == 422
    message = response.json()["message"]
    assert "data.X[0][0]: Input should be a finite number" in message
    assert "params.b[2]: Input should be a finite number" in message


# Strict JSON types: a value of the wrong type is refused, never converted.
WRONG_TYPES = [
    ("/api/step", {"num_steps": "10"},
     r"num_steps: Input should be a valid integer; got the string '10'"),
    ("/api/step", {"num_steps": True},
     r"num_steps: Input should be a valid integer; got the boolean true"),
    ("/api/step", {"num_steps": 10.0},
     r"num_steps: Input should be a valid integer; got the number 10\.0"),
    ("/api/step", {"optimizer": {"name": "sgd", "learning_rate": "0.1"}},
     r"optimizer\.learning_rate: Input should be a valid number; got the string '0\.1'"),
    ("/api/step", {"optimizer": {"name": "sgd", "learning_rate": True}},
     r"optimizer\.learning_rate: Input should be a valid number; got the boolean true"),
    ("/api/step", {"opt_state": {"count": "1"}}, r"opt_state\.count\b.*got the string '1'"),
    ("/api/step", {"recent_totals": ["6.27"]}, r"recent_totals\[0\]: Input should be a valid"),
    ("/api/evaluate", {"reg": True}, r"reg: Input should be a valid number; got the boolean"),
    ("/api/evaluate", {"reg": "0.1"}, r"reg: Input should be a valid number; got the string"),
    ("/api/evaluate", {"grid_size": 10.5}, r"grid_size: Input should be a valid integer"),
    ("/api/evaluate", {"step": "0"}, r"step: Input should be a valid integer"),
    ("/api/evaluate", {"batch": {"size": "3"}}, r"batch\.size: Input should be a valid integer"),
    ("/api/evaluate", {"batch": {"size": 3, "seed": False}},
     r"batch\.seed: Input should be a valid integer; got the boolean false"),
    ("/api/evaluate", {"data__X": [["0.5", 0.4]] * 9},
     r"data\.X\[0\]\[0\]: Input should be a valid number; got the string '0\.5'"),
    ("/api/evaluate", {"data__y": ["0", 0, 0, 1, 1, 1, 2, 2, 2]},
     r"data\.y\[0\]: Input should be a valid integer; got the string '0'"),
    ("/api/evaluate", {"data__num_classes": 3.0}, r"data\.num_classes: Input should be a valid"),
    ("/api/evaluate", {"params__b": [0, "0.5", -0.5]}, r"params\.b\[1\]: Input should be a"),
    ("/api/evaluate", {"loss": 1}, r"loss: Input should be 'svm'.*; got the number 1"),
    ("/api/gradcheck", {"sweep": "false"},
     r"sweep: Input should be a valid boolean; got the string 'false'"),
    ("/api/gradcheck", {"sweep": 0}, r"sweep: Input should be a valid boolean; got the number 0"),
    ("/api/gradcheck", {"h": "1e-5"}, r"h: Input should be a valid number"),
    ("/api/landscape", {"size": 5.0}, r"size: Input should be a valid integer"),
    ("/api/landscape", {"axes": {"kind": "random", "seed": "3"}}, r"axes\.seed: Input should"),
    ("/api/landscape", {"span": "2"}, r"span: Input should be a valid number"),
    ("/api/python", {"modified": 1}, r"modified: Input should be a valid boolean; got the number"),
    ("/api/python", {"num_steps": "3"}, r"num_steps: Input should be a valid integer"),
]  # fmt: skip
EXTRA_FIELDS = {
    "/api/step": {"optimizer": {"name": "sgd", "learning_rate": 0.1}},
    "/api/python": {"optimizer": {"name": "sgd", "learning_rate": 0.1}},
}


@pytest.mark.parametrize(("path", "changes", "message"), WRONG_TYPES)
def test_values_of_the_wrong_json_type_are_refused_not_converted(client, path, changes, message):
    body = with_changes(**{**EXTRA_FIELDS.get(path, {}), **changes})
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/race", {"data": problem()["data"], "num_steps": "5", "runners": [
            {"id": "a", "optimizer": {"name": "sgd", "learning_rate": 0.1},
             "params": problem()["params"]}]}, r"num_steps: Input should be a valid integer"),
        ("/api/dataset", {"num_points": "40"}, r"num_points: Input should be a valid integer"),
        ("/api/dataset", {"noise": "0.1"}, r"noise: Input should be a valid number"),
        ("/api/dataset", {"seed": True}, r"seed: Input should be a valid integer; got the bool"),
        ("/api/params", {"num_classes": True}, r"num_classes: Input should be a valid integer"),
        ("/api/landscape/point", {"params": problem()["params"], "first": "0.4", "second": 0},
         r"first: Input should be a valid number; got the string '0\.4'"),
    ],
)  # fmt: skip
def test_other_endpoints_refuse_wrong_json_types_too(client, path, body, message):
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


def test_integers_are_numbers_because_javascript_writes_1_0_as_1(client):
    body = problem(reg=1, optimizer={"name": "sgd", "learning_rate": 1}, num_steps=1)
    body["data"]["X"] = [[round(a), round(b)] for a, b in CS231N_X]  # ints, not floats
    body["params"] = {"W": [[1, 2, 3], [2, -4, -1]], "b": [0, 1, -1]}
    with_floats = problem(reg=1.0, optimizer={"name": "sgd", "learning_rate": 1.0}, num_steps=1)
    with_floats["data"]["X"] = np.array(body["data"]["X"], dtype=float).tolist()
    with_floats["params"] = {"W": [[1.0, 2.0, 3.0], [2.0, -4.0, -1.0]], "b": [0.0, 1.0, -1.0]}
    assert json.dumps(body) != json.dumps(with_floats)
    assert post(client, "/api/step", body) == post(client, "/api/step", with_floats)
    click = {"params": body["params"], "first": 0, "second": 1}
    assert post(client, "/api/landscape/point", click)["W"][1][0] == 1.0


# Bodies FastAPI cannot read at all: each gets the same error shape, with a message that says why.
UNREADABLE = [
    (b'{"loss": "\xff"}', 400,
     r"not readable JSON: it is not UTF-8 text \(byte 0xff at position 10\); send JSON"),
    (b"[" * 100_000 + b"]" * 100_000, 400, r"not readable JSON: .*nested too deeply"),
    (b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, 400, r"not readable JSON: .*nested too deeply"),
    (b'{"data": [', 422, r"not readable JSON: Expecting value at character 10"),
    (b'{"data": 1,}', 422, r"not readable JSON: .*at character"),
    (b"", 422, r"the request has no body; send a JSON object"),
    (b"[1, 2]", 422, r"the request body must be a JSON object; got an array"),
    (b'"svm"', 422, r"the request body must be a JSON object; got the string 'svm'"),
    (b'{"data": ' + b"[" * 500 + b"]" * 500 + b"}", 422, r"^data: Input should be a valid dict"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "status", "message"), UNREADABLE)
def test_unreadable_bodies_get_a_message(client, content, status, message):
    response = client.post(
        "/api/evaluate", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


def test_a_body_that_is_not_declared_json_is_refused_with_advice(client):
    for headers in ({"content-type": "text/plain"}, {}):
        response = client.post("/api/evaluate", content=json.dumps(problem()), headers=headers)
        assert response.status_code == 422
        assert response.json()["message"] == (
            "send the request body as JSON, with the header Content-Type: application/json"
        )


def assert_error_shape(response: httpx.Response, status: int) -> str:
    """Every error is JSON ``{"message": one line, "detail": ...}``; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "detail"}
    assert isinstance(body["message"], str) and body["message"].strip()
    assert "\n" not in body["message"]
    return body["message"]


ERROR_REQUESTS = {
    "invalid UTF-8": (lambda c: raw_bytes(c, "/api/step", b'{"reg": "\xc3"}'), 400, r"UTF-8"),
    "deep nesting": (lambda c: raw_bytes(c, "/api/race", b"[" * 5000 + b"]" * 5000), 400,
                     r"nested too deeply"),
    "unknown route": (lambda c: c.get("/api/nothing"), 404,
                      r"^/api/nothing is not part of the demo; its API is described at /openapi"),
    "unknown static file": (lambda c: c.get("/static/nothing.js"), 404, r"/static/nothing\.js"),
    "wrong method": (lambda c: c.get("/api/evaluate"), 405,
                     r"^/api/evaluate does not answer GET; use POST$"),
    "wrong method on GET": (lambda c: c.post("/api/defaults", json={}), 405, r"use GET"),
    "too large": (lambda c: raw(c, "/api/evaluate", " " * 1_000_001), 413, r"limit is 1000000"),
    "invalid field": (lambda c: c.post("/api/evaluate", json=with_changes(reg=-1)), 422, r"reg"),
    "refused by slopelab": (lambda c: c.post("/api/step", json=with_changes(
        optimizer={"name": "sgd", "learning_rate": 0.1, "hyperparams": {"beta": 1.0}})), 422,
        r"unknown hyperparameter 'beta'"),
}  # fmt: skip


def raw_bytes(client: httpx.Client, path: str, content: bytes) -> httpx.Response:
    return client.post(path, content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize("case", ERROR_REQUESTS)
def test_every_error_has_one_json_shape_with_a_message(client, case):
    send, status, message = ERROR_REQUESTS[case]
    assert re.search(message, assert_error_shape(send(client), status))


def test_wrong_method_answers_say_which_method_is_allowed(client):
    assert client.get("/api/step").headers["allow"] == "POST"


def test_a_bug_gets_a_500_in_the_same_shape():
    app = create_app()

    def broken() -> dict:
        raise ZeroDivisionError("a bug")

    app.add_api_route("/api/broken", broken, methods=["GET"])
    with running_server(app) as base_url, httpx.Client(base_url=base_url) as local:
        message = assert_error_shape(local.get("/api/broken"), 500)
    assert re.search(r"^internal error \(ZeroDivisionError\) answering /api/broken; this is a "
                     r"bug in slopelab: please report it", message)  # fmt: skip


def test_input_errors_from_inside_slopelab_get_a_422_in_one_line():
    app = create_app()

    def refuses() -> dict:
        raise InvalidValueError("reg must be >= 0;\n got -1")

    app.add_api_route("/api/refuses", refuses, methods=["GET"])
    with running_server(app) as base_url, httpx.Client(base_url=base_url) as local:
        assert assert_error_shape(local.get("/api/refuses"), 422) == "reg must be >= 0; got -1"


def test_the_schema_documents_the_error_shape(client):
    schema = client.get("/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "post":
                for status in ("400", "413", "422"):
                    content = operation["responses"][status]["content"]
                    assert content["application/json"]["schema"] == error, (path, status)
    assert set(schema["components"]["schemas"]["ErrorOut"]["required"]) == {"message", "detail"}


def test_bodies_over_the_cap_get_413(client):
    big = json.dumps(problem(padding="x" * 1_100_000))
    response = raw(client, "/api/evaluate", big)
    assert response.status_code == 413
    assert "limit is 1000000 bytes" in response.json()["message"]

    def chunks():  # no Content-Length: the cap is enforced while reading
        yield b'{"data": "'
        for _ in range(12):
            yield b"x" * 100_000
        yield b'"}'

    chunked = client.post("/api/evaluate", content=chunks())
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413


def test_a_body_just_under_the_cap_is_read(client):
    body = json.dumps(problem()) + " " * 900_000
    assert raw(client, "/api/evaluate", body).status_code == 200


def test_allowed_hosts_refuse_other_host_names():
    app = create_app(allowed_hosts=["127.0.0.1", "localhost"])
    with running_server(app) as base_url, httpx.Client(base_url=base_url) as local:
        assert local.get("/api/defaults").status_code == 200
        assert local.get("/", headers={"host": "LOCALHOST:8000"}).status_code == 200
        rebound = local.get("/api/defaults", headers={"host": "attacker.example"})
        message = assert_error_shape(rebound, 400)
        assert message == (
            "this server answers requests for 127.0.0.1, localhost, not for 'attacker.example'; "
            "open the address `slopelab demo` printed"
        )
        for host in ("127.0.0.1.attacker.example", "localhost.", "[::1]:8000", "127.0.0.2"):
            assert local.get("/", headers={"host": host}).status_code == 400, host


def test_the_loopback_guard_accepts_ipv6_loopback():
    app = create_app(allowed_hosts=["127.0.0.1", "[::1]"])
    with running_server(app) as base_url, httpx.Client(base_url=base_url) as local:
        assert local.get("/api/defaults", headers={"host": "[::1]:8000"}).status_code == 200
        assert local.get("/api/defaults", headers={"host": "[::2]:8000"}).status_code == 400


def fake_uvicorn_run(monkeypatch) -> dict:
    """Make ``uvicorn.Server.run`` record what it would serve instead of serving."""
    served: dict = {}

    def fake_run(self, sockets=None):
        served["address"] = sockets[0].getsockname()
        served["middleware"] = [middleware.cls for middleware in self.config.app.user_middleware]

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return served


def test_serve_binds_loopback_prints_the_url_and_guards_the_host(monkeypatch, capsys):
    served = fake_uvicorn_run(monkeypatch)
    serve(port=0)
    host, port = served["address"]
    assert host == "127.0.0.1"
    assert f"slopelab demo: http://127.0.0.1:{port}/" in capsys.readouterr().out
    assert HostGuard in served["middleware"]


def test_serve_on_all_interfaces_warns(monkeypatch, capsys):
    served = fake_uvicorn_run(monkeypatch)
    serve(host="0.0.0.0", port=0)
    output = capsys.readouterr().out
    assert "http://localhost:" in output and "reachable from other machines" in output
    assert HostGuard not in served["middleware"]


def test_serve_explains_a_busy_port_as_bad_input():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=rf"cannot listen on 127.0.0.1:{port}.*--port"):
            serve(port=port)


def test_serve_blames_the_host_for_an_unknown_address():
    with pytest.raises(CommandError, match=r"cannot listen on 999\.1\.1\.1:.*check --host"):
        serve(host="999.1.1.1", port=8000)
