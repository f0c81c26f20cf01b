"""The notebooks' formulas render on the docs site (review of issue 11).

mkdocs-jupyter's option ``custom_mathjax_url`` defaults to "", which its template writes as
``<script src="">``: MathJax never loaded and every ``$L_i = ...$`` of the notebooks showed as
raw LaTeX. mkdocs.yml now gives the URL the plugin's own converter defaults to.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import mkdocs_jupyter.nbconvert2
import yaml

ROOT = Path(__file__).resolve().parents[1]


def jupyter_options() -> dict:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            return plugin["mkdocs-jupyter"]
    raise AssertionError("mkdocs.yml has no mkdocs-jupyter plugin")


def test_the_notebook_pages_load_mathjax():
    url = jupyter_options().get("custom_mathjax_url", "")
    assert url.startswith("https://") and "mathjax" in url.lower()
    converter_default = (
        inspect.signature(mkdocs_jupyter.nbconvert2.nb2html)
        .parameters["custom_mathjax_url"]
        .default
    )
    assert url == converter_default


def test_the_notebooks_hold_formulas_that_need_it():
    text = "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "docs/notebooks").glob("*.ipynb")
    )
    assert text.count("$$") >= 2
