"""``slopelab demo``: serve the page on 127.0.0.1 (by default) and print its address.

The socket is bound before uvicorn starts, so a busy port fails with a clear message and the
printed URL is the one actually served (port 0 picks a free one).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import webbrowser

import uvicorn

from slopelab.errors import CommandError
from slopelab.web.app import create_app

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the demo until Ctrl+C. On a loopback address only local host names are accepted
    (DNS rebinding guard); ``open_browser`` opens the page in the default browser."""
    sock = bind(host, port)
    url = page_url(host, sock.getsockname()[1])
    app = create_app(allowed_hosts=LOOPBACK_NAMES if _is_loopback(host) else None)
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="off")
    server = uvicorn.Server(config)
    print(f"slopelab demo: {url}  (Ctrl+C to stop)", flush=True)
    if not _is_loopback(host):
        print("warning: the demo is reachable from other machines on this network", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)``; a CommandError (exit 2) with advice when that
    fails: a busy port suggests another one, an unknown address says so."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY from the listener. uvicorn hands a given socket
    # to asyncio as AF_UNIX, which then skips its own TCP_NODELAY; without this every response
    # waits ~40 ms for a delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            advice = f"is another server using it? Try --port {port + 1}"
        else:
            advice = "check --host: use an address of this machine, e.g. 127.0.0.1"
        raise CommandError(f"cannot listen on {host}:{port} ({reason}); {advice}") from None
    return sock


def page_url(host: str, port: int) -> str:
    """``http://127.0.0.1:8000/``; IPv6 hosts in brackets, the wildcard shown as localhost."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
