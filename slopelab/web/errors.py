"""One error shape for every answer that is not a 200: ``{"message": ..., "detail": ...}``.

``message`` is one readable line naming the problem and the fix (the page shows it as is);
``detail`` is pydantic's list of field errors for a request that breaks the models, else the
message again. :func:`install` answers request errors and slopelab's input errors (422),
unreadable bodies (400), unknown routes and methods (404, 405) and bugs (500); the body cap and
the host guard (``slopelab.web.limits``) answer in the same shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from slopelab.errors import SlopelabError

# pydantic error types that mean "wrong JSON type"; their message gains what was received
TYPE_ERRORS = {"int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type",
               "model_type", "model_attributes_type", "literal_error"}  # fmt: skip
JSON_TYPE_NAMES = {bool: "the boolean", int: "the number", float: "the number", str: "the string",
                   list: "an array", dict: "an object", type(None): "null"}  # fmt: skip
UNREADABLE = "the request body is not readable JSON"


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(SlopelabError, _invalid_input)  # InputError among them
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


def error_response(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    content = {"message": message, "detail": message if detail is None else detail}
    return JSONResponse(content, status_code=status, headers=headers)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    if errors and errors[0].get("type") == "json_invalid":
        return error_response(422, _invalid_json(errors[0]))
    if len(errors) == 1 and _about_the_whole_body(errors[0]):
        return error_response(422, _whole_body(errors[0]))
    details = [
        {"loc": list(e.get("loc", ())), "msg": _message(e), "type": e.get("type")} for e in errors
    ]
    return error_response(422, readable(details), details)


async def _invalid_input(request: Request, error: Exception) -> JSONResponse:
    return error_response(422, str(error))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    path, status = request.url.path, error.status_code
    if status == 400 and error.__cause__ is not None:  # FastAPI could not parse the body
        message = _unreadable(error.__cause__)
    elif status == 404:
        message = f"{path} is not part of the demo; its API is described at /openapi.json"
    elif status == 405:
        allowed = (error.headers or {}).get("Allow", "another method")
        message = f"{path} does not answer {request.method}; use {allowed}"
    else:
        message = str(error.detail)
    return error_response(status, message, headers=error.headers)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    message = (
        f"internal error ({type(error).__name__}) answering {request.url.path}; this is a bug "
        "in slopelab: please report it with the request"
    )
    return error_response(500, message)


def _unreadable(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        return (
            f"{UNREADABLE}: it is not UTF-8 text (byte 0x{byte} at position {cause.start}); "
            "send JSON encoded as UTF-8"
        )
    if isinstance(cause, RecursionError):
        return (
            f"{UNREADABLE}: its arrays and objects are nested too deeply; the API's requests "
            "nest a few levels at most"
        )
    return f"{UNREADABLE}: {cause or 'it could not be parsed'}"


def _invalid_json(error: dict[str, Any]) -> str:
    reason = error.get("ctx", {}).get("error", "syntax error")
    position = error["loc"][-1] if error.get("loc") else "?"
    return f"{UNREADABLE}: {reason} at character {position}"


def _about_the_whole_body(error: dict[str, Any]) -> bool:
    """No body, or a body that is not a JSON object (not a check across fields)."""
    whole = tuple(error.get("loc", ())) == ("body",)
    return whole and error.get("type") in ("missing", "model_attributes_type", "model_type")


def _whole_body(error: dict[str, Any]) -> str:
    if error.get("type") == "missing":
        return "the request has no body; send a JSON object"
    if isinstance(error.get("input"), bytes):  # FastAPI passes bodies of other types as bytes
        return "send the request body as JSON, with the header Content-Type: application/json"
    return f"the request body must be a JSON object; got {_received(error.get('input'))}"


def _message(error: dict[str, Any]) -> str:
    """pydantic's message, saying what arrived when the JSON type is wrong."""
    message = error.get("msg", "").removeprefix("Value error, ")
    if error.get("type") in TYPE_ERRORS and "input" in error:
        message = f"{message}; got {_received(error['input'])}"
    return message


def _received(value: Any, limit: int = 40) -> str:
    """``"the string '10'"``, ``"the boolean true"``, ``"an array"``: a JSON value, briefly."""
    name = JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, list | dict) or value is None:
        return name
    if isinstance(value, str):
        text = repr(value if len(value) <= limit else value[:limit] + "...")
    else:
        text = "true" if value is True else "false" if value is False else repr(value)
    return f"{name} {text}"


def _plain(name: str) -> bool:
    return name.isprintable() and name.strip() == name and len(name) <= 40 and "'" not in name


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
            if isinstance(item, int):
                path += f"[{item}]"
            elif _plain(item):
                path += f".{item}" if path else item
            else:  # an unknown key as sent: quoted and escaped, so the message stays one line
                path += f"[{_received(item, limit=30).removeprefix('the string ')}]"
        parts.append(f"{path}: {detail['msg']}" if path else detail["msg"])
    if len(details) > limit:
        parts.append(f"and {len(details) - limit} more")
    return "; ".join(parts)
