"""MkDocs hook: the README's sections become the site's pages, so the two never drift apart.

The README stays the one source. Each ``## `` section listed in :data:`PAGES` becomes a page
(its headings raised one level, so the section title is the page title); the text before the
first section opens the home page. Links into ``docs/`` are made relative to the site, and a
link to an anchor on another page is pointed at that page.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

# README section title -> page file. The home page also takes the text before the first one.
PAGES = {
    "Two commands": "index.md",
    "The lecture, step by step, from the command line": "command-line.md",
    "The interactive demo": "demo.md",
    "Conventions": "conventions.md",
    "Notebooks": "notebooks.md",
    "A tour of the Python API": "python-api.md",
    "Speed": "speed.md",
    "Beyond one machine: MPI": "mpi.md",
    "Layout": "layout.md",
}
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
LINK_TARGET = re.compile(r"\]\((?!https?://|#)([^)\s]+)\)")
ANCHOR_LINK = re.compile(r"\]\(#([^)\s]+)\)")


def split_sections(text: str) -> tuple[str, dict[str, str]]:
    """The README's preamble and its ``## `` sections by title (fenced code left alone)."""
    preamble: list[str] = []
    sections: dict[str, list[str]] = {}
    current = preamble
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            current = sections.setdefault(heading.group(2), [])
        current.append(line)
    return "\n".join(preamble), {title: "\n".join(lines) for title, lines in sections.items()}


def raise_headings(text: str) -> str:
    """``## Title`` -> ``# Title``, ``### Part`` -> ``## Part``...; code blocks untouched."""
    lines, in_fence = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else HEADING.match(line)
        if heading and len(heading.group(1)) >= 2:
            line = f"{heading.group(1)[1:]} {heading.group(2)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def slug(title: str) -> str:
    """GitHub's and Python-Markdown's anchor for a heading (lower case, words joined by -)."""
    words = re.sub(r"[^\w\s-]", "", title.lower())
    return re.sub(r"\s+", "-", words.strip())


def anchor_pages(sections: dict[str, str]) -> dict[str, str]:
    """Every heading's anchor -> the page that holds it."""
    where: dict[str, str] = {}
    for title, body in sections.items():
        page = PAGES.get(title)
        if page is None:
            continue
        for line in body.splitlines():
            heading = HEADING.match(line)
            if heading:
                where.setdefault(slug(heading.group(2)), page)
    return where


def fix_links(text: str, page: str, anchors: dict[str, str]) -> str:
    """README-relative links -> site-relative ones; anchors on another page -> that page."""

    def target(match: re.Match[str]) -> str:
        path = match.group(1)
        return f"]({path.removeprefix('docs/')})"

    def anchor(match: re.Match[str]) -> str:
        name = match.group(1)
        home = anchors.get(name, page)
        return f"](#{name})" if home == page else f"]({home}#{name})"

    return ANCHOR_LINK.sub(anchor, LINK_TARGET.sub(target, text))


def readme_pages(readme: str) -> dict[str, str]:
    """Page file -> its Markdown, from the README's text."""
    preamble, sections = split_sections(readme)
    missing = sorted(set(PAGES) - set(sections))
    if missing:
        raise ValueError(f"README.md has no section {missing}: update PAGES in {__file__}")
    anchors = anchor_pages(sections)
    pages: dict[str, str] = {}
    for title, page in PAGES.items():
        if page == "index.md":  # the README's title and opening, then this section as it is
            text = preamble + "\n\n" + sections[title] + "\n"
        else:
            text = raise_headings(sections[title])
        pages[page] = fix_links(text, page, anchors)
    return pages


def on_files(files: Files, config) -> Files:
    readme = Path(config["config_file_path"]).parent / "README.md"
    for page, text in readme_pages(readme.read_text(encoding="utf-8")).items():
        files.append(File.generated(config, page, content=text))
    return files
