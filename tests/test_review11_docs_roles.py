"""The API reference shows no raw Sphinx roles (review of issue 11).

The docstrings name other objects as ``:func:`save```; mkdocstrings renders Markdown, so the
site showed ":func:save" (58 times across the reference pages). The griffe extension now turns
each role into a code span.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import griffe
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc|obj):`")


def doctest_blocks():
    path = ROOT / "docs" / "hooks" / "doctest_blocks.py"
    spec = importlib.util.spec_from_file_location("doctest_blocks_review11", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docstrings(obj) -> list[str]:
    found = [obj.docstring.value] if obj.docstring is not None else []
    for member in obj.members.values():
        if not member.is_alias:
            found += docstrings(member)
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":func:`save` writes it", "`save` writes it"),
        ("see :class:`~slopelab.errors.InvalidValueError`.", "see `InvalidValueError`."),
        (
            ":mod:`slopelab.display` and :meth:`History.column`",
            "`slopelab.display` and `History.column`",
        ),
        ("``code`` and `x` stay", "``code`` and `x` stay"),
    ],
)
def test_roles_become_code_spans(text, expected):
    assert doctest_blocks().plain_roles(text) == expected


def test_no_docstring_of_the_package_keeps_a_role_on_the_site():
    extensions = griffe.load_extensions(doctest_blocks().DoctestBlocks())
    package = griffe.load("slopelab", search_paths=[str(ROOT)], extensions=extensions)
    texts = docstrings(package)
    assert len(texts) > 100
    left = [text[:80] for text in texts if RAW_ROLE.search(text)]
    assert left == []
