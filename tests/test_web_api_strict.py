"""The demo's API where it used to answer approximately: issue 10's defects 6 (the landscape
readout) and 1 (dataset presets), through a real uvicorn server (see tests/test_web_api.py).

The oracle for a loss at a point is ``/api/evaluate`` at the parameters of that point, a code
path that never sees the landscape's grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slopelab.web import create_app
from tests.test_web_api import AT_DEFAULTS, post, problem, running_server

DEFAULT_AXES = {"kind": "coordinates", "first": "W[0,0]", "second": "W[1,0]"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with running_server(create_app()) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def value_request(first: float, second: float, loss: str = "svm", **extra) -> dict:
    return problem(loss, axes=extra.pop("axes", DEFAULT_AXES), first=first, second=second, **extra)


def evaluated_at(client: httpx.Client, params: dict, loss: str = "svm") -> dict:
    return post(client, "/api/evaluate", problem(loss, params=params))


# Defect 6: the landscape readout is the loss at the point, not at the nearest grid cell


def test_the_readout_between_grid_cells_is_the_exact_loss_not_the_nearest_cells(client):
    grid = post(client, "/api/landscape", problem(axes=DEFAULT_AXES, span=2.0, size=41))
    first, second = 1.234, 2.567  # off the grid, whose steps are 0.1 from W[0,0] = 1, W[1,0] = 2
    params = problem()["params"]
    params["W"][0][0], params["W"][1][0] = first, second
    expected = evaluated_at(client, params)["total"]
    answer = post(client, "/api/landscape/value", value_request(first, second))
    assert answer["value"] == pytest.approx(expected, rel=1e-12)
    assert (answer["first"], answer["second"], answer["params"]) == (first, second, params)
    column = int(np.argmin(np.abs(np.array(grid["first"]["values"]) - first)))
    row = int(np.argmin(np.abs(np.array(grid["second"]["values"]) - second)))
    assert abs(grid["values"][row][column] - expected) > 1e-3  # the old readout was this wrong


@pytest.mark.parametrize("loss", AT_DEFAULTS)
@pytest.mark.parametrize("quantity", ["total", "data"])
def test_on_the_grid_the_exact_value_is_the_grids(client, loss, quantity):
    axes = {"kind": "coordinates", "first": "b[1]", "second": "W[0,2]"}
    grid = post(client, "/api/landscape", problem(loss, axes=axes, size=5, quantity=quantity))
    for row, second in enumerate(grid["second"]["values"]):
        for column, first in enumerate(grid["first"]["values"][::2]):
            body = value_request(first, second, loss, axes=axes, quantity=quantity)
            value = post(client, "/api/landscape/value", body)["value"]
            assert value == pytest.approx(grid["values"][row][2 * column], rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    loss=st.sampled_from(list(AT_DEFAULTS)),
    quantity=st.sampled_from(["total", "data"]),
    seed=st.integers(0, 2**32 - 1),
    first=st.floats(-50, 50),
    second=st.floats(-50, 50),
)
def test_the_exact_value_is_the_loss_at_the_points_parameters(
    client, loss, quantity, seed, first, second
):
    axes = {"kind": "random", "seed": seed}
    answer = post(client, "/api/landscape/value",
                  value_request(first, second, loss, axes=axes, quantity=quantity))  # fmt: skip
    click = {"params": problem()["params"], "axes": axes, "first": first, "second": second}
    assert answer["params"] == post(client, "/api/landscape/point", click)
    evaluation = evaluated_at(client, answer["params"], loss)
    expected = evaluation["total"] if quantity == "total" else evaluation["data_loss"]
    assert answer["value"] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"first": "1.2"}, r"^first: Input should be a valid number; got the string '1\.2'$"),
        ({"second": True}, r"^second: Input should be a valid number; got the boolean true$"),
        ({"first": 2e6}, r"^first: Input should be less than or equal to 1000000$"),
        ({"quantity": "both"}, r"^quantity: Input should be 'total' or 'data'"),
        ({"axes": {"first": "W[0,3]"}},
         r"axes\.first 'W\[0,3\]': there are 3 classes; class indices are 0\.\.2"),
        ({"axes": {"kind": "random"}, "first": 1e6, "second": 1e6},
         r"^the point \(1e\+06, 1e\+06\) is outside the parameter range: .* Pick a point nearer "
         r"the centre$"),
        ({"params": {"W": [[1.0, 2.0], [3.0, 4.0]], "b": [0.0, 0.0]}},
         r"params have 2 classes \(W is 2 x 2\) but data\.num_classes is 3"),
    ],
)  # fmt: skip
def test_a_bad_readout_request_gets_one_line_naming_the_problem(client, change, message):
    body = {**value_request(0.5, 0.5), **change}
    if body["axes"] is not DEFAULT_AXES and "params" not in change:
        body["params"] = {"W": [[1e6] * 3] * 2, "b": [1e6] * 3}  # at the range's corner
    response = client.post("/api/landscape/value", json=body)
    assert response.status_code == 422, response.text
    assert re.search(message, response.json()["message"]), response.json()["message"]


# Defect 1: each preset looks like its name


def linearly_separable(data: dict) -> bool:
    """Whether some linear classifier (argmax of ``X W + b``) gets every point right: a nearly
    hard-margin multiclass SVM (Crammer-Singer, scikit-learn's, not slopelab's) reaches 100%
    training accuracy exactly then."""
    from sklearn.svm import LinearSVC

    X, y = np.array(data["X"]), np.array(data["y"])
    model = LinearSVC(C=1e4, max_iter=200_000, multi_class="crammer_singer").fit(X, y)
    return bool(model.score(X, y) == 1.0)


def test_presets_keep_their_own_noise_unless_one_is_sent(client):
    blobs = post(client, "/api/dataset", {"preset": "blobs", "num_classes": 2})
    overlapping = post(client, "/api/dataset", {"preset": "not-separable", "num_classes": 2})
    assert overlapping["X"] != blobs["X"] and overlapping["y"] == blobs["y"]
    assert linearly_separable(blobs) and not linearly_separable(overlapping)
    spread = np.std(np.array(overlapping["X"]) - np.array(blobs["X"]))
    assert spread > 0.1  # the offsets from the blobs' centres scale with 0.35 - 0.1
    still = post(client, "/api/dataset", {"preset": "not-separable", "num_classes": 2, "noise": 0})
    centres = {tuple(np.round(x, 12)) for x in still["X"]}
    assert len(centres) == 2  # noise 0 sent: every point exactly at its class centre


def test_the_defaults_list_each_presets_own_noise(client):
    noise = client.get("/api/defaults").json()["preset_noise"]
    presets = client.get("/api/defaults").json()["presets"]
    assert set(noise) == set(presets) - {"cs231n"}
    assert noise["not-separable"] > noise["blobs"]
    for name, value in noise.items():
        own = post(client, "/api/dataset", {"preset": name, "seed": 7})
        sent = post(client, "/api/dataset", {"preset": name, "seed": 7, "noise": value})
        assert own == sent, name


@settings(max_examples=60, deadline=None)
@given(
    preset=st.sampled_from(["blobs", "spiral", "circles", "xor", "outlier", "not-separable"]),
    num_classes=st.integers(2, 6),
    extra_points=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_preset_uses_every_label(client, preset, num_classes, extra_points, seed):
    body = {"preset": preset, "num_classes": num_classes, "seed": seed,
            "num_points": num_classes + extra_points}  # fmt: skip
    data = post(client, "/api/dataset", body)
    assert sorted(set(data["y"])) == list(range(num_classes))
    assert np.all(np.abs(data["X"]) <= 1.0)


@pytest.mark.parametrize("num_classes", [2, 3, 4])
def test_xor_is_a_checkerboard_no_line_separates(client, num_classes):
    data = post(client, "/api/dataset", {"preset": "xor", "num_classes": num_classes,
                                         "num_points": 120, "noise": 0})  # fmt: skip
    X, y = np.array(data["X"]), np.array(data["y"])
    cells = np.floor((X + 1) / 2 * num_classes).astype(int)
    np.testing.assert_array_equal((cells[:, 0] + cells[:, 1]) % num_classes, y)
    assert not linearly_separable(data)
    if num_classes == 2:  # XOR: the label is whether x0 and x1 differ in sign
        np.testing.assert_array_equal((X[:, 0] > 0) ^ (X[:, 1] > 0), y.astype(bool))


@pytest.mark.parametrize("num_classes", [2, 3, 6])
def test_a_dataset_of_one_point_per_class_is_made_or_refused_in_the_users_terms(
    client, num_classes
):
    """outlier once passed the API's check and the generator then refused num_points - 1 points,
    a number the user never sent."""
    for preset in ["blobs", "spiral", "circles", "xor", "not-separable"]:
        body = {"preset": preset, "num_classes": num_classes, "num_points": num_classes}
        assert sorted(set(post(client, "/api/dataset", body)["y"])) == list(range(num_classes))
    body = {"preset": "outlier", "num_classes": num_classes, "num_points": num_classes}
    response = client.post("/api/dataset", json=body)
    assert response.status_code == 422, response.text
    assert (
        f"the outlier preset needs num_points of at least num_classes + 1 ({num_classes + 1}: a "
        f"point per class and the outlier); got {num_classes}"
    ) in response.json()["message"]
    body["num_points"] = num_classes + 1
    assert sorted(set(post(client, "/api/dataset", body)["y"])) == list(range(num_classes))


def test_the_outlier_generator_says_what_it_needs():
    from slopelab.data.toy2d import outlier
    from slopelab.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match=r"at least num_classes \+ 1 \(4: a point per"):
        outlier(3, 3)
