"""Where a command's output goes: human lines, tables, progress bars and one JSON document."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from slopelab.progress import progress_bar, shows_progress
from slopelab.runs import dumps


class Console:
    """Human output on stdout (stderr in --json mode) and at most one JSON document."""

    def __init__(self, json_mode: bool, progress: bool = True) -> None:
        self.json_mode = json_mode
        self.stream = sys.stderr if json_mode else sys.stdout
        self.progress_enabled = progress and shows_progress()

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(header) for header in headers]] + [[_cell(v) for v in r] for r in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for index, row in enumerate(cells):
            self.say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.say("  ".join("-" * width for width in widths))

    def emit(self, document: dict[str, Any]) -> None:
        if self.json_mode:
            sys.stdout.write(dumps(document, indent=2) + "\n")
            sys.stdout.flush()

    def bar(self, total: int | float | None, description: str) -> Any:
        """A tqdm progress bar on stderr, a widget in a notebook (disabled elsewhere, e.g.
        when stderr is a pipe or a file); tqdm loads only when a command starts working."""
        return progress_bar(
            total=total,
            desc=description,
            disable=not self.progress_enabled,
            leave=False,
            dynamic_ncols=True,
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def console_for(args: argparse.Namespace) -> Console:
    return Console(getattr(args, "json", False), not getattr(args, "no_progress", False))
