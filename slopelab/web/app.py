"""The demo's FastAPI app: the static page and a stateless JSON API over slopelab.

Every POST endpoint takes the whole state it needs and returns the next one; the server keeps
nothing between requests. The routes (bodies in ``slopelab.web.models``, code in
``slopelab.web.endpoints``):

- ``GET /``: the page, ``static/index.html`` (scripts and styles under ``/static``);
- ``GET /api/defaults``: the CS231n demo's data, parameters and settings, choices, limits;
- ``POST /api/evaluate``: losses, gradient, per-point scores, L_i and active hinges, regions;
- ``POST /api/step``: ``num_steps`` updates: new parameters, optimizer state, records;
- ``POST /api/race``: several update rules advanced side by side on the same data;
- ``POST /api/landscape``: the loss over a 2-D slice of parameter space, paths projected;
- ``POST /api/landscape/point``: the parameters at a point of that slice (click to move);
- ``POST /api/landscape/value``: the loss exactly at a point of that slice (hover readout);
- ``POST /api/gradcheck``: numerical vs analytic gradient, kink flags, error against h;
- ``POST /api/dataset``: a toy dataset preset;
- ``POST /api/params``: initial parameters (CS231n defaults, random, zeros);
- ``POST /api/python``: a Python script replaying a run with slopelab's API;
- ``POST /api/explain``: one point's scores, loss terms, gradient share and the update;
- ``POST /api/losses``: the loss under all four losses side by side, penalized points.
- ``POST /api/lr_scan``: the loss after k updates against the learning rate (``lr_scan``);
- ``POST /api/split``: a held-out mask marking test points (``heldout``).

Every error has one shape, ``{"message": ..., "detail": ...}`` (``slopelab.web.errors``): bad
input gets a 422 whose ``message`` names the field, with strict JSON types (``"10"`` or ``true``
is not an integer); an unreadable body a 400; a body over the cap a 413.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from slopelab.web import endpoints, errors
from slopelab.web import models as m
from slopelab.web.limits import BodySizeLimit, HostGuard

STATIC_DIR = Path(__file__).parent / "static"

# method, path, endpoint, response model
ROUTES: list[tuple[str, str, Callable[..., Any], Any]] = [
    ("GET", "/api/defaults", endpoints.defaults, None),
    ("POST", "/api/evaluate", endpoints.evaluate_state, m.EvaluateOut),
    ("POST", "/api/step", endpoints.step, m.StepOut),
    ("POST", "/api/race", endpoints.race, m.RaceOut),
    ("POST", "/api/landscape", endpoints.loss_landscape, m.LandscapeOut),
    ("POST", "/api/landscape/point", endpoints.landscape_point, m.ParamsOut),
    ("POST", "/api/landscape/value", endpoints.landscape_value, m.LandscapeValueOut),
    ("POST", "/api/gradcheck", endpoints.gradcheck, m.GradcheckOut),
    ("POST", "/api/dataset", endpoints.make_dataset, m.DataOut),
    ("POST", "/api/params", endpoints.make_params, m.ParamsOut),
    ("POST", "/api/python", endpoints.python, m.PythonOut),
    ("POST", "/api/explain", endpoints.explain, m.ExplainOut),
    ("POST", "/api/losses", endpoints.losses, m.AllLossesOut),
    ("POST", "/api/lr_scan", endpoints.lr_scan, m.LrScanOut),
    ("POST", "/api/split", endpoints.make_split, m.SplitOut),
]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": m.ErrorOut, "description": "The body is not readable JSON"},
    413: {"model": m.ErrorOut, "description": "The body is over the size cap"},
    422: {"model": m.ErrorOut, "description": "The request breaks the API's types or limits"},
}


def create_app(
    *, allowed_hosts: list[str] | None = None, max_body_bytes: int = m.MAX_BODY_BYTES
) -> FastAPI:
    """The app. ``allowed_hosts`` (e.g. ``["127.0.0.1", "localhost"]``) rejects requests
    for other host names, a guard against DNS rebinding; ``None`` accepts any."""
    app = FastAPI(title="slopelab demo", docs_url=None, redoc_url=None)  # Swagger UI needs a CDN
    if allowed_hosts is not None:
        app.add_middleware(HostGuard, allowed_hosts=allowed_hosts)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    errors.install(app)
    app.add_api_route("/", _page, methods=["GET"], include_in_schema=False)
    for method, path, endpoint, response_model in ROUTES:
        app.add_api_route(
            path, endpoint, methods=[method], response_model=response_model,
            responses=ERROR_RESPONSES if method == "POST" else None,
        )  # fmt: skip
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
