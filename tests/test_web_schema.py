"""The web API against its own OpenAPI schema: schemathesis generates requests, in process.

For every operation, valid and invalid bodies (the schema's types, limits and required fields,
and their violations: wrong JSON types, missing fields, out-of-range numbers) must get

- no 5xx (``not_a_server_error``);
- only documented status codes, JSON, and bodies matching the documented response models;
- a 4xx for every schema violation: strict types, ``"10"`` is not an integer
  (``negative_data_rejection``);
- for every error, the one error shape: a JSON object with a non-empty one-line ``message``.

The schema cannot express the rules across fields (labels below ``num_classes``, as many labels
as points, ``W`` and ``b`` with one column per class, hyperparameters the update rule knows), so
almost every generated valid body would stop at those checks. :func:`consistent` repairs the
valid cases along those rules (an optimizer state gets the keys and shapes of its update rule,
filled with the generated numbers) and leaves every other value as generated, so they reach
the computations with extreme numbers; invalid cases are sent as generated. What the API answers
and a client sends back (the state after a step, a dataset, initial parameters, a landscape
point) must be accepted back. The run is derandomized, so CI sees the same cases every time.
"""

from __future__ import annotations

import collections
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from slopelab.optim import DEFAULTS as OPTIMIZER_DEFAULTS
from slopelab.optim import get_optimizer, state_to_arrays
from slopelab.web import create_app
from slopelab.web import models as m
from slopelab.web.features import FEATURES
from slopelab.web.presets import SCHEDULE_DEFAULTS

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CASES_PER_OPERATION = 200
ANSWERS: collections.defaultdict[str, collections.Counter[int]] = collections.defaultdict(
    collections.Counter
)  # operation -> status -> count, for the record

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schemathesis.check
def errors_have_a_message(ctx, response, case) -> bool | None:
    """Every answer of 400 or more is ``{"message": one non-empty line, "detail": ...}``."""
    if response.status_code < 400:
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"message", "detail"}, body
    message = body["message"]
    assert isinstance(message, str) and message.strip() and "\n" not in message, body
    return True


def consistent(body: Any) -> Any:
    """``body`` with the rules across fields made to hold; other values stay as generated."""
    if not isinstance(body, dict):
        return body
    body = json.loads(json.dumps(body))
    data = body.get("data")
    classes = data["num_classes"] if data else len(body["params"]["b"]) if "params" in body else 3
    if type(classes) is not int:  # JSON Schema's integers include 3.0, which the API refuses
        return body
    if data is not None:
        count = min(len(data["X"]), len(data["y"]))
        data.update(X=data["X"][:count], y=[label % classes for label in data["y"][:count]])
    if isinstance(body.get("features"), list):  # each feature once, in the API's order
        body["features"] = [name for name in FEATURES if name in body["features"]]
    rows = 2 + len(body.get("features", [])) if data is not None else None
    for params in _all_params(body):
        params["W"] = [_resized(row, classes) for row in _rows(params["W"], rows)]
        params["b"] = _resized(params["b"], classes)
    if rows is None:  # a landscape point: no data, no features; W has the rows it was given
        rows = len(body["params"]["W"]) if "params" in body else 2
    for index, runner in enumerate(body.get("runners", [])):
        runner["id"] = f"{runner['id'][:30]}-{index}"
    for spec in [body.get("optimizer"), *(r["optimizer"] for r in body.get("runners", []))]:
        if spec is not None:
            _known_options(spec)
    for holder in [body, *body.get("runners", [])]:
        if holder.get("opt_state") is not None:
            holder["opt_state"] = _state_like(
                holder["opt_state"], holder["optimizer"], classes, rows
            )
    axes = body.get("axes")
    if axes is not None and axes.get("kind", "coordinates") == "coordinates":
        names = [f"W[{d},{k}]" for d in range(rows) for k in range(classes)]
        names += [f"b[{k}]" for k in range(classes)]
        first = zlib.crc32(axes.get("first", "").encode()) % len(names)
        axes.update(first=names[first], second=names[(first + 1) % len(names)])
    if "paths" in body:
        body["paths"] = [path[: m.MAX_PATH_POINTS // m.MAX_PATHS] for path in body["paths"]]
    if "num_points" in body:
        body["num_points"] = max(body["num_points"], body.get("num_classes", 3))
    return body


def _state_like(generated: dict, spec: dict, classes: int, rows: int = 2) -> dict:
    """The keys and shapes of the optimizer's state, filled with the generated numbers."""
    numbers = [float(v) for v in _leaves(list(generated.values()))] or [0.0]
    zeros = {"W": np.zeros((rows, classes)), "b": np.zeros(classes)}
    template = state_to_arrays(get_optimizer(spec.get("name", "sgd"), 0.1).init(zeros))
    state, position = {}, 0
    for key, like in template.items():
        values = [numbers[(position + i) % len(numbers)] for i in range(like.size)]
        position += like.size
        state[key] = np.array(values).reshape(like.shape).tolist()
    state["count"] = int(abs(numbers[0])) % (m.MAX_STEP_INDEX + 1)
    return state


def _leaves(value: Any) -> list[float]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _all_params(body: dict) -> list[dict]:
    found = [body["params"]] if "params" in body else []
    found += [runner["params"] for runner in body.get("runners", [])]
    return found + [params for path in body.get("paths", []) for params in path]


def _rows(W: list[list[float]], rows: int | None) -> list[list[float]]:
    """W with ``rows`` rows (x0, x1 and one per feature): cut, or padded with empty rows."""
    return W if rows is None else (W + [[]] * rows)[:rows]


def _resized(values: list[float], size: int) -> list[float]:
    return (values + [0.0] * size)[:size]


def _known_options(spec: dict) -> None:
    """Rename the generated hyperparameters and schedule options to ones slopelab knows."""
    known = [k for k, v in OPTIMIZER_DEFAULTS[spec.get("name", "sgd")].items()
             if isinstance(v, float) and k != "learning_rate"]  # fmt: skip
    hyper = list(spec.get("hyperparams", {}).values())
    spec["hyperparams"] = {known[i % len(known)]: v for i, v in enumerate(hyper)} if known else {}
    schedule = spec.get("schedule")
    if schedule is not None:
        names = list(SCHEDULE_DEFAULTS[schedule["name"]])
        values = list(schedule.get("options", {}).values())
        schedule["options"] = (
            {names[i % len(names)]: v for i, v in enumerate(values)} if names else {}
        )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    errors_have_a_message,
]


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_within_its_schema(case):
    label = case.operation.label
    if case.meta.generation.mode == GenerationMode.POSITIVE:
        case.body = consistent(case.body)
    response = case.call_and_validate(checks=CHECKS)
    ANSWERS[label][response.status_code] += 1
    if response.status_code == 200 and label in SENT_BACK:
        SENT_BACK[label](case, response.json())


def continue_step(case, answer: dict) -> None:
    """Step again from the state a step returned: the API must accept its own answer, unless
    the run has reached the limit on its number of updates."""
    if not answer["records"]:
        return
    record = answer["records"][-1]
    body = {**case.body, "params": record["params"], "opt_state": record["opt_state"],
            "step": record["step"]}  # fmt: skip
    response = send("/api/step", body)
    if record["step"] + body.get("num_steps", 1) > m.MAX_STEP_INDEX:
        assert response.status_code == 422 and "reset the run" in response.text, response.text
    else:
        assert response.status_code == 200, response.text


def evaluate_dataset(case, answer: dict) -> None:
    """A dataset the API makes is data it accepts, with any parameters of its class count."""
    classes = answer["num_classes"]
    params = {"W": [[0.0] * classes] * 2, "b": [0.0] * classes}
    response = send("/api/evaluate", {"data": answer, "params": params})
    assert response.status_code == 200, response.text


def evaluate_params(case, answer: dict) -> None:
    """Parameters the API makes (initial ones, a landscape point) are parameters it accepts."""
    classes = len(answer["b"])
    data = {"X": [[0.0, 0.0]], "y": [0], "num_classes": classes}
    features = list(FEATURES)[: len(answer["W"]) - 2]  # any features for W's extra rows
    response = send("/api/evaluate", {"data": data, "params": answer, "features": features})
    assert response.status_code == 200, response.text


SENT_BACK = {
    "POST /api/step": continue_step,
    "POST /api/dataset": evaluate_dataset,
    "POST /api/params": evaluate_params,
    "POST /api/landscape/point": evaluate_params,
}


def send(path: str, body: dict):
    case = schema[path]["POST"].Case(body=body, media_type="application/json")
    return case.call_and_validate(checks=CHECKS)


def teardown_module() -> None:
    """Record the answers per operation in test-artifacts/ (how many cases reached a 200)."""
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {label: dict(sorted(counts.items())) for label, counts in sorted(ANSWERS.items())}
    (ARTIFACTS / "schemathesis-answers.json").write_text(json.dumps(figures, indent=1) + "\n")
