"""Griffe extension: the docstrings' doctest examples render as code on the site.

slopelab's docstrings show examples as plain doctest runs (``>>>`` lines and their output),
which pytest runs with ``--doctest-modules``. Markdown would flow them into a paragraph (and
read ``x["W"][0, 0]`` as a link); this wraps each run in a ``pycon`` fence, on the site only.
The docstrings also name other objects with Sphinx roles (``:func:`save```), which Markdown
shows as the literal text ":func:"; on the site they become code spans (``save``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

PROMPT = ">>>"
ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")


def fence_doctests(text: str) -> str:
    """Wrap each doctest run (from a ``>>>`` line to the next blank line) in a ``pycon``
    fence at the run's indentation; runs inside existing fences are left alone. (No doctest
    here: its output would hold ``>>>`` lines, which doctest reads as new examples.)"""
    lines, in_run, in_fence = [], False, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```") and not in_run:
            in_fence = not in_fence
        if not in_fence and not in_run and stripped.startswith(PROMPT):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}```pycon")
            in_run = True
        elif in_run and not stripped:
            lines.append(f"{indent}```")
            in_run = False
        lines.append(line)
    if in_run:
        lines.append(f"{indent}```")
    return "\n".join(lines)


def plain_roles(text: str) -> str:
    """``:func:`save``` -> ``save`` as a code span; ``:class:`~a.b.C``` -> ``C`` (the tilde
    asks for the last part only, as in Sphinx)."""

    def code(match: re.Match) -> str:
        target = match.group(2)
        return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"

    return ROLE.sub(code, text)


class DoctestBlocks(griffe.Extension):
    """Fence the doctest runs of every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(plain_roles(obj.docstring.value))
