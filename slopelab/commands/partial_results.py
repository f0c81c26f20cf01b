"""What an experiment command leaves behind when Ctrl-C stops it: what it finished, marked so.

The experiment commands (tour, compare, sweep, lr-find, landscape) note each finished part as
they go (a tour step, a strategy, a trial, a measured curve) in a :class:`Progress`. On Ctrl-C,
:func:`keep_partial_results` keeps those parts in the run folder, in ``results.json`` with
``"complete": false`` and what was finished (the tour also writes its report of the steps done,
titled incomplete), and ends the command with one line naming the file: exit 130. With nothing
finished yet, it removes the run folder, and the line says so. Nothing half-made is left without
a word.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slopelab.commands import interrupts
from slopelab.errors import InterruptedRun
from slopelab.runs import atomic_write_text, dumps

RESULTS = "results.json"
Writer = Callable[[dict[str, Any]], Path]


@dataclass
class Progress:
    """The finished part of a run: ``done`` says how much ("3 of 7 steps"), ``document`` holds
    it as JSON, and ``writer`` (default: ``results.json``) saves it and returns the file to name
    in the interrupt line."""

    run_dir: Path
    done: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    writer: Writer | None = None

    def finished(self, done: str, document: dict[str, Any]) -> None:
        """Record that ``done`` is finished, with everything finished so far in ``document``."""
        self.done, self.document = done, document

    def write_results(self, document: dict[str, Any]) -> Path:
        path = self.run_dir / RESULTS
        atomic_write_text(path, dumps(document, indent=2) + "\n")
        return path

    def stop(self) -> InterruptedRun:
        """Keep the finished part (or remove the folder if there is none); the stop to raise."""
        if not self.done:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return InterruptedRun(f"interrupted before anything finished; removed {self.run_dir}")
        document = {"complete": False, "interrupted_after": self.done, **self.document}
        path = (self.writer or self.write_results)(document)
        return InterruptedRun(f"interrupted after {self.done}; kept in {path} (marked incomplete)")


@contextmanager
def keep_partial_results(run_dir: Path) -> Iterator[Progress]:
    """Run the body; on Ctrl-C (also one a library turned into its own error) keep what it
    finished and raise :class:`InterruptedRun` with the one line to print."""
    progress = Progress(Path(run_dir))
    try:
        yield progress
    except KeyboardInterrupt:
        raise progress.stop() from None
    except Exception:
        if not interrupts.was_interrupted():
            raise
        raise progress.stop() from None
