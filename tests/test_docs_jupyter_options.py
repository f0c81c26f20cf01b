"""mkdocs-jupyter's options in mkdocs.yml (review of issue 11).

- The notebooks are executed against the code as it is: mkdocs-jupyter caches each executed
  notebook under a key made of the notebook's bytes and its own options, not of slopelab's
  code; with the cache on, ``mkdocs build --strict`` after a change to slopelab rendered the
  previous outputs (numbers the code no longer gives) and passed on a notebook that now raises.
- The formulas render: ``custom_mathjax_url`` defaults to "", which the template writes as
  ``<script src="">``, so MathJax never loaded and every ``$L_i = ...$`` showed as raw LaTeX;
  mkdocs.yml gives the URL the plugin's own converter defaults to.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import mkdocs_jupyter.nbconvert2
import mkdocs_jupyter.plugin
import yaml

ROOT = Path(__file__).resolve().parents[1]


def jupyter_options() -> dict:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            return plugin["mkdocs-jupyter"]
    raise AssertionError("mkdocs.yml has no mkdocs-jupyter plugin")


def test_the_cache_key_ignores_the_code_so_the_cache_is_off():
    key_source = inspect.getsource(mkdocs_jupyter.plugin._compute_cache_key)
    assert "read_bytes()" in key_source and "slopelab" not in key_source
    options = jupyter_options()
    assert options["execute"] is True
    assert options.get("cache") is False
    assert options.get("allow_errors") is False


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
