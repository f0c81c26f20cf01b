"""The ``slopelab`` command line: one subcommand per lecture idea.

Exit codes: 0 ok, 1 a check failed (gradcheck), 2 bad input (one readable line, no traceback),
130 interrupted. ``--json`` prints exactly one JSON document on stdout; human-readable lines
then go to stderr. Progress bars are on stderr and only when it is a terminal. Set
``SLOPELAB_DEBUG=1`` to get tracebacks instead of one-line errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from slopelab.commands import (
    compare,
    data,
    demo,
    evaluate,
    gradcheck,
    landscape,
    lr_find,
    sweep,
    tour,
    train,
)
from slopelab.commands.common import CommandError, InterruptedRun

COMMANDS = (tour, train, compare, gradcheck, lr_find, sweep, landscape, evaluate, data, demo)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line plus a pointer to --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="slopelab",
        description="How a linear classifier's weights walk down the loss surface: the CS231n "
        "optimization lecture as experiments on real images.",
        epilog="Start with `slopelab tour`; `slopelab COMMAND --help` explains each command.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"slopelab {args.command}"
    try:
        return int(args.handler(args))
    except InterruptedRun as stop:
        print(f"{prog}: {stop}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CommandError, ValueError, TypeError, OSError) as error:
        if os.environ.get("SLOPELAB_DEBUG"):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
