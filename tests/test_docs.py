"""The documentation site: the README's sections become its pages, every public name has a
reference entry, doctests render as code, and ``mkdocs build --strict`` passes."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import slopelab

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


readme_pages = load_hook("readme_pages")
doctest_blocks = load_hook("doctest_blocks")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def h2_titles(text: str) -> list[str]:
    return list(readme_pages.split_sections(text)[1])


def test_every_readme_section_is_a_page_of_the_site():
    assert h2_titles(README) == list(readme_pages.PAGES)


def test_a_new_readme_section_without_a_page_stops_the_build():
    with pytest.raises(ValueError, match=r"README\.md has no section"):
        readme_pages.readme_pages(README.replace("## Conventions", "## Customs"))


def test_the_pages_hold_the_whole_readme_once():
    pages = readme_pages.readme_pages(README)
    words = re.findall(r"\w+", README.replace("](docs/", "]("))
    page_words = [word for text in pages.values() for word in re.findall(r"\w+", text)]
    assert sorted(page_words) == sorted(words)


def test_headings_rise_one_level_outside_code():
    text = "## Speed\n\n### Dense\n\n```bash\n## not a heading\n```\n#### Deep\n"
    assert readme_pages.raise_headings(text) == (
        "# Speed\n\n## Dense\n\n```bash\n## not a heading\n```\n### Deep\n"
    )


def test_sections_split_only_on_real_second_level_headings():
    text = "# Title\nintro\n## One\n```\n## inside code\n```\n### Sub\n## Two\nend"
    preamble, sections = readme_pages.split_sections(text)
    assert preamble == "# Title\nintro"
    assert list(sections) == ["One", "Two"]
    assert "## inside code" in sections["One"]


def test_links_into_docs_and_to_other_pages_are_rewritten():
    anchors = {"streaming-out-of-core": "command-line.md", "losses": "python-api.md"}
    text = "![x](docs/demo.png) see [s](#streaming-out-of-core), [l](#losses), [w](https://a.b/#c)"
    fixed = readme_pages.fix_links(text, "command-line.md", anchors)
    assert fixed == (
        "![x](demo.png) see [s](#streaming-out-of-core), [l](python-api.md#losses), "
        "[w](https://a.b/#c)"
    )


def test_anchors_are_those_python_markdown_makes():
    assert readme_pages.slug("Beyond one machine: MPI") == "beyond-one-machine-mpi"
    assert readme_pages.slug("Images from folders: `slopelab data pack`") == (
        "images-from-folders-slopelab-data-pack"
    )


def test_doctest_runs_are_fenced_and_code_blocks_left_alone():
    text = "A.\n\n>>> x = 1\n>>> x\n1\n\n```python\n>>> kept\n```\n\n    >>> y\n    2"
    assert doctest_blocks.fence_doctests(text) == (
        "A.\n\n```pycon\n>>> x = 1\n>>> x\n1\n```\n\n```python\n>>> kept\n```\n\n"
        "    ```pycon\n    >>> y\n    2\n    ```"
    )


def documented_modules() -> set[str]:
    """The modules rendered by a ``::: module`` line of the reference pages."""
    found = set()
    for page in (DOCS / "reference").glob("*.md"):
        found.update(re.findall(r"^::: (\S+)$", page.read_text(encoding="utf-8"), re.MULTILINE))
    return found


@pytest.mark.parametrize("name", sorted(slopelab._HOMES))
def test_every_public_name_has_a_reference_entry(name):
    assert slopelab._HOMES[name] in documented_modules()
    assert not name.startswith("_")


def test_every_reference_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (DOCS / "reference").glob("*.md"):
        assert f"reference/{page.name}" in nav, page.name


@pytest.mark.slow
def test_the_site_builds_strict_offline(tmp_path):
    """No warning (broken link, unknown anchor, bad docstring, failing notebook) passes."""
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in readme_pages.PAGES.values():
        built = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert built.is_file(), page
    gradcheck = (site / "reference/gradcheck/index.html").read_text(encoding="utf-8")
    assert "check_gradient" in gradcheck and '<span class="gp">&gt;&gt;&gt; </span>' in gradcheck
    assert (site / "objects.inv").is_file()
    for notebook in sorted((DOCS / "notebooks").glob("*.ipynb")):  # executed, with outputs
        page = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        assert "jp-OutputArea-output" in page and "data:image/png;base64" in page, notebook.name
    # the rich display (a History's and a report's HTML) reaches the rendered notebooks
    sgd_page = (site / "notebooks/03-gradient-descent-and-sgd/index.html").read_text("utf-8")
    assert "<strong>History</strong>" in sgd_page
