"""Two guards in front of the app, pure ASGI middleware answering in the API's error shape
(``{"message": ..., "detail": ...}``, see ``slopelab.web.errors``):

- :class:`BodySizeLimit`: 413 for a declared ``Content-Length`` over the cap, and for a body
  that turns out larger than the cap while it is read (chunked uploads declare no length); the
  body is read into memory up to the cap, then replayed to the app.
- :class:`HostGuard`: 400 for a ``Host`` header naming another host, a guard against DNS
  rebinding (a page on another site resolving its own name to 127.0.0.1).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

METHODS_WITH_BODY = ("POST", "PUT", "PATCH")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send, f"the request body is {declared} bytes")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send, f"the request body is over {self.max_bytes} bytes")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send, what: str) -> None:
        message = (
            f"{what}; the limit is {self.max_bytes} bytes. Send fewer points or a shorter path"
        )
        await reject(send, 413, message)


class HostGuard:
    """Answers only requests whose ``Host`` header (without its port) is in ``allowed_hosts``."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app, self.allowed_hosts = app, [name.lower() for name in allowed_hosts]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or host_name(scope) in self.allowed_hosts:
            await self.app(scope, receive, send)
            return
        name = host_name(scope)
        message = (
            f"this server answers requests for {', '.join(self.allowed_hosts)}, not for "
            f"{repr(name) if name else 'a request without a Host header'}; open the address "
            "`slopelab demo` printed"
        )
        await reject(send, 400, message)


def host_name(scope: Scope) -> str:
    """The request's host name without the port: ``"[::1]:8000"`` -> ``"[::1]"``.

    >>> host_name({"headers": [(b"host", b"LocalHost:8000")]})
    'localhost'
    """
    value = next((v for name, v in scope.get("headers", []) if name == b"host"), b"")
    host = value.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if ":" in host else host


async def reject(send: Send, status: int, message: str) -> None:
    """Answer ``status`` with ``{"message": message, "detail": message}``."""
    body = json.dumps({"message": message, "detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect

    return replay
