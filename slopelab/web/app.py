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
- ``POST /api/gradcheck``: numerical vs analytic gradient, kink flags, error against h;
- ``POST /api/dataset``: a toy dataset preset;
- ``POST /api/params``: initial parameters (CS231n defaults, random, zeros);
- ``POST /api/python``: a Python script replaying a run with slopelab's API.

Bad input gets a 422 with a readable ``message``; bodies over the cap get a 413.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from slopelab.web import endpoints
from slopelab.web import models as m
from slopelab.web.convert import InputError
from slopelab.web.limits import BodySizeLimit

STATIC_DIR = Path(__file__).parent / "static"

# method, path, endpoint, response model
ROUTES: list[tuple[str, str, Callable[..., Any], Any]] = [
    ("GET", "/api/defaults", endpoints.defaults, None),
    ("POST", "/api/evaluate", endpoints.evaluate_state, m.EvaluateOut),
    ("POST", "/api/step", endpoints.step, m.StepOut),
    ("POST", "/api/race", endpoints.race, m.RaceOut),
    ("POST", "/api/landscape", endpoints.loss_landscape, m.LandscapeOut),
    ("POST", "/api/landscape/point", endpoints.landscape_point, m.ParamsOut),
    ("POST", "/api/gradcheck", endpoints.gradcheck, m.GradcheckOut),
    ("POST", "/api/dataset", endpoints.make_dataset, m.DataOut),
    ("POST", "/api/params", endpoints.make_params, m.ParamsOut),
    ("POST", "/api/python", endpoints.python, m.PythonOut),
]


def create_app(
    *, allowed_hosts: list[str] | None = None, max_body_bytes: int = m.MAX_BODY_BYTES
) -> FastAPI:
    """The app. ``allowed_hosts`` (e.g. ``["127.0.0.1", "localhost"]``) rejects requests
    for other host names, a guard against DNS rebinding; ``None`` accepts any."""
    app = FastAPI(title="slopelab demo", docs_url=None, redoc_url=None)  # Swagger UI needs a CDN
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InputError, _invalid_input)
    app.add_api_route("/", _page, methods=["GET"], include_in_schema=False)
    for method, path, endpoint, response_model in ROUTES:
        app.add_api_route(path, endpoint, methods=[method], response_model=response_model)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [
        {"loc": list(e.get("loc", ())), "msg": _clean(e.get("msg", "")), "type": e.get("type")}
        for e in error.errors()
    ]
    return JSONResponse({"detail": details, "message": readable(details)}, status_code=422)


async def _invalid_input(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error), "message": str(error)}, status_code=422)


def readable(details: list[dict[str, Any]], limit: int = 3) -> str:
    """``"data.X[3][0]: Input should be less than or equal to 1"``, for up to ``limit`` errors.

    >>> readable([{"loc": ["body", "data", "X", 3, 0], "msg": "Input should be finite"}])
    'data.X[3][0]: Input should be finite'
    """
    parts = []
    for detail in details[:limit]:
        path = ""
        for item in detail["loc"]:
            if item == "body":
                continue
            path += f"[{item}]" if isinstance(item, int) else (f".{item}" if path else str(item))
        parts.append(f"{path}: {detail['msg']}" if path else detail["msg"])
    if len(details) > limit:
        parts.append(f"and {len(details) - limit} more")
    return "; ".join(parts)


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")
