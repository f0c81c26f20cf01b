"""Progress bars that suit where slopelab runs: a text bar on a terminal's stderr, tqdm's
widget in a Jupyter notebook (``tqdm.auto`` chooses), nothing when stderr is a pipe or a file.

tqdm is imported only when a bar is made, so importing this module costs nothing.
"""

from __future__ import annotations

import sys
from typing import Any


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (the test ``tqdm.auto`` makes); IPython is not
    imported to find out."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def shows_progress() -> bool:
    """Whether a bar should show by default: on a terminal or in a notebook, not in a log."""
    return stderr_is_terminal() or in_notebook()


def progress_bar(**options: Any) -> Any:
    """A ``tqdm.auto`` bar (the plain text bar outside a notebook) on stderr; ``options`` are
    tqdm's (``total``, ``desc``, ``disable``, ...)."""
    from tqdm.auto import tqdm

    return tqdm(file=sys.stderr, **options)
