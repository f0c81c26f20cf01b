"""``slopelab demo``: the interactive linear-classifier demo in the browser."""

from __future__ import annotations

import argparse

from slopelab.commands import summary
from slopelab.commands.arguments import port_number


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=summary("demo"),
        description="Serve the interactive linear-classifier demo on this machine and print "
        "its URL. Everything on the page is computed by slopelab's own losses and optimizers.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument("--port", type=port_number, default=8000, help="port (default: 8000)")
    parser.add_argument("--open", action="store_true", help="open it in a web browser")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from slopelab.web.server import serve  # the web stack loads only for this command

    serve(host=args.host, port=args.port, open_browser=args.open)
    return 0
