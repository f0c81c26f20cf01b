"""A self-contained HTML report: text, findings, tables and figures inlined as base64 PNG.

No scripts, no external stylesheets, no network: the file opens anywhere, offline, and can be
mailed as is.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slopelab.runs import atomic_write_text

STYLE = """
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330;
       max-width: 860px; margin: 2rem auto; padding: 0 1rem; background: #fff; }
h1 { font-size: 1.9rem; margin-bottom: .2rem; } h2 { margin-top: 2.4rem; font-size: 1.35rem;
border-bottom: 2px solid #e6e9ef; padding-bottom: .2rem; }
.meta { color: #5b6475; font-size: .9rem; }
.finding { background: #eef5fb; border-left: 4px solid #0072B2; padding: .6rem .9rem;
           margin: 1rem 0; font-weight: 600; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e6e9ef; }
figcaption { color: #5b6475; font-size: .85rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e6e9ef; padding: .3rem .7rem; text-align: left; }
th { background: #f6f8fa; } code { background: #f6f8fa; padding: 0 .25rem; border-radius: 3px; }
blockquote { color: #444; border-left: 3px solid #ccc; margin-left: 0; padding-left: 1rem; }
"""


@dataclass
class Section:
    """One step of the report: a heading, paragraphs (may hold inline HTML from this
    package only, never user text), a finding, tables and figures."""

    title: str
    paragraphs: Sequence[str] = ()
    finding: str = ""
    tables: list[tuple[Sequence[str], Sequence[Sequence[object]]]] = field(default_factory=list)
    figures: list[tuple[Path, str]] = field(default_factory=list)


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(subtitle)}</p>",
    ]
    for number, section in enumerate(sections, start=1):
        parts.append(f"<h2>{number}. {html.escape(section.title)}</h2>")
        parts += [f"<p>{paragraph}</p>" for paragraph in section.paragraphs]
        if section.finding:
            parts.append(f"<div class='finding'>{html.escape(section.finding)}</div>")
        parts += [_table(headers, rows) for headers, rows in section.tables]
        parts += [_figure(path, caption) for path, caption in section.figures]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: Path, title: str, subtitle: str, sections: Sequence[Section]) -> Path:
    atomic_write_text(Path(path), render(title, subtitle, sections))
    return Path(path)
