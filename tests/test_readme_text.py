"""The README's text-classification snippet prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def text_snippet() -> tuple[str, str]:
    """The python block that uses TfidfVectorizer, and the output shown under it."""
    found = re.search(
        r"```python\n([^`]*?TfidfVectorizer[^`]*?)```\n\nprints\n\n```\n(.*?)\n```",
        README.read_text(),
        flags=re.DOTALL,
    )
    assert found, "README lost its text-classification snippet or its printed output"
    return found.group(1), found.group(2)


def test_text_classification_snippet_prints_what_the_readme_shows():
    code, shown = text_snippet()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})
    assert printed.getvalue().strip() == shown.strip()
