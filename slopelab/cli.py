"""The ``slopelab`` command line: one subcommand per lecture idea.

Exit codes: 0 ok, 1 a check failed (gradcheck) or an internal error, 2 bad input (one readable
line, no traceback), 130 interrupted. ``--json`` prints exactly one JSON document on stdout;
human-readable lines then go to stderr. Progress bars are on stderr and only when it is a
terminal. Set ``SLOPELAB_DEBUG=1`` to get tracebacks instead of one-line errors.

This module imports almost nothing at the top, so that ``--help`` and a mistyped flag answer
at once and a Ctrl-C during start-up is handled like any other: each command module loads only
light modules, and the heavy ones (scikit-learn, matplotlib) load when a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import re
import sys
from collections.abc import Sequence

from slopelab.commands import COMMANDS

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_INTERNAL_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal

OS_ERROR_HINTS = {
    errno.ENOSPC: "free some disk space or write elsewhere (--out)",
    errno.EDQUOT: "free some disk space or write elsewhere (--out)",
    errno.EACCES: "choose a folder you can write to (--out) or fix its permissions",
    errno.EPERM: "choose a folder you can write to (--out) or fix its permissions",
    errno.EROFS: "the file system is read-only; write elsewhere (--out)",
    errno.ENOENT: "check the path",
    errno.EISDIR: "give a file, not a folder",
    errno.ENOTDIR: "check the path: a part of it is a file, not a folder",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line plus a pointer to --help, and never
    accepts abbreviated flags (so ``--ep`` cannot silently mean ``--epochs``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # Any token that starts like a number is a value, so `--h -1e-5` reaches the option's
        # own check ("must be a positive number") instead of "expected one argument".
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser (``argv=None``), or one that loads only the command ``argv`` names:
    the others are listed by name and summary, which is all ``--help`` shows of them."""
    parser = _Parser(
        prog="slopelab",
        description="How a linear classifier's weights walk down the loss surface: the CS231n "
        "optimization lecture as experiments on real images.",
        epilog="Start with `slopelab tour`; `slopelab COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"slopelab {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    wanted = {module for module, _ in COMMANDS.values()}
    if argv is not None:
        chosen = next((arg for arg in argv if not arg.startswith("-")), None)
        wanted = {COMMANDS[chosen][0]} if chosen in COMMANDS else set()
    loaded = set()
    for name, (module, summary) in COMMANDS.items():
        if module in loaded:
            continue
        if module in wanted:
            importlib.import_module(f"slopelab.commands.{module}").add_parser(subparsers)
            loaded.add(module)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slopelab")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "(not installed)"


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported by the command's own parser, so the
    error names the command (``slopelab train: error: unrecognized arguments: --jso``)."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extras)}")
    return args


@contextlib.contextmanager
def _quiet_unless_first_rank():
    """Under ``mpiexec -n K`` every rank parses the same command line: only rank 0 prints
    ``--help`` or a malformed flag's error (all ranks still exit with its code)."""
    from slopelab.launcher import launched_rank, launched_ranks

    if launched_ranks() == 1 or launched_rank() == 0:
        yield
        return
    with (
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull),
        contextlib.redirect_stderr(devnull),
    ):
        yield


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(command, parser)
    return parser


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The destinations of the options written on the command line (abbreviations are off,
    so every option is spelled in full)."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    chosen = _subparser(parser, command)
    flags = {arg.partition("=")[0] for arg in argv if arg.startswith("--")}
    return {
        action.dest
        for action in chosen._actions
        if any(option in flags for option in action.option_strings)
    }


def main(argv: Sequence[str] | None = None) -> int:
    from slopelab.commands import interrupts

    interrupts.install()
    prog = "slopelab"
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(argv)
        with _quiet_unless_first_rank():
            args = _parse(parser, argv)
        args.given = given_options(parser, argv)
        prog = f"slopelab {args.command}"
        code = _run(args, prog)
    except KeyboardInterrupt:  # during start-up, before the command ran
        code = _report(prog, "interrupted", EXIT_INTERRUPTED)
    except Exception:
        if not interrupts.was_interrupted():
            raise
        # A Ctrl-C that an import turned into its own error (numpy: ImportError).
        code = _report(prog, "interrupted", EXIT_INTERRUPTED)
    if interrupts.was_interrupted() and code != EXIT_INTERRUPTED:
        code = _report(prog, "interrupted", EXIT_INTERRUPTED)  # a Ctrl-C that got swallowed
    return code


def _report(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    return code


def _run(args: argparse.Namespace, prog: str) -> int:
    """Run the chosen command; map every exception to an exit code and one line."""
    import numpy as np

    from slopelab.commands import interrupts
    from slopelab.commands.runfolder import discard_unused_run_folders, forget_run_folders
    from slopelab.environment import blas_threads
    from slopelab.errors import InterruptedRun, SlopelabError

    forget_run_folders()
    debug = bool(os.environ.get("SLOPELAB_DEBUG"))
    code = EXIT_INTERNAL_ERROR
    try:
        # Overflow in a diverging run is reported as divergence; numpy's own warning is noise.
        with np.errstate(all="ignore"), blas_threads(getattr(args, "threads", None)):
            code = int(args.handler(args))
        return code
    except InterruptedRun as stop:
        code = _report(prog, str(stop), EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        code = _report(prog, "interrupted", EXIT_INTERRUPTED)
    except SlopelabError as error:
        if debug:
            raise
        code = _report(prog, f"error: {error}", EXIT_BAD_INPUT)
    except BrokenPipeError:
        # The reader went away (`slopelab predict ... | head`): stop quietly, as Unix tools do.
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    except OSError as error:
        if debug:
            raise
        code = _report(prog, f"error: {_describe_os_error(error)}", EXIT_BAD_INPUT)
    except Exception as error:
        if debug:
            raise
        message = " ".join(f"{type(error).__name__}: {error}".split())
        if interrupts.was_interrupted():  # a Ctrl-C that a library turned into its own error
            code = _report(prog, "interrupted", EXIT_INTERRUPTED)
        else:
            code = _report(
                prog,
                f"internal error: {message} (SLOPELAB_DEBUG=1 shows the traceback; please "
                "report it)",
                EXIT_INTERNAL_ERROR,
            )
    finally:
        if code != EXIT_OK:
            discard_unused_run_folders()
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):  # stdout is not a real file (captured)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _describe_os_error(error: OSError) -> str:
    """``No space left on device: runs/x/model.npz; free some disk space or ...``."""
    reason = error.strerror or type(error).__name__
    where = f": {error.filename}" if error.filename else ""
    hint = OS_ERROR_HINTS.get(error.errno)
    return f"{reason}{where}" + (f"; {hint}" if hint else "")


if __name__ == "__main__":
    raise SystemExit(main())
